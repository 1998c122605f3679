// Forms made of numbered rows (prompts, categories, rubric criteria): a button adds a
// row like the last one, renumbered and empty. Without JavaScript each such form comes
// with spare empty rows, so this only saves a round trip.

function renumber(row, kind, from, to) {
  const re = new RegExp(`^${kind}\\.${from}\\.`);
  for (const el of row.querySelectorAll("[name],[id],[for]")) {
    for (const attr of ["name", "id", "for"]) {
      if (el.hasAttribute(attr)) el.setAttribute(attr, el.getAttribute(attr).replace(re, `${kind}.${to}.`));
    }
  }
}

function addRow(kind, list) {
  const rows = list.querySelectorAll("[data-row]");
  const last = rows[rows.length - 1];
  if (!last) return;
  const row = last.cloneNode(true);
  // Rows are numbered by their place in the form when it was drawn; a new one takes the
  // next number after the largest in use.
  const used = [...list.querySelectorAll(`[name^='${kind}.']`)].map((el) => Number(el.name.split(".")[1]) || 0);
  const from = Number(last.querySelector(`[name^='${kind}.']`)?.name.split(".")[1] || 0);
  const to = Math.max(-1, ...used) + 1;
  renumber(row, kind, from, to);
  for (const el of row.querySelectorAll("input, textarea")) {
    if (el.type === "checkbox") el.closest("label")?.remove();
    else if (el.type !== "number" || el.dataset.weight !== undefined) el.value = "";
  }
  row.querySelector("img")?.remove();
  const legend = row.querySelector("legend");
  if (legend) legend.textContent = legend.textContent.replace(/\d+/, String(rows.length + 1));
  list.append(row);
  row.querySelector("input:not([type=hidden])")?.focus();
}

function showWeightTotal(form) {
  const out = form.querySelector("[data-weight-total]");
  if (!out) return;
  let total = 0;
  for (const row of form.querySelectorAll("[data-criterion]")) {
    const removed = row.querySelector("[name$='.remove']")?.checked;
    const w = Number(row.querySelector("[data-weight]")?.value || 0);
    if (!removed && Number.isFinite(w)) total += w;
  }
  out.textContent = String(total);
  out.closest("[data-weight-total-line]")?.classList.toggle("bad", total !== 100);
}

export function enhanceFormRows(root) {
  for (const button of root.querySelectorAll("[data-add-row]")) {
    const form = button.closest("form");
    const kind = button.dataset.addRow;
    const list = form?.querySelector(`[data-rows="${kind}"]`);
    if (!list) continue;
    button.hidden = false;
    button.addEventListener("click", () => addRow(kind, list));
  }
  for (const form of root.querySelectorAll("form")) {
    if (!form.querySelector("[data-weight-total]")) continue;
    form.addEventListener("input", () => showWeightTotal(form));
    form.addEventListener("change", () => showWeightTotal(form));
    showWeightTotal(form);
  }
}
