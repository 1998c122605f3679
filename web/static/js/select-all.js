// "Select all" boxes: a [data-select-all] checkbox ticks or clears every other checkbox
// of its form (the review of held votes). Without JavaScript the box stays hidden and
// each vote is ticked by hand, or the "restore every vote this rule holds" form is used.
export function enhanceSelectAll(root) {
  for (const all of root.querySelectorAll("[data-select-all]")) {
    const form = all.closest("form");
    if (!form) continue;
    const boxes = () => [...form.querySelectorAll('input[type="checkbox"]')].filter((b) => b !== all);
    all.hidden = false;
    all.addEventListener("change", () => {
      for (const b of boxes()) b.checked = all.checked;
    });
    form.addEventListener("change", (e) => {
      if (e.target === all) return;
      const list = boxes();
      all.checked = list.length > 0 && list.every((b) => b.checked);
      all.indeterminate = !all.checked && list.some((b) => b.checked);
    });
  }
}
