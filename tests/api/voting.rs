//! Public voting end to end, on the leg's database: caps, window edges, idempotency,
//! proof-of-work replay, quarantine and review, deterministic tallies and the published
//! hash, 100 concurrent identical votes, limits per address, and the vote log's
//! immutability.

use std::time::Instant;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, TestEnv, spawn_app_with};
use crate::judging::{Setup, post, setup};
use crate::submissions::code;

/// A small proof of work, so tests vote quickly (the real cost is a setting).
const CHEAP_POW: &str = "[voting]\npow_cost = 10\npow_max_counter = 4\n";

pub async fn app_with(extra: &str) -> TestApp {
    spawn_app_with(TestEnv::with_extra(&format!("{CHEAP_POW}{extra}")), |b| b).await
}

/// A voter signed in by magic link (so with a verified email).
pub async fn voter(app: &TestApp, email: &str) -> String {
    let res = app
        .post_json("/api/v1/auth/magic-link", &json!({ "email": email }))
        .await;
    assert_eq!(res.status(), 202);
    let token = app.token_from_email(email, "/magic-link/sign-in").await;
    let t: Value = app
        .post_json(
            "/api/v1/auth/magic-link/sign-in",
            &json!({ "token": token }),
        )
        .await
        .json()
        .await
        .unwrap();
    t["access_token"].as_str().unwrap().to_string()
}

/// A voting round over the setup's entries (all of them, unless `body` names
/// `entry_ids`, or sets it to null for the default: the finalists); `body` overrides
/// the test defaults (open now for an hour, live counts, no new-account rule, loopback
/// allowlisted). The public renditions are made before it returns.
pub async fn voting_round(app: &TestApp, s: &Setup, body: Value) -> Value {
    let now = Utc::now();
    let ids: Vec<&str> = s.entries.iter().map(|e| e.2.as_str()).collect();
    let mut b = json!({
        "title": "People's vote",
        "opens_at": now - Duration::seconds(5),
        "closes_at": now + Duration::hours(1),
        "votes_per_voter": 3, "votes_per_entry": 2,
        "counts_visible": "live", "new_account_minutes": 0,
        "allowlist": ["127.0.0.0/8"],
        "entry_ids": ids,
    });
    for (k, v) in body.as_object().unwrap() {
        b[k] = v.clone();
    }
    let res = post(
        app,
        &s.call.org,
        &format!("/api/v1/competitions/{}/voting-rounds", s.call.id),
        b,
    )
    .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let round = res.json().await.unwrap();
    app.run_pending_jobs().await;
    round
}

