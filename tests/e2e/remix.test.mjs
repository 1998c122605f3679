// A remix round in real Chromium: the organiser makes it a remix competition, creates a
// stem pack and adds a stem through the page (the JavaScript upload), and sees it
// analysed; a musician finds the pack on the competition's page, accepts the licence,
// downloads the stem through its signed link, and enters a remix naming the pack; the
// entry's page shows where it comes from and who is credited.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import {
  apiMusician,
  launchBrowser,
  makeWav,
  organiserWithCompetition,
  signIn,
  startCadenza,
  until,
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

test("an organiser publishes stems; a musician accepts the licence, downloads and enters a remix", async () => {
  const { c } = await organiserWithCompetition(server, "org-r@example.org", "remix-round");

  // The organiser's remix page.
  const desk = await (await browser.newContext({ locale: "en-US", acceptDownloads: true })).newPage();
  const deskProblems = watchProblems(desk);
  await signIn(server, desk, "org-r@example.org", "baton and score 42");
  await desk.goto(`${server.url}/organise/${c.id}`);
  await Promise.all([desk.waitForNavigation(), desk.click("[data-remix-link]")]);
  await desk.check("[data-remix-settings] input[name=sources_required]");
  await Promise.all([desk.waitForNavigation(), desk.click("[data-remix-settings] button[type=submit]")]);
  assert.equal(await desk.isChecked("[data-remix-settings] input[name=sources_required]"), true);
  const form = desk.locator("[data-new-pack] form");
  await form.locator("input[name=title]").fill("Spring Dawn stems");
  await form.locator("input[name=credit]").fill("The Dawn Band");
  await form.locator("input[name=tempo_bpm]").fill("92");
  await form.locator("input[name=musical_key]").fill("A minor");
  await form.locator("input[name=licence_name]").fill("Spring Dawn remix licence");
  await form.locator("textarea[name=licence_text]").fill("Use these stems in your entry. Credit The Dawn Band.");
  await Promise.all([desk.waitForNavigation(), form.locator("button[type=submit]").click()]);
  const pack = desk.locator("[data-pack]").first();
  const packId = await pack.getAttribute("data-pack");
  assert.match(await pack.textContent(), /92 BPM/);

  // Add a stem with the page's upload box; it reloads and the stem is analysed.
  await pack.locator("[data-param=name]").fill("Bass");
  await Promise.all([
    desk.waitForNavigation(),
    pack.locator("input[type=file]").setInputFiles({ name: "bass.wav", mimeType: "audio/wav", buffer: makeWav(4) }),
  ]);
  await until("the stem's analysis", async () => {
    await desk.reload();
    return (await desk.getAttribute(`[data-pack="${packId}"] [data-file]`, "data-file-status")) === "analysed";
  });
  assert.match(await desk.textContent(`[data-pack="${packId}"] [data-file]`), /Bass/);
  assert.match(await desk.textContent(`[data-pack="${packId}"] [data-file]`), /4\.0 s/);

  // A musician finds the pack, accepts the licence and downloads the stem.
  await apiMusician(server, "remixer@example.org", "Mei");
  const ctx = await browser.newContext({ locale: "en-US", acceptDownloads: true });
  const page = await ctx.newPage();
  const problems = watchProblems(page);
  await signIn(server, page, "remixer@example.org");
  await page.goto(`${server.url}/c/${c.slug}`);
  assert.ok(await page.isVisible("[data-remix-competition]"));
  await Promise.all([page.waitForNavigation(), page.click(`[data-pack-link="${packId}"] a`)]);
  assert.match(await page.textContent("[data-licence-text]"), /Credit The Dawn Band/);
  assert.equal(await page.locator("[data-files] form").count(), 0, "no downloads before accepting");
  await Promise.all([page.waitForNavigation(), page.click("[data-accept] button")]);
  assert.ok(await page.isVisible("[data-accepted]"));
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("[data-files] form button")]);
  assert.equal(download.suggestedFilename(), "bass.wav");
  const bytes = readFileSync(await download.path());
  assert.equal(bytes.subarray(0, 4).toString(), "RIFF");
  assert.equal(bytes.length, makeWav(4).length);

  // The remix names the pack when it is entered; its page shows where it comes from.
  await page.goto(`${server.url}/c/${c.slug}/enter`);
  await page.fill("#title", "Dawn, remixed");
  await page.check("input[name=originality_declared]");
  await page.selectOption("select[name=remix_source]", `pack:${packId}`);
  await Promise.all([page.waitForNavigation(), page.click("[data-save-entry]")]);
  assert.match(page.url(), /\/entries\/[0-9a-f]+/);
  assert.match(await page.textContent("[data-remix-of]"), /Spring Dawn stems/);
  assert.match(await page.textContent("[data-credits]"), /The Dawn Band/);

  // The organiser sees the download counted.
  await desk.reload();
  assert.equal((await desk.textContent(`[data-pack="${packId}"] [data-downloads]`)).trim(), "1");
  assert.deepEqual(problems, []);
  assert.deepEqual(deskProblems, []);
});
