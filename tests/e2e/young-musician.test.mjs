// A 15-year-old, in real Chromium, in a competition whose age of digital consent is 16:
// she registers from the competition page and comes back to it, is shown what stands
// in the way instead of a form, her guardian consents and she is told, and her report
// lists what needs fixing first and marks the clipping on the waveform. In Chinese too.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { api, isoDate, launchBrowser, makeWav, organiserWithCompetition, startCadenza, waitForLink, waitForMail, watchProblems } from "./helpers.mjs";

let server;
let browser;
// Where the screenshots go (CADENZA_SHOTS keeps them; else they go with the server's folder).
const shots = () => process.env.CADENZA_SHOTS || server.dir;

before(async () => {
  server = await startCadenza();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Eight seconds of a tune with a burst driven into full scale at 3 s. */
const clippedWav = () => makeWav(8, 44100, (t) => (t >= 3 && t < 3.5 ? 3 : 0.3));

test("a 15-year-old enters a competition that needs her guardian's consent", async () => {
  const { c, bearer } = await organiserWithCompetition(server, "org-teen@example.org", "teen-call");
  await api(server, `/api/v1/competitions/${c.id}`, bearer, { consent_age: 16 }, "PATCH");
  const context = await browser.newContext({ locale: "en-US", viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  const problems = watchProblems(page);

  // The rules say the real age; "Enter" asks her to sign in, and she registers from there.
  await page.goto(`${server.url}/c/teen-call`);
  assert.match(await page.textContent("main"), /under 16 need a parent’s or guardian’s consent/);
  await Promise.all([page.waitForNavigation(), page.click("[data-enter]")]);
  await Promise.all([page.waitForNavigation(), page.click("[data-register-link]")]);
  assert.equal(await page.getAttribute('form[data-register] input[name="next"]', "value"), "/c/teen-call/enter");
  await page.fill("#email", "xiaoyu@example.org");
  await page.fill("#password", "violin sunrise 1987");
  await page.fill("#stage_name", "Xiao Yu");
  await page.fill("#date_of_birth", isoDate(15));
  await page.fill("#country", "CN");
  await page.fill("#guardian_email", "mum@example.org");
  await Promise.all([page.waitForNavigation(), page.click("form[data-register] button[type=submit]")]);
  assert.match(await page.textContent("[data-notice]"), /We also emailed your parent or guardian/);
  await page.screenshot({ path: `${shots()}/teen-check-email.png` });

  // The emailed link brings her back to the competition after signing in.
  const verify = await waitForLink(server.dir, "xiaoyu@example.org", "/verify-email?token=");
  assert.match(verify, /next=%2Fc%2Fteen-call%2Fenter/);
  await page.goto(verify.replace(/^https?:\/\/[^/]+/, server.url));
  await Promise.all([page.waitForNavigation(), page.click("[data-confirm]")]);
  await Promise.all([page.waitForNavigation(), page.click("[data-notice] a.button")]);
  await page.fill("#email", "xiaoyu@example.org");
  await page.fill("#password", "violin sunrise 1987");
  await Promise.all([page.waitForURL(`${server.url}/c/teen-call/enter`), page.click("form[data-sign-in] button[type=submit]")]);
  // No form she cannot send: what stands in the way, and where to go.
  assert.equal(await page.getAttribute("[data-blocked]", "data-blocked"), "entry.guardian_consent_needed");
  assert.equal(await page.locator("[data-entry-form]").count(), 0);
  await page.screenshot({ path: `${shots()}/teen-blocked.png`, fullPage: true });

  // Her guardian consents from the email; she is told.
  const guardian = await browser.newContext({ locale: "en-US" });
  const g = await guardian.newPage();
  const consent = await waitForLink(server.dir, "mum@example.org", "/guardian-consent?token=");
  await g.goto(consent.replace(/^https?:\/\/[^/]+/, server.url));
  await g.fill("#guardian_name", "Li Na");
  await g.check('input[name="agree"]');
  await Promise.all([g.waitForNavigation(), g.click("form[data-guardian] button[type=submit]")]);
  assert.match(await g.textContent("[data-notice]"), /Thank you/);
  await guardian.close();
  await waitForMail(server.dir, "xiaoyu@example.org", "gave their consent");
  await page.goto(`${server.url}/account`);
  assert.ok(await page.isVisible("[data-guardian-agreed]"));

  // Now she enters; the upload comes first, and her clipped master is caught.
  await page.goto(`${server.url}/c/teen-call/enter`);
  await page.fill("#title", "Mist over the river");
  await page.check('input[name="originality_declared"]');
  await Promise.all([page.waitForURL(/\/entries\//), page.click("[data-save-entry]")]);
  const panels = await page.locator("main > section.panel").evaluateAll((els) => els.map((e) => Object.keys(e.dataset)[0]));
  assert.equal(panels[1], "uploadPanel", `panels in order: ${panels}`);
  await page.setInputFiles("#audio-file", { name: "mist.wav", mimeType: "audio/wav", buffer: clippedWav() });
  await page.waitForSelector("[data-report]", { timeout: 60_000 });
  const outcomes = await page.locator("[data-verdicts] li").evaluateAll((els) => els.map((e) => e.dataset.outcome));
  assert.notEqual(outcomes[0], "pass", `the rule to fix comes first: ${outcomes}`);
  const rank = { reject: 0, warn: 1, pass: 2 };
  assert.deepEqual([...outcomes].sort((a, b) => rank[a] - rank[b]), outcomes, `verdict order: ${outcomes}`);
  assert.notEqual(await page.getAttribute('[data-rule="clipping"]', "data-outcome"), "pass");
  assert.ok(Number(await page.getAttribute("[data-waveform]", "data-clips")) > 0, "the clip is marked");
  assert.match(await page.textContent("[data-clip-note]"), /clipping marked in red at 0:03/);
  assert.match(await page.getAttribute("[data-loudness-curve]", "data-target"), /^-?\d+(\.\d+)?\.\.-?\d+/);
  await page.locator("[data-report]").screenshot({ path: `${shots()}/teen-report-en.png` });

  // The same report in Chinese.
  await Promise.all([page.waitForNavigation(), page.selectOption("#lang-select", "zh-CN")]);
  await page.waitForSelector("[data-report]");
  assert.match(await page.textContent("[data-clip-note]"), /红线标出削波位置/);
  await page.locator("[data-report]").screenshot({ path: `${shots()}/teen-report-zh.png` });
  assert.deepEqual(problems, []);
  await context.close();
});
