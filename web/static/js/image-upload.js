// File uploads (the account picture, a competition's cover, prompt images, the files of
// a stem pack): the chosen file is PUT to the API address in data-url, with the file's
// name and the values of any [data-param] fields as query parameters; then the page
// reloads to show it.
export function enhanceImageUploads(root) {
  for (const box of root.querySelectorAll("[data-image-upload]")) {
    const input = box.querySelector("input[type=file]");
    const status = box.querySelector("[data-image-status]");
    box.hidden = false;
    input.addEventListener("change", async () => {
      const file = input.files && input.files[0];
      if (!file) return;
      status.textContent = box.dataset.uploading || "…";
      const url = new URL(box.dataset.url, window.location.href);
      url.searchParams.set("file_name", file.name);
      for (const field of box.querySelectorAll("[data-param]")) {
        if (field.value) url.searchParams.set(field.dataset.param, field.value);
      }
      const res = await fetch(url.pathname + url.search, {
        method: "PUT",
        body: file,
        headers: { "Content-Type": "application/octet-stream", Accept: "application/json" },
        credentials: "same-origin",
      });
      if (res.ok) {
        window.location.reload();
        return;
      }
      let message = res.statusText;
      try {
        message = (await res.json()).error.message;
      } catch {
        // keep the status text
      }
      status.textContent = message;
    });
  }
}
