//! Faults against the real binary: the server killed with SIGKILL during uploads and
//! restarted, PostgreSQL stopped (`pg_ctl -m immediate`) and frozen (SIGSTOP) under
//! vote load, and SIGTERM with requests, uploads and jobs in flight.
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

/// Fault: SIGKILL of the server while 50 uploads stream in, then a restart. Every upload
/// that was answered 201 is stored and analysed; no entry points at a missing object;
/// the jobs the dead process held are run by the new one; the sweeper removes what the
/// interrupted uploads left behind.
#[tokio::test]
async fn killed_during_fifty_uploads_then_restarted_loses_nothing_acknowledged() {
    let mut app = spawn_app_with(TestEnv::new(), |b| b).await;
    let call = open_call(&app, "kill9", json!({ "entries_per_musician": 5 })).await;
    let mut targets = Vec::new();
    for m in 0..10 {
        let t = musician(&app, &format!("k9-{m}@example.org")).await;
        for e in 0..5 {
            let id = entry_id(&app, &t, &call, &format!("Song {m}.{e}")).await;
            targets.push((t.clone(), id));
        }
    }
    let vars = [
        ("CADENZA__JOBS__WORKERS", "2".to_string()),
        ("CADENZA__JOBS__LEASE_SECS", "3".to_string()),
    ];
    let mut server = Server::start(&app.env, &["serve"], &vars).await;
    let http = client();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, (token, entry)) in targets.iter().cloned().enumerate() {
        let (http, url, acked) = (http.clone(), server.url.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(40 * i as u64)).await;
            let body = trickled(wav(4.0, i as u32, 0.3), 8, Duration::from_millis(100));
            let res = http
                .put(format!(
                    "{url}/api/v1/entries/{entry}/audio?file_name=song.wav"
                ))
                .bearer_auth(&token)
                .header("Idempotency-Key", format!("k9-{i}"))
                .body(body)
                .send()
                .await;
            if let Ok(r) = res
                && r.status() == 201
            {
                acked.lock().unwrap().push(entry);
            }
        }));
    }
    // Some uploads are done, some are streaming, some have not started.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    server.kill9();
    let killed_at = started.elapsed();
    for t in tasks {
        let _ = t.await;
    }
    let acked: Vec<String> = acked.lock().unwrap().clone();
    println!(
        "killed after {killed_at:?}: {} of 50 uploads acknowledged",
        acked.len()
    );
    assert!(
        !acked.is_empty() && acked.len() < 50,
        "the kill lands mid-way"
    );

    // Restart; unfinished uploads and unreferenced objects are old at once for the sweeper.
    let vars = [
        ("CADENZA__JOBS__WORKERS", "2".to_string()),
        ("CADENZA__UPLOADS__PENDING_TTL_SECS", "1".to_string()),
        ("CADENZA__UPLOADS__ORPHAN_GRACE_SECS", "1".to_string()),
    ];
    let server = Server::start(&app.env, &["serve"], &vars).await;
    app.address = server.url.clone();
    let all_done = eventually(Duration::from_secs(90), || async {
        job_counts(&app, "entry.analyse")
            .await
            .iter()
            .all(|(s, _)| s == "done")
    })
    .await;
    assert!(
        all_done,
        "analysis jobs: {:?}",
        job_counts(&app, "entry.analyse").await
    );

    // Every acknowledged upload is there and analysed.
    for entry in &acked {
        let e = entry.clone();
        let (upload, analysed): (Option<String>, Option<chrono::NaiveDateTime>) = app
            .state
            .db
            .run(move |c| {
                Ok(entries::table
                    .find(e)
                    .select((entries::upload_id, entries::analysed_at))
                    .first(c)?)
            })
            .await
            .unwrap();
        assert!(upload.is_some(), "acknowledged upload of {entry} is kept");
        assert!(
            analysed.is_some(),
            "acknowledged upload of {entry} analysed"
        );
    }
    // No entry points at an upload that is not stored, nor at a missing object.
    let stored: Vec<(String, String)> = app
        .state
        .db
        .run(|c| {
            Ok(entries::table
                .inner_join(uploads::table.on(uploads::id.nullable().eq(entries::upload_id)))
                .select((uploads::object_key, uploads::state))
                .load(c)?)
        })
        .await
        .unwrap();
    for (key, state) in &stored {
        assert_eq!(state, "stored", "{key}");
        assert!(app.state.storage.head(key).await.is_ok(), "{key} exists");
    }
    println!("{} entries have audio after the restart", stored.len());

    // The sweeper: run it as an operator would, with the same settings.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cadenza"))
        .arg("--config")
        .arg(&app.env.config_path)
        .args(["admin", "sweep"])
        .env("CADENZA__UPLOADS__PENDING_TTL_SECS", "1")
        .env("CADENZA__UPLOADS__ORPHAN_GRACE_SECS", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("sweep: {}", String::from_utf8_lossy(&out.stdout).trim());
    let referenced: HashSet<String> = app
        .state
        .db
        .run(|c| {
            Ok(uploads::table
                .select(uploads::object_key)
                .load::<String>(c)?)
        })
        .await
        .unwrap()
        .into_iter()
        .collect();
    let pending: i64 = app
        .state
        .db
        .run(|c| {
            Ok(uploads::table
                .filter(uploads::state.ne("stored"))
                .count()
                .get_result(c)?)
        })
        .await
        .unwrap();
    assert_eq!(pending, 0, "no unfinished upload is left");
    let objects = app.state.storage.list("entries/").await.unwrap();
    for o in &objects {
        assert!(referenced.contains(&o.key), "orphan {} was swept", o.key);
    }
    assert_eq!(objects.len(), stored.len());
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

/// Fault: PostgreSQL stops at once (as in a crash) under vote load and comes back.
#[tokio::test]
async fn postgres_stopped_under_vote_load_fails_fast_and_recovers() {
    let Some(Loaded {
        cluster,
        app,
        server,
        round,
        t0,
        stop,
        tasks,
    }) = under_vote_load("pg-stop", 30).await
    else {
        return;
    };
    let http = client();

    cluster.stop_immediate();
    let down_at = t0.elapsed();
    let mut readyz_503 = None;
    while t0.elapsed() < down_at + Duration::from_secs(6) {
        assert_eq!(
            status_of(&http, &format!("{}/livez", server.url)).await,
            200
        );
        if readyz_503.is_none() && status_of(&http, &format!("{}/readyz", server.url)).await == 503
        {
            readyz_503 = Some(t0.elapsed() - down_at);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cluster.start_again();
    let up_at = t0.elapsed();
    tokio::time::sleep(Duration::from_secs(8)).await;
    let tries = stop_load(&stop, tasks).await;

    let readyz_503 = readyz_503.expect("/readyz turns 503 while the database is down");
    // Requests that began while it was down (after the first second) and ended before it was back.
    let during: Vec<&Try> = tries
        .iter()
        .map(|(_, t)| t)
        .filter(|t| t.started > down_at + Duration::from_millis(500) && t.started + t.took < up_at)
        .collect();
    let slowest = during.iter().map(|t| t.slowest).max().unwrap_or_default();
    let failed_after_return = tries
        .iter()
        .map(|(_, t)| t)
        .filter(|t| t.status != 201 && t.started > up_at)
        .map(|t| t.started + t.took - up_at)
        .max()
        .unwrap_or_default();
    let before = tries
        .iter()
        .filter(|(_, t)| t.started < down_at && t.status == 201)
        .count();
    println!(
        "pg down {down_at:?}..{up_at:?}: {} votes before, {} attempts while down, slowest {slowest:?}; \
         /readyz 503 after {readyz_503:?}; last failure {failed_after_return:?} after its return",
        before,
        during.len()
    );
    assert!(before > 0, "votes were being recorded");
    assert!(!during.is_empty());
    assert!(during.iter().all(|t| t.status == 503), "{during:?}");
    assert!(
        slowest <= Duration::from_secs(2),
        "slowest failure {slowest:?}"
    );
    assert!(readyz_503 <= Duration::from_secs(5));
    assert!(
        failed_after_return <= Duration::from_secs(5),
        "errors stop within 5 s: {failed_after_return:?}"
    );
    assert!(
        recorded_since(&tries, up_at + Duration::from_secs(5)) > 0,
        "votes are recorded again"
    );
    assert_acknowledged_votes_kept(&app, &round, &tries).await;
}

/// Fault: the database hangs (every process of the cluster stopped with SIGSTOP). Each
/// request ends within its timeouts; after SIGCONT everything works again.
#[tokio::test]
async fn database_hung_requests_end_within_their_timeouts_and_recover() {
    let Some(Loaded {
        cluster,
        app,
        server,
        round,
        t0,
        stop,
        tasks,
    }) = under_vote_load("pg-hang", 20).await
    else {
        return;
    };

    cluster.signal_all("STOP");
    let hung_at = t0.elapsed();
    // Reads of several kinds while it hangs, each timed.
    let http = client();
    let paths = [
        "/readyz".to_string(),
        "/api/v1/competitions".to_string(),
        format!("/api/v1/voting-rounds/{round}/leaderboard"),
        "/".to_string(),
        "/api/v1/me".to_string(),
    ];
    let mut reads = Vec::new();
    for p in &paths {
        let (http, url) = (http.clone(), format!("{}{p}", server.url));
        reads.push(tokio::spawn(async move {
            let s = Instant::now();
            let st = status_of(&http, &url).await;
            (url, st, s.elapsed())
        }));
    }
    let mut read_results = Vec::new();
    for r in reads {
        read_results.push(r.await.unwrap());
    }
    tokio::time::sleep(Duration::from_secs(9)).await;
    cluster.signal_all("CONT");
    let thawed_at = t0.elapsed();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let tries = stop_load(&stop, tasks).await;

    // The longest any request may take: a database call's deadline (pool checkout 2 s +
    // statement timeout 5 s + 1 s), then a second for the fast failures of further calls
    // (a vote may queue behind a batch that was waiting on the database).
    let limit = Duration::from_secs(9);
    for (url, st, took) in &read_results {
        println!("while hung: {url} answered {st} in {took:?}");
        assert!(*took <= limit, "{url} took {took:?}");
        assert!(*st > BROKEN, "{url} got no answer");
    }
    let during: Vec<&Try> = tries
        .iter()
        .map(|(_, t)| t)
        .filter(|t| t.started > hung_at && t.started < thawed_at)
        .collect();
    let slowest = during.iter().map(|t| t.slowest).max().unwrap_or_default();
    println!(
        "hung {hung_at:?}..{thawed_at:?}: {} vote attempts, slowest {slowest:?}",
        during.len()
    );
    assert!(!during.is_empty());
    assert!(slowest <= limit, "slowest {slowest:?}");
    assert!(
        during.iter().all(|t| t.status > BROKEN),
        "every request answered"
    );
    assert!(
        recorded_since(&tries, thawed_at + Duration::from_secs(3)) > 0,
        "votes are recorded again after SIGCONT"
    );
    assert_acknowledged_votes_kept(&app, &round, &tries).await;
}

/// SIGTERM with an upload streaming, votes being cast and a job in hand: the upload and
/// the requests complete (no connection reset), the process exits 0 within the drain
/// timeout, and the job it could not finish is released to the queue.
#[tokio::test]
async fn sigterm_drains_requests_and_uploads_and_releases_job_leases() {
    let env = TestEnv::with_extra(CHEAP_POW);
    let (mut app, round, entries, tokens) = vote_setup(env, "drain", 4).await;
    let call = open_call(&app, "drain-up", json!({})).await;
    let m = musician(&app, "drain-up@example.org").await;
    let entry = entry_id(&app, &m, &call, "Last song").await;
    let vars = [
        ("CADENZA__JOBS__WORKERS", "1".to_string()),
        ("CADENZA__JOBS__SHUTDOWN_GRACE_SECS", "1".to_string()),
        ("CADENZA__SERVER__SHUTDOWN_TIMEOUT_SECS", "15".to_string()),
    ];
    let mut server = Server::start(&app.env, &["serve"], &vars).await;
    app.address = server.url.clone();

    // A job that takes 20 s, taken by the server's worker.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cadenza"))
        .arg("--config")
        .arg(&app.env.config_path)
        .args(["admin", "selftest", "--hold-ms", "20000", "--no-wait"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let taken = eventually(Duration::from_secs(10), || async {
        job_counts(&app, "system.selftest")
            .await
            .contains(&("running".to_string(), 1))
    })
    .await;
    assert!(taken, "{:?}", job_counts(&app, "system.selftest").await);

    let http = client();
    let upload = {
        let (http, url, m, entry) = (http.clone(), server.url.clone(), m.clone(), entry.clone());
        tokio::spawn(async move {
            http.put(format!(
                "{url}/api/v1/entries/{entry}/audio?file_name=last.wav"
            ))
            .bearer_auth(&m)
            .header("Idempotency-Key", "drain-1")
            .body(trickled(wav(4.0, 7, 0.3), 20, Duration::from_millis(150)))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| e.to_string())
        })
    };
    let t0 = Instant::now();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tasks = vote_load(&server.url, &round, &entries, &tokens, t0, stop.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Ten requests whose bodies take 1.5 s to arrive: in flight when the signal comes.
    let slow: Vec<_> = (0..10)
        .map(|i| {
            let (http, url, m) = (http.clone(), server.url.clone(), m.clone());
            tokio::spawn(async move {
                let body = serde_json::to_vec(&json!({
                    "stage_name": format!("Drain {i}"), "bio": "x".repeat(400),
                    "links": [], "language": "en",
                }))
                .unwrap();
                http.put(format!("{url}/api/v1/me/profile"))
                    .bearer_auth(&m)
                    .header("content-type", "application/json")
                    .body(trickled(body, 10, Duration::from_millis(150)))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    signal(server.pid(), "TERM");
    let termed = Instant::now();
    let status = server.wait_exit(Duration::from_secs(20)).await;
    let took = termed.elapsed();
    let tries = stop_load(&stop, tasks).await;
    let upload = upload.await.unwrap();
    let mut slow_answers = Vec::new();
    for s in slow {
        slow_answers.push(s.await.unwrap());
    }
    println!(
        "SIGTERM: exited {status:?} after {took:?}; the upload answered {upload:?}, \
         the slow requests {slow_answers:?}"
    );
    assert_eq!(upload, Ok(201), "the upload in flight completes");
    assert!(
        slow_answers.iter().all(|a| a == &Ok(200)),
        "requests in flight complete: {slow_answers:?}"
    );
    let status = status.expect("the server exits within the drain timeout");
    assert!(status.success(), "exit status {status:?}");
    // Votes in flight when the signal came were answered; later ones found the door
    // closed (refused), none was cut off mid-way.
    let in_flight = tries
        .iter()
        .filter(|(_, t)| t0 + t.started < termed && t0 + t.started + t.took > termed)
        .count();
    let broken: Vec<&Try> = tries
        .iter()
        .map(|(_, t)| t)
        .filter(|t| t.status == BROKEN)
        .collect();
    println!(
        "{in_flight} vote attempts spanned SIGTERM; {} broken",
        broken.len()
    );
    assert!(broken.is_empty(), "connections reset: {broken:?}");
    assert!(
        tries.iter().all(|(_, t)| matches!(t.status, 201 | REFUSED)),
        "{tries:?}"
    );
    assert_acknowledged_votes_kept(&app, &round, &tries).await;
    let jobs_now = job_counts(&app, "system.selftest").await;
    assert_eq!(
        jobs_now,
        vec![("queued".to_string(), 1)],
        "the lease was released"
    );
    let held: i64 = app
        .state
        .db
        .run(|c| {
            Ok(jobs::table
                .filter(jobs::kind.eq("system.selftest"))
                .filter(jobs::locked_by.is_not_null())
                .count()
                .get_result(c)?)
        })
        .await
        .unwrap();
    assert_eq!(held, 0);
    assert!(
        server_log_mentions(&server, "released"),
        "{}",
        server.log_text()
    );
}

fn server_log_mentions(server: &Server, needle: &str) -> bool {
    server.log_text().contains(needle)
}

/// Resident memory of a process, in bytes.
fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// A WAV upload of exactly `total` bytes, generated as it is sent.
fn big_wav(total: u64, seed: u64) -> reqwest::Body {
    let data = (total - 44) as u32;
    let mut head = Vec::with_capacity(44);
    head.extend_from_slice(b"RIFF");
    head.extend_from_slice(&(36 + data).to_le_bytes());
    head.extend_from_slice(b"WAVEfmt ");
    head.extend_from_slice(&16u32.to_le_bytes());
    head.extend_from_slice(&1u16.to_le_bytes());
    head.extend_from_slice(&2u16.to_le_bytes());
    head.extend_from_slice(&44_100u32.to_le_bytes());
    head.extend_from_slice(&(44_100u32 * 4).to_le_bytes());
    head.extend_from_slice(&4u16.to_le_bytes());
    head.extend_from_slice(&16u16.to_le_bytes());
    head.extend_from_slice(b"data");
    head.extend_from_slice(&data.to_le_bytes());
    const CHUNK: u64 = 64 * 1024;
    let chunks = futures_util::stream::unfold((0u64, seed), move |(sent, mut state)| {
        let head = head.clone();
        async move {
            if sent >= total {
                return None;
            }
            let n = CHUNK.min(total - sent) as usize;
            let mut buf = Vec::with_capacity(n);
            if sent == 0 {
                buf.extend_from_slice(&head);
            }
            while buf.len() < n {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                buf.extend_from_slice(&(state as u16).to_le_bytes());
            }
            buf.truncate(n);
            Some((Ok::<_, std::io::Error>(buf), (sent + n as u64, state)))
        }
    });
    reqwest::Body::wrap_stream(chunks)
}

/// Upload abuse: 20 uploads of the largest allowed size at once. The server streams them
/// to the store a bounded number at a time: its memory stays flat (bounded by the part
/// buffers of the uploads in progress, not by their number or sizes).
#[tokio::test]
async fn twenty_concurrent_maximum_size_uploads_keep_memory_flat() {
    const MAX: u64 = 64 * 1024 * 1024;
    let mut env = TestEnv::new();
    env.replace_in_config("max_bytes = 209715200", &format!("max_bytes = {MAX}"));
    let mut app = spawn_app_with(env, |b| b).await;
    let call = open_call(&app, "max-size", json!({ "entries_per_musician": 5 })).await;
    let mut targets = Vec::new();
    for m in 0..4 {
        let t = musician(&app, &format!("big-{m}@example.org")).await;
        for e in 0..5 {
            targets.push((
                t.clone(),
                entry_id(&app, &t, &call, &format!("Big {m}.{e}")).await,
            ));
        }
    }
    let server = Server::start(&app.env, &["serve"], &[]).await;
    app.address = server.url.clone();
    let pid = server.pid();
    let http = client();
    // Let the server settle before the baseline.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline = rss_of(pid);
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(baseline));
    let sampling = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_of(pid), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let started = Instant::now();
    let uploads: Vec<_> = targets
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, (token, entry))| {
            let (http, url) = (http.clone(), server.url.clone());
            tokio::spawn(async move {
                http.put(format!(
                    "{url}/api/v1/entries/{entry}/audio?file_name=big.wav"
                ))
                .bearer_auth(&token)
                .header("Idempotency-Key", format!("big-{i}"))
                .body(big_wav(MAX, i as u64 + 1))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for u in uploads {
        statuses.push(u.await.unwrap());
    }
    let took = started.elapsed();
    sampling.abort();
    let peak = peak.load(std::sync::atomic::Ordering::Relaxed);
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "20 × {} MiB uploads in {took:?} ({:.0} MiB/s): server memory {:.1} MiB before, peak {:.1} MiB (+{:.1} MiB)",
        MAX >> 20,
        mib(20 * MAX) / took.as_secs_f64(),
        mib(baseline),
        mib(peak),
        mib(peak.saturating_sub(baseline))
    );
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    // 1,280 MiB went through; at most `storage.s3.max_concurrent_uploads` (8) stream at
    // once, each holding its parts (about 24 MiB): the rest wait their turn.
    assert!(
        peak.saturating_sub(baseline) < (8 * 32 + 64) * 1024 * 1024,
        "memory grew by {:.1} MiB",
        mib(peak.saturating_sub(baseline))
    );
}

/// Text without terminal colour codes (`ESC [ … m`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A TCP proxy that hands each new connection to the next backend in turn.
async fn round_robin_proxy(backends: Vec<String>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut next = 0usize;
        while let Ok((mut inbound, _)) = listener.accept().await {
            let backend = backends[next % backends.len()].clone();
            next += 1;
            tokio::spawn(async move {
                let host = backend.trim_start_matches("http://").to_string();
                if let Ok(mut out) = tokio::net::TcpStream::connect(host).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                }
            });
        }
    });
    format!("http://{addr}")
}

/// Scale-out: two `serve` processes (no workers) and two `worker` processes on one
/// PostgreSQL and one S3 server, behind a round-robin proxy (a new connection per
/// request, so requests alternate). Uploads are analysed by the workers, a judged
/// round gets its renditions and scores, votes are recorded; the sign-in rate limit, the
/// vote velocity limit and the vote caps hold for the deployment, not per process; no
/// job is run to completion twice.
#[tokio::test]
async fn two_servers_and_two_workers_behind_a_proxy_share_work_and_limits() {
    use crate::judging::{invited_judge, round};
    use crate::submissions::put_audio;
    use crate::voting::{vote, voter, voting_round};
    let mut env = TestEnv::with_extra(
        "[voting]\npow_cost = 10\npow_max_counter = 4\nvoter_per_minute = 10\n",
    );
    env.replace_in_config(
        "http_workers = 2\n",
        "http_workers = 2\ntrusted_proxies = [\"127.0.0.1\"]\n",
    );
    env.replace_in_config(
        "argon2_iterations = 1\n",
        "argon2_iterations = 1\nmail_per_ip_per_hour = 100000\nsign_in_per_ip_per_minute = 6\n",
    );
    let mut app = spawn_app_with(env, |b| b).await;
    // Accounts and drafts, made in-process (their emails are captured here).
    let call = open_call(&app, "scale", json!({})).await;
    let mut entries = Vec::new();
    for i in 0..4 {
        let t = musician(&app, &format!("scale-{i}@example.org")).await;
        let id = entry_id(&app, &t, &call, &format!("Scale song {i}")).await;
        entries.push((t, id));
    }
    let judge = invited_judge(&app, &call, "scale-judge@example.org", "Judge").await;
    let voters = [
        voter(&app, "scale-v1@example.org").await,
        voter(&app, "scale-v2@example.org").await,
    ];

    let quiet = [("CADENZA__JOBS__WORKERS", "0".to_string())];
    let s1 = Server::start(&app.env, &["serve"], &quiet).await;
    let s2 = Server::start(&app.env, &["serve"], &quiet).await;
    let w1 = Server::start(&app.env, &["worker", "--workers", "2"], &[]).await;
    let w2 = Server::start(&app.env, &["worker", "--workers", "2"], &[]).await;
    let proxy = round_robin_proxy(vec![s1.url.clone(), s2.url.clone()]).await;
    app.address = proxy.clone();
    app.client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Uploads through either server; the worker processes analyse them.
    for (i, (t, id)) in entries.iter().enumerate() {
        let res = put_audio(
            &app,
            t,
            id,
            wav(3.0, 40 + i as u32, 0.3),
            &format!("scale-{i}"),
        )
        .await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    }
    let analysed = eventually(Duration::from_secs(60), || async {
        let mut all = true;
        for (t, id) in &entries {
            let (_, e) =
                crate::submissions::get_json(&app, t, &format!("/api/v1/entries/{id}")).await;
            all &= e["status"] == "accepted" || e["status"] == "needs_attention";
        }
        all
    })
    .await;
    assert!(analysed, "the workers analysed every upload");

    // Judging: a round, renditions made by the workers, scores through either server.
    let setup = crate::judging::Setup {
        call,
        entries: Vec::new(),
        judges: Vec::new(),
    };
    let r = round(&app, &setup, json!({ "judges_per_entry": 1 })).await;
    let rid = r["id"].as_str().unwrap().to_string();
    let res = crate::judging::post(
        &app,
        &setup.call.org,
        &format!("/api/v1/rounds/{rid}/assign"),
        json!({}),
    )
    .await;
    assert!(res.status().is_success());
    let judge = crate::judging::Judge {
        token: judge,
        id: String::new(),
        email: "scale-judge@example.org".into(),
    };
    let items = crate::judging::queue(&app, &judge, &rid).await;
    assert_eq!(items.len(), 4);
    let rendered = eventually(Duration::from_secs(60), || async {
        let mut all = true;
        for it in &items {
            let alias = it["alias"].as_str().unwrap();
            let (_, a) = crate::submissions::get_json(
                &app,
                &judge.token,
                &format!("/api/v1/judging/assignments/{alias}"),
            )
            .await;
            all &= a["audio"]["ready"] == true;
        }
        all
    })
    .await;
    assert!(rendered, "the workers made every rendition");
    for (i, it) in items.iter().enumerate() {
        let alias = it["alias"].as_str().unwrap();
        let res = crate::judging::score(&app, &judge, alias, 3 + i as i64, 5).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }

    // Votes: caps hold across servers (2 per entry), and so does the velocity limit
    // (10 a minute per voter for the deployment; each server keeps its share).
    let live_serve = eventually(Duration::from_secs(20), || async {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cadenza"))
            .arg("--config")
            .arg(&app.env.config_path)
            .args(["admin", "processes"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.lines().filter(|l| l.starts_with("serve")).count() == 3
            && text.lines().filter(|l| l.starts_with("worker")).count() == 2
    })
    .await;
    assert!(
        live_serve,
        "three serve processes (two and the test's) and two workers are listed"
    );
    // One more heartbeat, so each server has shared out the limits.
    tokio::time::sleep(cadenza::processes::BEAT + Duration::from_secs(1)).await;
    let vr = voting_round(
        &app,
        &setup,
        json!({ "votes_per_voter": 100, "votes_per_entry": 2 }),
    )
    .await;
    let vid = vr["id"].as_str().unwrap().to_string();
    let vr = voting_round(
        &app,
        &setup,
        json!({ "title": "Quick fingers", "votes_per_voter": 100, "votes_per_entry": 100 }),
    )
    .await;
    let quick = vr["id"].as_str().unwrap().to_string();
    let entry = entries[0].1.clone();
    let mut capped = Vec::new();
    for _ in 0..6 {
        capped.push(vote(&app, &voters[0], &vid, &entry).await.status().as_u16());
    }
    assert_eq!(
        capped.iter().filter(|s| **s == 201).count(),
        2,
        "the cap of 2 votes for one entry holds: {capped:?}"
    );
    let mut fast = Vec::new();
    for i in 0..20 {
        let e = &entries[1 + i % 3].1;
        fast.push(vote(&app, &voters[1], &quick, e).await.status().as_u16());
        // A vote is two requests (challenge, cast); one more makes the casts alternate.
        app.get("/livez").await;
    }
    let accepted = fast.iter().filter(|s| **s == 201).count();
    println!("velocity: {accepted} of 20 quick votes accepted (limit 10 a minute): {fast:?}");
    assert!(
        fast.contains(&429),
        "the velocity limit answers 429: {fast:?}"
    );
    assert!(
        accepted <= 10,
        "the deployment's limit holds: {accepted} accepted"
    );

    // Sign-in attempts from one (forwarded) address: 6 a minute for the deployment.
    let minute = chrono::Utc::now().timestamp() / 60;
    let mut codes = Vec::new();
    for _ in 0..12 {
        let res = app
            .client
            .post(format!("{proxy}/api/v1/auth/sign-in"))
            .header("X-Forwarded-For", "203.0.113.7")
            .json(&json!({ "email": "nobody@example.org", "password": "not the password" }))
            .send()
            .await
            .unwrap();
        codes.push(res.status().as_u16());
    }
    let let_through = codes.iter().filter(|c| **c != 429).count();
    println!("sign-in: {let_through} of 12 attempts let through (limit 6 a minute): {codes:?}");
    if chrono::Utc::now().timestamp() / 60 == minute {
        assert_eq!(let_through, 6, "{codes:?}");
    } else {
        assert!(let_through <= 12 && codes.contains(&429), "{codes:?}");
    }

    // No job ran to completion twice: each finished job is logged once, by one worker.
    drop((s1, s2));
    let logs = strip_ansi(&format!("{}{}", w1.log_text(), w2.log_text()));
    let mut done = std::collections::HashMap::<u64, usize>::new();
    for line in logs.lines().filter(|l| l.contains("job done")) {
        if let Some(id) = line
            .split("job.id=")
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
        {
            *done.entry(id).or_default() += 1;
        }
    }
    let twice: Vec<_> = done.iter().filter(|(_, n)| **n > 1).collect();
    println!(
        "{} jobs done by the workers ({} by the first, {} by the second)",
        done.len(),
        w1.log_text().matches("job done").count(),
        w2.log_text().matches("job done").count()
    );
    assert!(
        done.len() >= 8,
        "analyses and renditions ran in the workers: {done:?}"
    );
    assert!(twice.is_empty(), "jobs done twice: {twice:?}");
}
