// Draws the report's waveform and loudness-over-time curve on their canvases, from
// the data the server computed (embedded in the page as JSON): a time axis on both,
// the silent ends shaded and the clipping runs marked in red on the waveform, a LUFS
// scale and the competition's loudness target as a band behind the curve.
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
  if (wave && report.waveform) drawWaveform(wave, report);
  const curve = root.querySelector("[data-loudness-curve]");
  if (curve && report.loudness) drawLoudness(curve, report);
  if (!drawReport.listening && typeof window !== "undefined") {
    drawReport.listening = true;
    let pending = 0;
    window.addEventListener("resize", () => {
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(() => drawReport(root));
    });
  }
}

const LEFT = 62; // room for the LUFS scale
const BOTTOM = 20; // room for the time axis
const CLIP = "#c62828";
const GRID = "#ddd6c8";
const TEXT = "#5a5348";

function colours(canvas) {
  const style = getComputedStyle(canvas);
  return { accent: (style.getPropertyValue("--accent") || "#6b3fa0").trim() || "#6b3fa0" };
}

// Size the canvas to the pixels it is shown at (sharp text on a phone), and draw in
// CSS pixels.
function fit(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const width = Math.max(200, Math.round(canvas.clientWidth || canvas.width));
  const height = Math.round(canvas.clientHeight || canvas.height);
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, width, height };
}

function clock(secs) {
  const s = Math.max(0, Math.round(secs));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// Ticks every 1, 2, 5, 10, 15, 30 or 60 s…, as many as fit with room for their labels.
function timeAxis(ctx, x0, width, height, duration) {
  if (!(duration > 0)) return;
  const fit = Math.max(2, Math.floor(width / 64));
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600];
  const step = steps.find((s) => duration / s <= fit) || 900;
  ctx.fillStyle = TEXT;
  ctx.strokeStyle = GRID;
  ctx.font = "12px system-ui, sans-serif";
  ctx.textBaseline = "top";
  for (let t = 0; t <= duration + 1e-9; t += step) {
    const x = x0 + (t / duration) * width;
    ctx.beginPath();
    ctx.moveTo(x, 0);
    ctx.lineTo(x, height - BOTTOM);
    ctx.stroke();
    // A label too close to the right edge would be cut: it is left out.
    if (t > 0 && x > x0 + width - 18) continue;
    ctx.textAlign = t === 0 ? "left" : "center";
    ctx.fillText(clock(t), x, height - BOTTOM + 4);
  }
}

function drawWaveform(canvas, report) {
  const w = report.waveform;
  const { ctx, width, height } = fit(canvas);
  const plot = width - LEFT;
  const h = height - BOTTOM;
  const mid = h / 2;
  const n = w.min.length;
  const duration = report.duration || 0;
  ctx.clearRect(0, 0, width, height);
  const x = (t) => LEFT + (t / duration) * plot;
  // Silent ends, shaded.
  const silence = report.silence || {};
  ctx.fillStyle = "rgba(120, 110, 95, 0.18)";
  if (duration > 0 && silence.leading > 0) ctx.fillRect(LEFT, 0, x(silence.leading) - LEFT, h);
  if (duration > 0 && silence.trailing > 0) {
    const from = x(duration - silence.trailing);
    ctx.fillRect(from, 0, LEFT + plot - from, h);
  }
  timeAxis(ctx, LEFT, plot, height, duration);
  ctx.fillStyle = colours(canvas).accent;
  for (let px = 0; px < plot; px++) {
    const i = Math.floor((px / plot) * n);
    const lo = w.min[i] ?? 0;
    const hi = w.max[i] ?? 0;
    const top = mid - hi * mid;
    const bottom = mid - lo * mid;
    ctx.fillRect(LEFT + px, top, 1, Math.max(1, bottom - top));
  }
  // Clipping runs: a red line where each one starts, and a mark on top.
  const clips = (report.clips || []).filter((t) => duration > 0 && t >= 0 && t <= duration);
  ctx.strokeStyle = CLIP;
  ctx.fillStyle = CLIP;
  ctx.lineWidth = 2;
  for (const t of clips) {
    const cx = Math.round(x(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(cx, 0);
    ctx.lineTo(cx, h);
    ctx.stroke();
    ctx.beginPath();
    ctx.moveTo(cx - 5, 0);
    ctx.lineTo(cx + 5, 0);
    ctx.lineTo(cx, 7);
    ctx.fill();
  }
  ctx.lineWidth = 1;
  canvas.dataset.drawn = String(n);
  canvas.dataset.clips = String(clips.length);
}

function drawLoudness(canvas, report) {
  const curve = report.loudness;
  const { ctx, width, height } = fit(canvas);
  const plot = width - LEFT;
  const h = height - BOTTOM;
  const values = curve.values || [];
  const heard = values.filter((v) => v !== null);
  const target = report.target;
  // The scale fits the music and the target, with room above a loud master.
  const top = Math.max(0, ...heard, target ? target.max : -Infinity) + 3;
  const low = Math.min(-36, ...heard.map((v) => Math.max(v, -60)), target ? target.min - 6 : Infinity);
  const floor = Math.floor(low / 6) * 6;
  const ceil = Math.ceil(top / 3) * 3;
  const y = (v) => h - ((Math.max(floor, Math.min(ceil, v)) - floor) / (ceil - floor)) * h;
  ctx.clearRect(0, 0, width, height);
  if (target) {
    ctx.fillStyle = "rgba(46, 125, 50, 0.16)";
    ctx.fillRect(LEFT, y(target.max), plot, y(target.min) - y(target.max));
    canvas.dataset.target = `${target.min}..${target.max}`;
  }
  // The LUFS scale, every 6 LU.
  ctx.font = "12px system-ui, sans-serif";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let l = floor; l <= ceil; l += 6) {
    ctx.strokeStyle = GRID;
    ctx.beginPath();
    ctx.moveTo(LEFT, y(l));
    ctx.lineTo(width, y(l));
    ctx.stroke();
    ctx.fillStyle = TEXT;
    ctx.fillText(`${l} LUFS`, LEFT - 6, Math.min(h - 6, Math.max(6, y(l))));
  }
  const duration = report.duration || values.length * (curve.step_secs || 0);
  timeAxis(ctx, LEFT, plot, height, duration);
  ctx.strokeStyle = colours(canvas).accent;
  ctx.lineWidth = 2;
  ctx.beginPath();
  let pen = false;
  values.forEach((v, i) => {
    const px = LEFT + (i / Math.max(1, values.length - 1)) * plot;
    if (v === null) {
      pen = false;
      return;
    }
    if (pen) ctx.lineTo(px, y(v));
    else ctx.moveTo(px, y(v));
    pen = true;
  });
  ctx.stroke();
  ctx.lineWidth = 1;
  canvas.dataset.drawn = String(values.length);
  canvas.dataset.scale = `${floor}..${ceil}`;
}
