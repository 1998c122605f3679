// The story's cast and places, made through the API on a running server, for tests and
// scripts that visit every kind of page: a competition with a public vote open over its
// finalists (a painting as the prompt's picture, a screening round a judge is part-way
// through), and a second competition whose results are published. Returns the people
// (with passwords or a way to sign in) and the addresses of their pages.
import {
  analysedEntry,
  api,
  apiSignIn,
  isoDate,
  organiserWithCompetition,
  publicAudioReady,
  until,
  waitForLink,
} from "./helpers.mjs";

export const PASSWORDS = {
  organiser: "baton and score 42",
  judge: "erhu at dawn 1958",
  musician: "violin sunrise 1987",
};

/** A JPEG photo of a "painting", `w` × `h`, drawn by Chromium (gradients and shapes,
 * so it compresses like a photo, not like a flat colour). */
export async function paintingJpeg(browser, w = 4000, h = 3000) {
  const page = await browser.newPage();
  const b64 = await page.evaluate(async ([w, h]) => {
    const c = new OffscreenCanvas(w, h);
    const g = c.getContext("2d");
    const grad = g.createLinearGradient(0, 0, w, h);
    grad.addColorStop(0, "#2b4c7e");
    grad.addColorStop(1, "#e0a458");
    g.fillStyle = grad;
    g.fillRect(0, 0, w, h);
    for (let i = 0; i < 600; i++) {
      g.fillStyle = `hsla(${(i * 37) % 360}, 55%, ${30 + (i % 40)}%, 0.6)`;
      g.beginPath();
      g.arc((i * 7919) % w, (i * 104729) % h, 10 + (i % 60) * 4, 0, 7);
      g.fill();
    }
    const blob = await c.convertToBlob({ type: "image/jpeg", quality: 0.88 });
    const buf = new Uint8Array(await blob.arrayBuffer());
    let s = "";
    for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode(...buf.subarray(i, i + 0x8000));
    return btoa(s);
  }, [w, h]);
  await page.close();
  return Buffer.from(b64, "base64");
}

async function acceptJudge(server, org, competitionId, email) {
  await api(server, `/api/v1/competitions/${competitionId}/judges/invitations`, org, { email });
  const invite = await waitForLink(server.dir, email, "/judge-invitation?token=");
  const res = await fetch(server.url + "/api/v1/judge-invitations/accept", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: invite.split("token=")[1], stage_name: "Mr Zhang", password: PASSWORDS.judge }),
  });
  // A judge who already has an account accepts by signing in (200 either way here).
  if (res.status !== 200) throw new Error(`judge accept: ${res.status} ${await res.text()}`);
}

