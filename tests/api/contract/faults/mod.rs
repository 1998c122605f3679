//! Faults against the real binary: the server killed with SIGKILL during uploads and
//! restarted, and 20 maximum-size uploads at once (`upload`); PostgreSQL stopped
//! (`pg_ctl -m immediate`) and frozen (SIGSTOP) under vote load (`database`); SIGTERM with
//! requests, uploads and jobs in flight (`drain`); two servers and two workers behind a
//! proxy (`scale`). This file holds what they share: clients, vote load, checks.
//!
//! The set-up (accounts, a competition, analysed entries, a voting round) is done by an
//! in-process app on the same configuration; the fault is then played against a
//! `cadenza serve` child process, which the test addresses instead (the tokens carry
//! over: both sign with the same secret). The `faults` leg of `scripts/test.sh` runs
//! this module on PostgreSQL and the S3 server, one test at a time.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use futures_util::StreamExt;
use serde_json::json;

mod database;
mod drain;
mod scale;
mod upload;

use super::process::{Cluster, Server, signal};
use crate::helpers::{TestApp, TestEnv, spawn_app_with};
use crate::judging::setup;
use crate::submissions::{entry_id, musician, open_call, wav};
use crate::voting::{voter, voting_round};
use cadenza::db::schema::{entries, jobs, uploads, votes};

const CHEAP_POW: &str = "[voting]\npow_cost = 10\npow_max_counter = 4\nvoter_per_minute = 100000\n";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// An upload streamed in `parts` pieces with a pause between them, so it is still in
/// flight when the fault strikes.
fn trickled(bytes: Vec<u8>, parts: usize, pause: Duration) -> reqwest::Body {
    let size = bytes.len().div_ceil(parts);
    let chunks: Vec<Vec<u8>> = bytes.chunks(size).map(<[u8]>::to_vec).collect();
    let stream = futures_util::stream::iter(chunks).then(move |c| async move {
        tokio::time::sleep(pause).await;
        Ok::<_, std::io::Error>(c)
    });
    reqwest::Body::wrap_stream(stream)
}

/// Poll `check` every 200 ms until it holds or `limit` passes.
async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

async fn job_counts(app: &TestApp, kind: &'static str) -> Vec<(String, i64)> {
    app.state
        .db
        .run(move |c| {
            Ok(jobs::table
                .filter(jobs::kind.eq(kind))
                .group_by(jobs::status)
                .select((jobs::status, diesel::dsl::count_star()))
                .load::<(String, i64)>(c)?)
        })
        .await
        .unwrap()
}

/// A round with three analysed entries and `voters` signed-in voters, served by a child
/// process on `env`'s configuration. Returns (app, round id, entry ids, voter tokens).
async fn vote_setup(
    mut env: TestEnv,
    slug: &str,
    voters: usize,
) -> (TestApp, String, Vec<String>, Vec<String>) {
    // Every voter signs in from this one address.
    env.replace_in_config(
        "argon2_iterations = 1\n",
        "argon2_iterations = 1\nmail_per_ip_per_hour = 100000\nsign_in_per_ip_per_minute = 100000\n",
    );
    let app = spawn_app_with(env, |b| b).await;
    let s = setup(&app, slug, 3, 0).await;
    let r = voting_round(
        &app,
        &s,
        json!({ "votes_per_voter": 100, "votes_per_entry": 100, "allowlist": ["127.0.0.0/8"] }),
    )
    .await;
    let round = r["id"].as_str().unwrap().to_string();
    let mut tokens = Vec::new();
    for v in 0..voters {
        tokens.push(voter(&app, &format!("v{v}-{slug}@example.org")).await);
    }
    let entries = s.entries.iter().map(|e| e.2.clone()).collect();
    (app, round, entries, tokens)
}

const REFUSED: u16 = 0;
const BROKEN: u16 = 1;

fn failure(e: &reqwest::Error) -> u16 {
    if e.is_connect() { REFUSED } else { BROKEN }
}

/// One vote's outcome as the voter saw it.
#[derive(Debug, Clone)]
struct Try {
    started: Duration,
    /// The whole attempt (challenge, then vote) …
    took: Duration,
    /// … and the longest of its requests.
    slowest: Duration,
    /// HTTP status; [`REFUSED`] when no connection could be made, [`BROKEN`] when a
    /// connection was made and the answer did not come (a reset, a timeout).
    status: u16,
    key: String,
}

