// How long Chromium takes to solve a vote's proof of work at the default settings
// (ALTCHA v2, PBKDF2/SHA-256, cost 5,000, counter below 400), in the Web Worker the
// voting page uses. Not a test: run by scripts/bench-pow.sh, figures in docs/benchmarks.md.
import {
  analysedEntry,
  api,
  launchBrowser,
  organiserWithCompetition,
  startCadenza,
  waitForLink,
} from "./helpers.mjs";

const N = Number(process.env.SOLVES || 30);
const server = await startCadenza();
const browser = await launchBrowser();
try {
  const { c, bearer } = await organiserWithCompetition(server, "org-pow@example.org", "pow-bench");
  const entry = await analysedEntry(server, c, 0, { prefix: "pow" });
  const now = Date.now();
  const round = await api(server, `/api/v1/competitions/${c.id}/voting-rounds`, bearer, {
    title: "PoW", opens_at: new Date(now - 5000).toISOString(), closes_at: new Date(now + 3600_000).toISOString(),
    entry_ids: [entry.id],
  });
  await fetch(server.url + "/api/v1/auth/magic-link", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email: "pow@example.org" }),
  });
  const link = await waitForLink(server.dir, "pow@example.org", "/magic-link/sign-in?token=");
  const signed = await fetch(server.url + "/api/v1/auth/magic-link/sign-in", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: link.split("token=")[1].split("&")[0] }),
  });
  const token = (await signed.json()).access_token;
  const challenges = [];
  for (let i = 0; i < N; i++) challenges.push(await api(server, `/api/v1/voting-rounds/${round.id}/challenge`, token, {}));
  const page = await (await browser.newContext()).newPage();
  await page.goto(server.url + "/");
  const times = await page.evaluate(async (list) => {
    const out = [];
    for (const ch of list) {
      const t0 = performance.now();
      await new Promise((resolve, reject) => {
        const w = new Worker("/static/js/pow-worker.js");
        w.onmessage = (e) => { w.terminate(); e.data.error ? reject(new Error(e.data.error)) : resolve(e.data); };
        w.postMessage(ch);
      });
      out.push(performance.now() - t0);
    }
    return out;
  }, challenges);
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  console.log(`BENCH pow solves=${N} median_ms=${q(0.5).toFixed(0)} p90_ms=${q(0.9).toFixed(0)} max_ms=${times[times.length - 1].toFixed(0)}`);
} finally {
  await browser.close();
  await server.stop();
}
