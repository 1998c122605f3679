// The competition editor: presets that fill the audio rules, and the effect of each
// rule's setting said as it changes. The form works without this (it applies a chosen
// preset on save). Its prompt and category rows are added by form-rows.js.

function showEffect(select) {
  const p = select.closest("[data-rule]")?.querySelector("[data-effect]");
  if (!p) return;
  p.textContent = p.dataset[select.value] || "";
  p.className = `effect effect--${select.value}`;
}

function applyPreset(form, select) {
  const opt = select.selectedOptions[0];
  if (!opt || !opt.dataset.values) return;
  const values = JSON.parse(opt.dataset.values);
  for (const el of form.querySelectorAll("[name^='policy.']")) {
    const v = values[el.name];
    if (el.type === "checkbox") el.checked = v !== undefined;
    else if (v !== undefined) el.value = v;
    else if (el.tagName !== "SELECT") el.value = "";
    if (el.matches("[data-severity]")) showEffect(el);
  }
  // The fields now say what the preset says: they are what gets saved.
  select.value = "";
}

export function enhanceCompetitionEditor(root) {
  const form = root.querySelector("[data-edit-competition]");
  if (!form) return;
  for (const select of form.querySelectorAll("[data-severity]")) {
    select.addEventListener("change", () => showEffect(select));
  }
  const preset = form.querySelector("[data-preset]");
  preset?.addEventListener("change", () => applyPreset(form, preset));
}
