// Shared helpers for the browser tests: start the real cadenza binary on a free
// port with a fresh data folder, and launch Debian's Chromium headless.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitReady(url, child, deadlineMs = 60_000) {
  const start = Date.now();
  while (Date.now() - start < deadlineMs) {
    if (child.exitCode !== null) throw new Error(`cadenza exited early with ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`cadenza did not become ready at ${url}`);
}

/** Start cadenza on its embedded defaults in a fresh folder. */
export async function startCadenza(extraEnv = {}) {
  const bin = process.env.CADENZA_BIN;
  if (!bin) throw new Error("CADENZA_BIN must point at the built cadenza binary");
  const dir = mkdtempSync(join(tmpdir(), "cadenza-e2e-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    PATH: process.env.PATH,
    CADENZA__SERVER__PORT: String(port),
    CADENZA__SERVER__PUBLIC_URL: url,
    CADENZA__AUTH__ARGON2_MEMORY_KIB: "1024",
    CADENZA__AUTH__ARGON2_ITERATIONS: "1",
    CADENZA__LOG__LEVEL: "warn",
    CADENZA__JOBS__POLL_INTERVAL_MS: "100",
    ...extraEnv,
  };
  const child = spawn(bin, ["serve"], { cwd: dir, env, stdio: ["ignore", "inherit", "inherit"] });
  // However a test file ends (a failed hook included), the server never outlives it.
  const kill = () => {
    if (child.exitCode === null) child.kill("SIGKILL");
  };
  process.once("exit", kill);
  await waitReady(url, child);
  return {
    url,
    dir,
    /** Run another cadenza command (e.g. `admin …`) on the same data; returns its output. */
    run(args) {
      return execFileSync(bin, args, { cwd: dir, env, encoding: "utf8" });
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- accessibility

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
/** What axe checks: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best practices
 * (landmarks, one main heading …), which are listed but only fail when serious. */
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"];
/** The impacts that fail a run. */
const FAILING = new Set(["serious", "critical"]);

/** axe-core's violations on the page as it is now: `[{id, impact, help, nodes}]`, each
 * node a selector and axe's one-line summary of what is wrong. The page's own CSP does
 * not apply: the source goes in through the DevTools protocol, not a script tag. */
export async function axeViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (tags) => {
    // One run at a time on a page (the load hook and a test may both ask).
    const run = (window.__axeQueue || Promise.resolve()).then(() =>
      window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] }),
    );
    window.__axeQueue = run.catch(() => {});
    const r = await run;
    // A test that breaks a page on purpose (the XSS canary) marks it.
    if (window.__a11ySkip) return null;
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 6).map((n) => `${n.target.join(" ")} — ${(n.failureSummary || "").split("\n").slice(1, 2).join("").trim()}`),
    }));
  }, AXE_TAGS);
}

/** The violations of `violations` that fail the check (serious or critical). */
export function failing(violations) {
  return violations.filter((v) => FAILING.has(v.impact));
}

/** Everything axe found on the pages of this test file: `lang path` → violations. */
const a11yFound = new Map();
let a11yChecked = 0;
let a11yMissed = 0;

function a11yKey(url, lang) {
  const u = new URL(url);
  return `${lang || "?"} ${u.pathname}`;
}

/** Check the page now with axe and remember what was found (for the file's summary);
 * returns the failing violations. */
export async function checkA11y(page) {
  const found = await axeViolations(page);
  if (found === null) return [];
  const lang = await page.evaluate(() => document.documentElement.lang);
  a11yFound.set(a11yKey(page.url(), lang), found);
  a11yChecked++;
  return failing(found);
}

/** Fail the test unless the page as it is now has no serious or critical violation. */
export async function assertAccessible(page, what = page.url()) {
  const bad = await checkA11y(page);
  assert.deepEqual(bad, [], `accessibility of ${what}:\n${JSON.stringify(bad, null, 2)}`);
}

/** The file's accessibility summary; true when nothing failing was found. */
function a11ySummary() {
  const fails = [];
  const minor = new Map();
  for (const [where, vs] of a11yFound) {
    for (const v of vs) {
      if (FAILING.has(v.impact)) fails.push({ where, ...v });
      else minor.set(`${v.impact} ${v.id}: ${v.help}`, (minor.get(`${v.impact} ${v.id}: ${v.help}`) || 0) + 1);
    }
  }
  console.log(`accessibility (axe-core, WCAG 2.2 AA): ${a11yChecked} checks of ${a11yFound.size} pages, ${fails.length} serious or critical${a11yMissed ? `, ${a11yMissed} pages could not be checked` : ""}`);
  for (const [what, n] of [...minor].sort()) console.log(`   listed (${n} page${n === 1 ? "" : "s"}): ${what}`);
  for (const f of fails) console.error(`accessibility: ${f.where}: ${f.impact} ${f.id} (${f.help})\n     ${f.nodes.join("\n     ")}`);
  return fails.length === 0;
}

/** Chromium, headless. Every page it opens is checked, each time one loads, for
 * buttons that render as grey system buttons and with axe-core for accessibility
 * (WCAG 2.2 AA); if a page has an unstyled button or a serious or critical violation,
 * the test file fails (its exit code) once the browser closes, so every page of the
 * product the suite visits is held to the design system and to WCAG (the API explorer
 * at /api/docs is Swagger UI's own). */
export async function launchBrowser() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
      "--disable-quic",
    ],
  });
  const unstyled = new Set();
  const watch = (page) =>
    page.on("load", async () => {
      const url = page.url();
      // The API explorer is Swagger UI's, not a page of the product; pages a test
      // writes itself (about:, data:) are not the product's either.
      if (!url.startsWith("http") || new URL(url).pathname.startsWith("/api/")) return;
      // Files the browser shows by themselves (a poster's PNG, a CSV) are not pages.
      try {
        if (!(await page.evaluate(() => document.contentType === "text/html"))) return;
      } catch {
        return;
      }
      try {
        for (const b of await page.evaluate(unstyledControls)) unstyled.add(`${new URL(url).pathname}: ${b}`);
      } catch {
        // The page moved on before the check ran; the next load is checked.
      }
      // What the browser holds now (cookies: who is signed in, the language), to come
      // back as the same person if the test moves on before the check ends.
      const state = page.context().storageState().catch(() => undefined);
      try {
        await checkA11y(page);
      } catch {
        missed.push({ url, state: await state });
      }
    });
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...args) => {
    const ctx = await newContext(...args);
    ctx.on("page", watch);
    return ctx;
  };
  const newPage = browser.newPage.bind(browser);
  browser.newPage = async (...args) => {
    const page = await newPage(...args);
    watch(page);
    return page;
  };
  const missed = [];
  const close = browser.close.bind(browser);
  browser.close = async () => {
    // Pages the test left before their check ended: visited again, as the same person,
    // one page of each kind (the address with its ids and numbered names as `:id`) not
    // already checked (the XSS test loads hundreds of pages of a few kinds).
    const kind = (path) => path.split("/").map((seg) => (/\d/.test(seg) ? ":id" : seg)).join("/");
    const done = new Set([...a11yFound.keys()].map((k) => kind(k.split(" ")[1])));
    for (const { url, state } of missed) {
      const path = new URL(url).pathname;
      if (done.has(kind(path))) continue;
      done.add(kind(path));
      try {
        const ctx = await newContext({ storageState: state });
        const page = await ctx.newPage();
        await page.goto(url);
        if (await page.evaluate(() => document.contentType === "text/html")) await checkA11y(page);
        await ctx.close();
      } catch {
        a11yMissed++;
      }
    }
    await close();
    if (unstyled.size) {
      // Fail the file without cutting its clean-up short (the server still stops).
      console.error(`unstyled system buttons:\n${[...unstyled].join("\n")}`);
      process.exitCode = 1;
    }
    if (!a11ySummary()) process.exitCode = 1;
  };
  return browser;
}

/** Collect console errors and CSP violations of a page, to assert there are none. */
export function watchProblems(page) {
  const problems = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("response", (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`);
  });
  return problems;
}

