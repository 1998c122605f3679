// The judges' player: every entry at the panel's reference loudness (Web Audio gain
// computed on the server from the report, limited by true-peak headroom), the
// waveform with the playhead and an A/B loop, listening coverage sent to the server,
// and keyboard shortcuts for playing, seeking, looping, scoring and moving on.
// Without JavaScript the page still has a plain <audio> element and ordinary forms.

export function enhanceJudgePlayer(root) {
  const dataEl = root.getElementById ? root.getElementById("player-data") : null;
  const audio = root.querySelector("[data-judge-audio]");
  if (!dataEl || !audio) return;
  let data;
  try {
    data = JSON.parse(dataEl.textContent);
  } catch {
    return;
  }
  const canvas = root.querySelector("[data-judge-wave]");
  const controls = root.querySelector("[data-player-controls]");
  const playButton = root.querySelector("[data-play]");
  const clock = root.querySelector("[data-clock]");
  const loopLabel = root.querySelector("[data-loop-label]");
  const listenedEl = root.querySelector("[data-listened]");
  const form = root.querySelector("[data-score-form]");
  const inputs = form ? [...form.querySelectorAll("input[data-criterion]")] : [];
  const pin = root.querySelector("[data-pin-time]");
  if (controls) controls.hidden = false;
  audio.controls = false;

  // Loudness matching: the gain goes through Web Audio, created on the first play
  // (browsers allow audio contexts only after a gesture).
  const gain = Math.pow(10, (Number(data.audio?.gain_db) || 0) / 20);
  let graph = null;
  function ensureGraph() {
    if (graph) return;
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    const ctx = new Ctx();
    const source = ctx.createMediaElementSource(audio);
    const node = ctx.createGain();
    node.gain.value = gain;
    source.connect(node).connect(ctx.destination);
    graph = { ctx, node };
  }
  audio.dataset.linearGain = String(gain);

  // A/B loop.
  let loopA = null;
  let loopB = null;
  function showLoop() {
    if (loopLabel) loopLabel.textContent = loopA === null ? "" : `${fmt(loopA)} – ${loopB === null ? "…" : fmt(loopB)}`;
    audio.dataset.loop = loopA !== null && loopB !== null ? `${loopA.toFixed(2)}-${loopB.toFixed(2)}` : "";
    draw();
  }
  function setA() {
    if (loopA !== null && loopB === null) {
      loopA = null;
    } else {
      loopA = audio.currentTime;
      loopB = null;
    }
    showLoop();
  }
  function setB() {
    if (loopA === null || audio.currentTime <= loopA) return;
    loopB = audio.currentTime;
    audio.currentTime = loopA;
    showLoop();
  }
  function clearLoop() {
    loopA = loopB = null;
    showLoop();
  }

  // Listening coverage: what was actually played, sent in stretches.
  let segStart = null;
  function startSegment() {
    segStart = audio.currentTime;
  }
  async function send(from, to) {
    if (!(to - from > 0.2) || !data.scoring_open) return;
    try {
      const res = await fetch(data.listened_url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({ from_secs: from, to_secs: to }),
      });
      if (res.ok) {
        const body = await res.json();
        if (listenedEl) listenedEl.textContent = String(body.listened_percent);
      }
    } catch {
      // Offline for a moment: the next stretch carries on.
    }
  }
  function flush() {
    if (segStart === null) return Promise.resolve();
    const from = segStart;
    const to = audio.currentTime;
    segStart = audio.paused ? null : audio.currentTime;
    return send(from, to);
  }
  audio.addEventListener("play", () => {
    startSegment();
    if (playButton) playButton.setAttribute("aria-pressed", "true");
  });
  audio.addEventListener("pause", () => {
    flush();
    if (playButton) playButton.setAttribute("aria-pressed", "false");
  });
  audio.addEventListener("ended", flush);
  audio.addEventListener("seeking", () => {
    // Close the stretch at the point playback left.
    if (segStart !== null) {
      const from = segStart;
      segStart = null;
      send(from, lastTime);
    }
  });
  audio.addEventListener("seeked", () => {
    if (!audio.paused) startSegment();
  });
  let lastTime = 0;
  let lastFlush = Date.now();
  audio.addEventListener("timeupdate", () => {
    if (loopA !== null && loopB !== null && audio.currentTime >= loopB) {
      audio.currentTime = loopA;
    }
    lastTime = audio.currentTime;
    if (clock) clock.textContent = fmt(audio.currentTime);
    if (!audio.paused && Date.now() - lastFlush > 5000) {
      lastFlush = Date.now();
      flush();
    }
    draw();
  });
  window.addEventListener("pagehide", flush);

  function toggle() {
    ensureGraph();
    if (graph && graph.ctx.state === "suspended") graph.ctx.resume();
    if (audio.paused) audio.play().catch(() => {});
    else audio.pause();
  }
  function seek(delta) {
    const d = audio.duration || data.audio?.duration_secs || 0;
    audio.currentTime = Math.max(0, Math.min(d, audio.currentTime + delta));
  }
  playButton?.addEventListener("click", toggle);
  root.querySelector("[data-set-a]")?.addEventListener("click", setA);
  root.querySelector("[data-set-b]")?.addEventListener("click", setB);
  root.querySelector("[data-clear-loop]")?.addEventListener("click", clearLoop);

  // Waveform with playhead and loop; a click seeks.
  function draw() {
    if (!canvas || !data.audio?.waveform) return;
    const w = data.audio.waveform;
    const ctx = canvas.getContext("2d");
    const { width, height } = canvas;
    const mid = height / 2;
    const n = w.min.length;
    const style = getComputedStyle(canvas);
    const accent = style.getPropertyValue("--accent").trim() || "#6b2fb3";
    ctx.clearRect(0, 0, width, height);
    const d = audio.duration || data.audio.duration_secs || 0;
    if (d > 0 && loopA !== null) {
      ctx.fillStyle = "rgba(107, 47, 179, 0.12)";
      const x0 = (loopA / d) * width;
      const x1 = ((loopB ?? audio.currentTime) / d) * width;
      ctx.fillRect(x0, 0, Math.max(1, x1 - x0), height);
    }
    ctx.fillStyle = accent;
    for (let x = 0; x < width; x++) {
      const i = Math.floor((x / width) * n);
      const top = mid - (w.max[i] ?? 0) * mid;
      const bottom = mid - (w.min[i] ?? 0) * mid;
      ctx.fillRect(x, top, 1, Math.max(1, bottom - top));
    }
    if (d > 0) {
      ctx.fillStyle = "#1d1b16";
      ctx.fillRect((audio.currentTime / d) * width, 0, 2, height);
    }
    canvas.dataset.drawn = String(n);
  }
  canvas?.addEventListener("click", (ev) => {
    const d = audio.duration || data.audio?.duration_secs || 0;
    const rect = canvas.getBoundingClientRect();
    audio.currentTime = ((ev.clientX - rect.left) / rect.width) * d;
  });
  draw();

  // Comments pinned to a time: links seek; the pin field offers the current time.
  root.querySelectorAll("[data-seek]").forEach((a) =>
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      audio.currentTime = Number(a.dataset.seek) || 0;
    }),
  );
  // The pin field is the judge's own: nothing is typed into it for them (a time put in
  // on focus fought with typing: "0:20" became "0:020:20"). A button offers the playhead.
  const pinNow = root.querySelector("[data-pin-now]");
  if (pin && pinNow) {
    pinNow.hidden = false;
    pinNow.addEventListener("click", () => {
      pin.value = fmt(audio.currentTime || 0);
      pin.focus();
    });
  }

  // Keyboard: not while typing in a field (except the score inputs, where digits score).
  let active = Math.max(0, inputs.findIndex((i) => !i.value));
  function highlight() {
    inputs.forEach((inp, i) => inp.classList.toggle("criterion--active", i === active));
  }
  highlight();
  inputs.forEach((inp, i) => inp.addEventListener("focus", () => { active = i; highlight(); }));
  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const t = ev.target;
    const inScore = t instanceof HTMLInputElement && t.dataset.criterion !== undefined;
    const typing = (t instanceof HTMLInputElement && !inScore) || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement;
    if (typing) return;
    const k = ev.key;
    if (k === " " && !(t instanceof HTMLButtonElement)) {
      ev.preventDefault();
      toggle();
    } else if (k === "ArrowLeft" && !inScore) {
      ev.preventDefault();
      seek(-5);
    } else if (k === "ArrowRight" && !inScore) {
      ev.preventDefault();
      seek(5);
    } else if (k === "a" || k === "A") {
      setA();
    } else if (k === "b" || k === "B") {
      setB();
    } else if (/^[0-9]$/.test(k) && inputs.length) {
      ev.preventDefault();
      const inp = inputs[active];
      const v = k === "0" ? 10 : Number(k);
      const min = Number(inp.min);
      const max = Number(inp.max);
      inp.value = String(Math.max(min, Math.min(max, v)));
      inp.dispatchEvent(new Event("input", { bubbles: true }));
      active = Math.min(inputs.length - 1, active + 1);
      highlight();
    } else if ((k === "s" || k === "S") && form) {
      ev.preventDefault();
      flush().finally(() => form.requestSubmit());
    } else if ((k === "n" || k === "N") && data.next) {
      flush().finally(() => (location.href = data.next));
    } else if ((k === "p" || k === "P") && data.previous) {
      flush().finally(() => (location.href = data.previous));
    }
  });
}

function fmt(s) {
  const m = Math.floor(s / 60);
  const sec = Math.floor(s % 60);
  return `${m}:${String(sec).padStart(2, "0")}`;
}
