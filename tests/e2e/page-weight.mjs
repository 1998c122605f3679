// Page weight and speed on a phone, measured in Chromium through the DevTools protocol:
// a 390 × 844 phone (device pixel ratio 2) on a slow mobile network (150 ms round trip,
// 1.6 Mbit/s down, 750 kbit/s up: Lighthouse's "slow 4G") with the CPU slowed 4×, cold
// cache, for the five pages a visitor at the exhibition meets: the home page, a prompt
// page (the QR code's target), the vote gallery, a song page and the leaderboard.
//
// For each: bytes transferred (compressed, audio left out) before the first
// interaction, Largest Contentful Paint, Cumulative Layout Shift, and the time until
// the Vote button works (our script has enhanced the page: the `cadenza:ready` mark).
// Budgets: ≤ 150 KB, LCP ≤ 2.5 s, CLS ≤ 0.1; the run fails if a page is over.
//
// Run through scripts/bench-pages.sh (it builds the release binary and sets CADENZA_BIN).
// RUNS=n takes the median of n cold loads per page (default 3).
import { chromium } from "playwright-core";
import { CHROMIUM, startCadenza, waitForLink } from "./helpers.mjs";
import { seedStory } from "./story.mjs";

const RUNS = Number(process.env.RUNS || 3);
const BUDGET = { bytes: 150 * 1024, lcp: 2500, cls: 0.1 };
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "zh-CN" };
const SLOW_4G = { offline: false, latency: 150, downloadThroughput: (1.6 * 1024 * 1024) / 8, uploadThroughput: (750 * 1024) / 8 };

const server = await startCadenza({ CADENZA__LOG__LEVEL: "error" });
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"],
});

try {
  const story = await seedStory(server, browser);
  const { a, vote, entries } = story;

  // A visitor who signed in on the spot (the vote pages are measured as they see them).
  const setup = await browser.newContext(PHONE);
  const p = await setup.newPage();
  await p.goto(`${server.url}/c/${a.slug}/vote/${vote.id}/${entries[0].id}`);
  await p.fill("[data-vote-sign-in] input[name=email]", "phone@example.org");
  await Promise.all([p.waitForNavigation(), p.click("[data-vote-sign-in] button")]);
  const link = await waitForLink(server.dir, "phone@example.org", "/magic-link/sign-in?token=");
  await p.goto(link.replace(/^https?:\/\/[^/]+/, server.url));
  await Promise.all([p.waitForNavigation(), p.click("[data-confirm]")]);
  const voter = await setup.storageState();
  await setup.close();

  const pages = [
    { name: "home page", path: "/", state: undefined },
    { name: "prompt page (QR target)", path: `/c/${a.slug}/prompts/${a.prompts[0].id}`, state: undefined },
    { name: "vote gallery", path: `/c/${a.slug}/vote/${vote.id}`, state: voter, vote: true },
    { name: "song page", path: `/c/${a.slug}/vote/${vote.id}/${entries[0].id}`, state: voter, vote: true },
    { name: "leaderboard", path: `/c/${a.slug}/leaderboard/${vote.id}`, state: undefined },
  ];

  const rows = [];
  let over = false;
  for (const pg of pages) {
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await measure(pg));
    const med = (k) => runs.map((r) => r[k]).sort((x, y) => x - y)[Math.floor(runs.length / 2)];
    const row = { ...pg, bytes: med("bytes"), requests: med("requests"), lcp: med("lcp"), cls: med("cls"), ready: med("ready"), largest: runs[0].largest };
    row.ok = row.bytes <= BUDGET.bytes && row.lcp <= BUDGET.lcp && row.cls <= BUDGET.cls;
    over ||= !row.ok;
    rows.push(row);
  }

  console.log(`\npage weight on a phone (390×844 @2x, slow 4G: 150 ms RTT, 1.6 Mbit/s; CPU 4× slower; cold cache; median of ${RUNS})`);
  console.log("| page | KB transferred | requests | LCP | CLS | Vote button works | within budget |");
  console.log("|---|---:|---:|---:|---:|---:|---|");
  for (const r of rows) {
    console.log(`| ${r.name} | ${(r.bytes / 1024).toFixed(1)} | ${r.requests} | ${(r.lcp / 1000).toFixed(2)} s | ${r.cls.toFixed(3)} | ${r.vote ? `${(r.ready / 1000).toFixed(2)} s` : "—"} | ${r.ok ? "yes" : "NO"} |`);
  }
  console.log(`budgets: ≤ ${BUDGET.bytes / 1024} KB, LCP ≤ ${BUDGET.lcp / 1000} s, CLS ≤ ${BUDGET.cls}`);
  for (const r of rows) console.log(`  largest on the ${r.name}: ${r.largest}`);
  process.exitCode = over ? 1 : 0;
} finally {
  await browser.close();
  await server.stop();
}

/** One cold load of a page on the emulated phone. */
async function measure({ path, state }) {
  const ctx = await browser.newContext({ ...PHONE, storageState: state });
  await ctx.addInitScript(() => {
    window.__lcp = 0;
    window.__cls = 0;
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) window.__lcp = e.startTime;
    }).observe({ type: "largest-contentful-paint", buffered: true });
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) if (!e.hadRecentInput) window.__cls += e.value;
    }).observe({ type: "layout-shift", buffered: true });
  });
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.clearBrowserCache");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: false });
  await cdp.send("Network.emulateNetworkConditions", SLOW_4G);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  const kinds = new Map();
  const sizes = new Map();
  cdp.on("Network.responseReceived", (e) => kinds.set(e.requestId, { type: e.type, url: e.response.url, mime: e.response.mimeType }));
  cdp.on("Network.loadingFinished", (e) => sizes.set(e.requestId, e.encodedDataLength));
  await page.goto(server.url + path, { waitUntil: "load", timeout: 60_000 });
  // The first interaction: once our script has enhanced the page and the network is quiet.
  await page.waitForFunction(() => performance.getEntriesByName("cadenza:ready").length > 0, null, { timeout: 60_000 });
  await page.waitForLoadState("networkidle");
  const m = await page.evaluate(() => ({
    lcp: window.__lcp,
    cls: window.__cls,
    ready: performance.getEntriesByName("cadenza:ready")[0].startTime,
  }));
  let bytes = 0;
  let requests = 0;
  let largest = { size: 0, url: "" };
  for (const [id, size] of sizes) {
    const k = kinds.get(id);
    if (!k || k.type === "Media" || k.mime.startsWith("audio/")) continue;
    bytes += size;
    requests++;
    if (size > largest.size) largest = { size, url: new URL(k.url).pathname + new URL(k.url).search };
  }
  await ctx.close();
  return { bytes, requests, ...m, largest: `${largest.url} (${(largest.size / 1024).toFixed(1)} KB)` };
}