/** Decode one MIME part body by its Content-Transfer-Encoding. */
function decodePart(headers, body) {
  const enc = (/content-transfer-encoding:\s*([\w-]+)/i.exec(headers)?.[1] || "").toLowerCase();
  if (enc === "base64") return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  if (enc === "quoted-printable") {
    const bytes = [];
    const soft = body.replace(/=\r?\n/g, "");
    for (let i = 0; i < soft.length; i++) {
      if (soft[i] === "=" && /^[0-9A-F]{2}$/i.test(soft.slice(i + 1, i + 3))) {
        bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        bytes.push(...Buffer.from(soft[i], "utf8"));
      }
    }
    return Buffer.from(bytes).toString("utf8");
  }
  return body;
}

/** The plain-text bodies of the .eml files in the outbox, newest last. */
export function outboxTexts(dataDir) {
  const dir = join(dataDir, "data", "outbox");
  let files = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".eml"));
  } catch {
    return [];
  }
  return files
    .map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs, raw: readFileSync(join(dir, f), "utf8") }))
    .sort((a, b) => a.t - b.t)
    .map(({ raw }) => {
      const to = /^To:\s*(.*)$/im.exec(raw)?.[1] || "";
      const parts = raw.split(/\r?\n--[^\r\n]+\r?\n/);
      const text = parts
        .map((p) => {
          const [h, ...rest] = p.split(/\r?\n\r?\n/);
          return /content-type:\s*text\/plain/i.test(h) ? decodePart(h, rest.join("\n\n")) : "";
        })
        .join("\n");
      return { to, text };
    });
}