/// Voters voting in a loop until `stop`; every attempt is recorded.
fn vote_load(
    url: &str,
    round: &str,
    entries: &[String],
    tokens: &[String],
    t0: Instant,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<Try>>> {
    let http = client();
    tokens
        .iter()
        .enumerate()
        .map(|(v, token)| {
            let (http, url, round, token, stop) = (
                http.clone(),
                url.to_string(),
                round.to_string(),
                token.clone(),
                stop.clone(),
            );
            let entry = entries[v % entries.len()].clone();
            tokio::spawn(async move {
                let mut tries = Vec::new();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let key = format!("{v}-{n}");
                    let started = t0.elapsed();
                    let (status, slowest) =
                        cast_once(&http, &url, &round, &token, &entry, &key).await;
                    tries.push(Try {
                        started,
                        took: t0.elapsed() - started,
                        slowest,
                        status,
                        key,
                    });
                    // Five attempts a second per voter: below the cap of 100 in a test.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                tries
            })
        })
        .collect()
}

/// Ask for a challenge, solve it, vote: the status of the first step that failed (or of
/// the vote), and the longest either request took.
async fn cast_once(
    http: &reqwest::Client,
    url: &str,
    round: &str,
    token: &str,
    entry: &str,
    key: &str,
) -> (u16, Duration) {
    let asked = Instant::now();
    let res = http
        .post(format!("{url}/api/v1/voting-rounds/{round}/challenge"))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await;
    let c: altcha::Challenge = match res {
        Ok(r) if r.status() == 200 => match r.json().await {
            Ok(c) => c,
            Err(e) => return (failure(&e), asked.elapsed()),
        },
        Ok(r) => return (r.status().as_u16(), asked.elapsed()),
        Err(e) => return (failure(&e), asked.elapsed()),
    };
    let first = asked.elapsed();
    let pow = cadenza::voting::pow::solve(&c).expect("solvable");
    let asked = Instant::now();
    let status = match http
        .post(format!("{url}/api/v1/voting-rounds/{round}/votes"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({ "entry_id": entry, "pow": pow }))
        .send()
        .await
    {
        Ok(r) => r.status().as_u16(),
        Err(e) => failure(&e),
    };
    (status, first.max(asked.elapsed()))
}

async fn stop_load(
    stop: &Arc<std::sync::atomic::AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Vec<Try>>>,
) -> Vec<(usize, Try)> {
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut all = Vec::new();
    for (v, t) in tasks.into_iter().enumerate() {
        all.extend(t.await.unwrap().into_iter().map(|x| (v, x)));
    }
    all
}

/// Every vote answered 201 is in the log (voter's key).
async fn assert_acknowledged_votes_kept(app: &TestApp, round: &str, tries: &[(usize, Try)]) {
    let r = round.to_string();
    let keys: HashSet<String> = app
        .state
        .db
        .run(move |c| {
            Ok(votes::table
                .filter(votes::round_id.eq(r))
                .select(votes::idempotency_key)
                .load::<String>(c)?)
        })
        .await
        .unwrap()
        .into_iter()
        .collect();
    let acked: Vec<&Try> = tries
        .iter()
        .map(|(_, t)| t)
        .filter(|t| t.status == 201)
        .collect();
    let missing = acked.iter().filter(|t| !keys.contains(&t.key)).count();
    println!(
        "{} votes acknowledged, {} in the log, {missing} missing",
        acked.len(),
        keys.len()
    );
    assert_eq!(missing, 0, "acknowledged votes missing from the log");
}

/// Votes recorded by attempts that began after `since`.
fn recorded_since(tries: &[(usize, Try)], since: Duration) -> usize {
    tries
        .iter()
        .filter(|(_, t)| t.started > since && t.status == 201)
        .count()
}

async fn status_of(http: &reqwest::Client, url: &str) -> u16 {
    match http.get(url).send().await {
        Ok(r) => r.status().as_u16(),
        Err(e) => failure(&e),
    }
}

/// A private cluster, a `serve` child process on it, and voters voting for 2 s already.
struct Loaded {
    cluster: Cluster,
    app: TestApp,
    server: Server,
    round: String,
    t0: Instant,
    stop: Arc<std::sync::atomic::AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Vec<Try>>>,
}

async fn under_vote_load(slug: &str, voters: usize) -> Option<Loaded> {
    let cluster = Cluster::start()?;
    let env = TestEnv::on_database(&cluster.url(), CHEAP_POW);
    let (mut app, round, entries, tokens) = vote_setup(env, slug, voters).await;
    let server = Server::start(&app.env, &["serve"], &[]).await;
    app.address = server.url.clone();
    let t0 = Instant::now();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tasks = vote_load(&server.url, &round, &entries, &tokens, t0, stop.clone());
    tokio::time::sleep(Duration::from_secs(2)).await;
    Some(Loaded {
        cluster,
        app,
        server,
        round,
        t0,
        stop,
        tasks,
    })
}
