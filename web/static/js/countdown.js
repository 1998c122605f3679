// A deadline countdown: "3 d 04:12:09 left" ("3 天 04:12:09 剩余"), updated every second.
// With reduced motion asked for, it shows hours and minutes and updates once a minute.
export function startCountdowns(root) {
  const reduced = window.matchMedia?.("(prefers-reduced-motion: reduce)").matches;
  for (const el of root.querySelectorAll("[data-countdown]")) {
    const end = Date.parse(el.dataset.countdown);
    if (Number.isNaN(end)) continue;
    const days = el.dataset.labelDays || "d";
    const tick = () => {
      const left = Math.floor((end - Date.now()) / 1000);
      if (left <= 0) {
        el.textContent = el.dataset.labelEnded;
        return;
      }
      const d = Math.floor(left / 86400);
      const pad = (n) => String(n).padStart(2, "0");
      const hm = `${pad(Math.floor((left % 86400) / 3600))}:${pad(Math.floor((left % 3600) / 60))}`;
      const clock = reduced ? hm : `${hm}:${pad(left % 60)}`;
      el.textContent = ` (${d > 0 ? `${d} ${days} ` : ""}${clock} ${el.dataset.labelLeft})`;
      setTimeout(tick, reduced ? 60_000 : 1000);
    };
    tick();
  }
}