/// A solved proof of work for `token` in `round`.
pub async fn pow(app: &TestApp, token: &str, round: &str) -> String {
    let res = post(
        app,
        token,
        &format!("/api/v1/voting-rounds/{round}/challenge"),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let c: altcha::Challenge = res.json().await.unwrap();
    cadenza::voting::pow::solve(&c).expect("solvable")
}

pub async fn cast(
    app: &TestApp,
    token: &str,
    round: &str,
    entry: &str,
    key: &str,
    pow: &str,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/voting-rounds/{round}/votes")))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({ "entry_id": entry, "pow": pow }))
        .send()
        .await
        .unwrap()
}

/// Vote with a fresh proof of work and a fresh key.
pub async fn vote(app: &TestApp, token: &str, round: &str, entry: &str) -> reqwest::Response {
    let p = pow(app, token, round).await;
    cast(
        app,
        token,
        round,
        entry,
        &uuid::Uuid::new_v4().to_string(),
        &p,
    )
    .await
}

async fn board(app: &TestApp, round: &str) -> Value {
    app.get(&format!("/api/v1/voting-rounds/{round}/leaderboard"))
        .await
        .json()
        .await
        .unwrap()
}

fn votes_of(board: &Value, entry: &str) -> u64 {
    board["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["entry_id"] == entry)
        .map(|l| l["votes"].as_u64().unwrap())
        .unwrap_or(0)
}

async fn rows_in_log(app: &TestApp, round: &str) -> i64 {
    use diesel::prelude::*;
    let round = round.to_string();
    app.state
        .db
        .run(move |conn| {
            use cadenza::db::schema::votes::dsl::*;
            Ok(votes
                .filter(round_id.eq(round))
                .count()
                .get_result::<i64>(conn)?)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn caps_idempotency_and_proof_of_work() {
    let app = app_with("voter_per_minute = 1000\n").await;
    let s = setup(&app, "vote-caps", 3, 0).await;
    let r = voting_round(&app, &s, json!({})).await;
    let rid = r["id"].as_str().unwrap();
    assert_eq!(r["entries"], 3);
    let (e1, e2, e3) = (&s.entries[0].2, &s.entries[1].2, &s.entries[2].2);
    let fan = voter(&app, "fan@example.org").await;

    // Without an Idempotency-Key: 400; without a proof of work: 422.
    let res = app
        .client
        .post(app.url(&format!("/api/v1/voting-rounds/{rid}/votes")))
        .bearer_auth(&fan)
        .json(&json!({ "entry_id": e1, "pow": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(code(res).await, (400, "idempotency.key_required".into()));
    assert_eq!(
        code(cast(&app, &fan, rid, e1, "k0", "").await).await,
        (422, "vote.pow_required".into())
    );
    // Anonymous: 401.
    let anon = app
        .client
        .post(app.url(&format!("/api/v1/voting-rounds/{rid}/votes")))
        .header("Idempotency-Key", "a")
        .json(&json!({ "entry_id": e1, "pow": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);

    // The first vote, then a retry with the same key: one vote, the same receipt.
    let p = pow(&app, &fan, rid).await;
    let first = cast(&app, &fan, rid, e1, "key-1", &p).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["status"], "counted");
    assert_eq!(first["remaining"], 2);
    let retry = cast(&app, &fan, rid, e1, "key-1", &p).await;
    assert_eq!(retry.status(), 200);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["vote_id"], first["vote_id"]);
    assert_eq!(retry["replayed"], true);
    // The same key for a different vote: 422. The same proof under a new key: refused.
    assert_eq!(
        code(cast(&app, &fan, rid, e2, "key-1", &p).await).await,
        (422, "idempotency.key_reused".into())
    );
    assert_eq!(
        code(cast(&app, &fan, rid, e2, "key-2", &p).await).await,
        (409, "vote.pow_replayed".into())
    );
    // A proof solved for someone else is not valid for this voter.
    let other = voter(&app, "other@example.org").await;
    let theirs = pow(&app, &other, rid).await;
    assert_eq!(
        code(cast(&app, &fan, rid, e2, "key-3", &theirs).await).await,
        (422, "vote.pow_invalid".into())
    );
    assert_eq!(rows_in_log(&app, rid).await, 1);

    // Caps: two per entry, three per round.
    assert_eq!(vote(&app, &fan, rid, e1).await.status(), 201);
    assert_eq!(
        code(vote(&app, &fan, rid, e1).await).await,
        (409, "vote.limit_entry".into())
    );
    let third = vote(&app, &fan, rid, e2).await;
    assert_eq!(third.status(), 201);
    assert_eq!(third.json::<Value>().await.unwrap()["remaining"], 0);
    assert_eq!(
        code(vote(&app, &fan, rid, e3).await).await,
        (409, "vote.limit_round".into())
    );
    // Not an entry of this round; a musician's own entry.
    assert_eq!(
        code(vote(&app, &other, rid, "nope").await).await,
        (422, "vote.entry_not_in_round".into())
    );
    assert_eq!(
        code(vote(&app, &s.entries[0].0, rid, e1).await).await,
        (403, "vote.own_entry".into())
    );

    // The leaderboard (live counts) follows; the gallery shows my votes and what is left.
    let b = board(&app, rid).await;
    assert_eq!(b["counts_visible"], true);
    assert_eq!(
        (votes_of(&b, e1), votes_of(&b, e2), votes_of(&b, e3)),
        (2, 1, 0)
    );
    assert_eq!(b["lines"][0]["entry_id"], e1.as_str());
    let g: Value = app
        .get_with(&format!("/api/v1/voting-rounds/{rid}/entries"), &fan)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(g["me"]["remaining"], 0);
    assert_eq!(g["me"]["can_vote"], false);
    let mine: u64 = g["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["my_votes"].as_u64().unwrap())
        .sum();
    assert_eq!(mine, 3);
    assert_eq!(rows_in_log(&app, rid).await, 3);

    // A daily cap.
    let daily = voting_round(
        &app,
        &s,
        json!({ "votes_per_voter": 10, "votes_per_day": 1 }),
    )
    .await;
    let did = daily["id"].as_str().unwrap();
    assert_eq!(vote(&app, &other, did, e1).await.status(), 201);
    assert_eq!(
        code(vote(&app, &other, did, e2).await).await,
        (409, "vote.limit_day".into())
    );

    // Hidden counts stay hidden from the public until the close, not from the organiser.
    let hidden = voting_round(&app, &s, json!({ "counts_visible": "after_close" })).await;
    let hid = hidden["id"].as_str().unwrap();
    assert_eq!(vote(&app, &other, hid, e3).await.status(), 201);
    let b = board(&app, hid).await;
    assert_eq!(b["counts_visible"], false);
    assert_eq!(votes_of(&b, e3), 0);
    let ob: Value = app
        .get_with(
            &format!("/api/v1/voting-rounds/{hid}/leaderboard"),
            &s.call.org,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(votes_of(&ob, e3), 1);
    assert_eq!(
        code(
            app.get(&format!("/api/v1/voting-rounds/{hid}/integrity"))
                .await
        )
        .await,
        (409, "vote.not_closed".into())
    );
    assert_eq!(
        code(
            app.get(&format!("/api/v1/voting-rounds/{hid}/log.csv"))
                .await
        )
        .await,
        (409, "vote.not_closed".into())
    );
    // Caps cannot change once votes exist.
    let res = crate::judging::patch(
        &app,
        &s.call.org,
        &format!("/api/v1/voting-rounds/{rid}"),
        json!({ "votes_per_voter": 9 }),
    )
    .await;
    assert_eq!(code(res).await, (409, "vote.round_started".into()));
}

#[tokio::test]
async fn window_edges_on_the_server_clock() {
    let app = app_with("").await;
    let s = setup(&app, "vote-window", 2, 0).await;
    let now = Utc::now();
    let early = voting_round(
        &app,
        &s,
        json!({ "opens_at": now + Duration::seconds(60), "closes_at": now + Duration::hours(1) }),
    )
    .await;
    let fan = voter(&app, "early@example.org").await;
    let e = &s.entries[0].2;
    // One second before it opens (well, a minute): no challenge, no vote.
    let res = post(
        &app,
        &fan,
        &format!(
            "/api/v1/voting-rounds/{}/challenge",
            early["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    assert_eq!(code(res).await, (409, "vote.not_open".into()));
    assert_eq!(
        code(cast(&app, &fan, early["id"].as_str().unwrap(), e, "k", "x").await).await,
        (409, "vote.not_open".into())
    );

    // Closing in 2 s: a vote now counts, one a second after the close does not.
    let closing = voting_round(&app, &s, json!({ "opens_at": now - Duration::seconds(10), "closes_at": Utc::now() + Duration::seconds(2) })).await;
    let cid = closing["id"].as_str().unwrap();
    let p1 = pow(&app, &fan, cid).await;
    let p2 = pow(&app, &fan, cid).await;
    assert_eq!(cast(&app, &fan, cid, e, "in-time", &p1).await.status(), 201);
    let closes: chrono::DateTime<Utc> = closing["closes_at"].as_str().unwrap().parse().unwrap();
    let wait = (closes + Duration::seconds(1) - Utc::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait).await;
    assert_eq!(
        code(cast(&app, &fan, cid, e, "too-late", &p2).await).await,
        (409, "vote.closed".into())
    );
    assert_eq!(rows_in_log(&app, cid).await, 1);
    // Once closed, the counts, the integrity summary and the log are public.
    let b = board(&app, cid).await;
    assert_eq!(b["state"], "closed");
    assert_eq!(votes_of(&b, e), 1);
    assert_eq!(
        app.get(&format!("/api/v1/voting-rounds/{cid}/integrity"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_hundred_identical_votes_at_once_make_one_row() {
    let app = app_with("").await;
    let s = setup(&app, "vote-race", 1, 0).await;
    let r = voting_round(&app, &s, json!({})).await;
    let rid = r["id"].as_str().unwrap().to_string();
    let fan = voter(&app, "racer@example.org").await;
    let p = pow(&app, &fan, &rid).await;
    let e = s.entries[0].2.clone();
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (client, url, fan, p, e) = (
            app.client.clone(),
            app.url(&format!("/api/v1/voting-rounds/{rid}/votes")),
            fan.clone(),
            p.clone(),
            e.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let res = client
                .post(url)
                .bearer_auth(fan)
                .header("Idempotency-Key", "same-vote")
                .json(&json!({ "entry_id": e, "pow": p }))
                .send()
                .await
                .unwrap();
            let s = res.status().as_u16();
            let v: Value = res.json().await.unwrap();
            (s, v["vote_id"].as_i64())
        }));
    }
    let mut created = 0;
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let (status, id) = t.await.unwrap();
        // The voter limit (5/min) answers some of them 429; none is a second vote.
        assert!(matches!(status, 200 | 201 | 409 | 429), "{status}");
        if status == 201 {
            created += 1;
        }
        if let Some(id) = id {
            ids.insert(id);
        }
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1);
    assert_eq!(rows_in_log(&app, &rid).await, 1);
    assert_eq!(votes_of(&board(&app, &rid).await, &e), 1);
}

/// An organiser's action on a round (`audit`, `recompute`); its JSON answer.
async fn organiser_action(app: &TestApp, org: &str, rid: &str, action: &str) -> Value {
    let res = post(
        app,
        org,
        &format!("/api/v1/voting-rounds/{rid}/{action}"),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn review(
    app: &TestApp,
    org: &str,
    rid: &str,
    ids: &[i64],
    action: &str,
    reason: &str,
) -> reqwest::Response {
    post(
        app,
        org,
        &format!("/api/v1/voting-rounds/{rid}/review"),
        json!({ "vote_ids": ids, "action": action, "reason": reason }),
    )
    .await
}

#[tokio::test]
async fn quarantine_review_and_a_tally_anyone_can_recompute() {
    let app = app_with("").await;
    let s = setup(&app, "vote-fraud", 2, 0).await;
    // New accounts (all of these) are held; bursts above 2 a minute from one network too.
    let r = voting_round(
        &app,
        &s,
        json!({ "new_account_minutes": 5, "burst_per_minute": 2, "allowlist": [] }),
    )
    .await;
    let rid = r["id"].as_str().unwrap();
    let (e1, e2) = (&s.entries[0].2, &s.entries[1].2);
    let mut voters = Vec::new();
    for i in 0..3 {
        let v = voter(&app, &format!("new{i}@example.org")).await;
        let res = vote(&app, &v, rid, if i == 2 { e2 } else { e1 }).await;
        assert_eq!(res.status(), 201);
        let receipt: Value = res.json().await.unwrap();
        assert_eq!(receipt["status"], "quarantined");
        voters.push(v);
    }
    let b = board(&app, rid).await;
    assert_eq!(votes_of(&b, e1), 0);

    let org = &s.call.org;
    let held: Vec<Value> = app
        .get_with(&format!("/api/v1/voting-rounds/{rid}/review"), org)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(held.len(), 3);
    assert!(held.iter().all(|h| h["rule"] == "new_account"));
    assert_eq!(held[0]["voter_email"], "new0@example.org");
    // Musicians and voters may not review.
    assert_eq!(
        app.get_with(&format!("/api/v1/voting-rounds/{rid}/review"), &voters[0])
            .await
            .status(),
        404
    );
    let ids: Vec<i64> = held
        .iter()
        .map(|h| h["vote_id"].as_i64().unwrap())
        .collect();
    // A reason is required.
    assert_eq!(
        code(review(&app, org, rid, &ids, "restore", " ").await).await,
        (422, "vote.reason_required".into())
    );
    let out: Value = review(
        &app,
        org,
        rid,
        &ids,
        "restore",
        "checked: real fans at the exhibition",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(out["changed"], 3);
    assert_eq!(out["integrity"]["counted"], 3);
    let out: Value = review(
        &app,
        org,
        rid,
        &ids[2..],
        "invalidate",
        "the same person twice",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(out["integrity"]["counted"], 2);
    assert_eq!(out["integrity"]["invalidated"], 1);
    assert_eq!(out["integrity"]["by_rule"]["new_account"], 1);
    let b = board(&app, rid).await;
    assert_eq!((votes_of(&b, e1), votes_of(&b, e2)), (2, 0));

    // The automatic audit: three votes from one /24 within a minute is a burst, but
    // votes a person has reviewed stay as that person decided.
    let audit: Value = organiser_action(&app, org, rid, "audit").await;
    assert_eq!(audit["quarantined"], 0);
    assert_eq!(audit["integrity"]["counted"], 2);

    // Recomputation from the log and the review records matches the running tallies.
    let re: Value = organiser_action(&app, org, rid, "recompute").await;
    assert_eq!(re["matched"], true);
    assert_eq!(re["counted"], 2);
    assert_eq!(re["tally_hash"], out["integrity"]["tally_hash"]);
    // Every change is in the audit log, and the vote log refuses changes.
    let mut conn = app.state.db.pool().get().unwrap();
    use diesel::RunQueryDsl;
    assert!(
        diesel::sql_query("UPDATE votes SET entry_id = 'x'")
            .execute(&mut *conn)
            .is_err()
    );
    assert!(
        diesel::sql_query("DELETE FROM votes")
            .execute(&mut *conn)
            .is_err()
    );
    assert!(
        diesel::sql_query("DELETE FROM vote_reviews")
            .execute(&mut *conn)
            .is_err()
    );
    drop(conn);
    // Close the round; the public log then lets anyone recompute the tally hash.
    let res = crate::judging::patch(
        &app,
        org,
        &format!("/api/v1/voting-rounds/{rid}"),
        json!({ "closes_at": Utc::now() - Duration::seconds(1) }),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let csv = app
        .get(&format!("/api/v1/voting-rounds/{rid}/log.csv"))
        .await
        .text()
        .await
        .unwrap();
    let mut counts = std::collections::BTreeMap::<String, u64>::new();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert!(!line.contains("@"), "no emails in the public log");
        if f[4] == "counted" {
            *counts.entry(f[3].to_string()).or_default() += 1;
        }
    }
    let text: String = counts.iter().map(|(e, n)| format!("{e},{n}\n")).collect();
    let hash = hex::encode(Sha256::digest(text.as_bytes()));
    let summary: Value = app
        .get(&format!("/api/v1/voting-rounds/{rid}/integrity"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(summary["tally_hash"], hash.as_str());
    assert_eq!(summary["votes_cast"], 3);
    let audit_csv = app
        .get_with(&format!("/api/v1/voting-rounds/{rid}/audit.csv"), org)
        .await
        .text()
        .await
        .unwrap();
    assert!(audit_csv.contains("new1@example.org"));
    assert_eq!(
        app.get_with(
            &format!("/api/v1/voting-rounds/{rid}/audit.csv"),
            &voters[0]
        )
        .await
        .status(),
        404
    );
}

#[tokio::test]
async fn the_audit_catches_a_burst_and_a_restored_vote_stays_restored() {
    let app = app_with("").await;
    let s = setup(&app, "vote-burst", 1, 0).await;
    let r = voting_round(&app, &s, json!({ "burst_per_minute": 3, "allowlist": [] })).await;
    let rid = r["id"].as_str().unwrap();
    let e = &s.entries[0].2;
    let mut statuses = Vec::new();
    for i in 0..5 {
        let v = voter(&app, &format!("b{i}@example.org")).await;
        let receipt: Value = vote(&app, &v, rid, e).await.json().await.unwrap();
        statuses.push(receipt["status"].as_str().unwrap().to_string());
    }
    // As they arrive, the fourth and fifth pass the threshold.
    assert_eq!(
        statuses,
        [
            "counted",
            "counted",
            "counted",
            "quarantined",
            "quarantined"
        ]
    );
    let org = &s.call.org;
    // The audit applies the exact rule: the whole burst is held.
    let audit: Value = organiser_action(&app, org, rid, "audit").await;
    assert_eq!(audit["quarantined"], 3);
    assert_eq!(audit["integrity"]["quarantined"], 5);
    assert_eq!(audit["integrity"]["by_rule"]["prefix_burst"], 5);
    let held: Vec<Value> = app
        .get_with(&format!("/api/v1/voting-rounds/{rid}/review"), org)
        .await
        .json()
        .await
        .unwrap();
    let first = held[0]["vote_id"].as_i64().unwrap();
    assert_eq!(
        review(&app, org, rid, &[first], "restore", "a teacher, checked")
            .await
            .status(),
        200
    );
    let again: Value = organiser_action(&app, org, rid, "audit").await;
    assert_eq!(again["quarantined"], 0);
    assert_eq!(again["integrity"]["counted"], 1);
    let re: Value = organiser_action(&app, org, rid, "recompute").await;
    assert_eq!(re["matched"], true);
}

/// How far the audit's mark has moved in a round's log.
async fn audited_through(app: &TestApp, round: &str) -> i64 {
    use diesel::prelude::*;
    let round = round.to_string();
    app.state
        .db
        .run(move |conn| {
            use cadenza::db::schema::voting_rounds::dsl::*;
            Ok(voting_rounds
                .find(round)
                .select(audited_through)
                .first::<i64>(conn)?)
        })
        .await
        .unwrap()
}

async fn max_vote_id(app: &TestApp, round: &str) -> i64 {
    use diesel::prelude::*;
    let round = round.to_string();
    app.state
        .db
        .run(move |conn| {
            use cadenza::db::schema::votes::dsl::*;
            Ok(votes
                .filter(round_id.eq(round))
                .select(diesel::dsl::max(id))
                .first::<Option<i64>>(conn)?
                .unwrap_or(0))
        })
        .await
        .unwrap()
}

/// The audit remembers how far it has looked and each voter's pattern, so each run looks
/// only at new votes, yet it holds what a run over the whole log would: a group that
/// reaches the threshold with its newest member, a burst that straddles the mark, and
/// (after the rules change) everything again from the start.
#[tokio::test]
async fn the_audit_works_through_the_log_incrementally() {
    // A margin of 0: the mark may pass every vote already written.
    let app = app_with("audit_margin_secs = 0\n").await;
    let s = setup(&app, "vote-incremental", 3, 0).await;
    let org = &s.call.org;
    let e: Vec<String> = s.entries.iter().map(|x| x.2.clone()).collect();
    let r = voting_round(
        &app,
        &s,
        json!({ "pattern_min_voters": 3, "burst_per_minute": 1000, "votes_per_entry": 1 }),
    )
    .await;
    let rid = r["id"].as_str().unwrap();
    let same_order = |v: String| {
        let (app, rid, e) = (&app, rid, &e);
        async move {
            for x in e {
                assert_eq!(vote(app, &v, rid, x).await.status(), 201);
            }
        }
    };
    for i in 0..2 {
        same_order(voter(&app, &format!("bot{i}@example.org")).await).await;
    }
    let a: Value = organiser_action(&app, org, rid, "audit").await;
    assert_eq!(a["quarantined"], 0, "two alike are not a group of three");
    assert_eq!(
        audited_through(&app, rid).await,
        max_vote_id(&app, rid).await
    );

    // The third bot's votes are all the audit reads, and the group is held whole.
    same_order(voter(&app, "bot2@example.org").await).await;
    let a: Value = organiser_action(&app, org, rid, "audit").await;
    assert_eq!(a["quarantined"], 9);
    assert_eq!(a["integrity"]["by_rule"]["identical_pattern"], 9);
    // A fourth joins a group already held: only its votes are new.
    same_order(voter(&app, "bot3@example.org").await).await;
    // A fan with another order is not part of it.
    let fan = voter(&app, "fan@example.org").await;
    for x in e.iter().rev() {
        assert_eq!(vote(&app, &fan, rid, x).await.status(), 201);
    }
    let a: Value = organiser_action(&app, org, rid, "audit").await;
    assert_eq!(a["quarantined"], 3);
    assert_eq!(a["integrity"]["counted"], 3);
    let again: Value = organiser_action(&app, org, rid, "audit").await;
    assert_eq!(again["quarantined"], 0);

    // Stricter burst rules apply to the whole log: the audit starts over, and the fan's
    // votes (15 votes from one network within a minute) are held too.
    let res = crate::judging::patch(
        &app,
        org,
        &format!("/api/v1/voting-rounds/{rid}"),
        json!({ "burst_per_minute": 10, "allowlist": [] }),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(audited_through(&app, rid).await, 0);
    let a: Value = organiser_action(&app, org, rid, "audit").await;
    assert_eq!(a["quarantined"], 3);
    assert_eq!(a["integrity"]["counted"], 0);
    assert_eq!(a["integrity"]["by_rule"]["prefix_burst"], 3);
    let re: Value = organiser_action(&app, org, rid, "recompute").await;
    assert_eq!(re["matched"], true);

    // A burst that straddles the mark: three votes audited (not above the threshold of
    // three), then a fourth within the minute holds all four.
    let r = voting_round(&app, &s, json!({ "burst_per_minute": 3, "allowlist": [] })).await;
    let rid = r["id"].as_str().unwrap();
    for i in 0..3 {
        let v = voter(&app, &format!("early{i}@example.org")).await;
        let receipt: Value = vote(&app, &v, rid, &e[0]).await.json().await.unwrap();
        assert_eq!(receipt["status"], "counted");
    }
    let a: Value = organiser_action(&app, org, rid, "audit").await;
    assert_eq!(a["quarantined"], 0);
    let marked = audited_through(&app, rid).await;
    assert_eq!(marked, max_vote_id(&app, rid).await);
    let late = voter(&app, "late@example.org").await;
    assert_eq!(vote(&app, &late, rid, &e[1]).await.status(), 201);
    let a: Value = organiser_action(&app, org, rid, "audit").await;
    assert_eq!(a["quarantined"], 3, "the three before the mark");
    assert_eq!(a["integrity"]["quarantined"], 4);
    assert!(audited_through(&app, rid).await > marked);
}

/// A live leaderboard stream ends cleanly when the server stops (the browser reconnects
/// elsewhere): it does not hold the drain until the shutdown timeout cuts it.
#[tokio::test]
async fn a_live_leaderboard_stream_ends_when_the_server_stops() {
    use futures_util::StreamExt;
    let app = app_with("").await;
    let s = setup(&app, "vote-stream-stop", 1, 0).await;
    let r = voting_round(&app, &s, json!({})).await;
    let rid = r["id"].as_str().unwrap();
    let res = app
        .get(&format!("/api/v1/voting-rounds/{rid}/leaderboard/stream"))
        .await;
    assert_eq!(res.status(), 200);
    let mut body = res.bytes_stream();
    let first = body.next().await.expect("a first event").expect("bytes");
    assert!(String::from_utf8_lossy(&first).contains("event: leaderboard"));
    let stopping = tokio::spawn(app.shutdown());
    // Well under the 30 s shutdown timeout, after which the server would cut it.
    let rest = tokio::time::timeout(std::time::Duration::from_secs(15), async {
        while let Some(chunk) = body.next().await {
            chunk?;
        }
        Ok::<_, reqwest::Error>(())
    })
    .await;
    assert!(
        matches!(rest, Ok(Ok(()))),
        "the stream ends cleanly: {rest:?}"
    );
    stopping.await.unwrap();
}

#[tokio::test]
async fn ten_thousand_votes_from_one_address_are_limited_another_client_is_not() {
    // Addresses come from X-Forwarded-For, believed only from the trusted proxy.
    let mut env = TestEnv::with_extra(&format!("{CHEAP_POW}voter_per_minute = 100000\n"));
    env.replace_in_config(
        "http_workers = 2\n",
        "http_workers = 2\ntrusted_proxies = [\"127.0.0.1\"]\n",
    );
    let app = spawn_app_with(env, |b| b).await;
    let s = setup(&app, "vote-flood", 2, 0).await;
    let r = voting_round(
        &app,
        &s,
        json!({ "allowlist": [], "votes_per_voter": 100, "votes_per_entry": 100 }),
    )
    .await;
    let rid = r["id"].as_str().unwrap().to_string();
    let attacker = voter(&app, "flood@example.org").await;
    let fan = voter(&app, "calm@example.org").await;
    let e = s.entries[0].2.clone();
    let p = pow(&app, &attacker, &rid).await;
    let url = app.url(&format!("/api/v1/voting-rounds/{rid}/votes"));
    let started = Instant::now();
    let flood = {
        let (client, url, attacker, p, e) = (
            app.client.clone(),
            url.clone(),
            attacker.clone(),
            p.clone(),
            e.clone(),
        );
        tokio::spawn(async move {
            use futures_util::StreamExt;
            futures_util::stream::iter(0..10_000)
                .map(|i| {
                    let (client, url, attacker, p, e) = (
                        client.clone(),
                        url.clone(),
                        attacker.clone(),
                        p.clone(),
                        e.clone(),
                    );
                    async move {
                        let res = client
                            .post(url)
                            .bearer_auth(attacker)
                            .header("x-forwarded-for", "198.51.100.7")
                            .header("Idempotency-Key", format!("flood-{i}"))
                            .json(&json!({ "entry_id": e, "pow": p }))
                            .send()
                            .await
                            .unwrap();
                        (
                            res.status().as_u16(),
                            res.headers().contains_key("retry-after"),
                        )
                    }
                })
                .buffer_unordered(32)
                .collect::<Vec<_>>()
                .await
        })
    };
    // Meanwhile a fan elsewhere votes normally.
    let mut latencies = Vec::new();
    for _ in 0..5 {
        let p = pow(&app, &fan, &rid).await;
        let t = Instant::now();
        let res = app
            .client
            .post(&url)
            .bearer_auth(&fan)
            .header("x-forwarded-for", "203.0.113.9")
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&json!({ "entry_id": e, "pow": p }))
            .send()
            .await
            .unwrap();
        latencies.push(t.elapsed());
        assert_eq!(res.status(), 201, "the fan is never limited");
    }
    let results = flood.await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    let limited = results.iter().filter(|(s, _)| *s == 429).count();
    let passed = results.len() - limited;
    // 30 at once, then 2 a second.
    let allowed = 30.0 + 2.0 * secs.ceil() + 1.0;
    assert!(
        (passed as f64) <= allowed,
        "{passed} passed the limit in {secs:.1} s"
    );
    assert!(
        results.iter().filter(|(s, _)| *s == 429).all(|(_, ra)| *ra),
        "429 carries Retry-After"
    );
    // Of those that passed, only one could use the single proof of work.
    assert_eq!(results.iter().filter(|(s, _)| *s == 201).count(), 1);
    latencies.sort();
    eprintln!(
        "flood: {} requests in {secs:.1} s, {limited} limited, {passed} passed; the other client's slowest vote {:?}",
        results.len(),
        latencies.last().unwrap()
    );
    assert_eq!(rows_in_log(&app, &rid).await, 6);
}

#[tokio::test]
async fn round_settings_are_checked_and_only_organisers_run_rounds() {
    let app = app_with("").await;
    let s = setup(&app, "vote-settings", 1, 0).await;
    let path = format!("/api/v1/competitions/{}/voting-rounds", s.call.id);
    let now = Utc::now();
    for (body, expected) in [
        (
            json!({ "opens_at": now, "closes_at": now - Duration::hours(1) }),
            "vote.window_invalid",
        ),
        (json!({ "votes_per_voter": 0 }), "vote.cap_invalid"),
        (
            json!({ "counts_visible": "sometimes" }),
            "vote.visibility_invalid",
        ),
        (
            json!({ "allowlist": ["not a network"] }),
            "vote.allowlist_invalid",
        ),
        (json!({ "entry_ids": ["nope"] }), "vote.entry_not_eligible"),
        (json!({ "title": "" }), "vote.title_invalid"),
    ] {
        let res = post(&app, &s.call.org, &path, body.clone()).await;
        assert_eq!(code(res).await, (422, expected.to_string()), "{body}");
    }
    let fan = voter(&app, "nosy@example.org").await;
    assert_eq!(post(&app, &fan, &path, json!({})).await.status(), 404);
    // Five vote requests a minute per voter; the sixth waits.
    let r = voting_round(&app, &s, json!({})).await;
    let rid = r["id"].as_str().unwrap();
    for i in 0..5 {
        let res = cast(&app, &fan, rid, &s.entries[0].2, &format!("k{i}"), "bogus").await;
        assert_eq!(res.status(), 422);
    }
    let res = cast(&app, &fan, rid, &s.entries[0].2, "k6", "bogus").await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    // Chinese messages for the same codes.
    let res = app
        .client
        .post(app.url(&path))
        .bearer_auth(&s.call.org)
        .header("Accept-Language", "zh-CN")
        .json(&json!({ "votes_per_voter": 500 }))
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["message"], "投票上限必须在 1 到 100 之间。");
}

#[tokio::test]
async fn public_votes_join_the_jury_in_the_results() {
    use crate::judging::{entry_of, put, queue, round, score};
    let app = app_with("").await;
    let s = setup(&app, "vote-results", 3, 1).await;
    let r = round(
        &app,
        &s,
        json!({ "judges_per_entry": 1, "advancement": { "kind": "manual" } }),
    )
    .await;
    let rid = r["id"].as_str().unwrap();
    assert_eq!(
        post(
            &app,
            &s.call.org,
            &format!("/api/v1/rounds/{rid}/assign"),
            json!({})
        )
        .await
        .status(),
        200
    );
    // The jury ranks entry 0 first and entry 2 last.
    let j = &s.judges[0];
    for item in queue(&app, j, rid).await {
        let alias = item["alias"].as_str().unwrap();
        let e = entry_of(&app, &s, j, alias).await;
        let idx = s.entries.iter().position(|x| x.2 == e).unwrap() as i64;
        assert_eq!(
            score(&app, j, alias, 9 - 3 * idx, 9 - 3 * idx)
                .await
                .status(),
            200
        );
    }
    assert_eq!(
        post(
            &app,
            &s.call.org,
            &format!("/api/v1/rounds/{rid}/close"),
            json!({})
        )
        .await
        .status(),
        200
    );

    // The public prefers entry 2. The vote's songs are the judged round's entries.
    let v = voting_round(&app, &s, json!({ "votes_per_voter": 1 })).await;
    assert_eq!(v["entries"], 3);
    let vid = v["id"].as_str().unwrap();
    for i in 0..3 {
        let t = voter(&app, &format!("p{i}@example.org")).await;
        assert_eq!(vote(&app, &t, vid, &s.entries[2].2).await.status(), 201);
    }
    let t = voter(&app, "p9@example.org").await;
    assert_eq!(vote(&app, &t, vid, &s.entries[1].2).await.status(), 201);
    // Until the vote closes, the results are the jury's alone.
    let res: Value = put(
        &app,
        &s.call.org,
        &format!("/api/v1/competitions/{}/results", s.call.id),
        json!({ "method": "eurovision", "jury_weight": 50, "public_weight": 50 }),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(
        res["standings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["public_rank"].is_null()),
        "{res}"
    );
    let closed = crate::judging::patch(
        &app,
        &s.call.org,
        &format!("/api/v1/voting-rounds/{vid}"),
        json!({ "closes_at": Utc::now() - Duration::seconds(1) }),
    )
    .await;
    assert_eq!(closed.status(), 200);
    let res: Value = put(
        &app,
        &s.call.org,
        &format!("/api/v1/competitions/{}/results", s.call.id),
        json!({ "method": "eurovision", "jury_weight": 50, "public_weight": 50 }),
    )
    .await
    .json()
    .await
    .unwrap();
    let standing = |e: &str| {
        res["standings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["entry_id"] == e)
            .unwrap()
            .clone()
    };
    let (first, last) = (standing(&s.entries[0].2), standing(&s.entries[2].2));
    assert_eq!(first["jury_rank"], 1);
    assert_eq!(last["jury_rank"], 3);
    assert_eq!(last["public_rank"], 1);
    assert_eq!(standing(&s.entries[1].2)["public_rank"], 2);
    assert_eq!(first["public_rank"], 3);
}

/// A counted vote as the vote path hands it to the writer (slots not yet numbered).
fn counted_vote(
    round: &str,
    voter: &str,
    entry: &str,
    key: &str,
) -> cadenza::voting::model::NewVote {
    cadenza::voting::model::NewVote {
        round_id: round.to_string(),
        voter_id: voter.to_string(),
        entry_id: entry.to_string(),
        cast_at: Utc::now().naive_utc(),
        day: "2026-11-29".into(),
        slot: 0,
        entry_slot: 0,
        day_slot: 0,
        idempotency_key: key.to_string(),
        pow_id: format!("pow-{voter}-{key}"),
        pow_cost: 1,
        network: "127.0.0.0/24".into(),
        ua_hash: "ua".into(),
        account_age_secs: 86_400,
        initial_status: cadenza::voting::domain::COUNTED.into(),
        initial_rule: None,
    }
}

/// Two processes (two writers, each with its own memory of voters' votes) writing for the
/// same voter: each one's memory lags the other's writes, yet the caps hold exactly, the
/// slots are distinct, and a retry through the other process is answered as recorded.
#[tokio::test]
async fn two_writers_for_one_voter_keep_the_caps_exact() {
    use cadenza::voting::domain::Caps;
    use cadenza::voting::writer::Writer;

    let app = app_with("").await;
    let s = setup(&app, "vote-two-writers", 3, 0).await;
    let r = voting_round(
        &app,
        &s,
        json!({ "votes_per_voter": 4, "votes_per_entry": 2 }),
    )
    .await;
    let rid = r["id"].as_str().unwrap().to_string();
    let entries: Vec<String> = s.entries.iter().map(|e| e.2.clone()).collect();
    let a = Writer::start(app.state.db.clone(), 1, 100, 100);
    let b = Writer::start(app.state.db.clone(), 1, 100, 100);
    let caps = Caps {
        per_voter: 4,
        per_entry: 2,
        per_day: None,
    };
    let vote = |voter: &str, entry: &str, key: &str| counted_vote(&rid, voter, entry, key);

    // Alternating: every vote goes through the writer that did not see the last one.
    let mut slots = Vec::new();
    for (i, w) in [&a, &b, &a, &b].into_iter().enumerate() {
        let got = w
            .submit(vote("v1", &entries[i % 3], &format!("k{i}")), caps)
            .await
            .unwrap_or_else(|e| panic!("vote {i}: {e:?}"));
        assert!(!got.replayed);
        slots.push(got.slot);
    }
    assert_eq!(slots, [1, 2, 3, 4]);
    // The fifth is over the round's cap, whichever writer takes it.
    for w in [&a, &b] {
        let err = w
            .submit(vote("v1", &entries[2], "k5"), caps)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "vote.limit_round", "{err:?}");
    }
    // A retry of the first vote through the writer that did not write it: as recorded.
    let again = b.submit(vote("v1", &entries[0], "k0"), caps).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.slot, 1);

    // At once, through both: twelve votes for entries of a fresh voter, caps 4 and 2.
    let mut tasks = Vec::new();
    for i in 0..12 {
        let w = if i % 2 == 0 { a.clone() } else { b.clone() };
        let v = vote("v2", &entries[i % 3], &format!("c{i}"));
        tasks.push(tokio::spawn(async move { w.submit(v, caps).await }));
    }
    let mut stored = Vec::new();
    for t in tasks {
        if let Ok(s) = t.await.unwrap() {
            stored.push(s);
        }
    }
    assert_eq!(stored.len(), 4, "exactly the round's cap: {stored:?}");
    let mut slots: Vec<i32> = stored.iter().map(|s| s.slot).collect();
    slots.sort();
    assert_eq!(slots, [1, 2, 3, 4]);
    for e in &entries {
        assert!(stored.iter().filter(|s| &s.entry_id == e).count() <= 2);
    }
    // The tallies are the rows: 4 + 4 counted.
    let board: Value = app
        .client
        .get(app.url(&format!("/api/v1/voting-rounds/{rid}/leaderboard")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(board["total_votes"], 8, "{board}");

    // A vote that waited longer than the writer allows (a stalled database) is refused
    // with a 503 and not written, so the audit can rely on ids following cast times.
    let mut stale = vote("v3", &entries[0], "s1");
    stale.cast_at -= cadenza::voting::writer::MAX_WAIT + chrono::Duration::seconds(1);
    let err = a.submit(stale, caps).await.unwrap_err();
    assert_eq!(err.status().as_u16(), 503, "{err:?}");
    assert_eq!(rows_in_log(&app, &rid).await, 8);
}

/// Writers add to tally shards of their own (so two committing at once never wait for
/// each other's tally rows): an entry's tally is the sum of its shards, and what a review
/// or recount writes (shard 0) adds to it.
#[tokio::test]
async fn an_entrys_tally_is_the_sum_of_its_shards() {
    use cadenza::voting::model::NewVote;
    use cadenza::voting::store;
    use diesel::prelude::*;

    let app = app_with("").await;
    let s = setup(&app, "vote-tally-shards", 2, 0).await;
    let r = voting_round(&app, &s, json!({ "votes_per_voter": 2 })).await;
    let rid = r["id"].as_str().unwrap().to_string();
    let entry = s.entries[0].2.clone();
    // Each voter's first vote (slots numbered as the writer would).
    let vote = |voter: &str| NewVote {
        slot: 1,
        entry_slot: 1,
        day_slot: 1,
        ..counted_vote(&rid, voter, &entry, "k")
    };
    // Two writers' batches, in shards 3 and 7, the second through the fast path.
    let (first, second) = ([vote("v1"), vote("v2")], [vote("v3")]);
    let (rid2, entry2) = (rid.clone(), entry.clone());
    let (tallies, shards) = app
        .state
        .db
        .run(move |c| {
            store::append_votes(c, &first, 3)?;
            assert!(store::append_new_votes(c, &second, 7)?.is_some());
            // A review moves one vote out of the count (shard 0).
            store::tally_add(c, &rid2, &entry2, -1, 0, 1)?;
            let shards: i64 = cadenza::db::schema::vote_tallies::table
                .filter(cadenza::db::schema::vote_tallies::round_id.eq(&rid2))
                .count()
                .get_result(c)?;
            Ok((store::tallies_of(c, &rid2)?, shards))
        })
        .await
        .unwrap();
    // SQLite has one writer, whose batches go to shard 0 whatever it is given.
    let expected_shards = if app.state.db.backend() == cadenza::db::Backend::Postgres {
        3
    } else {
        1
    };
    assert_eq!(shards, expected_shards);
    assert_eq!(tallies.len(), 1, "one tally per entry: {tallies:?}");
    assert_eq!(
        (tallies[0].counted, tallies[0].invalidated),
        (2, 1),
        "{tallies:?}"
    );
    assert_eq!(votes_of(&board(&app, &rid).await, &entry), 2);
}

/// The vote writers' own connections plan their statements once (generic plans); the
/// application's pool keeps PostgreSQL's default, which range queries need.
#[tokio::test]
async fn only_the_vote_writers_connections_use_generic_plans() {
    use diesel::prelude::*;
    let app = app_with("").await;
    if app.state.db.backend() != cadenza::db::Backend::Postgres {
        return;
    }
    let mode = |c: &mut cadenza::db::DbConnection| {
        diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
            "current_setting('plan_cache_mode')",
        ))
        .get_result::<String>(c)
        .map_err(cadenza::error::AppError::from)
    };
    let writers = app
        .state
        .db
        .for_vote_writers(&app.state.settings.database, 2)
        .unwrap();
    assert_eq!(writers.run(mode).await.unwrap(), "force_generic_plan");
    assert_eq!(app.state.db.run(mode).await.unwrap(), "auto");
}
