// Every page, for everyone: each role's pages in English and in Simplified Chinese,
// checked with axe-core against WCAG 2.2 AA (0 serious or critical violations; the
// rest are listed in the output). The check itself is shown to fail on a page built to
// break it. Every other browser test also runs axe on each page it loads (helpers.mjs).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  axeViolations,
  checkA11y,
  failing,
  isoDate,
  launchBrowser,
  makeWav,
  signIn,
  startCadenza,
  waitForLink,
  watchProblems,
} from "./helpers.mjs";
import { seedStory } from "./story.mjs";

let server;
let browser;
let story;
// Screenshots go to $CADENZA_SHOTS when it is set.
const shots = process.env.CADENZA_SHOTS;
const shot = async (page, name) => shots && page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });

before(async () => {
  server = await startCadenza();
  browser = await launchBrowser();
  story = await seedStory(server, browser);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("the check fails on a page with serious problems", async () => {
  const page = await browser.newPage();
  // Written here (about:blank is not one of ours, so the load hook leaves it alone).
  await page.setContent(`<!doctype html><html><head><title>Broken</title></head><body>
    <main><h1>Broken on purpose</h1>
    <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
    <input type="text" name="q">
    <button type="button"><svg width="10" height="10"></svg></button>
    <p style="color:#bbb;background:#fff">Grey on white</p></main></body></html>`);
  const found = failing(await axeViolations(page));
  const ids = found.map((v) => v.id).sort();
  for (const id of ["button-name", "color-contrast", "image-alt", "label"]) {
    assert.ok(ids.includes(id), `axe finds ${id}: ${ids}`);
  }
  await page.close();
});

/** Sign in through the page in a new context and keep what the browser holds. */
async function signedIn(who) {
  const ctx = await browser.newContext({ locale: "en-US" });
  const page = await ctx.newPage();
  await signIn(server, page, who.email, who.password);
  const state = await ctx.storageState();
  await ctx.close();
  return state;
}

/** A voter who signed in on the spot with an emailed link, from a song's page. */
async function voter() {
  const ctx = await browser.newContext({ locale: "en-US" });
  const page = await ctx.newPage();
  const { a, vote, entries } = story;
  await page.goto(`${server.url}/c/${a.slug}/vote/${vote.id}/${entries[0].id}`);
  await page.fill("[data-vote-sign-in] input[name=email]", "visitor@example.org");
  await Promise.all([page.waitForNavigation(), page.click("[data-vote-sign-in] button")]);
  const link = await waitForLink(server.dir, "visitor@example.org", "/magic-link/sign-in?token=");
  await page.goto(link.replace(/^https?:\/\/[^/]+/, server.url));
  await Promise.all([page.waitForNavigation(), page.click("[data-confirm]")]);
  const state = await ctx.storageState();
  await ctx.close();
  return state;
}

test("every role's pages pass axe in English and Chinese", async () => {
  const { a, b, vote, screening, entries, bEntries, winner, judgeAlias, guardianLink } = story;
  const song = `/c/${a.slug}/vote/${vote.id}/${entries[0].id}`;
  const roles = {
    visitor: {
      state: undefined,
      pages: [
        "/", `/c/${a.slug}`, `/c/${a.slug}/prompts/${a.prompts[0].id}`, `/c/${a.slug}/vote/${vote.id}`, song,
        `/c/${a.slug}/leaderboard/${vote.id}`, `/c/${b.slug}`, `/c/${b.slug}/results`, `/songs/${winner}`,
        "/sign-in", "/register", "/forgot-password", "/magic-link", `/posters/entry/${entries[0].id}`,
        "/no-such-page",
      ],
    },
    musician: {
      state: await signedIn(story.people.musician),
      pages: ["/account", "/me/entries", `/c/${a.slug}/enter`, `/entries/${entries[0].id}`],
    },
    finalist: {
      state: await signedIn(story.people.finalist),
      pages: [`/entries/${bEntries[0].id}`, `/c/${b.slug}/results`],
    },
    minor: {
      state: await signedIn(story.people.minor),
      pages: ["/account", `/c/${a.slug}/enter`],
    },
    guardian: { state: undefined, pages: [guardianLink] },
    judge: {
      state: await signedIn(story.people.judge),
      pages: ["/judge", `/judge/rounds/${screening.id}`, `/judge/a/${judgeAlias}`],
    },
    organiser: {
      state: await signedIn(story.people.organiser),
      pages: [
        "/organise", `/organise/${a.id}`, `/organise/${a.id}/entries`, `/organise/${a.id}/rounds`,
        `/organise/rounds/${screening.id}`, `/organise/${a.id}/voting`, `/organise/voting/${vote.id}`,
        `/organise/${a.id}/results`, `/organise/${a.id}/team`, `/organise/${a.id}/audit`,
        `/organise/${a.id}/exhibition`, `/organise/${a.id}/feedback`, `/organise/${a.id}/remix`,
      ],
    },
    admin: { state: await signedIn(story.people.organiser), pages: ["/admin", "/admin/audit"] },
    voter: { state: await voter(), pages: [`/c/${a.slug}/vote/${vote.id}`, song, "/account"] },
  };
  const problems = [];
  let checked = 0;
  for (const lang of ["en", "zh-CN"]) {
    for (const [role, { state, pages }] of Object.entries(roles)) {
      const ctx = await browser.newContext({ locale: lang === "en" ? "en-US" : "zh-CN", storageState: state });
      await ctx.addCookies([{ name: "lang", value: lang, url: server.url }]);
      const page = await ctx.newPage();
      for (const path of pages) {
        await page.goto(server.url + path);
        assert.equal(await page.getAttribute("html", "lang"), lang, `${role} ${path} in ${lang}`);
        const bad = await checkA11y(page);
        checked++;
        // Nothing plays by itself.
        const playing = await page.evaluate(() =>
          [...document.querySelectorAll("audio, video")].filter((m) => !m.paused || m.autoplay).map((m) => m.outerHTML.slice(0, 80)),
        );
        assert.deepEqual(playing, [], `${role} ${path}: media that plays by itself`);
        for (const v of bad) problems.push(`${role} ${lang} ${path}: ${v.impact} ${v.id} — ${v.help}\n     ${v.nodes.join("\n     ")}`);
      }
      await ctx.close();
    }
  }
  assert.ok(checked >= 80, `${checked} pages checked`);
  assert.deepEqual(problems, [], `serious or critical accessibility problems:\n${problems.join("\n")}`);
});

// ---------------------------------------------------------------- keyboard only

/** What has the focus, and whether a focus ring shows around it (an outline of at
 * least 2 px, or a box shadow). */
function focusState() {
  const el = document.activeElement;
  if (!el || el === document.body) return { tag: "body", ring: false, label: "" };
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2;
  const shadow = s.boxShadow && s.boxShadow !== "none";
  const label = (el.getAttribute("aria-label") || el.textContent || el.id || el.name || "").trim().slice(0, 40);
  return { tag: el.tagName.toLowerCase(), ring: outline || shadow, label };
}

/** Press Tab until the element matching `selector` has the focus (at most `max`
 * presses), checking at every stop that the focused element shows a focus ring. */
async function tabTo(page, selector, max = 60) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const f = await page.evaluate(focusState);
    if (f.tag !== "body") assert.ok(f.ring, `no visible focus ring on <${f.tag}> “${f.label}” at ${page.url()}`);
    if (await page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector)) return;
  }
  throw new Error(`Tab never reached ${selector} on ${page.url()}`);
}