/** Seed the story. `browser` draws the painting. */
export async function seedStory(server, browser) {
  // Competition A: the exhibition, with its public vote open.
  const { c: a, bearer: org } = await organiserWithCompetition(server, "mei@example.org", "paintings-that-sing");
  const painting = await paintingJpeg(browser);
  const put = await fetch(`${server.url}/api/v1/prompts/${a.prompts[0].id}/image`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${org}`, "Content-Type": "image/jpeg" },
    body: painting,
  });
  if (put.status !== 204) throw new Error(`prompt picture: ${put.status} ${await put.text()}`);
  const entries = [];
  for (let i = 0; i < 3; i++) {
    entries.push(await analysedEntry(server, a, i, { prefix: "lin", name: "Lin", title: "Mist over the river", base: 6 }));
  }
  await acceptJudge(server, org, a.id, "zhang@example.org");
  const judge = await apiSignIn(server, "zhang@example.org", PASSWORDS.judge);
  const screening = await api(server, `/api/v1/competitions/${a.id}/rounds`, org, {
    name: "Screening",
    blind: true,
    judges_per_entry: 1,
    advancement: { kind: "top_n", n: 2 },
    rubric: [
      { name: "Originality", weight: 50, min: 1, max: 10 },
      { name: "Musicality", weight: 50, min: 1, max: 10 },
    ],
  });
  await api(server, `/api/v1/rounds/${screening.id}/assign`, org);
  const queue = await api(server, `/api/v1/judging/rounds/${screening.id}/queue`, judge, undefined, "GET");
  // The judge has scored one entry and has two to go.
  await api(server, `/api/v1/judging/assignments/${queue.items[0].alias}/score`, judge, { criteria: { c1: 8, c2: 7 } }, "PUT");
  const now = Date.now();
  const vote = await api(server, `/api/v1/competitions/${a.id}/voting-rounds`, org, {
    title: "Visitors' vote",
    opens_at: new Date(now - 5_000).toISOString(),
    closes_at: new Date(now + 3 * 86_400_000).toISOString(),
    counts_visible: "live",
    allowlist: ["127.0.0.0/8"],
    entry_ids: entries.slice(0, 2).map((e) => e.id),
  });
  await publicAudioReady(server, vote.id, entries.slice(0, 2).map((e) => e.id));

  // Competition B: decided and published.
  const { c: b, bearer: org2 } = await organiserWithCompetition(server, "mei2@example.org", "songs-of-the-scroll");
  const bEntries = [];
  for (let i = 0; i < 3; i++) {
    bEntries.push(await analysedEntry(server, b, i, { prefix: "sam", name: "Sam", title: "Scroll song", base: 20 }));
  }
  await acceptJudge(server, org2, b.id, "judge-b@example.org");
  const judgeB = await apiSignIn(server, "judge-b@example.org", PASSWORDS.judge);
  const final = await api(server, `/api/v1/competitions/${b.id}/rounds`, org2, {
    name: "Final", judges_per_entry: 1, advancement: { kind: "top_n", n: 2 },
    rubric: [{ name: "Music", weight: 100, min: 1, max: 10 }],
  });
  await api(server, `/api/v1/rounds/${final.id}/assign`, org2);
  const qb = await api(server, `/api/v1/judging/rounds/${final.id}/queue`, judgeB, undefined, "GET");
  for (const [i, item] of qb.items.entries()) {
    await api(server, `/api/v1/judging/assignments/${item.alias}/score`, judgeB, { criteria: { c1: 9 - i * 3 } }, "PUT");
  }
  await api(server, `/api/v1/rounds/${final.id}/close`, org2);
  await api(server, `/api/v1/rounds/${final.id}/advance`, org2, {});
  const results = await api(server, `/api/v1/competitions/${b.id}/results`, org2, { method: "borda", jury_weight: 100, public_weight: 0 }, "PUT");
  await api(server, `/api/v1/competitions/${b.id}/results/publish`, org2, {});
  const winner = results.standings[0].entry_id;
  await until("the winner's public copy", async () => {
    const res = await fetch(`${server.url}/api/v1/songs/${winner}/audio`, { headers: { Range: "bytes=0-0" } });
    await res.arrayBuffer();
    return res.status === 206;
  });

  // Lin's younger friend, 15, waiting for her guardian.
  let res = await fetch(server.url + "/api/v1/auth/register", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      email: "teen@example.org", password: PASSWORDS.musician, stage_name: "Xiao Yu",
      date_of_birth: isoDate(15), country: "CN", language: "en", guardian_email: "parent@example.org",
    }),
  });
  if (res.status !== 202) throw new Error(`register teen: ${res.status} ${await res.text()}`);
  const verify = await waitForLink(server.dir, "teen@example.org", "/verify-email?token=");
  res = await fetch(server.url + "/api/v1/auth/verify-email", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: verify.split("token=")[1] }),
  });
  if (res.status !== 204) throw new Error(`verify teen: ${res.status}`);
  const guardianLink = (await waitForLink(server.dir, "parent@example.org", "/guardian-consent?token=")).replace(/^https?:\/\/[^/]+/, "");

  // Mei runs the site too.
  server.run(["admin", "grant", "--email", "mei@example.org", "--role", "admin"]);

  return {
    a, b, org, vote, screening, final, entries, bEntries, winner, judgeAlias: queue.items[1].alias, guardianLink,
    people: {
      organiser: { email: "mei@example.org", password: PASSWORDS.organiser },
      musician: { email: "lin0@example.org", password: PASSWORDS.musician },
      finalist: { email: "sam0@example.org", password: PASSWORDS.musician },
      minor: { email: "teen@example.org", password: PASSWORDS.musician },
      judge: { email: "zhang@example.org", password: PASSWORDS.judge },
    },
  };
}
