// Public voting in real Chromium: a voter opens an entry from a shared link, signs in
// through the emailed link and lands back on it, listens, votes (the proof of work is
// solved in a Web Worker at the default cost), and a second browser watching the
// leaderboard sees the count move without reloading (Server-Sent Events).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  analysedEntry,
  api,
  launchBrowser,
  organiserWithCompetition,
  publicAudioReady,
  startCadenza,
  waitForLink,
  watchProblems,
} from "./helpers.mjs";

let server;
let browser;

before(async () => {
  server = await startCadenza();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("a voter follows a shared link, signs in by email, listens, votes; the leaderboard moves live", async () => {
  const { c, bearer: org } = await organiserWithCompetition(server, "org-v@example.org", "lantern-vote");
  const opts = { prefix: "vm", name: "Singer", title: "Lantern song", base: 8 };
  const entries = [await analysedEntry(server, c, 0, opts), await analysedEntry(server, c, 1, opts)];
  const now = Date.now();
  const round = await api(server, `/api/v1/competitions/${c.id}/voting-rounds`, org, {
    title: "People's choice",
    opens_at: new Date(now - 5_000).toISOString(),
    closes_at: new Date(now + 3_600_000).toISOString(),
    votes_per_voter: 5,
    counts_visible: "live",
    min_listen_secs: 2,
    new_account_minutes: 0,
    entry_ids: entries.map((e) => e.id),
  });
  await publicAudioReady(server, round.id, entries.map((e) => e.id));
  const target = entries[1];

  // Someone watches the leaderboard.
  const watcher = await (await browser.newContext({ locale: "en-US" })).newPage();
  const watchIssues = watchProblems(watcher);
  await watcher.goto(`${server.url}/c/${c.slug}/leaderboard/${round.id}`);
  await watcher.waitForSelector("[data-live]:not([hidden])");
  const cell = `[data-line="${target.id}"] [data-votes]`;
  assert.equal((await watcher.textContent(cell)).trim(), "0");

  // The voter opens the shared link and signs in from it.
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  const problems = watchProblems(page);
  await page.goto(`${server.url}/c/${c.slug}/vote/${round.id}/${target.id}`);
  assert.equal(await page.textContent("[data-entry-title]"), target.title);
  assert.equal(await page.getAttribute('meta[property="og:title"]', "content"), `${target.title} — Singer 1`);
  await page.fill("[data-vote-sign-in] input[name=email]", "listener@example.org");
  await Promise.all([page.waitForNavigation(), page.click("[data-vote-sign-in] button")]);
  const link = await waitForLink(server.dir, "listener@example.org", "/magic-link/sign-in?token=");
  await page.goto(link.replace(/^https?:\/\/[^/]+/, server.url));
  await Promise.all([page.waitForNavigation(), page.click("[data-confirm]")]);
  assert.equal(new URL(page.url()).pathname, `/c/${c.slug}/vote/${round.id}/${target.id}`, "back on the shared entry");
  await page.waitForSelector("[data-vote-button]:not([disabled])");

  // Voting before listening long enough is stopped in the page.
  await page.click("[data-entry-title]");
  await page.locator("[data-vote-audio]").evaluate((a) => a.play());
  await page.click("[data-vote-button]");
  await page.waitForSelector('[data-vote-status][data-kind="warn"]');
  // Listen, then vote.
  await page.waitForFunction(() => document.querySelector("[data-vote-audio]").currentTime > 2.6, null, { polling: 100 });
  await page.click("[data-vote-button]");
  await page.waitForSelector('[data-vote-status][data-kind="ok"]', { timeout: 30_000 });
  assert.match(await page.textContent("[data-vote-status]"), /Your vote counts/);
  assert.match(await page.textContent("[data-my-votes]"), /Votes left: 4/);
  const powMs = Number(await page.getAttribute("[data-vote-page]", "data-pow-ms"));
  console.log(`proof of work solved in Chromium in ${powMs} ms (cost 5000, counter below 400)`);

  // The watcher's leaderboard moves without a reload.
  await watcher.waitForFunction((sel) => document.querySelector(sel).textContent.trim() === "1", cell, { polling: 100, timeout: 10_000 });
  assert.equal((await watcher.textContent(`tbody tr:first-child [data-title]`)).trim(), target.title);

  // The gallery lists both songs, with the voter's vote on the one they chose.
  await page.goto(`${server.url}/c/${c.slug}/vote/${round.id}`);
  assert.equal(await page.locator("[data-gallery] [data-entry]").count(), 2);
  assert.match(await page.textContent(`[data-entry="${target.id}"] [data-my-count]`), /Your votes: 1/);

  assert.deepEqual(problems, []);
  assert.deepEqual(watchIssues, []);
});