/** Wait for an email to `to` with a link containing `path`; returns the link. */
export async function waitForLink(dataDir, to, path, deadlineMs = 20_000) {
  const start = Date.now();
  while (Date.now() - start < deadlineMs) {
    for (const m of outboxTexts(dataDir).reverse()) {
      if (!m.to.includes(to)) continue;
      const link = m.text.match(new RegExp(`https?://\\S+${path.replace(/[?]/g, "\\?")}\\S*`));
      if (link) return link[0];
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no email to ${to} with ${path}`);
}

/** Wait for an email to `to` whose text contains `needle`; returns the text. */
export async function waitForMail(dataDir, to, needle, deadlineMs = 20_000) {
  const start = Date.now();
  while (Date.now() - start < deadlineMs) {
    const m = outboxTexts(dataDir).reverse().find((x) => x.to.includes(to) && x.text.includes(needle));
    if (m) return m.text;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no email to ${to} containing ${needle}`);
}

export function isoDate(yearsAgo) {
  const d = new Date();
  d.setFullYear(d.getFullYear() - yearsAgo);
  return d.toISOString().slice(0, 10);
}

/** Fill in and send the registration form. */
export async function register(server, page, email, yearsOld, guardian) {
  await page.goto(server.url + "/register");
  await page.fill("#email", email);
  await page.fill("#password", "violin sunrise 1987");
  await page.fill("#stage_name", "Lin Yue");
  await page.fill("#date_of_birth", isoDate(yearsOld));
  await page.fill("#country", "CN");
  if (guardian) await page.fill("#guardian_email", guardian);
  await Promise.all([page.waitForNavigation(), page.click("form[data-register] button[type=submit]")]);
}

/** Sign in through the page; lands on the person's home (account, organise or judge). */
export async function signIn(server, page, email, password = "violin sunrise 1987") {
  await page.goto(server.url + "/sign-in");
  await page.fill("#email", email);
  await page.fill("#password", password);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith("/sign-in")),
    page.click("form[data-sign-in] button[type=submit]"),
  ]);
}

/** An organiser made with the admin command, their password set through the emailed link. */
export async function makeOrganiser(server, email, password = "baton and score 42") {
  const out = server.run(["admin", "create-organiser", "--email", email]);
  const token = out.match(/https?:\/\/\S+token=\S+/)[0].split("token=")[1];
  const res = await fetch(server.url + "/api/v1/account/password-setup", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token, password }),
  });
  if (res.status !== 204) throw new Error(`password setup: ${res.status}`);
  return password;
}

/** A 16-bit stereo WAV of a few seconds: a short melody, at `gain(t)` of full scale
 * (above 1 it clips). */
