// The exhibition in real Chromium: an organiser opens a song's printable poster (in
// Chinese); the QR code on it is read from a screenshot, as a phone camera would; the
// phone opens the address, lands on the song's page in the poster's language, and one
// tap starts playback; the vote button is there while voting is open; the scan is
// counted for the organiser.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import {
  analysedEntry,
  api,
  launchBrowser,
  organiserWithCompetition,
  publicAudioReady,
  startCadenza,
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

test("a poster's QR code leads a phone to the song, which plays with one tap", async () => {
  const { c, bearer: org } = await organiserWithCompetition(server, "org-x@example.org", "wall-song");
  const entry = await analysedEntry(server, c, 0, { prefix: "xm", name: "Painter", title: "Wall song", base: 7 });
  const now = Date.now();
  const round = await api(server, `/api/v1/competitions/${c.id}/voting-rounds`, org, {
    title: "Visitors' choice",
    opens_at: new Date(now - 5_000).toISOString(),
    closes_at: new Date(now + 3_600_000).toISOString(),
    counts_visible: "live",
    new_account_minutes: 0,
    entry_ids: [entry.id],
  });
  await publicAudioReady(server, round.id, [entry.id]);

  // The poster, in Chinese, printed from a desk.
  const desk = await (await browser.newContext({ locale: "en-US" })).newPage();
  const deskProblems = watchProblems(desk);
  await desk.goto(`${server.url}/posters/entry/${entry.id}?lang=zh-CN`);
  assert.equal(await desk.getAttribute("html", "lang"), "zh-CN");
  assert.equal((await desk.textContent("[data-poster-title]")).trim(), entry.title);
  assert.match(await desk.textContent(".poster__qr figcaption"), /扫码收听并投票/);
  await desk.waitForFunction(() => {
    const img = document.querySelector("[data-poster-qr]");
    return img.complete && img.naturalWidth > 0;
  });
  // Printed, the tools disappear and the poster stays.
  await desk.emulateMedia({ media: "print" });
  assert.equal(await desk.isVisible("[data-poster-tools]"), false);
  assert.equal(await desk.isVisible("[data-poster-qr]"), true);
  await desk.emulateMedia({ media: "screen" });

  // A phone camera reads the code off the poster.
  const shot = PNG.sync.read(await desk.locator("[data-poster-qr]").screenshot());
  const read = jsQR(new Uint8ClampedArray(shot.data), shot.width, shot.height);
  assert.ok(read, "the QR code on the poster reads");
  assert.match(read.data, new RegExp(`^${server.url}/p/[A-Za-z0-9]{10}$`));
  assert.equal(read.data, (await desk.textContent("[data-scan-url]")).trim());

  // The phone opens it: the song's page, in the poster's language.
  const phone = await browser.newContext({
    locale: "en-US",
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  });
  const page = await phone.newPage();
  const problems = watchProblems(page);
  await page.goto(read.data);
  assert.equal(new URL(page.url()).pathname, `/c/${c.slug}/vote/${round.id}/${entry.id}`);
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
  assert.equal((await page.textContent("[data-entry-title]")).trim(), entry.title);
  // One tap plays.
  assert.equal(await page.locator("[data-vote-audio]").evaluate((a) => a.paused), true);
  await page.tap("[data-play-button]");
  await page.waitForFunction(() => document.querySelector("[data-vote-audio]").currentTime > 0.5, null, { polling: 100 });
  assert.equal(await page.getAttribute("[data-play-button]", "aria-pressed"), "true");
  // Voting is open: the vote button is offered (it leads to the email sign-in).
  assert.equal(await page.isVisible("[data-vote-sign-in-button]"), true);
  await page.tap("[data-vote-sign-in-button]");
  assert.equal(await page.evaluate(() => location.hash), "#email");
  // Another tap pauses.
  await page.tap("[data-play-button]");
  await page.waitForFunction(() => document.querySelector("[data-vote-audio]").paused);

  // The organiser sees the scan, counted for that poster.
  const posters = await api(server, `/api/v1/competitions/${c.id}/posters`, org, undefined, "GET");
  const poster = posters.find((p) => p.scan_url === read.data);
  assert.equal(poster.scans, 1);
  assert.equal(poster.lang, "zh-CN");

  assert.deepEqual(deskProblems, []);
  assert.deepEqual(problems, []);
});
