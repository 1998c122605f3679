// A deadline countdown: "3 d 04:12:09 left", updated every second.
export function startCountdowns(root) {
  for (const el of root.querySelectorAll("[data-countdown]")) {
    const end = Date.parse(el.dataset.countdown);
    if (Number.isNaN(end)) continue;
    const tick = () => {
      const left = Math.floor((end - Date.now()) / 1000);
      if (left <= 0) {
        el.textContent = el.dataset.labelEnded;
        return;
      }
      const d = Math.floor(left / 86400);
      const pad = (n) => String(n).padStart(2, "0");
      const hms = `${pad(Math.floor((left % 86400) / 3600))}:${pad(Math.floor((left % 3600) / 60))}:${pad(left % 60)}`;
      el.textContent = ` (${d > 0 ? d + " d " : ""}${hms} ${el.dataset.labelLeft})`;
      setTimeout(tick, 1000);
    };
    tick();
  }
}
