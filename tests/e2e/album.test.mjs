// The digital album in real Chromium (issue 26, part 2): the organiser assembles it from
// the published results; one musician agrees on the terms page, another never does; the
// release files are made and the album is published. On a phone, the album page plays
// track 1 and then track 2 without another tap, shows the credits, the painting behind
// each song and the loudness it plays at — and nothing of the song whose musician did
// not agree. In Chinese too. Screenshots go to $SCREENSHOT_DIR (docs/album.md).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { deflateSync } from "node:zlib";
import { api, launchBrowser, publishedCompetition, signIn, startCadenza, until, watchProblems } from "./helpers.mjs";

let server;
let browser;
const shots = process.env.SCREENSHOT_DIR;
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

/** A w×h PNG: a diagonal wash from `a` to `b` (RGB), like a painting's colours. */
function wash(w, h, a, b) {
  const crc = (buf) => {
    let c = ~0;
    for (const x of buf) {
      c ^= x;
      for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
    }
    return ~c >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const t = (x + y) / (w + h);
      for (let k = 0; k < 3; k++) raw[y * (w * 3 + 1) + 1 + x * 3 + k] = Math.round(a[k] + (b[k] - a[k]) * t);
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0)),
  ]);
}

async function putPicture(path, token, png) {
  const res = await fetch(server.url + path, {
    method: "PUT", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/octet-stream" }, body: png,
  });
  assert.ok(res.ok, `${path}: ${res.status} ${await res.text()}`);
}

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

test("the album page plays track 1 then track 2 by itself, agreed songs only", async () => {
  const { c, org, entries, results } = await publishedCompetition(server, "org-alb@example.org", "album-of-paintings", 3, {
    prefix: "alm", name: "Lin", title: "Night river", base: 3,
  });
  const order = results.standings.map((s) => s.entry_id);
  await api(server, `/api/v1/competitions/${c.id}/album`, org, { title: "Paintings into Songs", year: 2026 }, "PUT");
  // A cover, the painting behind the songs, and the first song's lyrics.
  await putPicture(`/api/v1/competitions/${c.id}/album/cover`, org, wash(600, 600, [40, 60, 110], [214, 160, 90]));
  await putPicture(`/api/v1/prompts/${c.prompts[0].id}/image`, org, wash(800, 600, [90, 120, 80], [230, 220, 190]));
  await api(server, `/api/v1/competitions/${c.id}/album`, org, {
    tracks: order.map((id, i) => ({ entry_id: id, ...(i === 0 ? { lyrics: "Lanterns on the water\nthe boat goes slow\n灯火映江流" } : {}) })),
  }, "PUT");

  // The first two musicians agree — the first on the terms page, in the browser.
  const byId = Object.fromEntries(entries.map((e, i) => [e.id, { ...e, email: `alm${i}@example.org` }]));
  const [first, second, third] = order.map((id) => byId[id]);
  const musician = await (await browser.newContext({ locale: "en-US", ...phone })).newPage();
  const problems = watchProblems(musician);
  await signIn(server, musician, first.email);
  await musician.goto(`${server.url}/albums/${c.id}/terms`);
  assert.match(await musician.textContent("main"), new RegExp(first.title));
  await shot(musician, "album-terms-phone");
  await Promise.all([musician.waitForNavigation(), musician.tap("[data-agree]")]);
  assert.ok(await musician.isVisible("[data-agreed]"));
  const album = await api(server, `/api/v1/competitions/${c.id}/album`, org, undefined, "GET");
  await api(server, `/api/v1/albums/${c.id}/agreement`, second.token, { terms_version: album.terms_version });

  // The organiser sees who has not agreed, prepares the release files and publishes.
  const desk = await (await browser.newContext({ locale: "en-US", viewport: { width: 1280, height: 900 } })).newPage();
  await signIn(server, desk, "org-alb@example.org", "baton and score 42");
  await desk.goto(`${server.url}/organise/${c.id}/album`);
  assert.equal(await desk.getAttribute("[data-waiting]", "data-waiting"), "1");
  assert.equal(await desk.getAttribute(`[data-track="${third.id}"]`, "data-agreement"), "musician");
  await Promise.all([desk.waitForNavigation(), desk.click("[data-album-release]")]);
  await until("the release files", async () => {
    const a = await api(server, `/api/v1/competitions/${c.id}/album`, org, undefined, "GET");
    if (a.release_state === "failed") throw new Error(a.release_error);
    return a.release_state === "ready" && a.release_fresh;
  }, 120_000);
  await desk.reload();
  assert.equal(await desk.locator("[data-track-level]").count(), 2);
  await Promise.all([desk.waitForNavigation(), desk.click("[data-album-publish]")]);
  assert.equal(await desk.getAttribute("[data-album-status]", "data-published"), "yes");
  await shot(desk, "album-organise");

  // A listener on a phone: two tracks, no trace of the third song.
  const ctx = await browser.newContext({ locale: "en-US", ...phone });
  const page = await ctx.newPage();
  const listener = watchProblems(page);
  await page.goto(`${server.url}/c/${c.slug}/album`);
  assert.equal(await page.getAttribute('meta[property="og:type"]', "content"), "music.album");
  assert.equal(await page.locator("[data-track-audio]").count(), 2);
  const text = await page.textContent("main");
  assert.ok(text.includes(first.title) && text.includes(second.title));
  assert.ok(!text.includes(third.title), "the song without agreement is not on the page");
  assert.match(await page.textContent(".album__track"), /Inspired by/);
  assert.ok(await page.isVisible(".album__cover"));
  await page.waitForSelector("[data-album-player]:not([hidden])");
  await shot(page, "album-page-phone");

  // One tap: track 1 plays, ends, and track 2 starts by itself.
  await page.tap("[data-album-play]");
  await page.waitForFunction(() => document.body.dataset.albumPlaying === "1", null, { timeout: 15_000 });
  await page.waitForFunction(() => document.body.dataset.albumPlaying === "2", null, { timeout: 30_000 });
  const playing = await page.evaluate(() => [...document.querySelectorAll("[data-track-audio]")].map((a) => !a.paused));
  assert.deepEqual(playing, [false, true]);
  assert.match(await page.textContent("[data-now-playing]"), new RegExp(second.title));
  assert.deepEqual(listener.filter((p) => !p.includes("net::ERR_ABORTED")), []);
  assert.deepEqual(problems.filter((p) => !p.includes("net::ERR_ABORTED")), []);

  // In Chinese.
  const zh = await (await browser.newContext({ locale: "zh-CN", ...phone })).newPage();
  await zh.goto(`${server.url}/c/${c.slug}/album?lang=zh-CN`);
  assert.match(await zh.textContent("[data-album-play]"), /播放整张专辑/);
  assert.match(await zh.textContent(".album__track"), /灵感来自/);
  await shot(zh, "album-page-zh-phone");
});
