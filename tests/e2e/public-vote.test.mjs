// The public half of the story in real Chromium on a phone (390 × 844):
//  1. a walk-up visitor scans a song's poster (in Chinese) on the venue's network,
//     signs in by the emailed link on the spot, listens, votes with a big button, sees
//     the answer right beside it ("counted", not held), and the open leaderboard moves
//     without a reload; no English is left on the Chinese pages of that flow;
//  2. a family member goes from the home page to the competition, to its results, and
//     plays the winner (the public copy of the song).
// Screenshots go to $SCREENSHOT_DIR when it is set.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  analysedEntry,
  api,
  launchBrowser,
  organiserWithCompetition,
  publicAudioReady,
  startCadenza,
  until,
  waitForLink,
  watchProblems,
} from "./helpers.mjs";

let server;
let browser;
const shots = process.env.SCREENSHOT_DIR;
const phone = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
};

async function shot(page, name) {
  if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

before(async () => {
  server = await startCadenza();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Latin words on a page that should be all Chinese, leaving out what is a name (and the
 * competition's title, which the organiser typed in English here). */
async function englishLeft(page, allowed) {
  const text = await page.evaluate(() => {
    const main = document.querySelector("main").cloneNode(true);
    for (const el of main.querySelectorAll(".url, [data-share-url], code, noscript, script")) el.remove();
    return main.innerText;
  });
  // "UTC" (in times: 09:30（UTC+8）) is how Chinese pages write the offset too.
  const names = ["Paintings", "that", "sing", ...allowed];
  return (text.match(/[A-Za-z]{2,}/g) || []).filter((w) => w !== "UTC" && !names.includes(w));
}

test("a walk-up visitor scans a poster, signs in on the spot, votes, and the leaderboard moves", async () => {
  const { c, bearer: org } = await organiserWithCompetition(server, "org-pv@example.org", "palace-vote");
  const opts = { prefix: "pvm", name: "林悦", title: "千里江山", base: 6 };
  const entries = [await analysedEntry(server, c, 0, opts), await analysedEntry(server, c, 1, opts)];
  const now = Date.now();
  // The venue's Wi-Fi is the loopback network here; brand-new accounts on it count
  // (the default for new accounts), and counts are shown live.
  const round = await api(server, `/api/v1/competitions/${c.id}/voting-rounds`, org, {
    title: "观众投票",
    opens_at: new Date(now - 5_000).toISOString(),
    closes_at: new Date(now + 3 * 86_400_000).toISOString(),
    counts_visible: "live",
    allowlist: ["127.0.0.0/8"],
    entry_ids: entries.map((e) => e.id),
  });
  assert.equal(round.new_accounts, "venue");
  assert.equal(round.new_account_minutes, 5);
  await publicAudioReady(server, round.id, entries.map((e) => e.id));
  const target = entries[1];

  // Someone watches the open leaderboard.
  const watcher = await (await browser.newContext({ locale: "zh-CN" })).newPage();
  const watchIssues = watchProblems(watcher);
  await watcher.goto(`${server.url}/c/${c.slug}/leaderboard/${round.id}`);
  await watcher.waitForSelector("[data-live]:not([hidden])");
  const cell = `[data-line="${target.id}"] [data-votes]`;
  assert.equal((await watcher.textContent(cell)).trim(), "0");

  // The song's poster, in Chinese, beside the painting: its QR address.
  const desk = await (await browser.newContext({ locale: "en-US" })).newPage();
  await desk.goto(`${server.url}/posters/entry/${target.id}?lang=zh-CN`);
  const scanUrl = (await desk.textContent("[data-scan-url]")).trim();

  // A visitor's phone opens it.
  const context = await browser.newContext({ locale: "en-US", ...phone });
  const page = await context.newPage();
  const problems = watchProblems(page);
  await page.goto(scanUrl);
  assert.equal(new URL(page.url()).pathname, `/c/${c.slug}/vote/${round.id}/${target.id}`);
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
  // One play control: the big button; the native player is replaced by it.
  assert.equal(await page.isVisible("[data-vote-audio]"), false);
  assert.equal(await page.locator("[data-play-button]").count(), 1);
  // The header fits in two lines.
  const header = await page.locator(".site-header").boundingBox();
  assert.ok(header.height <= 110, `header ${header.height} px tall`);
  await shot(page, "vote-song-zh-phone");

  // Sign in on the spot by the emailed link; back on the song.
  await page.tap("[data-vote-sign-in-button]");
  await page.fill("[data-vote-sign-in] input[name=email]", "walkup@example.org");
  await Promise.all([page.waitForNavigation(), page.tap("[data-vote-sign-in] button")]);
  const link = await waitForLink(server.dir, "walkup@example.org", "/magic-link/sign-in?token=");
  await page.goto(link.replace(/^https?:\/\/[^/]+/, server.url));
  await Promise.all([page.waitForNavigation(), page.tap("[data-confirm]")]);
  assert.equal(new URL(page.url()).pathname, `/c/${c.slug}/vote/${round.id}/${target.id}`);
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN", "the poster's language stays");

  // Listen (one tap), then vote with a big button.
  await page.tap("[data-play-button]");
  await page.waitForFunction(() => document.querySelector("[data-vote-audio]").currentTime > 0.5, null, { polling: 100 });
  await page.waitForSelector("[data-vote-button]:not([disabled])");
  const button = await page.locator("[data-vote-button]").boundingBox();
  assert.ok(button.width >= 44 && button.height >= 44, `vote button ${button.width}×${button.height}`);
  await page.tap("[data-vote-button]");
  await page.waitForSelector('[data-vote-status][data-kind="ok"]', { timeout: 30_000 });
  // The answer is true (a walk-up vote at the venue counts) and where the visitor looks.
  assert.match(await page.textContent("[data-vote-status]"), /你的票已计入|计入/);
  const status = await page.locator("[data-vote-status]").boundingBox();
  assert.ok(status.y >= 0 && status.y + status.height <= 844, `status at ${status.y}`);
  assert.deepEqual(await englishLeft(page, []), [], "no English on the Chinese song page");
  await shot(page, "vote-counted-zh-phone");

  // The leaderboard moves without a reload.
  await watcher.waitForFunction((sel) => document.querySelector(sel).textContent.trim() === "1", cell, { polling: 100, timeout: 10_000 });
  assert.deepEqual(await englishLeft(watcher, []), [], "no English on the Chinese leaderboard");

  // The organiser closes the vote now; the song page then reads as closed.
  await api(server, `/api/v1/voting-rounds/${round.id}/close-now`, org);
  await page.reload();
  assert.equal(await page.isVisible("[data-vote-closed]"), true);
  assert.equal(await page.locator("[data-vote-button]").count(), 0);
  assert.equal(await page.locator("[data-vote-sign-in]").count(), 0);
  assert.equal(await page.locator("[data-listen-hint]").count(), 0);
  await shot(page, "vote-closed-zh-phone");

  assert.deepEqual(problems, []);
  assert.deepEqual(watchIssues, []);
  await context.close();
});

test("a visitor goes from the home page to the competition, its results, and plays the winner", async () => {
  const { c, bearer: org } = await organiserWithCompetition(server, "org-res@example.org", "palace-results");
  const entries = [];
  for (let i = 0; i < 3; i++) entries.push(await analysedEntry(server, c, i, { prefix: "prm", title: "Mountain song", base: 11 }));
  // A judge scores; the screening is decided (top 2 advance); results are published.
  await api(server, `/api/v1/competitions/${c.id}/judges/invitations`, org, { email: "judge-res@example.org" });
  const invite = await waitForLink(server.dir, "judge-res@example.org", "/judge-invitation?token=");
  const accepted = await fetch(server.url + "/api/v1/judge-invitations/accept", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: invite.split("token=")[1], stage_name: "Mr Zhang", password: "erhu at dawn 1958" }),
  });
  assert.equal(accepted.status, 200);
  const judge = (await (await fetch(server.url + "/api/v1/auth/sign-in", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: "judge-res@example.org", password: "erhu at dawn 1958" }),
  })).json()).access_token;
  const round = await api(server, `/api/v1/competitions/${c.id}/rounds`, org, {
    name: "Screening", judges_per_entry: 1, advancement: { kind: "top_n", n: 2 },
    rubric: [{ name: "Music", weight: 100, min: 1, max: 10 }],
  });
  await api(server, `/api/v1/rounds/${round.id}/assign`, org);
  const q = await api(server, `/api/v1/judging/rounds/${round.id}/queue`, judge, undefined, "GET");
  for (const [i, item] of q.items.entries()) {
    await api(server, `/api/v1/judging/assignments/${item.alias}/score`, judge, { criteria: { c1: 9 - i * 3 } }, "PUT");
  }
  await api(server, `/api/v1/rounds/${round.id}/close`, org);
  await api(server, `/api/v1/rounds/${round.id}/advance`, org, {});
  const results = await api(server, `/api/v1/competitions/${c.id}/results`, org, { method: "borda", jury_weight: 100, public_weight: 0 }, "PUT");
  assert.equal(results.standings.length, 2, "only the finalists are placed");
  await api(server, `/api/v1/competitions/${c.id}/results/publish`, org, {});
  const winner = results.standings[0];
  await until("the winner's public copy", async () => {
    const res = await fetch(`${server.url}/api/v1/songs/${winner.entry_id}/audio`, { headers: { Range: "bytes=0-0" } });
    await res.arrayBuffer();
    return res.status === 206;
  });

  const context = await browser.newContext({ locale: "en-US", ...phone });
  const page = await context.newPage();
  const problems = watchProblems(page);
  await page.goto(server.url + "/");
  const card = page.locator(`[data-competition-card="${c.slug}"]`);
  assert.match(await card.textContent(), /Results are out/);
  await shot(page, "home-results-phone");
  await Promise.all([page.waitForNavigation(), card.locator("[data-competition-link]").tap()]);
  assert.equal(new URL(page.url()).pathname, `/c/${c.slug}`);
  await Promise.all([page.waitForNavigation(), page.tap("[data-results-link]")]);
  assert.equal(new URL(page.url()).pathname, `/c/${c.slug}/results`);
  // Winners first, each playable and linked to the song's page.
  const w = page.locator(`[data-winners] [data-winner="${winner.entry_id}"]`);
  assert.equal(await w.count(), 1);
  assert.equal((await w.locator("[data-song-link]").getAttribute("href")), `/songs/${winner.entry_id}`);
  const og = await page.getAttribute('meta[property="og:audio"]', "content");
  assert.match(og, /^https?:\/\/[^/]+\/api\/v1\/songs\//, "Open Graph audio is an absolute address");
  await shot(page, "results-phone");
  await w.locator("[data-result-audio]").evaluate((a) => a.play());
  await page.waitForFunction((id) => document.querySelector(`[data-winner="${id}"] audio`).currentTime > 0.5, winner.entry_id, { polling: 100 });
  // The same page in Chinese: the jury and the public side by side, no English words
  // but the song titles.
  await page.goto(`${server.url}/c/${c.slug}/results?lang=zh-CN`);
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
  assert.deepEqual(await englishLeft(page, ["Mountain", "song", "Musician"]), []);
  await shot(page, "results-zh-phone");
  assert.deepEqual(problems, []);
  await context.close();
});
