// Image uploads (the account picture, a competition's cover, prompt images): the chosen
// file is PUT to the API address in data-url, then the page reloads to show it.
export function enhanceImageUploads(root) {
  for (const box of root.querySelectorAll("[data-image-upload]")) {
    const input = box.querySelector("input[type=file]");
    const status = box.querySelector("[data-image-status]");
    box.hidden = false;
    input.addEventListener("change", async () => {
      const file = input.files && input.files[0];
      if (!file) return;
      status.textContent = box.dataset.uploading || "…";
      const res = await fetch(box.dataset.url, {
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
