//! The public vote as the story needs it, on the leg's database: finalists only (the
//! entries the decided judging round advanced, editable before the vote opens and
//! audited), walk-up voters on the venue's network counted while a burst elsewhere is
//! held, bulk restore by rule (audited), "Open now" / "Close now", a withdrawn finalist
//! leaving the vote, results over the finalists with public votes beside the jury, and
//! public audio from a clean, loudness-matched rendition.

use cadenza::voting::VotingState as _;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestEnv, spawn_app_with};
use crate::judging::{Setup, entry_of, patch, post, put, queue, round, score, setup};
use crate::submissions::code;
use crate::voting::{pow, voter, voting_round};

const ENV: &str = "[voting]\npow_cost = 10\npow_max_counter = 4\nvoter_per_minute = 1000\n";

async fn app() -> TestApp {
    let mut env = TestEnv::with_extra(ENV);
    // Client addresses come from X-Forwarded-For (the test plays a venue's Wi-Fi and a
    // network elsewhere), believed only from the loopback "proxy".
    env.replace_in_config(
        "http_workers = 2\n",
        "http_workers = 2\ntrusted_proxies = [\"127.0.0.1\"]\n",
    );
    spawn_app_with(env, |b| b).await
}

/// A screening round of the setup's entries, scored by its one judge so that entry 0
/// leads and entry 2 is last, closed and decided by its rule (top 2): entries 0 and 1
/// are the finalists.
pub async fn decided_screening(app: &TestApp, s: &Setup) -> String {
    let r = round(
        app,
        s,
        json!({ "judges_per_entry": 1, "advancement": { "kind": "top_n", "n": 2 } }),
    )
    .await;
    let rid = r["id"].as_str().unwrap().to_string();
    let path = |x: &str| format!("/api/v1/rounds/{rid}/{x}");
    assert_eq!(
        post(app, &s.call.org, &path("assign"), json!({}))
            .await
            .status(),
        200
    );
    let j = &s.judges[0];
    for item in queue(app, j, &rid).await {
        let alias = item["alias"].as_str().unwrap();
        let e = entry_of(app, s, j, alias).await;
        let idx = s.entries.iter().position(|x| x.2 == e).unwrap() as i64;
        assert_eq!(
            score(app, j, alias, 9 - 3 * idx, 9 - 3 * idx)
                .await
                .status(),
            200
        );
    }
    assert_eq!(
        post(app, &s.call.org, &path("close"), json!({}))
            .await
            .status(),
        200
    );
    let adv = post(app, &s.call.org, &path("advance"), json!({})).await;
    assert_eq!(adv.status(), 200, "{}", adv.text().await.unwrap());
    app.run_pending_jobs().await;
    rid
}

async fn create_vote(app: &TestApp, s: &Setup, body: Value) -> reqwest::Response {
    post(
        app,
        &s.call.org,
        &format!("/api/v1/competitions/{}/voting-rounds", s.call.id),
        body,
    )
    .await
}

