// The album's continuous player: every track has its own player; when one ends the
// next starts by itself, in album order, and the others pause while one plays. "Play
// all" starts from track 1. The status line says what is playing (for screen readers
// too). Nothing plays until the listener asks.
export function enhanceAlbum(root) {
  const box = root.querySelector("[data-album-player]");
  const audios = [...root.querySelectorAll("[data-track-audio]")];
  if (!box || audios.length === 0) return;
  box.hidden = false;
  const status = box.querySelector("[data-now-playing]");
  const label = (a) => a.getAttribute("aria-label") || "";
  audios.forEach((audio, i) => {
    audio.addEventListener("play", () => {
      for (const other of audios) if (other !== audio) other.pause();
      status.textContent = `▶ ${label(audio)}`;
      document.body.dataset.albumPlaying = String(i + 1);
    });
    audio.addEventListener("ended", () => {
      const next = audios[i + 1];
      if (next) {
        next.currentTime = 0;
        next.play().catch(() => {
          status.textContent = "";
        });
      } else {
        status.textContent = "";
        delete document.body.dataset.albumPlaying;
      }
    });
  });
  box.querySelector("[data-album-play]").addEventListener("click", () => {
    audios[0].currentTime = 0;
    audios[0].play().catch(() => {});
  });
}
