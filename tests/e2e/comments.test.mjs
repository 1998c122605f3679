// Listeners' time-synced comments in real Chromium on a phone (issue 26, part 4): after
// the results are public, a listener signs in by email from the song's page, pins a
// comment at 0:42 while listening, sees its mark in the lane over the waveform and in
// the list; pressing its time plays the song from there and the comment crosses the
// lane. The musician hides it from their own view of the page. In Chinese too.
// Screenshots go to $SCREENSHOT_DIR when it is set (docs/comments.md uses them).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  launchBrowser,
  publishedCompetition,
  signIn,
  startCadenza,
  until,
  waitForLink,
  watchProblems,
} from "./helpers.mjs";

let server;
let browser;
const shots = process.env.SCREENSHOT_DIR;
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

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

test("a listener pins a comment at 0:42 and sees it in the lane", async () => {
  const { entries, results } = await publishedCompetition(server, "org-cm@example.org", "songs-with-comments", 2, {
    prefix: "cmm", name: "Lin", title: "Night river", base: 45,
  });
  const song = results.standings[0].entry_id;
  await until("the song's public copy", async () => {
    const res = await fetch(`${server.url}/api/v1/songs/${song}/audio`, { headers: { Range: "bytes=0-0" } });
    await res.arrayBuffer();
    return res.status === 206;
  });

  // A listener on a phone opens the song and signs in by email to comment.
  const ctx = await browser.newContext({ locale: "en-US", ...phone });
  const page = await ctx.newPage();
  const problems = watchProblems(page);
  await page.goto(`${server.url}/songs/${song}`);
  assert.ok(await page.isVisible("[data-no-comments]"));
  await Promise.all([page.waitForNavigation(), page.tap("[data-comment-sign-in]")]);
  await page.fill("input[name=email]", "listener-cm@example.org");
  await Promise.all([page.waitForNavigation(), page.tap("main form button[type=submit]")]);
  const link = await waitForLink(server.dir, "listener-cm@example.org", "/magic-link/sign-in?token=");
  await page.goto(link.replace(/^https?:\/\/[^/]+/, server.url));
  await Promise.all([page.waitForNavigation(), page.tap("[data-confirm]")]);
  assert.equal(new URL(page.url()).pathname, `/songs/${song}`);
  await page.waitForSelector("[data-comments][data-ready=true]");

  // Listening, at 0:42: the form's moment follows the player.
  await page.evaluate(async () => {
    const a = document.querySelector("[data-song-audio]");
    a.preload = "auto";
    a.load();
    await new Promise((r) => (a.readyState >= 1 ? r() : a.addEventListener("loadedmetadata", r, { once: true })));
    a.currentTime = 42;
  });
  await page.waitForFunction(() => document.querySelector("[data-comment-at]").value === "0:42");
  await page.fill("#comment-body", "The strings at the bridge!");
  await Promise.all([page.waitForNavigation(), page.tap("[data-comment-send]")]);

  // The comment: a mark in the lane at 0:42 (42 s of 46 s), and in the list.
  const mark = page.locator("[data-lane-marks] [data-mark]");
  assert.equal(await mark.count(), 1);
  assert.equal(Number(await mark.getAttribute("data-at")), 42);
  const lane = await page.locator("[data-lane]").boundingBox();
  await page.waitForFunction(() => document.querySelector("[data-mark]").style.left !== "");
  const m = await mark.boundingBox();
  const frac = (m.x + m.width / 2 - lane.x) / lane.width;
  assert.ok(frac > 0.85 && frac < 0.97, `the mark sits at ${frac.toFixed(2)} of the lane`);
  assert.match(await page.textContent("[data-comment-list] li"), /0:42[\s\S]*The strings at the bridge!/);
  // Its time plays the song from there, and the comment crosses the lane.
  await page.tap("[data-seek]");
  await page.waitForSelector("[data-lane-bullets] [data-bullet]", { timeout: 15_000 });
  assert.equal(await page.textContent("[data-lane-bullets] [data-bullet]"), "The strings at the bridge!");
  if (shots) await page.waitForTimeout(2500); // mid-flight, for the picture
  await shot(page, "comments-lane-phone");
  assert.deepEqual(problems.filter((p) => !p.includes("net::ERR_ABORTED")), []);

  // The same song in Chinese, for a reader of Chinese.
  const zh = await (await browser.newContext({ locale: "zh-CN", ...phone })).newPage();
  await zh.goto(`${server.url}/songs/${song}?lang=zh-CN`);
  assert.match(await zh.textContent("#comments-h"), /听众评论/);
  assert.match(await zh.textContent("[data-comment-sign-in]"), /用邮箱登录/);
  await shot(zh, "comments-song-zh-phone");

  // The musician hides it on their song.
  const owner = await (await browser.newContext({ locale: "en-US", ...phone })).newPage();
  const musicianEmail = entries.find((e) => e.id === song) ? `cmm${entries.findIndex((e) => e.id === song)}@example.org` : "";
  await signIn(server, owner, musicianEmail);
  await owner.goto(`${server.url}/songs/${song}`);
  await Promise.all([owner.waitForNavigation(), owner.tap("[data-moderate=hide]")]);
  assert.ok(await owner.isVisible("[data-comment-list] li.is-hidden"));
  await page.reload();
  assert.equal(await page.locator("[data-lane-marks] [data-mark]").count(), 0, "hidden for listeners");
});
