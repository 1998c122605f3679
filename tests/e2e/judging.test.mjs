// Judging in real Chromium: a judge scores three entries of a blind round with the
// keyboard and the loudness-matched player (play, A/B loop, listening coverage, score
// keys, save, next); the organiser closes the round, sees the raw and normalised
// rankings side by side, advances the top two, computes and publishes the results;
// the public results page shows the two finalists.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  analysedEntry,
  api,
  launchBrowser,
  organiserWithCompetition,
  signIn,
  startCadenza,
  until,
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

test("a judge scores with the keyboard and the player; the organiser advances the top two and publishes", async () => {
  const { c, bearer: org } = await organiserWithCompetition(server, "org-j@example.org", "paintings-judged");
  const entries = [];
  for (let i = 0; i < 3; i++) entries.push(await analysedEntry(server, c, i));

  // The judge accepts the invitation (the link comes by email).
  await api(server, `/api/v1/competitions/${c.id}/judges/invitations`, org, { email: "judge@example.org" });
  const invite = await waitForLink(server.dir, "judge@example.org", "/judge-invitation?token=");
  const accepted = await fetch(server.url + "/api/v1/judge-invitations/accept", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: invite.split("token=")[1], stage_name: "Maestro", password: "oboe at midnight 7" }),
  });
  assert.equal(accepted.status, 200);

  const round = await api(server, `/api/v1/competitions/${c.id}/rounds`, org, {
    name: "Screening",
    blind: true,
    judges_per_entry: 1,
    advancement: { kind: "top_n", n: 2 },
    rubric: [
      { name: "Originality", weight: 50, min: 1, max: 10 },
      { name: "Musicality", weight: 50, min: 1, max: 10 },
    ],
  });
  const assigned = await api(server, `/api/v1/rounds/${round.id}/assign`, org);
  assert.equal(assigned.assigned, 3);
  await waitForMail(server.dir, "judge@example.org", "3 new entries to judge");

  // The judge's browser.
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  const problems = watchProblems(page);
  await signIn(server, page, "judge@example.org", "oboe at midnight 7");
  await page.goto(`${server.url}/judge`);
  await Promise.all([page.waitForNavigation(), page.click("[data-judge-rounds] a")]);
  assert.equal(await page.locator("[data-queue-item]").count(), 3);
  const queueText = await page.textContent("[data-queue]");
  for (const e of entries) assert.ok(!queueText.includes(e.title), "blind: no titles");

  // Renditions are made by the worker; wait until every entry can be played.
  const jt = await judgeToken();
  await until("the clean renditions", async () => {
    const q = await api(server, `/api/v1/judging/rounds/${round.id}/queue`, jt, undefined, "GET");
    const views = await Promise.all(q.items.map((i) => api(server, `/api/v1/judging/assignments/${i.alias}`, jt, undefined, "GET")));
    return views.every((v) => v.audio.ready);
  });
  await Promise.all([page.waitForNavigation(), page.click("[data-open-entry]")]);

  // Three entries: the first two get high marks, the last a low one.
  const marks = [["9", "8"], ["7", "7"], ["2", "3"]];
  for (let n = 0; n < 3; n++) {
    await page.waitForSelector("[data-judge-audio]", { state: "attached" });
    const body = await page.textContent("main");
    for (const e of entries) assert.ok(!body.includes(e.title) && !body.includes("Musician"), "blind: nothing identifying");
    assert.ok(Number(await page.getAttribute("[data-judge-wave]", "data-drawn")) > 10, "waveform drawn");
    // The player plays at the matched gain.
    const gainDb = Number(await page.getAttribute("p[data-gain]", "data-gain"));
    const gain = Number(await page.getAttribute("[data-judge-audio]", "data-linear-gain"));
    assert.ok(Math.abs(gain - Math.pow(10, gainDb / 20)) < 1e-6);

    // Space plays; A and B set a loop; Space pauses; the coverage is recorded.
    await page.keyboard.press("Space");
    await page.waitForFunction(() => document.querySelector("[data-judge-audio]").currentTime > 0.6, undefined, { polling: 100 });
    await page.keyboard.press("a");
    await page.waitForFunction(() => document.querySelector("[data-judge-audio]").currentTime > 1.8, undefined, { polling: 100 });
    await page.keyboard.press("b");
    await page.waitForFunction(() => document.querySelector("[data-judge-audio]").dataset.loop !== "", undefined, { polling: 100 });
    const loop = await page.getAttribute("[data-judge-audio]", "data-loop");
    const [from, to] = loop.split("-").map(Number);
    assert.ok(from > 0.5 && to > from, `loop ${loop}`);
    // While looping, playback stays inside the loop.
    await page.waitForTimeout(1500);
    const t = await page.evaluate(() => document.querySelector("[data-judge-audio]").currentTime);
    assert.ok(t >= from - 0.05 && t <= to + 0.3, `inside the loop: ${t}`);
    await page.keyboard.press("Space");
    await page.waitForFunction(() => Number(document.querySelector("[data-listened]").textContent) > 0, undefined, { polling: 100 });

    // Score keys fill the criteria in turn; S saves.
    await page.keyboard.press(marks[n][0]);
    await page.keyboard.press(marks[n][1]);
    assert.equal(await page.inputValue("#c_c1"), marks[n][0]);
    assert.equal(await page.inputValue("#c_c2"), marks[n][1]);
    await Promise.all([page.waitForNavigation(), page.keyboard.press("s")]);
    assert.ok(await page.isVisible("[data-saved]"));
    // On the scale the judge marked with (1–10), not out of 100.
    assert.match(await page.textContent("[data-my-total]"), /\d\.\d \/ 10/);
    if (n === 0) {
      // The pin field takes "0:20" as typed (nothing is put into it on focus); a comment
      // the server refuses keeps every word, and the error names the real problem.
      await page.click("[data-pin-time]");
      await page.keyboard.type("0:20");
      assert.equal(await page.inputValue("[data-pin-time]"), "0:20");
      await page.fill("[data-pin-time]", "half past");
      const long = "The second verse lifts beautifully; the bass is a little loud under the vocal.";
      await page.fill("#body", long);
      await page.selectOption("#visibility", "musician");
      const before = problems.length;
      await Promise.all([page.waitForNavigation(), page.click("[data-add-comment]")]);
      // The refusal itself (a 422 page) is expected; nothing else went wrong.
      assert.ok(problems.splice(before).every((p) => /422/.test(p)));
      assert.match(await page.textContent("[data-error]"), /1:23/);
      assert.equal(await page.inputValue("#body"), long);
      assert.equal(await page.inputValue("#visibility"), "musician");
      assert.equal(await page.inputValue("[data-pin-time]"), "half past");
      // "Use the current time" fills the field with the playhead, and it is accepted.
      await page.click("[data-pin-now]");
      assert.match(await page.inputValue("[data-pin-time]"), /^\d+:\d\d$/);
      await Promise.all([page.waitForNavigation(), page.click("[data-add-comment]")]);
      assert.equal(await page.locator("[data-comment]").count(), 1);
    }
    if (n < 2) {
      // N moves on to the next entry.
      await Promise.all([page.waitForNavigation(), page.keyboard.press("n")]);
    }
  }
  const q = await api(server, `/api/v1/judging/rounds/${round.id}/queue`, jt, undefined, "GET");
  assert.deepEqual(q.items.map((i) => i.scored), [true, true, true]);
  assert.ok(q.items.every((i) => i.listened_percent > 0), "listening was recorded");
  assert.deepEqual(problems, []);

  // The organiser closes the round and sees raw and normalised rankings side by side.
  const orgContext = await browser.newContext({ locale: "en-US" });
  const op = await orgContext.newPage();
  const orgProblems = watchProblems(op);
  await signIn(server, op, "org-j@example.org", "baton and score 42");
  await op.goto(`${server.url}/organise/rounds/${round.id}`);
  assert.equal(await op.textContent("[data-progress-judges] tbody td:nth-child(3)"), "3");
  await Promise.all([op.waitForNavigation(), op.click("[data-close-round]")]);
  assert.equal(await op.getAttribute("[data-round]", "data-status"), "closed");
  const rows = op.locator("[data-rank-row]");
  assert.equal(await rows.count(), 3);
  for (let i = 0; i < 3; i++) {
    assert.match(await rows.nth(i).locator("[data-mean]").textContent(), /^\d+\.\d$/);
    assert.match(await rows.nth(i).locator("[data-normalised]").textContent(), /^[+-]\d\.\d\d$/);
  }
  // Top two are proposed by the rule; confirm.
  const proposed = await op.locator('[data-rank-row][data-by-rule="true"]').count();
  assert.equal(proposed, 2);
  assert.ok(await rows.nth(0).locator("input[type=checkbox]").isChecked());
  assert.ok(!(await rows.nth(2).locator("input[type=checkbox]").isChecked()));
  const lastTitle = (await rows.nth(2).locator("td:nth-child(2) a").textContent()).trim();
  await Promise.all([op.waitForNavigation(), op.click("[data-advance]")]);
  assert.ok(await op.isVisible("[data-notice]"));
  assert.equal(await op.locator("[data-advanced]").count(), 2);
  const low = entries.find((e) => e.title === lastTitle);
  assert.ok(low, "the last row is one of ours");
  await waitForMail(server.dir, `m${entries.indexOf(low)}@example.org`, "did not advance");

  // Results: compute, publish, and the public page shows them.
  await op.goto(`${server.url}/organise/${c.id}/results`);
  await Promise.all([op.waitForNavigation(), op.click("[data-compute-results]")]);
  // Only the two finalists are placed: the third was out in the screening.
  assert.equal(await op.locator("[data-standings] tbody tr").count(), 2);
  const anon = await fetch(`${server.url}/c/${c.slug}/results`);
  assert.equal(anon.status, 404, "not public before publication");
  await Promise.all([op.waitForURL(`${server.url}/c/${c.slug}/results`), op.click("[data-publish-results]")]);
  const places = op.locator("[data-standings] li");
  assert.equal(await places.count(), 2);
  assert.ok(!(await op.textContent("[data-standings]")).includes(lastTitle), "the eliminated song is not placed");
  assert.match(await op.getAttribute('meta[property="og:title"]', "content"), /Results/);
  assert.deepEqual(orgProblems, []);

  // The musician of the lowest entry sees their placement on the entry page.
  const mContext = await browser.newContext({ locale: "en-US" });
  const mp = await mContext.newPage();
  await signIn(server, mp, `m${entries.indexOf(low)}@example.org`);
  await mp.goto(`${server.url}/entries/${low.id}`);
  assert.match(await mp.textContent("[data-outcome]"), /Screening: place 3 of 3 · did not advance/);
  // On a phone the entry page (outcome, report, remix panel with its long licence
  // names) fits the screen: nothing makes it scroll sideways.
  await mp.setViewportSize({ width: 390, height: 844 });
  const overflow = await mp.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 390, `the entry page is ${overflow} px wide on a 390 px phone`);
  if (process.env.CADENZA_SHOTS) {
    await op.goto(`${server.url}/organise/${c.id}/results`);
    await op.screenshot({ path: `${process.env.CADENZA_SHOTS}/organiser-results.png`, fullPage: true });
    await mp.screenshot({ path: `${process.env.CADENZA_SHOTS}/musician-outcome-phone.png`, fullPage: true });
  }
  await context.close();
  await orgContext.close();
  await mContext.close();
});

async function judgeToken() {
  const res = await fetch(server.url + "/api/v1/auth/sign-in", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: "judge@example.org", password: "oboe at midnight 7" }),
  });
  return (await res.json()).access_token;
}
