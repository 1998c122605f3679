// Voting: listen, solve the proof of work in a Web Worker, send the vote with an
// Idempotency-Key (a retry after a network error counts once), show the outcome.
const json = (id) => {
  const el = document.getElementById(id);
  return el ? JSON.parse(el.textContent) : null;
};

function solve(challenge) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(import.meta.resolve("./pow-worker.js"));
    worker.onmessage = (e) => {
      worker.terminate();
      if (e.data.error) reject(new Error(e.data.error));
      else resolve(e.data);
    };
    worker.onerror = (e) => {
      worker.terminate();
      reject(new Error(e.message || "worker failed"));
    };
    worker.postMessage(challenge);
  });
}

const fill = (text, name, value) => text.replace(`{${name}}`, String(value));

async function post(url, body, headers = {}) {
  const res = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    body: JSON.stringify(body),
  });
  let data = null;
  try {
    data = await res.json();
  } catch (_) {
    data = null;
  }
  return { ok: res.ok, status: res.status, data };
}

export function enhanceVoting(root) {
  const page = root.querySelector("[data-vote-page]");
  const config = json("vote-config");
  if (!page || !config) return;
  const round = config.round;
  const text = config.text;
  // Each song has its own status line beside its Vote button, so the answer appears
  // where the voter is looking (and is announced by screen readers).
  const sayIn = (card) => (msg, kind) => {
    const status = card.querySelector("[data-vote-status]") || page.querySelector("[data-vote-status]");
    if (!status) return;
    status.textContent = msg;
    status.dataset.kind = kind || "";
  };
  const tickets = new Map();
  const heard = new Map();

  for (const card of page.querySelectorAll("[data-entry]")) {
    const entry = card.dataset.entry;
    const say = sayIn(card);
    const audio = card.querySelector("[data-vote-audio]");
    const button = card.querySelector("[data-vote-button]");
    if (audio) {
      let last = null;
      audio.addEventListener("play", async () => {
        last = audio.currentTime;
        if (config.signed_in && !tickets.has(entry)) {
          tickets.set(entry, null);
          const r = await post(`/api/v1/voting-rounds/${round}/listens`, { entry_id: entry });
          if (r.ok) tickets.set(entry, r.data.ticket);
          else tickets.delete(entry);
        }
      });
      audio.addEventListener("timeupdate", () => {
        if (last !== null && !audio.paused) {
          const d = audio.currentTime - last;
          if (d > 0 && d < 1.5) heard.set(entry, (heard.get(entry) || 0) + d);
        }
        last = audio.currentTime;
      });
    }
    if (!button) continue;
    if (!config.can_vote) button.disabled = true;
    let key = null;
    button.addEventListener("click", async () => {
      const need = config.min_listen_secs || 0;
      const done = heard.get(entry) || 0;
      if (need > 0 && done < need) {
        say(fill(text.listen, "left", Math.ceil(need - done)), "warn");
        return;
      }
      button.disabled = true;
      // One key per intended vote: a retry after a lost answer is the same vote.
      key = key || crypto.randomUUID();
      try {
        say(text.solving, "busy");
        const c = await post(`/api/v1/voting-rounds/${round}/challenge`, {});
        if (!c.ok) throw c;
        const solution = await solve(c.data);
        page.dataset.powMs = String(Math.round(solution.time));
        const pow = btoa(JSON.stringify({ challenge: c.data, solution }));
        say(text.sending, "busy");
        const v = await post(
          `/api/v1/voting-rounds/${round}/votes`,
          { entry_id: entry, pow, listen_ticket: tickets.get(entry) || null },
          { "Idempotency-Key": key },
        );
        if (!v.ok) throw v;
        key = null;
        config.remaining = v.data.remaining;
        say(v.data.status === "counted" ? text.counted : text.held, "ok");
        const count = card.querySelector("[data-my-count]");
        if (count) {
          const n = (Number(count.dataset.n || count.textContent.replace(/\D+/g, "")) || 0) + 1;
          count.dataset.n = n;
          count.textContent = fill(text.my_votes, "count", n);
        }
        for (const el of page.querySelectorAll("[data-my-votes]")) el.textContent = fill(text.remaining, "count", v.data.remaining);
        page.dataset.lastVote = String(v.data.vote_id);
        if (v.data.remaining > 0) button.disabled = false;
        else for (const b of page.querySelectorAll("[data-vote-button]")) b.disabled = true;
      } catch (e) {
        const msg = e && e.data && e.data.error ? e.data.error.message : text.failed;
        // A refused vote (not a lost one) will not succeed with the same key.
        if (e && e.status && e.status < 500 && e.status !== 429) key = null;
        say(msg, "error");
        button.disabled = false;
      }
    });
  }
}