export function makeWav(seconds, rate = 44100, gain = () => 0.3) {
  const frames = Math.floor(seconds * rate);
  const buf = Buffer.alloc(44 + frames * 4);
  buf.write("RIFF", 0);
  buf.writeUInt32LE(36 + frames * 4, 4);
  buf.write("WAVEfmt ", 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(2, 22);
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 4, 28);
  buf.writeUInt16LE(4, 32);
  buf.writeUInt16LE(16, 34);
  buf.write("data", 36);
  buf.writeUInt32LE(frames * 4, 40);
  const notes = [262, 294, 330, 349, 392, 440, 494, 523];
  let phase = 0;
  for (let i = 0; i < frames; i++) {
    const f = notes[Math.floor((i / rate) * 3) % notes.length];
    phase += (2 * Math.PI * f) / rate;
    const v = Math.max(-32768, Math.min(32767, Math.round(Math.sin(phase) * gain(i / rate) * 32767)));
    buf.writeInt16LE(v, 44 + i * 4);
    buf.writeInt16LE(v, 46 + i * 4);
  }
  return buf;
}

/** A JSON API call with a bearer token; fails the test on a non-2xx answer. */
export async function api(server, path, token, body, method = "POST") {
  const res = await fetch(server.url + path, {
    method,
    headers: { "Content-Type": "application/json", Accept: "application/json", Authorization: `Bearer ${token}` },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Sign in through the API; returns the access token. */
export async function apiSignIn(server, email, password) {
  const res = await fetch(server.url + "/api/v1/auth/sign-in", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (!res.ok) throw new Error(`sign-in ${email}: ${res.status}`);
  return (await res.json()).access_token;
}

/** An organiser (made with the admin command) and a published, open competition with a
 * prompt; returns the competition and the organiser's bearer token. */
export async function organiserWithCompetition(server, email = "org@example.org", slug = "paintings") {
  const out = server.run(["admin", "create-organiser", "--email", email]);
  const link = out.match(/https?:\/\/\S+token=\S+/)[0];
  const token = link.split("token=")[1];
  const res = await fetch(server.url + "/api/v1/account/password-setup", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token, password: "baton and score 42" }),
  });
  if (res.status !== 204) throw new Error(`password setup: ${res.status}`);
  const bearer = await apiSignIn(server, email, "baton and score 42");
  const c = await api(server, "/api/v1/competitions", bearer, {
    title: "Paintings that sing",
    slug,
    summary: "Write a song for a painting.",
    time_zone: "Asia/Shanghai",
    entries_per_musician: 3,
    audio_policy: { duration: { min_secs: 2, max_secs: 600, severity: "reject" } },
    prompts: [{ title: "Spring Dawn", story: "Mist over the river." }],
  });
  await api(server, `/api/v1/competitions/${c.id}/publish`, bearer);
  return { c, bearer };
}

/** Register and verify a musician through the API (the link comes from the outbox). */
export async function apiMusician(server, email, name = "Lin Yue") {
  let res = await fetch(server.url + "/api/v1/auth/register", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      email, password: "violin sunrise 1987", stage_name: name, date_of_birth: isoDate(20), country: "CN", language: "en",
    }),
  });
  if (res.status !== 202) throw new Error(`register ${email}: ${res.status}`);
  const link = await waitForLink(server.dir, email, "/verify-email?token=");
  res = await fetch(server.url + "/api/v1/auth/verify-email", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: link.split("token=")[1] }),
  });
  if (res.status !== 204) throw new Error(`verify ${email}: ${res.status}`);
  return apiSignIn(server, email, "violin sunrise 1987");
}

