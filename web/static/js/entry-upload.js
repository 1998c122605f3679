// The entry page's audio upload: streams the file to the API with a progress bar.
// Each attempt carries an Idempotency-Key, so a retry after a network error never
// creates a second upload. While the entry is being analysed the page polls its
// status and reloads when the report is ready.
export function enhanceEntryUpload(root) {
  const box = root.querySelector("[data-audio-upload]");
  if (box) setUpUpload(box);
  const entry = root.querySelector("[data-entry][data-in-progress]");
  if (entry) pollStatus(entry);
}

function setUpUpload(box) {
  const input = box.querySelector("input[type=file]");
  const bar = box.querySelector("[data-progress]");
  const status = box.querySelector("[data-upload-status]");
  const max = Number(box.dataset.max || 0);
  box.hidden = false;
  input.addEventListener("change", () => {
    const file = input.files && input.files[0];
    if (!file) return;
    if (max && file.size > max) {
      status.textContent = box.dataset.tooLarge;
      return;
    }
    const key = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
    send(file, key, 0);
  });

  function send(file, key, attempt) {
    const xhr = new XMLHttpRequest();
    const url = box.dataset.url + "?file_name=" + encodeURIComponent(file.name);
    xhr.open("PUT", url);
    xhr.setRequestHeader("Idempotency-Key", key);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("Accept", "application/json");
    bar.hidden = false;
    bar.value = 0;
    input.disabled = true;
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status === 200 || xhr.status === 201) {
        bar.value = 100;
        status.textContent = box.dataset.done;
        window.location.reload();
        return;
      }
      input.disabled = false;
      let message = xhr.statusText;
      try {
        message = JSON.parse(xhr.responseText).error.message;
      } catch {
        // keep the status text
      }
      status.textContent = message;
    });
    xhr.addEventListener("error", () => {
      // The connection broke: retry with the same key (the server answers once).
      if (attempt < 2) {
        setTimeout(() => send(file, key, attempt + 1), 1000 * (attempt + 1));
      } else {
        input.disabled = false;
        status.textContent = xhr.statusText || "Network error";
      }
    });
    xhr.send(file);
  }
}

function pollStatus(entry) {
  const id = entry.dataset.entryId;
  const first = entry.dataset.status;
  const tick = async () => {
    try {
      const res = await fetch("/api/v1/entries/" + id, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (res.ok) {
        const body = await res.json();
        if (body.status !== first) {
          // The report (or why there is none) gets the focus when the page is back.
          sessionStorage.setItem("cadenza:focus", "[data-report] h2, [data-analysis-error] h2");
          window.location.reload();
          return;
        }
      }
    } catch {
      // try again
    }
    setTimeout(tick, 1500);
  };
  setTimeout(tick, 1500);
}