/** Activate the focused control with the keyboard and wait for the next page. */
async function enterAndWait(page, key = "Enter") {
  await Promise.all([page.waitForNavigation(), page.keyboard.press(key)]);
}

test("a musician registers, enters, uploads and reads the report with the keyboard alone", async () => {
  const { a } = story;
  const ctx = await browser.newContext({ locale: "en-US" });
  const page = await ctx.newPage();
  const problems = watchProblems(page);
  await page.goto(server.url + "/");
  // The skip link comes first and shows when focused.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.className), "skip-link");
  assert.ok((await page.locator(".skip-link").boundingBox()).x >= 0, "the skip link shows");
  await tabTo(page, "[data-nav-register]");
  await enterAndWait(page);
  await tabTo(page, "#email");
  await page.keyboard.type("keys@example.org");
  await tabTo(page, "#password");
  await page.keyboard.type("violin sunrise 1987");
  await tabTo(page, "#stage_name");
  await page.keyboard.type("Keys");
  await tabTo(page, "#date_of_birth");
  // A date field takes the date typed in its order (the browser's locale: mm/dd/yyyy).
  const dob = isoDate(20);
  await page.keyboard.type(`${dob.slice(5, 7)}${dob.slice(8, 10)}${dob.slice(0, 4)}`);
  assert.equal(await page.inputValue("#date_of_birth"), dob);
  await tabTo(page, "#country");
  await page.keyboard.type("CN");
  await tabTo(page, "form[data-register] button[type=submit]");
  await enterAndWait(page);
  const verify = await waitForLink(server.dir, "keys@example.org", "/verify-email?token=");
  await page.goto(verify.replace(/^https?:\/\/[^/]+/, server.url));
  await tabTo(page, "[data-confirm]");
  await enterAndWait(page);
  await page.goto(server.url + "/sign-in");
  await tabTo(page, "#email");
  await page.keyboard.type("keys@example.org");
  await tabTo(page, "#password");
  await page.keyboard.type("violin sunrise 1987");
  await enterAndWait(page); // Enter in the last field sends the form.

  // From the home page to the competition and its entry form.
  await page.goto(server.url + "/");
  await tabTo(page, `[data-competition-card="${a.slug}"] [data-competition-link]`);
  await enterAndWait(page);
  await tabTo(page, "[data-enter]");
  await enterAndWait(page);
  await tabTo(page, "#title");
  await page.keyboard.type("Keys on the river");
  await tabTo(page, 'input[name="originality_declared"]');
  await page.keyboard.press("Space");
  assert.ok(await page.isChecked('input[name="originality_declared"]'));
  await tabTo(page, "[data-save-entry]");
  await Promise.all([page.waitForURL(/\/entries\//), page.keyboard.press("Enter")]);

  // The file picker opens from the keyboard; the progress and the outcome are announced.
  await tabTo(page, "#audio-file");
  const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.keyboard.press("Space")]);
  await chooser.setFiles({ name: "keys.wav", mimeType: "audio/wav", buffer: makeWav(9, 44100, () => 0.25) });
  await page.waitForSelector("[data-report]", { timeout: 60_000 });
  // Back from the analysis, the report's heading has the focus (and is read out).
  await page.waitForFunction(() => document.activeElement?.matches("[data-report] h2"));
  // The report is reached by keyboard: its player, and every rule's verdict is text.
  await tabTo(page, "[data-player] audio");
  await shot(page, "keyboard-report-focus");
  assert.ok((await page.locator("[data-verdicts] li").count()) >= 5);
  for (const c of await page.locator("canvas").all()) {
    const name = (await c.getAttribute("aria-label")) || "";
    assert.ok((await c.getAttribute("role")) === "img" && name.length > 10, `a chart says what it shows: “${name}”`);
  }
  assert.deepEqual(problems, []);
  await ctx.close();
});

test("a visitor signs in, listens and votes with the keyboard alone", async () => {
  const { a, vote, entries } = story;
  const ctx = await browser.newContext({ locale: "en-US" });
  const page = await ctx.newPage();
  const problems = watchProblems(page);
  const song = `${server.url}/c/${a.slug}/vote/${vote.id}/${entries[1].id}`;
  await page.goto(song);
  await tabTo(page, "[data-vote-sign-in-button]");
  await page.keyboard.press("Enter");
  await tabTo(page, "[data-vote-sign-in] input[name=email]");
  await page.keyboard.type("keyboard-voter@example.org");
  await tabTo(page, "[data-vote-sign-in] button");
  await enterAndWait(page);
  const link = await waitForLink(server.dir, "keyboard-voter@example.org", "/magic-link/sign-in?token=");
  await page.goto(link.replace(/^https?:\/\/[^/]+/, server.url));
  await tabTo(page, "[data-confirm]");
  await enterAndWait(page);
  assert.equal(page.url(), song);

  // Listen: the play button, from the keyboard; nothing played before it was pressed.
  assert.equal(await page.evaluate(() => document.querySelector("[data-vote-audio]").paused), true);
  await tabTo(page, "[data-play-button]");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelector("[data-vote-audio]").currentTime > 0.5, null, { polling: 100 });
  assert.equal(await page.getAttribute("[data-play-button]", "aria-label"), await page.getAttribute("[data-play-button]", "data-label-pause"));
  await page.waitForSelector("[data-vote-button]:not([disabled])");
  await tabTo(page, "[data-vote-button]");
  await shot(page, "keyboard-vote-focus");
  await page.keyboard.press("Enter");
  await page.waitForSelector('[data-vote-status][data-kind="ok"]', { timeout: 30_000 });
  // The outcome is in a live region, announced where the voter is.
  assert.equal(await page.getAttribute("[data-vote-status]", "role"), "status");
  assert.match(await page.textContent("[data-vote-status]"), /vote counts/i);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test("the judge's shortcuts never fire while typing, and never trap the focus", async () => {
  const ctx = await browser.newContext({ locale: "en-US" });
  const page = await ctx.newPage();
  await signIn(server, page, story.people.judge.email, story.people.judge.password);
  const url = `${server.url}/judge/a/${story.judgeAlias}`;
  await page.goto(url);
  await page.waitForSelector("[data-judge-audio]", { state: "attached" });
  const before = await page.evaluate(() => [...document.querySelectorAll("[data-criterion]")].map((i) => i.value));
  // Typing a comment with every shortcut letter and digit in it.
  await page.focus("#body");
  const words = "a bass note, then 5 n s p — space";
  await page.keyboard.type(words);
  assert.equal(await page.inputValue("#body"), words);
  assert.equal(page.url(), url, "no shortcut moved on");
  assert.equal(await page.evaluate(() => document.querySelector("[data-judge-audio]").paused), true, "nothing plays");
  assert.deepEqual(await page.evaluate(() => [...document.querySelectorAll("[data-criterion]")].map((i) => i.value)), before);
  assert.equal(await page.getAttribute("[data-judge-audio]", "data-loop") || "", "", "no loop was set");
  // The pin time field too.
  await page.focus("[data-pin-time]");
  await page.keyboard.type("1:05");
  assert.equal(await page.inputValue("[data-pin-time]"), "1:05");
  // Tab goes all the way through the page and out of it: nothing holds the focus.
  await page.focus("[data-judge-audio]").catch(() => page.focus("#body"));
  const seen = new Set();
  let reachedFooter = false;
  for (let i = 0; i < 80 && !reachedFooter; i++) {
    await page.keyboard.press("Tab");
    const where = await page.evaluate(() => {
      const el = document.activeElement;
      return { footer: !!el.closest("footer"), key: el.outerHTML.slice(0, 80) };
    });
    seen.add(where.key);
    reachedFooter = where.footer;
  }
  assert.ok(reachedFooter, `the focus reaches the footer (${seen.size} stops)`);
  await ctx.close();
});

test("with reduced motion asked for, nothing moves: no spinner turns, the countdown ticks by the minute", async () => {
  const { a, vote } = story;
  for (const reducedMotion of ["reduce", "no-preference"]) {
    const ctx = await browser.newContext({ locale: "en-US", reducedMotion });
    const page = await ctx.newPage();
    await page.goto(`${server.url}/c/${a.slug}/vote/${vote.id}`);
    await page.waitForFunction(() => document.querySelector("[data-countdown]").textContent.trim() !== "");
    const clock = (await page.textContent("[data-countdown]")).trim();
    const spin = await page.evaluate(() => {
      const s = document.createElement("span");
      s.className = "spinner";
      document.body.append(s);
      return getComputedStyle(s).animationName;
    });
    if (reducedMotion === "reduce") {
      assert.match(clock, /\d\d:\d\d left\)$/, `hours and minutes only: ${clock}`);
      assert.equal(spin, "none");
    } else {
      assert.match(clock, /\d\d:\d\d:\d\d left\)$/, `with seconds: ${clock}`);
      assert.notEqual(spin, "none");
    }
    await ctx.close();
  }
});