/** Poll `check` every 200 ms until it returns something truthy (that is returned). */
export async function until(what, check, ms = 60_000) {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A new musician's entry in competition `c`, uploaded and analysed; `i` makes the
 * musician, the title and the recording (seconds = base + i) distinct. */
export async function analysedEntry(server, c, i, { prefix = "m", name = "Musician", title = "River song", base = 6 } = {}) {
  const token = await apiMusician(server, `${prefix}${i}@example.org`, `${name} ${i}`);
  const e = await api(server, `/api/v1/competitions/${c.id}/entries`, token, {
    title: `${title} ${i}`,
    prompt_id: c.prompts[0].id,
    originality_declared: true,
  });
  const res = await fetch(`${server.url}/api/v1/entries/${e.id}/audio?file_name=${prefix}-${i}.wav`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${token}`, "Idempotency-Key": `up-${prefix}-${i}`, "Content-Type": "application/octet-stream" },
    body: makeWav(base + i),
  });
  if (res.status !== 201) throw new Error(`upload ${i}: ${res.status} ${await res.text()}`);
  await until(`analysis of entry ${i}`, async () => {
    const v = await api(server, `/api/v1/entries/${e.id}`, token, undefined, "GET");
    return ["accepted", "needs_attention"].includes(v.status);
  });
  return { token, id: e.id, title: `${title} ${i}` };
}

/** Wait until the clean public renditions of these entries can be played in voting
 * round `roundId` (the workers make them after the vote is created). */
export async function publicAudioReady(server, roundId, entryIds) {
  await until("the public renditions", async () => {
    for (const id of entryIds) {
      const res = await fetch(`${server.url}/api/v1/voting-rounds/${roundId}/entries/${id}/audio`, { headers: { Range: "bytes=0-0" } });
      await res.arrayBuffer();
      if (res.status !== 206) return false;
    }
    return true;
  });
}

/** Every visible button (and submit input, and link styled as a button) is one of ours:
 * not the browser's grey system button. Fails the test naming the ones that are. */
/** Buttons on the page that look like the browser's own grey ones (run in the page). */
function unstyledControls() {
  const system = new Set(["rgb(239, 239, 239)", "rgb(240, 240, 240)", "rgb(221, 221, 221)"]);
  const out = [];
  for (const el of document.querySelectorAll("button, input[type=submit], input[type=button], input[type=reset]")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const s = getComputedStyle(el);
    const greyBox = system.has(s.backgroundColor) && s.borderStyle.includes("outset");
    const nativeLook = s.appearance === "auto" || s.appearance === "button";
    if (greyBox || (nativeLook && system.has(s.backgroundColor))) {
      out.push(`${el.outerHTML.slice(0, 120)} (${s.backgroundColor}, ${s.borderStyle})`);
    }
  }
  return out;
}

/** Every button on the page is one of ours (now, not only at load). */
export async function assertStyledControls(page) {
  const bad = await page.evaluate(unstyledControls);
  assert.deepEqual(bad, [], `unstyled buttons on ${page.url()}:\n${bad.join("\n")}`);
}

/** A competition with `n` analysed entries, judged by one judge and its results
 * published (borda, the jury alone). Returns the competition, the organiser's token,
 * the entries ({token, id, title}) and the results. */
export async function publishedCompetition(server, orgEmail, slug, n, entryOpts) {
  const { c, bearer: org } = await organiserWithCompetition(server, orgEmail, slug);
  const entries = [];
  for (let i = 0; i < n; i++) entries.push(await analysedEntry(server, c, i, entryOpts));
  const judgeEmail = `${slug}-judge@example.org`;
  await api(server, `/api/v1/competitions/${c.id}/judges/invitations`, org, { email: judgeEmail });
  const invite = await waitForLink(server.dir, judgeEmail, "/judge-invitation");
  await fetch(server.url + "/api/v1/judge-invitations/accept", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: invite.split("token=")[1].split("&")[0], stage_name: "Judge Wu", password: "oboe at midnight 7" }),
  });
  const judge = await apiSignIn(server, judgeEmail, "oboe at midnight 7");
  const round = await api(server, `/api/v1/competitions/${c.id}/rounds`, org, {
    name: "Final", judges_per_entry: 1, advancement: { kind: "top_n", n },
    rubric: [{ name: "Music", weight: 100, min: 1, max: 10 }],
  });
  await api(server, `/api/v1/rounds/${round.id}/assign`, org);
  const q = await api(server, `/api/v1/judging/rounds/${round.id}/queue`, judge, undefined, "GET");
  for (const [i, item] of q.items.entries()) {
    await api(server, `/api/v1/judging/assignments/${item.alias}/score`, judge, { criteria: { c1: 9 - i } }, "PUT");
  }
  await api(server, `/api/v1/rounds/${round.id}/close`, org);
  const results = await api(server, `/api/v1/competitions/${c.id}/results`, org, { method: "borda", jury_weight: 100, public_weight: 0 }, "PUT");
  await api(server, `/api/v1/competitions/${c.id}/results/publish`, org, {});
  return { c, org, entries, results };
}
