// Stored XSS in real Chromium: 50 payloads go into every text field people can fill in
// (competition title, summary, description, prompt title and story, category name;
// entry title, description, lyrics, credits, samples and the uploaded file's name; stage
// name and bio; a judge's comment; a public vote's title; a stem pack's title, credit,
// key and licence), then the pages that show them are opened. A canary
// counts executions (a `xss()` function and alert dialogs), and every page reports CSP
// violations: there must be none of either. A payload the API refuses (422) never
// reaches a page, and is counted as refused.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  api,
  apiMusician,
  apiSignIn,
  launchBrowser,
  makeWav,
  signIn,
  startCadenza,
  until,
  waitForLink,
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

/** 50 payloads; each calls the canary with its own number when it runs. */
function payloads() {
  const forms = [
    (n) => `<script>xss(${n})</script>`,
    (n) => `<img src=x onerror=xss(${n})>`,
    (n) => `<svg onload=xss(${n})>`,
    (n) => `"><script>xss(${n})</script>`,
    (n) => `'><img src=x onerror=xss(${n})>`,
    (n) => `<iframe src="javascript:xss(${n})"></iframe>`,
    (n) => `<a href="javascript:xss(${n})">click</a>`,
    (n) => `<body onload=xss(${n})>`,
    (n) => `<details open ontoggle=xss(${n})>`,
    (n) => `<math><mtext><table><mglyph><style><img src=x onerror=xss(${n})>`,
    (n) => `[link](javascript:xss(${n}))`,
    (n) => `![x](x" onerror="xss(${n}))`,
    (n) => `<scr<script>ipt>xss(${n})</scr</script>ipt>`,
    (n) => `\u003cscript\u003exss(${n})\u003c/script\u003e`,
    (n) => `</title><script>xss(${n})</script>`,
    (n) => `</textarea><script>xss(${n})</script>`,
    (n) => `<input autofocus onfocus=xss(${n})>`,
    (n) => `<video><source onerror=xss(${n})></video>`,
    (n) => `<audio src=x onerror=xss(${n})>`,
    (n) => `<object data="javascript:xss(${n})">`,
    (n) => `<embed src="javascript:xss(${n})">`,
    (n) => `<form action="javascript:xss(${n})"><button>go</button></form>`,
    (n) => `<meta http-equiv="refresh" content="0;url=javascript:xss(${n})">`,
    (n) => `<base href="javascript:xss(${n})//">`,
    (n) => `<style>@import 'javascript:xss(${n})';</style>`,
    (n) => `<div style="background:url(javascript:xss(${n}))">`,
    (n) => `"onmouseover="xss(${n})`,
    (n) => `' onfocus='xss(${n})' autofocus '`,
    (n) => `javascript:xss(${n})`,
    (n) => `<svg><script>xss(${n})</script></svg>`,
    (n) => `<svg><animate onbegin=xss(${n}) attributeName=x dur=1s>`,
    (n) => `<marquee onstart=xss(${n})>`,
    (n) => `<img src=x:x onerror="window['xss'](${n})">`,
    (n) => `<img src="x" onerror="&#120;&#115;&#115;(${n})">`,
    (n) => `<a href="&#106;avascript:xss(${n})">x</a>`,
    (n) => `<script src="data:text/javascript,xss(${n})"></script>`,
    (n) => `<iframe srcdoc="<script>parent.xss(${n})</script>">`,
    (n) => `<template><script>xss(${n})</script></template>`,
    (n) => `{{constructor.constructor('xss(${n})')()}}`,
    (n) => `\${xss(${n})}`,
    (n) => `<noscript><p title="</noscript><img src=x onerror=xss(${n})>">`,
    (n) => `<select autofocus onfocus=xss(${n})>`,
    (n) => `<keygen autofocus onfocus=xss(${n})>`,
    (n) => `<isindex action=javascript:xss(${n}) type=image>`,
    (n) => `<x onclick=xss(${n})>click me`,
    (n) => `<img srcset="x" onerror=xss(${n})>`,
    (n) => `<link rel=import href="data:text/html,<script>xss(${n})</script>">`,
    (n) => `<!--<img src="--><img src=x onerror=xss(${n})//">`,
    (n) => `<svg><a xlink:href="javascript:xss(${n})"><text x=20 y=20>x</text></a></svg>`,
    (n) => `<img src=\`x\` onerror=xss(${n})>`,
  ];
  assert.equal(forms.length, 50);
  return forms.map((f, i) => f(i + 1));
}

