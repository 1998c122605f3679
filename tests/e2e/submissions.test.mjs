// Submissions in real Chromium: a musician signs up, enters a competition, uploads a
// WAV made here while the progress bar moves, and sees the report with its waveform;
// the organiser finds the entry in moderation and requests changes; the musician
// gets the email.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  launchBrowser,
  organiserWithCompetition,
  makeWav,
  register,
  signIn,
  startCadenza,
  waitForLink,
  waitForMail,
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

test("a musician uploads, watches progress, reads the report; the organiser requests changes", async () => {
  const { c } = await organiserWithCompetition(server);

  const context = await browser.newContext({ locale: "en-US" });
  // Record the progress bar's highest value, even across the reload that follows.
  await context.addInitScript(() => {
    const record = () => {
      const bar = document.querySelector("[data-progress]");
      if (bar && !bar.hidden) {
        const best = Number(sessionStorage.getItem("progress") || 0);
        sessionStorage.setItem("progress", String(Math.max(best, bar.value)));
      }
    };
    setInterval(record, 5);
    window.addEventListener("beforeunload", record);
  });
  const page = await context.newPage();
  const problems = watchProblems(page);
  await register(server, page, "mei@example.org", 17);
  const verify = await waitForLink(server.dir, "mei@example.org", "/verify-email?token=");
  await page.goto(verify.replace(/^https?:\/\/[^/]+/, server.url));
  await Promise.all([page.waitForNavigation(), page.click("[data-confirm]")]);
  await signIn(server, page, "mei@example.org");

  // The public page, then the entry form.
  await page.goto(`${server.url}/c/${c.slug}`);
  assert.equal(await page.getAttribute('meta[property="og:title"]', "content"), "Paintings that sing");
  assert.match(await page.textContent("[data-prompt] h3"), /Spring Dawn/);
  await Promise.all([page.waitForNavigation(), page.click("[data-enter]")]);
  await page.fill("#title", "River at dawn");
  await page.fill("#lyrics", "Mist on the water");
  await page.check('input[name="originality_declared"]');
  await Promise.all([page.waitForURL(/\/entries\//), page.click("[data-save-entry]")]);
  const entryUrl = page.url();
  // A new draft: the upload comes first; no remix panels in a competition that is not a
  // remix round and has no results; the audio check is not the organisers' decision.
  const panels = await page.locator("main > section.panel").evaluateAll((els) => els.map((e) => Object.keys(e.dataset)[0]));
  assert.equal(panels[1], "uploadPanel", `panels in order: ${panels}`);
  assert.equal(await page.locator("[data-lineage], [data-permission-form], [data-source-form]").count(), 0);
  assert.equal(await page.getAttribute("[data-audio-check]", "data-audio-check"), "none");
  assert.match(await page.textContent("[data-review]"), /Not reviewed yet/);

  // Upload: the bar shows, the page moves on to analysing, then to the report.
  await page.setInputFiles("#audio-file", { name: "river.wav", mimeType: "audio/wav", buffer: makeWav(8) });
  await page.waitForSelector("[data-report]", { timeout: 60_000 });
  assert.equal(Number(await page.evaluate(() => sessionStorage.getItem("progress"))), 100);
  assert.ok(Number(await page.getAttribute("[data-waveform]", "data-drawn")) > 100, "waveform drawn");
  assert.ok(Number(await page.getAttribute("[data-loudness-curve]", "data-drawn")) > 3, "loudness curve drawn");
  assert.ok((await page.locator("[data-verdicts] li").count()) >= 5);
  assert.equal(await page.getAttribute('[data-rule="duration"]', "data-outcome"), "pass");
  // What needs fixing is listed first.
  const outcomes = await page.locator("[data-verdicts] li").evaluateAll((els) => els.map((e) => e.dataset.outcome));
  const rank = { reject: 0, warn: 1, pass: 2 };
  assert.deepEqual([...outcomes].sort((a, b) => rank[a] - rank[b]), outcomes, `verdict order: ${outcomes}`);
  // The format in plain words, not the decoder's.
  const facts = await page.textContent(".facts-table");
  assert.match(facts, /WAV · 16-bit · 44\.1 kHz · (mono|stereo)/);
  assert.ok(!facts.includes("Little-Endian"), facts);
  assert.ok(["pass", "warn", "reject"].includes(await page.getAttribute("[data-audio-check]", "data-audio-check")));
  assert.ok(await page.isVisible("[data-player] audio"));
  await waitForMail(server.dir, "mei@example.org", "River at dawn");
  assert.deepEqual(problems, []);

  // The organiser moderates in another browser.
  const orgContext = await browser.newContext({ locale: "en-US" });
  const org = await orgContext.newPage();
  const orgProblems = watchProblems(org);
  await signIn(server, org, "org@example.org", "baton and score 42");
  await org.goto(`${server.url}/organise/${c.id}/entries`);
  assert.match(await org.textContent("[data-moderation]"), /River at dawn/);
  await Promise.all([org.waitForNavigation(), org.click("[data-moderation] a")]);
  assert.equal(org.url(), entryUrl);
  assert.ok(await org.isVisible("[data-report]"));
  await org.selectOption("#action", "request_changes");
  await org.fill("#reason", "Please fade out the ending.");
  await Promise.all([org.waitForNavigation(), org.click("[data-review-submit]")]);
  assert.match(await org.textContent("[data-review]"), /Changes requested/);
  assert.deepEqual(orgProblems, []);

  const mail = await waitForMail(server.dir, "mei@example.org", "Please fade out the ending.");
  assert.match(mail, /River at dawn/);
  await page.reload();
  assert.match(await page.textContent("[data-review]"), /Changes requested/);
  await context.close();
  await orgContext.close();
});
