// Draws the report's waveform and loudness-over-time curve on their canvases, from
// the data the server computed (embedded in the page as JSON).
export function drawReport(root) {
  const data = root.getElementById ? root.getElementById("report-data") : null;
  if (!data) return;
  let report;
  try {
    report = JSON.parse(data.textContent);
  } catch {
    return;
  }
  if (!report) return;
  const wave = root.querySelector("[data-waveform]");
  if (wave && report.waveform) drawWaveform(wave, report.waveform);
  const curve = root.querySelector("[data-loudness-curve]");
  if (curve && report.loudness) drawLoudness(curve, report.loudness);
}

function colours(canvas) {
  const style = getComputedStyle(canvas);
  return { ink: style.color || "#333", accent: style.getPropertyValue("--accent") || "#6b3fa0" };
}

function drawWaveform(canvas, w) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  const mid = height / 2;
  const n = w.min.length;
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = colours(canvas).accent.trim() || "#6b3fa0";
  for (let x = 0; x < width; x++) {
    const i = Math.floor((x / width) * n);
    const lo = w.min[i] ?? 0;
    const hi = w.max[i] ?? 0;
    const top = mid - hi * mid;
    const bottom = mid - lo * mid;
    ctx.fillRect(x, top, 1, Math.max(1, bottom - top));
  }
  canvas.dataset.drawn = String(n);
}

function drawLoudness(canvas, curve) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  const values = curve.values || [];
  const floor = -60;
  const ceil = 0;
  const y = (v) => height - ((Math.max(floor, Math.min(ceil, v)) - floor) / (ceil - floor)) * height;
  ctx.clearRect(0, 0, width, height);
  // Reference lines every 10 LU.
  ctx.strokeStyle = "#ddd";
  for (let l = -50; l < 0; l += 10) {
    ctx.beginPath();
    ctx.moveTo(0, y(l));
    ctx.lineTo(width, y(l));
    ctx.stroke();
  }
  ctx.strokeStyle = colours(canvas).accent.trim() || "#6b3fa0";
  ctx.lineWidth = 2;
  ctx.beginPath();
  let pen = false;
  values.forEach((v, i) => {
    const x = (i / Math.max(1, values.length - 1)) * width;
    if (v === null) {
      pen = false;
      return;
    }
    if (pen) ctx.lineTo(x, y(v));
    else ctx.moveTo(x, y(v));
    pen = true;
  });
  ctx.stroke();
  canvas.dataset.drawn = String(values.length);
}
