// The exhibition: a big play button on a song's page (what a poster's QR code opens on
// a phone: one tap plays), and the poster page's Print button.

export function enhanceExhibition(root) {
  for (const button of root.querySelectorAll("[data-play-button]")) {
    const card = button.closest("[data-entry]") || root;
    const audio = card.querySelector("audio");
    if (!audio) continue;
    const label = button.querySelector("[data-play-label]");
    const glyph = button.querySelector("[data-play-glyph]");
    const time = card.querySelector("[data-play-time]");
    // One play control per song: with JavaScript the big button replaces the native
    // player, and a clock shows where the song is.
    if (audio.hasAttribute("data-with-play-button")) audio.controls = false;
    const clock = (t) => {
      if (!Number.isFinite(t)) return "";
      const s = Math.floor(t);
      return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    };
    const tick = () => {
      if (time) time.textContent = audio.duration ? `${clock(audio.currentTime)} / ${clock(audio.duration)}` : "";
    };
    const show = () => {
      const playing = !audio.paused && !audio.ended;
      const text = playing ? button.dataset.labelPause : button.dataset.labelPlay;
      if (label) label.textContent = text;
      button.setAttribute("aria-label", text);
      button.setAttribute("aria-pressed", playing ? "true" : "false");
      if (glyph) glyph.textContent = playing ? "❚❚" : "▶";
      tick();
    };
    for (const ev of ["timeupdate", "loadedmetadata"]) audio.addEventListener(ev, tick);
    button.addEventListener("click", () => {
      if (audio.paused || audio.ended) {
        audio.play().catch(() => show());
      } else {
        audio.pause();
      }
    });
    for (const ev of ["play", "pause", "ended"]) audio.addEventListener(ev, show);
    show();
  }
  for (const button of root.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
}
