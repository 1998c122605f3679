// A song's listener comments: the lane over the waveform (a mark at each comment's
// moment, and "bullet" comments crossing the lane as the song reaches them), the
// comment form's moment following the player, and each listed time seeking the song.
// Text is set with textContent only. With reduced motion asked for, bullets appear at
// their mark and fade instead of crossing.
export function enhanceSongComments(root) {
  const box = root.querySelector("[data-comments]");
  if (!box) return;
  const data = JSON.parse(document.getElementById("comments-data")?.textContent || "null");
  if (!data) return;
  const audio = document.querySelector("[data-song-audio]");
  const reduced = window.matchMedia?.("(prefers-reduced-motion: reduce)").matches;
  const duration = () => (audio && Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration : data.duration_secs || 0);
  const visible = data.comments.filter((c) => !c.hidden);

  // The waveform.
  const canvas = box.querySelector("[data-lane-wave]");
  const draw = () => {
    const ctx = canvas.getContext("2d");
    const w = (canvas.width = canvas.clientWidth * (window.devicePixelRatio || 1));
    const h = (canvas.height = canvas.clientHeight * (window.devicePixelRatio || 1));
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = getComputedStyle(canvas).color;
    const peaks = data.waveform || [];
    const n = peaks.length;
    for (let i = 0; i < n; i++) {
      const x = Math.floor((i / n) * w);
      const bar = Math.max(1, Math.ceil(w / n) - 1);
      const ph = Math.max(2, peaks[i] * h * 0.9);
      ctx.fillRect(x, (h - ph) / 2, bar, ph);
    }
  };
  draw();
  window.addEventListener("resize", draw);

  // A mark at each comment's moment.
  const place = () => {
    const d = duration();
    for (const mark of box.querySelectorAll("[data-mark]")) {
      const at = Number(mark.dataset.at);
      mark.style.left = d > 0 ? `${Math.min(100, (at / d) * 100)}%` : "0%";
    }
  };
  place();
  audio?.addEventListener("loadedmetadata", place);

  // Bullets: each comment crosses the lane when the song reaches its moment.
  const bullets = box.querySelector("[data-lane-bullets]");
  let last = 0;
  const fly = (c) => {
    const b = document.createElement("span");
    b.className = reduced ? "comments__bullet comments__bullet--still" : "comments__bullet";
    b.textContent = c.body;
    b.dataset.bullet = c.id;
    const d = duration();
    if (reduced && d > 0) b.style.left = `${Math.min(85, (c.at_secs / d) * 100)}%`;
    b.style.top = `${8 + ((bullets.childElementCount * 28) % 64)}px`;
    bullets.append(b);
    setTimeout(() => b.remove(), reduced ? 4000 : 7000);
  };
  audio?.addEventListener("timeupdate", () => {
    const t = audio.currentTime;
    if (t < last || t - last > 2) last = t - 0.01; // a seek: start from here
    for (const c of visible) if (c.at_secs > last && c.at_secs <= t) fly(c);
    last = t;
  });

  // Where the song is: a line across the lane.
  const head = box.querySelector("[data-lane-head]");
  const move = () => {
    const d = duration();
    if (head && audio && d > 0) head.style.left = `${Math.min(100, (audio.currentTime / d) * 100)}%`;
  };
  audio?.addEventListener("timeupdate", move);
  audio?.addEventListener("seeked", move);

  // The form's moment follows the player until the listener types one.
  const at = box.querySelector("[data-comment-at]");
  let typed = false;
  at?.addEventListener("input", () => (typed = true));
  const clock = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
  const follow = () => {
    if (at && !typed && audio) at.value = clock(audio.currentTime);
  };
  audio?.addEventListener("timeupdate", follow);
  audio?.addEventListener("seeked", follow);

  // A listed time plays the song from there.
  for (const b of box.querySelectorAll("[data-seek]")) {
    b.addEventListener("click", () => {
      if (!audio) return;
      audio.currentTime = Number(b.dataset.seek);
      audio.play().catch(() => {});
    });
  }
  box.dataset.ready = "true";
}
