// The account page's picture upload: sends the chosen image straight to the API
// (same origin, session cookie) and reloads the page to show it.
export function enhanceAvatarUpload(root) {
  const box = root.querySelector("[data-avatar-upload]");
  if (!box) return;
  const input = box.querySelector("input[type=file]");
  const status = box.querySelector("[data-avatar-status]");
  box.hidden = false;
  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    if (!file) return;
    status.textContent = box.dataset.uploading || "…";
    const res = await fetch("/api/v1/me/avatar", {
      method: "PUT",
      body: file,
      headers: { "Content-Type": file.type || "application/octet-stream", Accept: "application/json" },
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
