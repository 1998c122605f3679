// A museum organiser sets up a bilingual call alone, in real Chromium: signs in, finds
// *Organise* in the header, creates the competition, gives it a title and story in
// English and Chinese, two prompts with their pictures in the same step, two
// categories and the "streaming-ready" audio preset (clipping refused), and saves once.
// A Chinese visitor then sees the Chinese title and story on the competition page and
// on a poster, and a phone that opened a Chinese QR link keeps Chinese after tapping
// through. The organiser then makes a judging round with a rubric of three rows. An
// admin brings a second organiser in as co-organiser, who moderates an entry but can
// only read the rules. Every button on the way is one of ours, not a grey system button.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { PNG } from "pngjs";
import {
  analysedEntry,
  apiSignIn,
  assertStyledControls,
  launchBrowser,
  makeOrganiser,
  organiserWithCompetition,
  signIn,
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

/** A real PNG picture, `w`×`h`, in one colour. */
function picture(w, h, [r, g, b]) {
  const png = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) {
    png.data[i * 4] = r;
    png.data[i * 4 + 1] = g;
    png.data[i * 4 + 2] = b;
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}

const shots = process.env.CADENZA_SHOTS;
async function shot(page, name) {
  if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

test("an organiser creates a bilingual competition with pictures and a preset; visitors read it in Chinese", async () => {
  const email = "curator@museum.example";
  const password = await makeOrganiser(server, email);
  const ctx = await browser.newContext({ locale: "en-GB", viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const problems = watchProblems(page);

  // Signed in, the organiser lands on their competitions; Organise is in the header.
  await signIn(server, page, email, password);
  assert.equal(new URL(page.url()).pathname, "/organise");
  await page.click("[data-nav-account]");
  assert.equal(await page.isVisible("[data-nav-organise]"), true);
  // Their address was confirmed by the emailed link: no red warning on the account page.
  assert.equal(await page.locator(".alert").count(), 0);
  await assertStyledControls(page);
  await Promise.all([page.waitForURL(/\/organise$/), page.click("[data-nav-organise]")]);
  assert.match(await page.textContent("[data-my-competitions], main"), /no competitions yet/i);

  await page.fill("form[data-new-competition] #title", "Paintings that sing");
  await page.fill("form[data-new-competition] #slug", "paintings-that-sing");
  await Promise.all([page.waitForURL(/\/organise\/[0-9a-f-]+$/), page.click("form[data-new-competition] button[type=submit]")]);
  await assertStyledControls(page);
  const cid = new URL(page.url()).pathname.split("/")[2];

  // Details in both languages.
  await page.fill("[id='title.zh-CN']", "会唱歌的画");
  await page.fill("[id='summary.en']", "Write a song for a painting of the Palace Museum.");
  await page.fill("[id='summary.zh-CN']", "为故宫的一幅画写一首歌。");
  await page.fill("[id='description.en']", "Choose a painting and let it sing.");
  await page.fill("[id='description.zh-CN']", "选一幅画，让它唱出来。");
  await page.fill("#time_zone", "Asia/Shanghai");

  // Two prompts, each with its picture, before anything was saved.
  await page.fill("[id='prompt.0.title.en']", "A Thousand Li of Rivers and Mountains");
  await page.fill("[id='prompt.0.title.zh-CN']", "千里江山图");
  await page.fill("[id='prompt.0.story.en']", "Blue-green hills by Wang Ximeng, aged eighteen.");
  await page.fill("[id='prompt.0.story.zh-CN']", "王希孟十八岁时画下的青绿山水。");
  await page.setInputFiles("[id='prompt.0.image']", { name: "hills.png", mimeType: "image/png", buffer: picture(64, 48, [40, 120, 90]) });
  await page.fill("[id='prompt.1.title.en']", "Along the River During the Qingming Festival");
  await page.fill("[id='prompt.1.title.zh-CN']", "清明上河图");
  await page.setInputFiles("[id='prompt.1.image']", { name: "river.png", mimeType: "image/png", buffer: picture(64, 48, [150, 110, 60]) });

  // Two categories.
  await page.fill("[id='category.0.name.en']", "Songs");
  await page.fill("[id='category.0.name.zh-CN']", "歌曲");
  await page.fill("[id='category.1.name.en']", "Instrumentals");
  await page.fill("[id='category.1.name.zh-CN']", "器乐");

  // The streaming-ready preset: clipping is refused, and the page says what that does.
  const clipping = "[id='policy.clipping.severity']";
  assert.equal(await page.inputValue(clipping), "warn");
  await page.selectOption("#policy_preset", "streaming");
  assert.equal(await page.inputValue(clipping), "reject");
  assert.equal(await page.inputValue("[id='policy.loudness.max_lufs']"), "\u221212");
  assert.match(await page.textContent("#effect-clipping"), /refused/);
  // The save button stays in reach while the long form scrolls.
  await page.locator("#sec-audio").scrollIntoViewIfNeeded();
  assert.equal(await page.locator("[data-save]").isVisible(), true);
  const box = await page.locator("[data-save]").boundingBox();
  assert.ok(box.y + box.height <= 900, `save button at ${box.y}`);
  await shot(page, "organiser-editor");

  await Promise.all([page.waitForURL(/saved=1/), page.click("[data-save]")]);
  assert.equal(await page.isVisible("[data-saved]"), true);
  // The pictures came in the same step; the categories and the preset were kept.
  assert.equal(await page.locator("[data-prompt-field] img.thumb").count(), 2);
  assert.equal(await page.inputValue("[id='category.1.name.zh-CN']"), "器乐");
  assert.equal(await page.inputValue(clipping), "reject");
  await Promise.all([page.waitForNavigation(), page.click("[data-publish]")]);

  // A judging round with a rubric of three rows: the default rows are edited, one is
  // removed, and the running total says the weights make 100.
  await Promise.all([page.waitForURL(/\/rounds$/), page.click("[data-rounds-link]")]);
  assert.equal(await page.isVisible("[data-signed-as]"), true, "the invitation form says whose name signs it");
  await page.fill("#name", "Screening");
  await page.fill("[name='criterion.0.name']", "The painting in the music");
  await page.fill("[name='criterion.0.weight']", "40");
  await page.fill("[name='criterion.0.description']", "Can you hear the painting?");
  await page.fill("[name='criterion.1.weight']", "40");
  await page.check("[name='criterion.3.remove']");
  assert.equal((await page.textContent("[data-weight-total]")).trim(), "100");
  const rowsBefore = await page.locator("[data-criterion]").count();
  await page.click("[data-add-row='criterion']");
  assert.equal(await page.locator("[data-criterion]").count(), rowsBefore + 1);
  assert.equal(await page.inputValue(`[data-criterion]:last-child [name$='.name']`), "");
  await shot(page, "organiser-rubric");
  await Promise.all([page.waitForURL(/\/organise\/rounds\/[0-9a-f-]+/), page.click("[data-create-round]")]);
  const names = await page.locator("[data-criterion] [data-criterion-name]").evaluateAll((els) => els.map((e) => e.value).filter(Boolean));
  assert.deepEqual(names, ["The painting in the music", "Musicality", "Production"]);
  const round = await (await fetch(`${server.url}/api/v1/competitions/${cid}/rounds`, { headers: { Authorization: `Bearer ${await bearerOf(email, password)}` } })).json();
  assert.deepEqual(round[0].rubric.map((c) => [c.name, c.weight]), [["The painting in the music", 40], ["Musicality", 40], ["Production", 20]]);
  assert.equal(round[0].rubric[0].description, "Can you hear the painting?");
  assert.equal(problems.length, 0, problems.join("\n"));

  // A Chinese visitor on a phone.
  const zh = await (await browser.newContext({ locale: "zh-CN", viewport: { width: 390, height: 844 } })).newPage();
  const zhProblems = watchProblems(zh);
  await zh.goto(`${server.url}/c/paintings-that-sing`);
  assert.equal(await zh.getAttribute("html", "lang"), "zh-CN");
  assert.equal((await zh.textContent("h1")).trim(), "会唱歌的画");
  assert.match(await zh.textContent("[data-competition]"), /选一幅画，让它唱出来/);
  assert.match(await zh.textContent("[data-prompt]"), /千里江山图/);
  assert.match(await zh.textContent("[data-prompt]"), /王希孟十八岁时画下的青绿山水/);
  assert.equal(await zh.locator("[data-shown-language]").count(), 0);
  await assertStyledControls(zh);
  await shot(zh, "organiser-zh-competition");
  // The prompt's poster, in Chinese, carries the Chinese title and story.
  const promptId = (await zh.getAttribute("[data-prompt]", "id")).replace("prompt-", "");
  await zh.goto(`${server.url}/posters/prompt/${promptId}?lang=zh-CN`);
  assert.equal((await zh.textContent("[data-poster-title]")).trim(), "千里江山图");
  assert.match(await zh.textContent(".poster__story"), /青绿山水/);
  assert.equal(zhProblems.length, 0, zhProblems.join("\n"));

  // A phone set to English scans the Chinese QR (its link opens the prompt page with
  // ?lang=zh-CN) and keeps Chinese after tapping through to the competition.
  const phone = await (await browser.newContext({ locale: "en-US", viewport: { width: 390, height: 844 } })).newPage();
  await phone.goto(`${server.url}/c/paintings-that-sing/prompts/${promptId}?lang=zh-CN`);
  assert.equal(await phone.getAttribute("html", "lang"), "zh-CN");
  assert.equal((await phone.textContent("h1")).trim(), "千里江山图");
  await Promise.all([phone.waitForNavigation(), phone.click(".prompt-page a[href='/c/paintings-that-sing']")]);
  assert.equal(await phone.getAttribute("html", "lang"), "zh-CN");
  assert.equal((await phone.textContent("h1")).trim(), "会唱歌的画");
  await shot(phone, "organiser-phone-kept-chinese");

  // An English reader gets the English text, and the organiser's list says nothing waits.
  await page.goto(`${server.url}/c/paintings-that-sing`);
  assert.equal((await page.textContent("h1")).trim(), "Paintings that sing");
  await page.goto(`${server.url}/organise`);
  assert.equal(await page.isVisible("[data-attention-none]"), true);
  await ctx.close();
});

async function bearerOf(email, password) {
  return apiSignIn(server, email, password);
}

test("an admin makes a second organiser a co-organiser, who moderates an entry but cannot change the rules", async () => {
  const { c } = await organiserWithCompetition(server, "owner@museum.example", "night-revels");
  const entry = await analysedEntry(server, c, 1, { prefix: "revels", title: "Night revels" });
  const adminPassword = await makeOrganiser(server, "admin@museum.example");
  assert.match(server.run(["admin", "grant", "--email", "admin@museum.example", "--role", "admin"]), /admin/i);
  const coPassword = await makeOrganiser(server, "colleague@museum.example");

  // The admin finds the colleague among the accounts and opens the competition's team.
  const admin = await (await browser.newContext({ locale: "en-GB", viewport: { width: 1280, height: 900 } })).newPage();
  const adminProblems = watchProblems(admin);
  await signIn(server, admin, "admin@museum.example", adminPassword);
  await Promise.all([admin.waitForURL(/\/admin$/), admin.click("[data-nav-admin]")]);
  await admin.fill("#admin-q", "colleague");
  await Promise.all([admin.waitForURL(/q=colleague/), admin.click("[data-account-search] button[type=submit]")]);
  const card = admin.locator("[data-account='colleague@museum.example']");
  assert.equal(await card.locator("[data-role='organiser']").count(), 1);
  await shot(admin, "admin-accounts");
  await admin.goto(`${server.url}/organise/${c.id}/team`);
  await admin.fill("#invite-email", "colleague@museum.example");
  await admin.selectOption("#invite-role", "co_organiser");
  await Promise.all([admin.waitForNavigation(), admin.click("[data-send-invitation]")]);
  assert.equal(await admin.locator("[data-invitation='colleague@museum.example']").count(), 1);
  await shot(admin, "admin-team");
  assert.equal(adminProblems.length, 0, adminProblems.join("\n"));

  // The colleague accepts from the email and is signed in on their Organise page.
  const link = await waitForLink(server.dir, "colleague@museum.example", "/judge-invitation?token=");
  const co = await (await browser.newContext({ locale: "en-GB", viewport: { width: 390, height: 844 } })).newPage();
  const coProblems = watchProblems(co);
  await signIn(server, co, "colleague@museum.example", coPassword);
  await co.goto(link);
  assert.equal(await co.getAttribute("[data-team-role]", "data-team-role"), "co_organiser");
  await Promise.all([co.waitForURL(/\/organise$/), co.click("[data-judge-accept] button[type=submit]")]);
  assert.match(await co.textContent("[data-my-competitions]"), /Paintings that sing/);

  // They moderate the entry…
  await co.goto(`${server.url}/organise/${c.id}/entries`);
  await Promise.all([co.waitForNavigation(), co.click(`[data-entry-row] a[href='/entries/${entry.id}']`)]);
  await co.selectOption("[data-review-form] select[name=action]", "request_changes");
  await co.fill("[data-review-form] [name=reason]", "Please trim the silence at the end.");
  await Promise.all([co.waitForNavigation(), co.click("[data-review-submit]")]);
  assert.match(await co.textContent("[data-review]"), /changes/i);
  await shot(co, "co-organiser-moderated");

  // …but the rules are theirs to read, not to change.
  await co.goto(`${server.url}/organise/${c.id}`);
  assert.equal(await co.isVisible("[data-rules-read-only]"), true);
  assert.equal(await co.locator("[data-save]").count(), 0);
  assert.equal(await co.locator("[data-publish], [data-unpublish]").count(), 0);
  assert.equal(await co.locator("[id='title.en']").isDisabled(), true);
  await shot(co, "co-organiser-rules");
  assert.equal(coProblems.length, 0, coProblems.join("\n"));
  // Sent anyway (the form forced open), the change is refused and nothing changes.
  const refused = await co.evaluate(async (id) => {
    const form = document.querySelector("[data-edit-competition]");
    form.querySelector("fieldset").disabled = false;
    const data = new FormData(form);
    data.set("title.en", "Taken over");
    const res = await fetch(`/organise/${id}`, { method: "POST", body: data });
    return [res.status, await res.text()];
  }, c.id);
  assert.equal(refused[0], 403);
  assert.match(refused[1], /or a site admin can change its rules/);
  assert.doesNotMatch(refused[1], /data-save/);
  const after = await (await fetch(`${server.url}/api/v1/competitions/${c.id}`)).json();
  assert.equal(after.title, "Paintings that sing");
});
