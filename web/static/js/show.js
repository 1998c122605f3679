// The presenter screen: follows the show's live stream (Server-Sent Events) and redraws
// the bars, the total and its pulse (votes a second), the countdown and the reveal.
// Everything is built with textContent: titles are musicians' words, never markup.
// With reduced motion asked for, bars jump instead of gliding, nothing pulses, and the
// clock shows minutes.
export function enhanceShow(root) {
  const show = root.querySelector("[data-show]");
  if (!show) return;
  const d = show.dataset;
  const reduced = window.matchMedia?.("(prefers-reduced-motion: reduce)").matches;
  if (reduced) show.classList.add("show--still");
  const $ = (sel) => show.querySelector(sel);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const pts = (x) => (x === null || x === undefined ? "" : Number.isInteger(x) ? String(x) : x.toFixed(2));
  let current = JSON.parse(document.getElementById("show-data")?.textContent || "null");
  const samples = []; // [time, total] over the last few seconds, for the pulse

  const stateLabel = (s) => (s === "open" ? d.labelOpen : s === "upcoming" ? d.labelUpcoming : d.labelClosed);
  const stageLabel = (s) => (s === "final" ? d.labelStageFinal : s === "public" ? d.labelStagePublic : d.labelStageJury);

  function drawBars(v) {
    const bars = $("[data-show-bars]");
    bars.replaceChildren(
      ...v.lines.map((l) => {
        const li = el("li");
        li.dataset.line = l.entry_id;
        const song = el("span", "show__song", `${l.title} `);
        song.append(el("span", "show__by", l.musician));
        const bar = el("span", "show__bar");
        const fill = el("span");
        fill.style.width = `${Math.round((l.share || 0) * 1000) / 10}%`;
        bar.append(fill);
        li.append(song, bar, el("span", "show__n", l.votes === null ? "" : String(l.votes)));
        return li;
      }),
    );
    const songs = $("[data-show-songs]");
    songs.replaceChildren(
      ...v.lines.map((l) => {
        const li = el("li", null, `${l.title} `);
        li.append(el("span", "show__by", l.musician));
        return li;
      }),
    );
  }

  function drawReveal(r) {
    const body = $("[data-show-reveal] tbody");
    body.replaceChildren(
      ...r.lines.map((l) => {
        const tr = el("tr");
        tr.dataset.line = l.entry_id;
        if (l.entry_id === r.current) tr.className = "is-current";
        const song = el("td", null, `${l.title} `);
        song.append(el("span", "show__by", l.musician));
        const total = el("td", null, pts(l.total));
        total.dataset.total = "";
        tr.append(el("td", null, l.place ? String(l.place) : ""), song, el("td", null, pts(l.jury)), el("td", null, pts(l.public)), total);
        return tr;
      }),
    );
    const winner = $("[data-show-winner]");
    const w = r.lines[0];
    winner.hidden = r.stage !== "final";
    winner.textContent = r.stage === "final" && w ? `${d.labelWinner}: ${w.title} · ${w.musician}` : "";
  }

  function draw(v) {
    current = v;
    show.dataset.state = v.state;
    show.dataset.step = String(v.reveal ? v.reveal.step : 0);
    $("[data-show-state]").firstChild.textContent = `${stateLabel(v.state)} `;
    const clock = $("[data-show-clock]");
    clock.dataset.opens = v.opens_at;
    clock.dataset.closes = v.closes_at;
    $("[data-show-total]").textContent = String(v.total_votes);
    const revealing = Boolean(v.reveal);
    $("[data-show-board-title]").textContent = revealing ? stageLabel(v.reveal.stage) : d.labelLive;
    $("[data-show-total-box]").hidden = revealing;
    $("[data-show-bars]").hidden = revealing || !v.counts_visible;
    $("[data-show-songs]").hidden = revealing || v.counts_visible;
    $("[data-show-reveal]").hidden = !revealing;
    if (revealing) drawReveal(v.reveal);
    else drawBars(v);
    samples.push([Date.now(), v.total_votes]);
    show.dataset.updates = String(Number(d.updates || 0) + 1);
  }

  function tickClock() {
    const clock = $("[data-show-clock]");
    const v = current;
    if (!v) return;
    const target = Date.parse(v.state === "upcoming" ? v.opens_at : v.closes_at);
    const left = Math.max(0, Math.floor((target - Date.now()) / 1000));
    const pad = (n) => String(n).padStart(2, "0");
    const h = Math.floor(left / 3600);
    const m = Math.floor((left % 3600) / 60);
    const s = left % 60;
    const hm = h > 0 ? `${h}:${pad(m)}` : `${m}`;
    const text = reduced ? `${h}:${pad(m)}` : `${hm}:${pad(s)}`;
    clock.textContent = v.state === "closed" ? "" : `· ${v.state === "upcoming" ? d.labelOpensIn : d.labelClosesIn} ${text}`;
    // The pulse: votes a second over the last five seconds.
    const now = Date.now();
    while (samples.length > 1 && now - samples[0][0] > 5000) samples.shift();
    const pulse = $("[data-show-pulse]");
    if (samples.length > 1 && v.state === "open") {
      const [t0, n0] = samples[0];
      const [t1, n1] = samples[samples.length - 1];
      const rate = t1 > t0 ? Math.round(((n1 - n0) * 1000) / (t1 - t0)) : 0;
      pulse.textContent = `${rate} ${d.labelPerSecond}`;
      pulse.classList.toggle("is-beating", !reduced && rate > 0);
    } else {
      pulse.textContent = "";
    }
  }

  for (const fill of show.querySelectorAll("[data-share]")) fill.style.width = `${fill.dataset.share}%`;
  tickClock();
  setInterval(tickClock, reduced ? 60_000 : 1000);
  if (!("EventSource" in window)) return;
  const source = new EventSource(d.stream);
  source.addEventListener("show", (event) => {
    const v = JSON.parse(event.data);
    draw(v);
    tickClock();
  });
}
