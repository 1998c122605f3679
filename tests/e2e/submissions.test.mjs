// Submissions in real Chromium: a musician signs up, enters a competition, uploads a
// WAV made here while the progress bar moves, and sees the report with its waveform;
// the organiser finds the entry in moderation and requests changes; the musician
// gets the email.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  launchBrowser,
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

async function api(path, token, body, method = "POST") {
  const res = await fetch(server.url + path, {
    method,
    headers: { "Content-Type": "application/json", Accept: "application/json", Authorization: `Bearer ${token}` },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json().catch(() => null);
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** An organiser (made with the admin command) and an open competition with a prompt. */
async function organiserWithCompetition() {
  const out = server.run(["admin", "create-organiser", "--email", "org@example.org"]);
  const link = out.match(/https?:\/\/\S+token=\S+/)[0];
  const token = link.split("token=")[1];
  let res = await fetch(server.url + "/api/v1/account/password-setup", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token, password: "baton and score 42" }),
  });
  assert.equal(res.status, 204);
  res = await fetch(server.url + "/api/v1/auth/sign-in", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: "org@example.org", password: "baton and score 42" }),
  });
  const { access_token: bearer } = await res.json();
  const c = await api("/api/v1/competitions", bearer, {
    title: "Paintings that sing",
    slug: "paintings",
    summary: "Write a song for a painting.",
    time_zone: "Asia/Shanghai",
    audio_policy: { duration: { min_secs: 2, max_secs: 600, severity: "reject" } },
    prompts: [{ title: "Spring Dawn", story: "Mist over the river." }],
  });
  await api(`/api/v1/competitions/${c.id}/publish`, bearer);
  return c;
}

test("a musician uploads, watches progress, reads the report; the organiser requests changes", async () => {
  const c = await organiserWithCompetition();

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

  // Upload: the bar shows, the page moves on to analysing, then to the report.
  await page.setInputFiles("#audio-file", { name: "river.wav", mimeType: "audio/wav", buffer: makeWav(8) });
  await page.waitForSelector("[data-report]", { timeout: 60_000 });
  assert.equal(Number(await page.evaluate(() => sessionStorage.getItem("progress"))), 100);
  assert.ok(Number(await page.getAttribute("[data-waveform]", "data-drawn")) > 100, "waveform drawn");
  assert.ok(Number(await page.getAttribute("[data-loudness-curve]", "data-drawn")) > 3, "loudness curve drawn");
  assert.ok((await page.locator("[data-verdicts] li").count()) >= 5);
  assert.equal(await page.getAttribute('[data-rule="duration"]', "data-outcome"), "pass");
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
