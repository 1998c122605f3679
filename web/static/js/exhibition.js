// The exhibition: a big play button on a song's page (what a poster's QR code opens on
// a phone: one tap plays), and the poster page's Print button.

export function enhanceExhibition(root) {
  for (const button of root.querySelectorAll("[data-play-button]")) {
    const card = button.closest("[data-entry]") || root;
    const audio = card.querySelector("audio");
    if (!audio) continue;
    const label = button.querySelector("[data-play-label]");
    const show = () => {
      const playing = !audio.paused && !audio.ended;
      const text = playing ? button.dataset.labelPause : button.dataset.labelPlay;
      if (label) label.textContent = text;
      button.setAttribute("aria-label", text);
      button.setAttribute("aria-pressed", playing ? "true" : "false");
      button.firstChild.textContent = playing ? "❚❚ " : "▶ ";
    };
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