async fn line_up(app: &TestApp, s: &Setup, vid: &str) -> Value {
    let res = app
        .get_with(&format!("/api/v1/voting-rounds/{vid}/line-up"), &s.call.org)
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn ids(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entry_id"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn audit_actions(app: &TestApp, subject: &str) -> Vec<(String, String)> {
    use diesel::prelude::*;
    let subject = subject.to_string();
    app.state
        .db
        .run(move |conn| {
            use cadenza::db::schema::audit_log::dsl as a;
            Ok(a::audit_log
                .filter(a::subject.eq(subject))
                .order(a::id.asc())
                .select((a::action, a::details))
                .load::<(String, String)>(conn)?)
        })
        .await
        .unwrap()
}

/// A vote with a fresh proof of work, as if from `ip` (through the trusted proxy).
async fn vote_from(app: &TestApp, token: &str, round: &str, entry: &str, ip: &str) -> Value {
    let p = pow(app, token, round).await;
    let res = app
        .client
        .post(app.url(&format!("/api/v1/voting-rounds/{round}/votes")))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .header("X-Forwarded-For", ip)
        .json(&json!({ "entry_id": entry, "pow": p }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_vote_is_over_the_finalists_and_its_songs_change_only_before_it_opens() {
    let app = app().await;
    let s = setup(&app, "pv-finalists", 3, 1).await;
    let later = json!({
        "opens_at": Utc::now() + Duration::hours(1),
        "closes_at": Utc::now() + Duration::hours(3),
    });
    // No decided judging round: no finalists, so the vote does not take everything.
    let res = create_vote(&app, &s, later.clone()).await;
    assert_eq!(code(res).await, (409, "vote.no_finalists".into()));

    decided_screening(&app, &s).await;
    let res = create_vote(&app, &s, later.clone()).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["entries"], 2, "only the two finalists: {v}");
    assert_eq!(v["new_accounts"], "venue");
    let vid = v["id"].as_str().unwrap().to_string();
    let finalists = sorted(vec![s.entries[0].2.clone(), s.entries[1].2.clone()]);
    let lu = line_up(&app, &s, &vid).await;
    assert_eq!(ids(&lu["entries"]), finalists);
    assert_eq!(ids(&lu["candidates"]), vec![s.entries[2].2.clone()]);
    assert_eq!(lu["locked"], false);
    assert!(
        lu["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["finalist"] == true)
    );
    // The public gallery shows just them.
    let g: Value = app
        .get(&format!("/api/v1/voting-rounds/{vid}/entries"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&g["entries"]), finalists);

    // Before it opens: a wildcard is put in, with a reason; without one it is refused.
    let lu_path = format!("/api/v1/voting-rounds/{vid}/line-up");
    let res = patch(
        &app,
        &s.call.org,
        &lu_path,
        json!({ "add": [s.entries[2].2], "reason": " " }),
    )
    .await;
    assert_eq!(code(res).await, (422, "vote.reason_required".into()));
    let res = patch(
        &app,
        &s.call.org,
        &lu_path,
        json!({ "add": [s.entries[2].2], "reason": "Jury wildcard" }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let lu: Value = res.json().await.unwrap();
    assert_eq!(lu["entries"].as_array().unwrap().len(), 3);
    // Taken out again; the log keeps both changes with their reasons.
    let res = patch(
        &app,
        &s.call.org,
        &lu_path,
        json!({ "remove": [s.entries[2].2], "reason": "Wildcard withdrawn by the jury" }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let changes: Vec<Value> = audit_actions(&app, &vid)
        .await
        .into_iter()
        .filter(|(a, _)| a == "voting.entries_changed")
        .map(|(_, d)| serde_json::from_str(&d).unwrap())
        .collect();
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(changes[0]["reason"], "Jury wildcard");
    assert_eq!(changes[0]["added"], json!([s.entries[2].2]));
    assert_eq!(changes[1]["removed"], json!([s.entries[2].2]));
    // Someone else's competition: not found.
    let fan = voter(&app, "nosy-pv@example.org").await;
    assert_eq!(
        patch(
            &app,
            &fan,
            &lu_path,
            json!({ "add": [s.entries[2].2], "reason": "x" })
        )
        .await
        .status(),
        404
    );

    // Open now: the songs are fixed, in English and Chinese.
    let res = post(
        &app,
        &s.call.org,
        &format!("/api/v1/voting-rounds/{vid}/open-now"),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let opened: Value = res.json().await.unwrap();
    assert_eq!(opened["state"], "open");
    let res = patch(
        &app,
        &s.call.org,
        &lu_path,
        json!({ "add": [s.entries[2].2], "reason": "late" }),
    )
    .await;
    assert_eq!(code(res).await, (409, "vote.entries_locked".into()));
    let res = app
        .client
        .patch(app.url(&lu_path))
        .bearer_auth(&s.call.org)
        .header("Accept-Language", "zh-CN")
        .json(&json!({ "add": [s.entries[2].2], "reason": "late" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("投票已经开始"),
        "{body}"
    );
    let res = patch(
        &app,
        &s.call.org,
        &format!("/api/v1/voting-rounds/{vid}"),
        json!({ "entry_ids": [s.entries[2].2] }),
    )
    .await;
    assert_eq!(code(res).await, (409, "vote.entries_locked".into()));
    assert_eq!(line_up(&app, &s, &vid).await["locked"], true);
    // Open again: refused; close now, twice: the second is refused.
    let again = post(
        &app,
        &s.call.org,
        &format!("/api/v1/voting-rounds/{vid}/open-now"),
        json!({}),
    )
    .await;
    assert_eq!(code(again).await, (409, "vote.already_open".into()));
    let closed = post(
        &app,
        &s.call.org,
        &format!("/api/v1/voting-rounds/{vid}/close-now"),
        json!({}),
    )
    .await;
    assert_eq!(closed.status(), 200);
    let closed: Value = closed.json().await.unwrap();
    assert_eq!(closed["state"], "closed");
    let twice = post(
        &app,
        &s.call.org,
        &format!("/api/v1/voting-rounds/{vid}/close-now"),
        json!({}),
    )
    .await;
    assert_eq!(code(twice).await, (409, "vote.closed".into()));
    let actions: Vec<String> = audit_actions(&app, &vid)
        .await
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert!(
        actions.contains(&"voting.opened_now".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"voting.closed_now".to_string()),
        "{actions:?}"
    );

    // The results are over the finalists only.
    let res: Value = put(
        &app,
        &s.call.org,
        &format!("/api/v1/competitions/{}/results", s.call.id),
        json!({ "method": "borda", "jury_weight": 100, "public_weight": 0 }),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(ids(&res["standings"]), finalists, "{res}");
    let ranks: Vec<i64> = res["standings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["jury_rank"].as_i64().unwrap())
        .collect();
    assert_eq!(
        sorted(ranks.iter().map(|r| r.to_string()).collect()),
        ["1", "2"]
    );
}

#[tokio::test]
async fn walk_up_voters_at_the_venue_count_while_a_burst_elsewhere_is_held() {
    use diesel::prelude::*;
    let app = app().await;
    let s = setup(&app, "pv-venue", 2, 0).await;
    // The museum's Wi-Fi is 198.51.100.0/24; accounts count as new for 5 minutes, and
    // the round uses the default treatment of new accounts (counted at the venue).
    let v = voting_round(
        &app,
        &s,
        json!({ "allowlist": ["198.51.100.0/24"], "new_account_minutes": 5,
                "burst_per_minute": 2, "votes_per_voter": 2, "new_accounts": null }),
    )
    .await;
    assert_eq!(v["new_accounts"], "venue");
    let vid = v["id"].as_str().unwrap().to_string();
    let e = s.entries[0].2.clone();
    // Three visitors scan the poster, sign in on the spot and vote on the venue's Wi-Fi.
    for i in 0..3 {
        let t = voter(&app, &format!("visitor{i}@example.org")).await;
        let r = vote_from(&app, &t, &vid, &e, &format!("198.51.100.{}", 10 + i)).await;
        assert_eq!(
            r["status"], "counted",
            "a walk-up visitor's vote counts: {r}"
        );
    }
    // A new account elsewhere is held for checking, and says so.
    let t = voter(&app, "faraway@example.org").await;
    let r = vote_from(&app, &t, &vid, &e, "192.0.2.7").await;
    assert_eq!(r["status"], "quarantined");
    // A burst from one other network, by accounts that are not new: held.
    let burst: Vec<String> = (0..4).map(|i| format!("burst{i}@example.org")).collect();
    let mut tokens = Vec::new();
    for b in &burst {
        tokens.push(voter(&app, b).await);
    }
    let emails = burst.clone();
    app.state
        .db
        .run(move |conn| {
            use cadenza::db::schema::users::dsl as u;
            diesel::update(u::users.filter(u::email.eq_any(emails)))
                .set(u::created_at.eq(Utc::now().naive_utc() - Duration::days(30)))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    for (i, t) in tokens.iter().enumerate() {
        vote_from(&app, t, &vid, &e, &format!("203.0.113.{}", 20 + i)).await;
    }
    let audit = post(
        &app,
        &s.call.org,
        &format!("/api/v1/voting-rounds/{vid}/audit"),
        json!({}),
    )
    .await;
    assert_eq!(audit.status(), 200);
    let integrity: Value = audit.json().await.unwrap();
    let integrity = &integrity["integrity"];
    assert_eq!(integrity["counted"], 3, "{integrity}");
    assert_eq!(integrity["by_rule"]["prefix_burst"], 4, "{integrity}");
    assert_eq!(integrity["by_rule"]["new_account"], 1, "{integrity}");
    let board: Value = app
        .get(&format!("/api/v1/voting-rounds/{vid}/leaderboard"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(board["total_votes"], 3, "the leaderboard moves: {board}");

    // The organiser restores every vote the new-account rule holds, in one step.
    let review = format!("/api/v1/voting-rounds/{vid}/review");
    let res = post(
        &app,
        &s.call.org,
        &review,
        json!({ "rule": "no_such_rule", "action": "restore", "reason": "x" }),
    )
    .await;
    assert_eq!(code(res).await, (422, "vote.rule_unknown".into()));
    let res = post(
        &app,
        &s.call.org,
        &review,
        json!({ "rule": "new_account", "vote_ids": [1], "action": "restore", "reason": "x" }),
    )
    .await;
    assert_eq!(code(res).await, (422, "vote.selection_invalid".into()));
    let res = post(
        &app,
        &s.call.org,
        &review,
        json!({ "rule": "new_account", "action": "restore", "reason": "Known visitor, checked at the desk" }),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let out: Value = res.json().await.unwrap();
    assert_eq!(out["changed"], 1);
    assert_eq!(out["integrity"]["counted"], 4);
    assert_eq!(
        out["integrity"]["by_rule"]["prefix_burst"], 4,
        "the burst stays held"
    );
    let restored: Vec<Value> = audit_actions(&app, &vid)
        .await
        .into_iter()
        .filter(|(a, _)| a == "voting.restore")
        .map(|(_, d)| serde_json::from_str(&d).unwrap())
        .collect();
    assert_eq!(restored.len(), 1);
    assert_eq!(restored[0]["rule"], "new_account");
    assert_eq!(restored[0]["changed"], 1);
    assert_eq!(restored[0]["reason"], "Known visitor, checked at the desk");

    // "hold" keeps every new account's vote back, even at the venue; "count" counts it.
    let res = patch(
        &app,
        &s.call.org,
        &format!("/api/v1/voting-rounds/{vid}"),
        json!({ "new_accounts": "sometimes" }),
    )
    .await;
    assert_eq!(code(res).await, (422, "vote.new_accounts_invalid".into()));
    let held = voting_round(&app, &s, json!({ "allowlist": ["198.51.100.0/24"], "new_account_minutes": 5, "new_accounts": "hold" })).await;
    let t = voter(&app, "visitor-hold@example.org").await;
    let r = vote_from(&app, &t, held["id"].as_str().unwrap(), &e, "198.51.100.50").await;
    assert_eq!(r["status"], "quarantined");
    let counted = voting_round(
        &app,
        &s,
        json!({ "allowlist": [], "new_account_minutes": 5, "new_accounts": "count" }),
    )
    .await;
    let r = vote_from(&app, &t, counted["id"].as_str().unwrap(), &e, "192.0.2.99").await;
    assert_eq!(r["status"], "counted");
}

#[tokio::test]
async fn a_withdrawn_finalist_leaves_the_vote_at_once() {
    let app = app().await;
    let s = setup(&app, "pv-withdrawn", 2, 0).await;
    let v = voting_round(&app, &s, json!({ "new_accounts": "count" })).await;
    let vid = v["id"].as_str().unwrap().to_string();
    let (gone, stays) = (&s.entries[0], &s.entries[1]);
    // A fan voted for the song before it was withdrawn.
    let early = voter(&app, "early-fan@example.org").await;
    let r = vote_from(&app, &early, &vid, &gone.2, "192.0.2.10").await;
    assert_eq!(r["status"], "counted", "{r}");
    let res = post(
        &app,
        &gone.0,
        &format!("/api/v1/entries/{}/withdraw", gone.2),
        json!({}),
    )
    .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    app.state.voting().rounds.invalidate(&vid);
    let g: Value = app
        .get(&format!("/api/v1/voting-rounds/{vid}/entries"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&g["entries"]), vec![stays.2.clone()]);
    let audio = app
        .get(&format!(
            "/api/v1/voting-rounds/{vid}/entries/{}/audio",
            gone.2
        ))
        .await;
    assert_eq!(audio.status(), 404);
    let board: Value = app
        .get(&format!("/api/v1/voting-rounds/{vid}/leaderboard"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        board["lines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["entry_id"] != gone.2.as_str())
    );
    let t = voter(&app, "late-fan@example.org").await;
    let p = pow(&app, &t, &vid).await;
    let res = crate::voting::cast(&app, &t, &vid, &gone.2, "k-gone", &p).await;
    assert_eq!(code(res).await, (409, "vote.entry_withdrawn".into()));
    let page = app
        .get(&format!("/c/{}/vote/{vid}/{}", s.call.slug, gone.2))
        .await;
    assert_eq!(page.status(), 404);
    // Its vote is set aside in the tally, with the reason; the log keeps it.
    let i: Value = app
        .client
        .get(app.url(&format!("/api/v1/voting-rounds/{vid}/integrity")))
        .bearer_auth(&s.call.org)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(i["counted"], 1, "{i}");
    assert_eq!(i["set_aside"], 1, "{i}");
    assert_eq!(i["set_aside_by_reason"]["withdrawn"], 1, "{i}");
    assert_eq!(board["total_votes"], 0, "{board}");
}

/// The RIFF chunk ids of a WAV file.
fn chunks(wav: &[u8]) -> Vec<String> {
    assert_eq!(&wav[0..4], b"RIFF");
    assert_eq!(&wav[8..12], b"WAVE");
    let mut out = Vec::new();
    let mut at = 12;
    while at + 8 <= wav.len() {
        let id = String::from_utf8_lossy(&wav[at..at + 4]).to_string();
        let len = u32::from_le_bytes(wav[at + 4..at + 8].try_into().unwrap()) as usize;
        out.push(id);
        at += 8 + len + (len & 1);
    }
    out
}

/// A WAV like the musician's export, with a LIST/INFO chunk naming the artist.
fn tagged_wav(secs: f64, gain: f64) -> Vec<u8> {
    let plain = crate::submissions::wav(secs, 3, gain);
    let mut info = b"INFO".to_vec();
    for (id, text) in [
        (b"IART", "Lin Yue, 15, lin@example.org"),
        (b"INAM", "My real name"),
    ] {
        let mut t = text.as_bytes().to_vec();
        t.push(0);
        if t.len() % 2 == 1 {
            t.push(0);
        }
        info.extend_from_slice(id);
        info.extend_from_slice(&(t.len() as u32).to_le_bytes());
        info.extend_from_slice(&t);
    }
    let mut out = plain[..36].to_vec();
    out.extend_from_slice(b"LIST");
    out.extend_from_slice(&(info.len() as u32).to_le_bytes());
    out.extend_from_slice(&info);
    out.extend_from_slice(&plain[36..]);
    let riff = (out.len() - 8) as u32;
    out[4..8].copy_from_slice(&riff.to_le_bytes());
    out
}

#[tokio::test]
async fn public_audio_is_a_clean_rendition_at_the_reference_loudness() {
    use crate::submissions::{entry_id, musician, put_audio};
    let app = app().await;
    let s = setup(&app, "pv-audio", 1, 0).await;
    // A loud, tagged master (about −9 LUFS).
    let t = musician(&app, "lin-pv@example.org").await;
    let id = entry_id(&app, &t, &s.call, "Loud and tagged").await;
    let original = tagged_wav(6.0, 0.9);
    assert!(chunks(&original).contains(&"LIST".to_string()));
    let res = put_audio(&app, &t, &id, original, "k-tagged").await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    app.run_pending_jobs().await;
    let v = voting_round(&app, &s, json!({ "entry_ids": [id] })).await;
    let vid = v["id"].as_str().unwrap();
    let res = app
        .get(&format!("/api/v1/voting-rounds/{vid}/entries/{id}/audio"))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "audio/wav");
    let served = res.bytes().await.unwrap().to_vec();
    assert_eq!(chunks(&served), ["fmt ", "data"], "no tags reach listeners");
    let text = String::from_utf8_lossy(&served);
    assert!(!text.contains("Lin Yue") && !text.contains("lin@example.org"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("public.wav");
    std::fs::write(&path, &served).unwrap();
    let report = cadenza::audio::analyze_file(&path, &cadenza::audio::Options::default()).unwrap();
    let lufs = report.loudness.integrated_lufs.expect("measurable");
    assert!(
        (lufs - cadenza::audio::gain::REFERENCE_LUFS).abs() <= 0.5,
        "public copy at {lufs} LUFS, reference {}",
        cadenza::audio::gain::REFERENCE_LUFS
    );
    // Ranges work on it.
    let part = app
        .client
        .get(app.url(&format!("/api/v1/voting-rounds/{vid}/entries/{id}/audio")))
        .header("Range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.unwrap().len(), 100);
}

async fn delete_me(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/me/delete"))
        .bearer_auth(token)
        .json(&json!({ "confirmation": password }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn deleting_accounts_always_works_and_keeps_the_vote_and_the_scores_honest() {
    let app = app().await;
    let s = setup(&app, "pv-erase", 3, 1).await;
    let rid = decided_screening(&app, &s).await;
    let v = voting_round(&app, &s, json!({ "new_accounts": "count" })).await;
    let vid = v["id"].as_str().unwrap().to_string();
    let finalist = &s.entries[0];
    let fan = voter(&app, "loyal-fan@example.org").await;
    let r = vote_from(&app, &fan, &vid, &finalist.2, "192.0.2.11").await;
    assert_eq!(r["status"], "counted", "{r}");

    // The musician of a song in the public vote can delete her account.
    let res = delete_me(&app, &finalist.0, "violin sunrise 1987").await;
    assert_eq!(res.status(), 204, "{}", res.text().await.unwrap());
    app.state.voting().rounds.invalidate(&vid);
    let g: Value = app
        .get(&format!("/api/v1/voting-rounds/{vid}/entries"))
        .await
        .json()
        .await
        .unwrap();
    assert!(!ids(&g["entries"]).contains(&finalist.2), "{g}");
    let audio = app
        .get(&format!(
            "/api/v1/voting-rounds/{vid}/entries/{}/audio",
            finalist.2
        ))
        .await;
    assert_eq!(audio.status(), 404);
    let i: Value = app
        .get_with(
            &format!("/api/v1/voting-rounds/{vid}/integrity"),
            &s.call.org,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(i["set_aside_by_reason"]["erased"], 1, "{i}");
    // The entry is withdrawn and holds nothing of hers any more.
    let e: Value = app
        .get_with(&format!("/api/v1/entries/{}", finalist.2), &s.call.org)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(e["status"], "withdrawn", "{e}");
    assert_eq!(e["title"], "", "{e}");
    assert_eq!(e["lyrics"], "", "{e}");
    assert!(e["audio"].is_null(), "{e}");

    // A judge who scored the closed round deletes theirs: the scores stay, by "a former judge".
    let before: Value = app
        .get_with(&format!("/api/v1/rounds/{rid}/progress"), &s.call.org)
        .await
        .json()
        .await
        .unwrap();
    let j = &s.judges[0];
    let res = delete_me(&app, &j.token, "oboe at midnight 7").await;
    assert_eq!(res.status(), 204, "{}", res.text().await.unwrap());
    let after: Value = app
        .get_with(&format!("/api/v1/rounds/{rid}/progress"), &s.call.org)
        .await
        .json()
        .await
        .unwrap();
    let row = |p: &Value| {
        p["judges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["judge_id"] == j.id.as_str())
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(row(&after)["scored"], row(&before)["scored"], "{after}");
    assert_eq!(row(&after)["name"], "", "{after}");
    let ranking = app
        .get_with(&format!("/api/v1/rounds/{rid}/ranking"), &s.call.org)
        .await;
    assert_eq!(ranking.status(), 200);
}