// ---------------------------------------------------------------- light on a phone

test("a phone gets the painting at the size it shows, and text compressed and cached", async () => {
  const { a } = story;
  const ctx = await browser.newContext({
    locale: "zh-CN", viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
  });
  const page = await ctx.newPage();
  const responses = [];
  page.on("response", (r) => responses.push(r));
  await page.goto(`${server.url}/c/${a.slug}/prompts/${a.prompts[0].id}`);
  await page.waitForFunction(() => document.querySelector(".prompt-page__image")?.complete);
  const img = await page.evaluate(() => {
    const i = document.querySelector(".prompt-page__image");
    return { natural: i.naturalWidth, shown: i.getBoundingClientRect().width, src: i.currentSrc, w: i.getAttribute("width"), h: i.getAttribute("height") };
  });
  // Uploaded at 4000 × 3000; the page gives its proportions (no layout shift).
  assert.equal(img.w, "4000");
  assert.equal(img.h, "3000");
  // The smallest rendition that covers the shown size at this phone's pixel density.
  const widths = [96, 192, 320, 480, 640, 800, 960, 1280, 1920];
  const needed = Math.ceil(img.shown * 2);
  const cover = widths.find((w) => w >= needed);
  assert.ok(img.natural <= cover && img.natural < 4000, `the painting arrived ${img.natural} px wide, shown at ${img.shown} CSS px × 2`);
  const picture = responses.find((r) => r.url() === img.src);
  const bytes = (await picture.body()).length;
  assert.ok(bytes < 150 * 1024, `the painting is ${bytes} bytes`);
  assert.match(picture.headers()["cache-control"], /immutable/);
  // Text is compressed; our files are versioned and kept for a year.
  await shot(page, "prompt-phone-zh");
  const html = responses.find((r) => r.url() === page.url());
  assert.equal(html.headers()["content-encoding"], "gzip");
  const statics = responses.filter((r) => new URL(r.url()).pathname.startsWith("/static/"));
  assert.ok(statics.length >= 2, "the style sheet and the script");
  for (const r of statics) {
    assert.match(r.url(), /\?v=[0-9a-f]{10}$/, `versioned: ${r.url()}`);
    assert.match(r.headers()["cache-control"], /max-age=31536000, immutable/, r.url());
    // Under 1 KiB is not worth compressing.
    const small = Number(r.headers()["content-length"] || Infinity) < 1024;
    if (/\.(css|js)\?/.test(r.url()) && !small) assert.equal(r.headers()["content-encoding"], "gzip", r.url());
  }
  await ctx.close();
});
