use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cadenza::error::AppError;
use cadenza::jobs::{JobError, JobRegistry, JobRow, store};
use cadenza::startup::jobs::SELFTEST_JOB;
use chrono::Utc;
use diesel::Connection;

use crate::helpers::{TestApp, TestEnv, spawn_app_with};

fn now() -> chrono::NaiveDateTime {
    Utc::now().naive_utc()
}

async fn enqueue(app: &TestApp, kind: &str, max_attempts: Option<i32>) -> i64 {
    let kind = kind.to_string();
    app.state
        .db
        .run(move |c| {
            let id = store::enqueue(c, &kind, &serde_json::json!({}), now(), None)?;
            if let Some(m) = max_attempts {
                store::set_max_attempts(c, id, m)?;
            }
            Ok(id)
        })
        .await
        .unwrap()
}

async fn job(app: &TestApp, id: i64) -> JobRow {
    app.state
        .db
        .run(move |c| store::find(c, id))
        .await
        .unwrap()
        .expect("job exists")
}

struct Counters {
    flaky: Arc<AtomicUsize>,
}

fn test_registry() -> (JobRegistry, Counters) {
    let mut r = cadenza::startup::jobs::standard(&cadenza::config::Settings::default());
    let flaky = Arc::new(AtomicUsize::new(0));
    let f = flaky.clone();
    r.register("test.flaky", move |_, _| {
        let n = f.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            if n < 2 {
                Err(JobError::Retry(format!("transient failure {n}")))
            } else {
                Ok(())
            }
        })
    });
    r.register("test.always_fails", |_, _| {
        Box::pin(async { Err(JobError::Retry("still broken".into())) })
    });
    r.register("test.fatal", |_, _| {
        Box::pin(async { Err(JobError::Fatal("bad payload".into())) })
    });
    r.register("test.panics", |_, _| {
        Box::pin(async {
            panic!("job exploded");
        })
    });
    r.register("test.ok", |_, _| Box::pin(async { Ok(()) }));
    (r, Counters { flaky })
}

async fn app_with_test_jobs() -> (TestApp, Counters) {
    let (registry, counters) = test_registry();
    (
        spawn_app_with(TestEnv::new(), |b| b.job_registry(registry)).await,
        counters,
    )
}

#[tokio::test]
async fn retries_with_backoff_then_succeeds() {
    let (app, counters) = app_with_test_jobs().await;
    let id = enqueue(&app, "test.flaky", None).await;
    app.run_pending_jobs().await;
    let j = job(&app, id).await;
    assert_eq!(j.status, "done");
    assert_eq!(j.attempts, 3);
    assert_eq!(counters.flaky.load(Ordering::SeqCst), 3);
    assert!(j.last_error.is_none());
    assert!(j.finished_at.is_some());
    app.shutdown().await;
}

