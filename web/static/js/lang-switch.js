// The language switcher submits as soon as a language is picked, so the
// "change language" button (needed without JavaScript) can be hidden.
export function enhanceLanguageSwitch(root) {
  for (const form of root.querySelectorAll("form[data-lang-switch]")) {
    const select = form.querySelector("select[name=lang]");
    if (!select) continue;
    select.addEventListener("change", () => form.requestSubmit());
  }
}
