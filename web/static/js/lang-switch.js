// The language switcher: picking a language with the mouse or a finger switches at
// once, so the "change language" button (needed without JavaScript) is hidden. Moving
// through the list with the arrow keys must not leave the page under the reader
// (WCAG 3.2.2): then the button shows, and it (or Enter) switches.
export function enhanceLanguageSwitch(root) {
  for (const form of root.querySelectorAll("form[data-lang-switch]")) {
    const select = form.querySelector("select[name=lang]");
    if (!select) continue;
    let byKeyboard = false;
    select.addEventListener("pointerdown", () => {
      byKeyboard = false;
    });
    select.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        form.requestSubmit();
      } else if (e.key !== "Tab" && e.key !== "Shift") {
        byKeyboard = true;
      }
    });
    select.addEventListener("change", () => {
      if (byKeyboard) form.classList.add("lang-switch--confirm");
      else form.requestSubmit();
    });
  }
}
