// Accounts in real Chromium: register, open the verification link from the email,
// sign in, switch language, sign out; a minor's account says it awaits consent.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchBrowser, register as registerAt, signIn as signInAt, startCadenza, waitForLink, watchProblems } from "./helpers.mjs";

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

function register(page, email, yearsOld, guardian) {
  return registerAt(server, page, email, yearsOld, guardian);
}

function signIn(page, email) {
  return signInAt(server, page, email);
}

test("register, verify by email, sign in, switch language, sign out", async () => {
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  const problems = watchProblems(page);
  await register(page, "ana@example.org", 20);
  assert.match(await page.textContent("[data-notice] h1"), /Check your email/);

  const link = await waitForLink(server.dir, "ana@example.org", "/verify-email?token=");
  await page.goto(link.replace(/^https?:\/\/[^/]+/, server.url));
  await Promise.all([page.waitForNavigation(), page.click("[data-confirm]")]);
  assert.match(await page.textContent("[data-notice] h1"), /Email confirmed/);

  await signIn(page, "ana@example.org");
  assert.equal((await page.textContent("[data-account] h1")).trim(), "Lin Yue");
  assert.ok(await page.isVisible("[data-can-submit]"));
  assert.ok(await page.isVisible("[data-nav-account]"));

  // A picture, uploaded by the page's module.
  const png = Buffer.from(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000" +
      "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2a6a0c30000000049454e44ae426082",
    "hex",
  );
  await Promise.all([
    page.waitForNavigation(),
    page.setInputFiles("#avatar", { name: "me.png", mimeType: "image/png", buffer: png }),
  ]);
  await page.waitForSelector("[data-avatar]");

  await Promise.all([page.waitForURL(server.url + "/account"), page.selectOption("#lang-select", "zh-CN")]);
  await page.waitForFunction(() => document.documentElement.lang === "zh-CN");
  assert.match(await page.textContent("[data-can-submit]"), /你可以向比赛提交作品/);

  await Promise.all([page.waitForURL(server.url + "/"), page.click("[data-sign-out]")]);
  assert.ok(await page.isVisible("[data-nav-sign-in]"), "signed out");
  await page.goto(server.url + "/account");
  assert.ok(page.url().includes("/sign-in"), "the account page now asks to sign in");
  assert.deepEqual(problems, []);
  await context.close();
});

test("a minor's account shows that it awaits guardian consent", async () => {
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  await register(page, "kid@example.org", 12, null);
  assert.match(await page.textContent("[data-error]"), /younger than 14/);
  await page.fill("#password", "violin sunrise 1987");
  await page.fill("#guardian_email", "parent@example.org");
  await Promise.all([page.waitForNavigation(), page.click("form[data-register] button[type=submit]")]);
  assert.match(await page.textContent("[data-notice] h1"), /Check your email/);
  await waitForLink(server.dir, "parent@example.org", "/guardian-consent?token=");

  await signIn(page, "kid@example.org");
  assert.ok(await page.isVisible("[data-awaiting-guardian]"));
  assert.equal(await page.isVisible("[data-can-submit]"), false);
  await context.close();
});