/** A page that records canary calls, alert dialogs and CSP violations. */
async function watchedPage(context) {
  const page = await context.newPage();
  const hits = [];
  await page.exposeFunction("__canaryHit", (what) => hits.push(what));
  await page.addInitScript(() => {
    window.xss = (n) => window.__canaryHit(`xss(${n}) at ${location.pathname}`);
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__canaryHit(`CSP ${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${location.pathname}`),
    );
  });
  page.on("dialog", async (d) => {
    hits.push(`dialog "${d.message()}" at ${page.url()}`);
    await d.dismiss();
  });
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) hits.push(`console: ${m.text()}`);
  });
  return { page, hits };
}

/** POST/PUT/PATCH that may be refused: returns the JSON, or null on 422. */
async function attempt(path, token, body, method = "POST") {
  const res = await fetch(server.url + path, {
    method,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  if (res.status === 422) return null;
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

test("50 XSS payloads in every text field: nothing runs, no CSP violation", { timeout: 600_000 }, async () => {
  const list = payloads();
  let refused = 0;
  let stored = 0;

  // The organiser.
  const out = server.run(["admin", "create-organiser", "--email", "xss-org@example.org"]);
  const setup = out.match(/https?:\/\/\S+token=\S+/)[0].split("token=")[1];
  const res = await fetch(server.url + "/api/v1/account/password-setup", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: setup, password: "baton and score 42" }),
  });
  assert.equal(res.status, 204);
  const org = await apiSignIn(server, "xss-org@example.org", "baton and score 42");
  const musician = await apiMusician(server, "xss-m@example.org", "Plain Name");

  const made = [];
  for (const [i, p] of list.entries()) {
    // A competition whose every text is the payload (or a plain one if refused).
    let c = await attempt("/api/v1/competitions", org, {
      title: p, slug: `xss-${i}`, summary: p, description: p, time_zone: "UTC", entries_per_musician: 1,
      audio_policy: { duration: { min_secs: 1, max_secs: 600, severity: "reject" } },
      prompts: [{ title: p, story: p }], categories: [{ name: p }],
    });
    if (c) stored += 6;
    else {
      refused += 6;
      c = await api(server, "/api/v1/competitions", org, {
        title: `Plain ${i}`, slug: `xss-${i}`, summary: "s", description: p, time_zone: "UTC", entries_per_musician: 1,
        audio_policy: { duration: { min_secs: 1, max_secs: 600, severity: "reject" } },
        prompts: [{ title: "Prompt", story: "Story" }], categories: [{ name: "Song" }],
      });
    }
    await api(server, `/api/v1/competitions/${c.id}/publish`, org);
    const fields = {
      title: p, description: p, lyrics: p, prompt_id: c.prompts[0].id, category_id: c.categories[0].id,
      credits: { co_writers: [p], producer: p }, samples: [{ description: p, source: p }],
      samples_declared: true, originality_declared: true,
    };
    let e = await attempt(`/api/v1/competitions/${c.id}/entries`, musician, fields);
    if (e) stored += 7;
    else {
      refused += 7;
      e = await api(server, `/api/v1/competitions/${c.id}/entries`, musician, {
        ...fields, title: `Plain ${i}`, description: "", lyrics: "", credits: {}, samples: [],
      });
    }
    const up = await fetch(`${server.url}/api/v1/entries/${e.id}/audio?file_name=${encodeURIComponent(p + ".wav")}`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${musician}`, "Idempotency-Key": `xss-${i}`, "Content-Type": "application/octet-stream" },
      body: makeWav(1.5 + i / 100),
    });
    assert.equal(up.status, 201, await up.text());
    stored += 1;
    made.push({ c, e });
  }
  await until("every analysis", async () => {
    const mine = await api(server, "/api/v1/me/entries", musician, undefined, "GET");
    return mine.length === 50 && mine.every((x) => !["uploading", "uploaded", "analysing"].includes(x.status));
  }, 120_000);

  // The organiser's other texts: a public vote's title, a stem pack's title, credit, key
  // and licence.
  const now = Date.now();
  for (const [i, p] of list.entries()) {
    const vr = await attempt(`/api/v1/competitions/${made[i].c.id}/voting-rounds`, org, {
      title: p, opens_at: new Date(now - 5000).toISOString(), closes_at: new Date(now + 3_600_000).toISOString(),
      entry_ids: [made[i].e.id],
    });
    if (vr) stored += 1;
    else refused += 1;
    made[i].vote = vr;
    const pack = await attempt(`/api/v1/competitions/${made[i].c.id}/stem-packs`, org, {
      title: p, credit: p, musical_key: p.slice(0, 40), licence_name: p, licence_text: p,
    });
    if (pack) stored += 5;
    else refused += 5;
    made[i].pack = pack;
  }

  // A judge comments on an entry of the first competition with every payload.
  await api(server, `/api/v1/competitions/${made[0].c.id}/judges/invitations`, org, { email: "xss-judge@example.org" });
  const invite = await waitForLink(server.dir, "xss-judge@example.org", "/judge-invitation?token=");
  const accept = (stage_name) =>
    fetch(server.url + "/api/v1/judge-invitations/accept", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: invite.split("token=")[1], stage_name, password: "oboe at midnight 7" }),
    });
  let accepted = await accept(list[1]);
  if (accepted.status === 422) {
    refused += 1;
    accepted = await accept("Judge Plain");
  }
  assert.equal(accepted.status, 200, await accepted.text());
  const judge = await apiSignIn(server, "xss-judge@example.org", "oboe at midnight 7");
  const round = await api(server, `/api/v1/competitions/${made[0].c.id}/rounds`, org, {
    name: "Screening", judges_per_entry: 1, advancement: { kind: "top_n", n: 1 },
    rubric: [{ name: "Craft", weight: 100, min: 1, max: 10 }],
  });
  await api(server, `/api/v1/rounds/${round.id}/assign`, org);
  const q = await api(server, `/api/v1/judging/rounds/${round.id}/queue`, judge, undefined, "GET");
  const alias = q.items[0].alias;
  for (const p of list) {
    if (await attempt(`/api/v1/judging/assignments/${alias}/comments`, judge, { body: p })) stored += 1;
    else refused += 1;
  }

  // Browsers: the public, the organiser, the musician, the judge.
  const visits = [];
  const ctx = {};
  for (const who of ["public", "organiser", "musician", "judge"]) {
    const context = await browser.newContext({ locale: "en-US" });
    ctx[who] = await watchedPage(context);
  }
  // Controls: the canary sees a payload that runs (a page without our policy), and the
  // listener sees one our policy blocks (injected into our own page).
  const control = ctx.public;
  await control.page.goto("data:text/html,<img src=x onerror=xss(0)>");
  await control.page.waitForTimeout(100);
  await control.page.goto(server.url + "/");
  await control.page.evaluate(() => {
    // Broken on purpose: not a page for the accessibility check.
    window.__a11ySkip = true;
    document.body.insertAdjacentHTML("beforeend", '<img src=x onerror="xss(0)">');
  });
  await control.page.waitForTimeout(200);
  assert.ok(control.hits.some((h) => h.startsWith("xss(0)")), `the canary works: ${control.hits}`);
  assert.ok(control.hits.some((h) => h.startsWith("CSP script-src")), `the CSP listener works: ${control.hits}`);
  control.hits.length = 0;

  await signIn(server, ctx.organiser.page, "xss-org@example.org", "baton and score 42");
  await signIn(server, ctx.musician.page, "xss-m@example.org");
  await signIn(server, ctx.judge.page, "xss-judge@example.org", "oboe at midnight 7");
  const go = async (who, path) => {
    const r = await ctx[who].page.goto(server.url + path, { waitUntil: "load" });
    assert.ok(r.status() < 500, `${path}: ${r.status()}`);
    // Give deferred scripts and autofocus a moment.
    await ctx[who].page.waitForTimeout(20);
    visits.push(path);
  };
  await go("public", "/");
  for (const { c, e, vote, pack } of made) {
    if (vote) {
      await go("public", `/c/${c.slug}/vote/${vote.id}`);
      await go("organiser", `/organise/voting/${vote.id}`);
    }
    if (pack) await go("musician", `/stem-packs/${pack.id}`);
    await go("public", `/c/${c.slug}`);
    await go("public", `/c/${c.slug}/prompts/${c.prompts[0].id}`);
    await go("organiser", `/organise/${c.id}`);
    await go("organiser", `/organise/${c.id}/entries`);
    await go("musician", `/entries/${e.id}`);
  }
  await go("musician", "/me/entries");
  await go("judge", "/judge");
  await go("judge", `/judge/a/${alias}`);
  // Every payload as the musician's stage name and bio, each shown on the account page.
  for (const p of list) {
    const body = { stage_name: p.slice(0, 60), bio: p, links: [], language: "en" };
    if (await attempt("/api/v1/me/profile", musician, body, "PUT")) stored += 2;
    else refused += 2;
    await go("musician", "/account");
  }
  const links = await attempt("/api/v1/me/profile", musician, {
    stage_name: "Plain", bio: "", links: ["javascript:xss(99)"], language: "en",
  }, "PUT");
  assert.equal(links, null, "a javascript: link is refused");

  const hits = Object.values(ctx).flatMap((c) => c.hits);
  console.log(`${stored} fields stored with a payload, ${refused} refused; ${visits.length} page views; ${hits.length} hits`);
  assert.deepEqual(hits, [], "no payload ran and no CSP violation happened");
  assert.ok(stored > 500, `${stored} payloads stored`);
  for (const c of Object.values(ctx)) await c.page.context().close();
});