#[tokio::test]
async fn failures_end_dead_with_the_last_error() {
    let (app, _) = app_with_test_jobs().await;
    let failing = enqueue(&app, "test.always_fails", Some(3)).await;
    let fatal = enqueue(&app, "test.fatal", None).await;
    let panics = enqueue(&app, "test.panics", Some(2)).await;
    let unknown = enqueue(&app, "test.no_such_kind", None).await;
    app.run_pending_jobs().await;

    let j = job(&app, failing).await;
    assert_eq!((j.status.as_str(), j.attempts), ("dead", 3));
    assert_eq!(j.last_error.as_deref(), Some("still broken"));
    let j = job(&app, fatal).await;
    assert_eq!((j.status.as_str(), j.attempts), ("dead", 1));
    let j = job(&app, panics).await;
    assert_eq!((j.status.as_str(), j.attempts), ("dead", 2));
    assert!(j.last_error.unwrap().contains("panicked: job exploded"));
    let j = job(&app, unknown).await;
    assert_eq!(j.status, "dead");
    assert!(j.last_error.unwrap().contains("no handler"));
    // The app is still healthy after a panicking job.
    assert_eq!(app.get("/livez").await.status(), 200);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("cadenza_jobs_total{kind=\"test.panics\",outcome=\"dead\"} 1"),
        "{metrics}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_failed_retry_waits_for_its_backoff() {
    // Same settings but with a real backoff: the retry is scheduled in the future.
    let mut env = TestEnv::new();
    env.replace_in_config("backoff_base_secs = 0", "backoff_base_secs = 60");

    let (registry, _) = test_registry();
    let app = spawn_app_with(env, |b| b.job_registry(registry)).await;
    let id = enqueue(&app, "test.always_fails", None).await;
    assert_eq!(app.run_pending_jobs().await, 1, "not due again right away");
    let j = job(&app, id).await;
    assert_eq!(j.status, "queued");
    assert_eq!(j.attempts, 1);
    let wait = j.run_at - now();
    assert!(
        wait > chrono::Duration::seconds(50) && wait < chrono::Duration::seconds(70),
        "{wait:?}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn enqueue_joins_the_callers_transaction() {
    let (app, _) = app_with_test_jobs().await;
    let result: Result<(), AppError> = app
        .state
        .db
        .run(|c| {
            c.transaction(|c| {
                store::enqueue(c, "test.ok", &serde_json::json!({}), now(), None)?;
                Err(AppError::invalid("test.rollback"))
            })
        })
        .await;
    assert!(result.is_err());
    assert_eq!(
        app.run_pending_jobs().await,
        0,
        "the rolled-back job does not exist"
    );
    let counts = app.state.db.run(store::count_by_status).await.unwrap();
    assert!(counts.is_empty(), "{counts:?}");
    app.shutdown().await;
}

#[tokio::test]
async fn an_expired_lease_is_reclaimed() {
    let (app, _) = app_with_test_jobs().await;
    let id = enqueue(&app, "test.ok", None).await;
    // A worker claimed it and died: its lease ran out five minutes ago.
    let claimed = app
        .state
        .db
        .run(|c| store::claim(c, "dead-worker", now(), chrono::Duration::minutes(-5), 1))
        .await
        .unwrap()
        .expect("claimed");
    assert_eq!(claimed.id, id);
    assert_eq!(job(&app, id).await.status, "running");
    app.run_pending_jobs().await;
    let j = job(&app, id).await;
    assert_eq!(j.status, "done");
    assert_eq!(j.attempts, 2);
    app.shutdown().await;
}

#[tokio::test]
async fn a_live_lease_is_not_taken() {
    let (app, _) = app_with_test_jobs().await;
    let id = enqueue(&app, "test.ok", None).await;
    app.state
        .db
        .run(|c| store::claim(c, "busy-worker", now(), chrono::Duration::minutes(5), 1))
        .await
        .unwrap()
        .expect("claimed");
    assert_eq!(app.run_pending_jobs().await, 0);
    assert_eq!(job(&app, id).await.status, "running");
    app.shutdown().await;
}

async fn laned(app: &TestApp, lane: Option<&'static str>, key: Option<&'static str>) -> i64 {
    let id = enqueue(app, "test.ok", None).await;
    app.state
        .db
        .run(move |c| store::set_lane(c, id, lane, key))
        .await
        .unwrap();
    id
}

async fn claim_one(app: &TestApp, worker: &'static str, heavy: i64) -> Option<i64> {
    app.state
        .db
        .run(move |c| store::claim(c, worker, now(), chrono::Duration::minutes(5), heavy))
        .await
        .unwrap()
        .map(|j| j.id)
}

#[tokio::test]
async fn one_musicians_analyses_run_one_at_a_time_and_heavy_ones_leave_room() {
    let (app, _) = app_with_test_jobs().await;
    // Four expensive files from one account, then an ordinary one from another.
    let mut bombs = Vec::new();
    for _ in 0..4 {
        bombs.push(laned(&app, Some("heavy"), Some("analysis:mallory")).await);
    }
    let ordinary = laned(&app, None, Some("analysis:ana")).await;
    let second_of_ana = laned(&app, None, Some("analysis:ana")).await;
    // The ordinary job goes first although it was queued last.
    assert_eq!(claim_one(&app, "w1", 1).await, Some(ordinary));
    // Ana's next waits for her first; one bomb may run.
    assert_eq!(claim_one(&app, "w2", 1).await, Some(bombs[0]));
    // Nothing else: the heavy lane is full and Ana's key is busy.
    assert_eq!(claim_one(&app, "w3", 1).await, None);
    // With room for two heavy jobs, Mallory's key still holds the rest back.
    assert_eq!(claim_one(&app, "w3", 2).await, None);
    let id = ordinary;
    app.state
        .db
        .run(move |c| store::complete(c, id, "w1", now()).map(|_| ()))
        .await
        .unwrap();
    assert_eq!(claim_one(&app, "w1", 1).await, Some(second_of_ana));
    // An unkeyed job in no lane is never held back.
    let plain = enqueue(&app, "test.ok", None).await;
    assert_eq!(claim_one(&app, "w4", 1).await, Some(plain));
    // With the heavy lane stopped, bombs wait.
    let id = bombs[0];
    app.state
        .db
        .run(move |c| store::complete(c, id, "w2", now()).map(|_| ()))
        .await
        .unwrap();
    assert_eq!(claim_one(&app, "w2", 0).await, None);
    assert_eq!(claim_one(&app, "w2", 1).await, Some(bombs[1]));
    app.shutdown().await;
}

#[tokio::test]
async fn concurrent_workers_never_claim_the_same_job() {
    let (app, _) = app_with_test_jobs().await;
    let mut ids = Vec::new();
    for _ in 0..40 {
        ids.push(enqueue(&app, "test.ok", None).await);
    }
    let mut tasks = Vec::new();
    for w in 0..6 {
        let db = app.state.db.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let worker = format!("w{w}");
                let got = db
                    .run(move |c| store::claim(c, &worker, now(), chrono::Duration::minutes(5), 1))
                    .await
                    .expect("claim never errors");
                match got {
                    Some(j) => mine.push(j.id),
                    None => break,
                }
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    ids.sort();
    assert_eq!(all, ids, "every job claimed exactly once");
    app.shutdown().await;
}

fn start_worker(app: &TestApp, grace_secs: u64) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cadenza"))
        .args([
            "--config",
            app.env.config_path.to_str().unwrap(),
            "worker",
            "--workers",
            "1",
        ])
        .env("CADENZA__JOBS__SHUTDOWN_GRACE_SECS", grace_secs.to_string())
        .env("CADENZA__JOBS__POLL_INTERVAL_MS", "50")
        .env("CADENZA__LOG__LEVEL", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start cadenza worker")
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("worker did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn wait_status(app: &TestApp, id: i64, status: &str, limit: Duration) -> JobRow {
    let start = Instant::now();
    loop {
        let j = job(app, id).await;
        if j.status == status {
            return j;
        }
        assert!(
            start.elapsed() < limit,
            "job {id} is {} after {limit:?}, wanted {status}",
            j.status
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn enqueue_selftest(app: &TestApp, hold_ms: u64) -> i64 {
    app.state
        .db
        .run(move |c| {
            store::enqueue(
                c,
                SELFTEST_JOB,
                &serde_json::json!({ "hold_ms": hold_ms }),
                now(),
                None,
            )
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn sigterm_releases_the_job_in_hand_and_a_restart_finishes_it() {
    let (app, _) = app_with_test_jobs().await;
    let id = enqueue_selftest(&app, 3000).await;
    let mut worker = start_worker(&app, 0);
    wait_status(&app, id, "running", Duration::from_secs(30)).await;
    sigterm(&worker);
    let status = wait_exit(&mut worker, Duration::from_secs(15));
    assert!(status.success(), "worker exits 0 on SIGTERM: {status:?}");
    let j = job(&app, id).await;
    assert_eq!(j.status, "queued", "released, not left running");
    assert!(j.locked_by.is_none());
    assert_eq!(j.attempts, 0, "a released attempt is not counted");

    let mut again = start_worker(&app, 30);
    let j = wait_status(&app, id, "done", Duration::from_secs(30)).await;
    assert_eq!(j.attempts, 1);
    sigterm(&again);
    assert!(wait_exit(&mut again, Duration::from_secs(15)).success());
    app.shutdown().await;
}

#[tokio::test]
async fn sigterm_lets_a_short_job_finish_within_the_grace_period() {
    let (app, _) = app_with_test_jobs().await;
    let id = enqueue_selftest(&app, 1500).await;
    let mut worker = start_worker(&app, 30);
    wait_status(&app, id, "running", Duration::from_secs(30)).await;
    sigterm(&worker);
    assert!(wait_exit(&mut worker, Duration::from_secs(20)).success());
    let j = job(&app, id).await;
    assert_eq!(j.status, "done", "finished before exiting");
    app.shutdown().await;
}

#[tokio::test]
async fn serve_runs_workers_in_process() {
    let mut env = TestEnv::new();
    env.replace_in_config("workers = 0", "workers = 2\npoll_interval_ms = 20");
    let app = spawn_app_with(env, |b| b).await;
    cadenza::accounts::service::create_organiser(
        &app.state,
        "inproc@example.org",
        cadenza::i18n::Locale::En,
    )
    .await
    .unwrap();
    let start = Instant::now();
    while app.emails().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the in-process workers did not send the mail"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.emails()[0].to, "inproc@example.org");
    app.shutdown().await;
}

/// A typed job: its payload is written by `jobs::enqueue` and read back by the
/// registry; a payload that does not parse is buried at once with the kind's name.
#[derive(serde::Serialize, serde::Deserialize)]
struct Echo {
    word: String,
}

static ECHOED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

impl cadenza::jobs::Job for Echo {
    const NAME: &'static str = "test.echo";

    async fn run(self, _state: cadenza::state::AppState, _job: JobRow) -> Result<(), JobError> {
        ECHOED.lock().unwrap().push(self.word);
        Ok(())
    }
}

#[tokio::test]
async fn typed_jobs_get_their_payload_and_a_bad_one_is_buried() {
    let (mut registry, _) = test_registry();
    registry.add::<Echo>();
    let app = spawn_app_with(TestEnv::new(), |b| b.job_registry(registry)).await;
    let good = app
        .state
        .db
        .run(|c| {
            cadenza::jobs::enqueue(
                c,
                &Echo {
                    word: "encore".into(),
                },
                now(),
                None,
            )
        })
        .await
        .unwrap();
    let bad = app
        .state
        .db
        .run(|c| {
            store::enqueue(
                c,
                "test.echo",
                &serde_json::json!({ "wrd": 1 }),
                now(),
                None,
            )
        })
        .await
        .unwrap();
    app.run_pending_jobs().await;
    assert_eq!(job(&app, good).await.status, "done");
    assert!(ECHOED.lock().unwrap().contains(&"encore".to_string()));
    let b = job(&app, bad).await;
    assert_eq!(b.status, "dead");
    assert_eq!(b.attempts, 1);
    assert!(
        b.last_error
            .as_deref()
            .unwrap_or("")
            .contains("bad test.echo payload"),
        "{:?}",
        b.last_error
    );
    app.shutdown().await;
}
