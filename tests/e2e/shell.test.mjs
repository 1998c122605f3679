// The web shell in real Chromium: the home page renders, the language switch works
// and is remembered, and our pages raise no CSP violation or script error.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchBrowser, startCadenza, watchProblems } from "./helpers.mjs";

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

test("home page renders in English and switches to Simplified Chinese", async () => {
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  const problems = watchProblems(page);
  await page.goto(server.url + "/");
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.equal((await page.textContent("h1")).trim(), "Open calls and past competitions");
  assert.match(await page.textContent("[data-empty]"), /no competitions yet/);
  // Our module ran (it marks the page), so the CSP nonce let it through.
  await page.waitForFunction(() => document.documentElement.classList.contains("js"));

  // Pick a language: the module submits the form at once.
  await Promise.all([page.waitForURL(server.url + "/"), page.selectOption("#lang-select", "zh-CN")]);
  await page.waitForFunction(() => document.documentElement.lang === "zh-CN");
  assert.equal((await page.textContent("h1")).trim(), "正在征集与往期比赛");
  assert.equal((await page.textContent(".site-nav a")).trim(), "比赛");

  // Remembered by this browser.
  await page.reload();
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
  assert.equal((await page.textContent("h1")).trim(), "正在征集与往期比赛");

  // And back.
  await Promise.all([page.waitForURL(server.url + "/"), page.selectOption("#lang-select", "en")]);
  await page.waitForFunction(() => document.documentElement.lang === "en");
  assert.equal((await page.textContent("h1")).trim(), "Open calls and past competitions");
  assert.deepEqual(problems, []);
  await context.close();
});

test("a Chinese browser gets Chinese first", async () => {
  const context = await browser.newContext({ locale: "zh-CN" });
  const page = await context.newPage();
  const problems = watchProblems(page);
  await page.goto(server.url + "/");
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
  assert.match(await page.textContent("[data-empty]"), /还没有比赛/);
  assert.deepEqual(problems, []);
  await context.close();
});

test("the language switch works without JavaScript", async () => {
  const context = await browser.newContext({ locale: "en-US", javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(server.url + "/");
  const button = page.locator(".lang-switch button");
  assert.ok(await button.isVisible(), "the submit button shows when scripts are off");
  await page.selectOption("#lang-select", "zh-CN");
  await Promise.all([page.waitForURL(server.url + "/"), button.click()]);
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
  await context.close();
});

test("the error page is styled, localised and safe", async () => {
  const context = await browser.newContext({ locale: "zh-CN" });
  const page = await context.newPage();
  const problems = watchProblems(page);
  const res = await page.goto(server.url + "/no/such/page");
  assert.equal(res.status(), 404);
  assert.match(await page.textContent("h1"), /出错了/);
  // Only the 404 itself is reported by the browser; no CSP violation, no script error.
  assert.deepEqual(
    problems.filter((p) => !p.includes("404")),
    [],
  );
  await context.close();
});

test("the API documentation page works offline", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchProblems(page);
  await page.goto(server.url + "/api/docs/");
  await page.waitForSelector("text=Cadenza API", { timeout: 15_000 });
  assert.deepEqual(problems, []);
  await context.close();
});
