//! Jobs are rows (the queue's table is `db::queue`). Each kind is a [`Job`]: a stable
//! name and a typed payload. A job is enqueued in the same transaction as the change that causes
//! it, claimed with a lease, run under `catch_unwind`, retried with exponential
//! backoff and finally buried as dead with its last error. Expired leases (a worker
//! killed mid-job) are reclaimed. On shutdown a worker finishes the job in hand within
//! a grace period or releases it to the queue.

/// The queue's table (in `db/`, so that mail can enqueue below the worker).
pub use crate::db::queue as store;

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use rand::Rng;
use tokio_util::sync::CancellationToken;

use chrono::NaiveDateTime;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;
pub use store::JobRow;

/// How a job ended when it did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another try later (network, a service down).
    #[error("{0}")]
    Retry(String),
    /// Will never succeed (bad payload): buried at once.
    #[error("{0}")]
    Fatal(String),
}

/// One kind of job: a stable name and a typed payload, as crates.io's `BackgroundJob`.
/// The payload is this type, written by [`enqueue`] and read back once by the worker,
/// so no job parses JSON by hand. A job is enqueued in the transaction of the change
/// that causes it and must be idempotent (it may run twice after a lost lease).
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stored with each queued job: never rename a kind that may still be waiting.
    const NAME: &'static str;

    /// Do the work (`job` is the queued row: its id, lane and attempt). [`JobError::Retry`]
    /// for what may pass later (a database or store error converts to it with `?`),
    /// [`JobError::Fatal`] for what never will.
    fn run(self, state: AppState, job: JobRow)
    -> impl Future<Output = Result<(), JobError>> + Send;
}

/// Enqueue `job` in the caller's transaction, due now or at `due`. Returns its id.
pub fn enqueue<J: Job>(
    conn: &mut DbConnection,
    job: &J,
    now: NaiveDateTime,
    due: Option<NaiveDateTime>,
) -> Result<i64, AppError> {
    let payload = serde_json::to_value(job).map_err(AppError::internal)?;
    store::enqueue(conn, J::NAME, &payload, now, due)
}

/// A database or store failure is worth another try.
impl From<AppError> for JobError {
    fn from(e: AppError) -> JobError {
        JobError::Retry(e.to_string())
    }
}

/// "Worth another try", naming what was being done: `.map_err(retry("reading the audio"))`.
pub fn retry<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> JobError + '_ {
    move |e| JobError::Retry(format!("{what}: {e}"))
}

pub type JobFuture = BoxFuture<'static, Result<(), JobError>>;
type HandlerFn = Arc<dyn Fn(AppState, JobRow) -> JobFuture + Send + Sync>;

/// The job kinds this process can run, and those enqueued on a timer (the composition
/// root fills it: `startup::jobs::standard`).
#[derive(Clone, Default)]
pub struct JobRegistry {
    handlers: HashMap<String, HandlerFn>,
    periodic: Vec<(&'static str, serde_json::Value, Duration)>,
}

impl JobRegistry {
    /// Run jobs of kind `J` (their payload is read once, here: a payload that does not
    /// parse is buried at once).
    pub fn add<J: Job>(&mut self) {
        self.register(J::NAME, |state, row| {
            Box::pin(async move {
                let job: J = serde_json::from_str(&row.payload)
                    .map_err(|e| JobError::Fatal(format!("bad {} payload: {e}", J::NAME)))?;
                job.run(state, row).await
            })
        });
    }

    /// Enqueue a `J` job (its default payload) every `every` in processes that run
    /// workers, and run it.
    pub fn every<J: Job + Default>(&mut self, every: Duration) {
        self.add::<J>();
        let payload = serde_json::to_value(J::default()).unwrap_or_default();
        self.periodic.push((J::NAME, payload, every));
    }

    /// Run `kind` with a hand-written handler (tests register their own kinds).
    pub fn register<F>(&mut self, kind: &str, f: F)
    where
        F: Fn(AppState, JobRow) -> JobFuture + Send + Sync + 'static,
    {
        self.handlers.insert(kind.to_string(), Arc::new(f));
    }

    pub fn kinds(&self) -> Vec<&str> {
        let mut k: Vec<&str> = self.handlers.keys().map(String::as_str).collect();
        k.sort();
        k
    }
}

/// Delay before retry number `attempt` (1-based): base·2^(attempt−1), capped.
pub fn backoff(attempt: i32, base: Duration, max: Duration) -> Duration {
    let exp = attempt.saturating_sub(1).clamp(0, 30) as u32;
    base.saturating_mul(2u32.saturating_pow(exp)).min(max)
}

fn with_jitter(d: Duration) -> Duration {
    // Up to +10%, so jobs that failed together do not retry together.
    let jitter_ms = (d.as_millis() as u64 / 10).max(1);
    d + Duration::from_millis(rand::rng().random_range(0..jitter_ms))
}

enum Outcome {
    Finished(Result<(), JobError>),
    Panicked(String),
    Released,
}

/// One worker: claims and runs jobs until `shutdown` is cancelled.
pub struct Worker {
    state: AppState,
    registry: Arc<JobRegistry>,
    id: String,
}

impl Worker {
    pub fn new(state: AppState, registry: Arc<JobRegistry>, name: &str) -> Worker {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
        Worker {
            state,
            registry,
            id: format!(
                "{host}:{}:{name}:{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            ),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    fn lease(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.state.settings.jobs.lease_secs.max(1) as i64)
    }

    /// Claim one job, if one is due.
    pub async fn claim(&self) -> Result<Option<JobRow>, crate::error::AppError> {
        let worker = self.id.clone();
        let lease = self.lease();
        let heavy = self.state.settings.jobs.heavy_concurrency as i64;
        self.state
            .db
            .run(move |conn| store::claim(conn, &worker, Utc::now().naive_utc(), lease, heavy))
            .await
    }

    /// The worker loop.
    pub async fn run(self, shutdown: CancellationToken) {
        let poll = Duration::from_millis(self.state.settings.jobs.poll_interval_ms.max(10));
        tracing::info!(worker = %self.id, "job worker started");
        while !shutdown.is_cancelled() {
            match self.claim().await {
                Ok(Some(job)) => self.execute(job, &shutdown).await,
                Ok(None) => {
                    tokio::select! {
                        _ = tokio::time::sleep(poll) => {}
                        _ = shutdown.cancelled() => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(worker = %self.id, error = %e, "cannot claim jobs");
                    tokio::select! {
                        _ = tokio::time::sleep(poll * 4) => {}
                        _ = shutdown.cancelled() => {}
                    }
                }
            }
        }
        tracing::info!(worker = %self.id, "job worker stopped");
    }

    /// Run one claimed job to an outcome and record it.
    #[tracing::instrument(skip_all, fields(job.id = job.id, job.kind = %job.kind, job.attempt = job.attempts))]
    pub async fn execute(&self, job: JobRow, shutdown: &CancellationToken) {
        let now = Utc::now().naive_utc();
        // A job whose leases keep expiring (its worker dies every time) is given up.
        if job.attempts > job.max_attempts {
            let id = job.id;
            let msg = format!(
                "gave up after {} attempts; last error: {}",
                job.max_attempts,
                job.last_error
                    .clone()
                    .unwrap_or_else(|| "lease expired".into())
            );
            self.record(job.kind.as_str(), "dead", move |c| {
                store::bury(c, id, now, &msg)
            })
            .await;
            return;
        }
        let Some(handler) = self.registry.handlers.get(&job.kind).cloned() else {
            let id = job.id;
            let msg = format!("no handler for job kind {:?}", job.kind);
            tracing::error!("{msg}");
            self.record(job.kind.as_str(), "dead", move |c| {
                store::bury(c, id, now, &msg)
            })
            .await;
            return;
        };

        let outcome = {
            let fut = AssertUnwindSafe(handler(self.state.clone(), job.clone())).catch_unwind();
            tokio::pin!(fut);
            let lease = self.lease();
            let beat_every = Duration::from_secs((self.state.settings.jobs.lease_secs / 3).max(1));
            let mut heartbeat =
                tokio::time::interval_at(tokio::time::Instant::now() + beat_every, beat_every);
            let grace = Duration::from_secs(self.state.settings.jobs.shutdown_grace_secs);
            let mut deadline: Option<tokio::time::Instant> = None;
            loop {
                tokio::select! {
                    res = &mut fut => {
                        break match res {
                            Ok(r) => Outcome::Finished(r),
                            Err(panic) => Outcome::Panicked(panic_message(&panic)),
                        };
                    }
                    _ = heartbeat.tick() => {
                        let (id, worker) = (job.id, self.id.clone());
                        let held = self.state.db
                            .run(move |c| store::heartbeat(c, id, &worker, Utc::now().naive_utc(), lease))
                            .await;
                        if let Ok(false) = held {
                            tracing::warn!("lost the lease on a running job");
                        }
                    }
                    _ = shutdown.cancelled(), if deadline.is_none() => {
                        tracing::info!(grace_secs = grace.as_secs(), "shutdown: finishing the job in hand");
                        deadline = Some(tokio::time::Instant::now() + grace);
                    }
                    _ = sleep_until_opt(deadline), if deadline.is_some() => {
                        break Outcome::Released;
                    }
                }
            }
        };

        let now = Utc::now().naive_utc();
        let (id, worker) = (job.id, self.id.clone());
        match outcome {
            Outcome::Finished(Ok(())) => {
                tracing::info!(job.id = id, job.kind = %job.kind, "job done");
                self.record(&job.kind, "done", move |c| {
                    store::complete(c, id, &worker, now).map(|held| {
                        if !held {
                            tracing::warn!("finished a job whose lease another worker had taken");
                        }
                    })
                })
                .await;
            }
            Outcome::Released => {
                tracing::info!("released the job in hand for another worker");
                self.record(&job.kind, "released", move |c| {
                    store::release(c, id, &worker, now).map(|_| ())
                })
                .await;
            }
            Outcome::Finished(Err(JobError::Fatal(msg))) => {
                tracing::error!(error = %msg, "job failed permanently");
                self.record(&job.kind, "dead", move |c| store::bury(c, id, now, &msg))
                    .await;
            }
            Outcome::Finished(Err(JobError::Retry(msg))) | Outcome::Panicked(msg) => {
                self.fail(&job, msg, now).await;
            }
        }
    }

    async fn fail(&self, job: &JobRow, msg: String, now: chrono::NaiveDateTime) {
        let (id, worker) = (job.id, self.id.clone());
        if job.attempts >= job.max_attempts {
            tracing::error!(error = %msg, "job failed for the last time");
            self.record(&job.kind, "dead", move |c| store::bury(c, id, now, &msg))
                .await;
        } else {
            let cfg = &self.state.settings.jobs;
            let delay = with_jitter(backoff(
                job.attempts,
                Duration::from_secs(cfg.backoff_base_secs),
                Duration::from_secs(cfg.backoff_max_secs.max(1)),
            ));
            tracing::warn!(error = %msg, retry_in_secs = delay.as_secs(), "job failed; will retry");
            let run_at = now
                + chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::hours(1));
            self.record(&job.kind, "retry", move |c| {
                store::retry_later(c, id, &worker, now, run_at, &msg).map(|_| ())
            })
            .await;
        }
    }

    async fn record<F>(&self, kind: &str, outcome: &'static str, f: F)
    where
        F: FnOnce(&mut crate::db::DbConnection) -> Result<(), crate::error::AppError>
            + Send
            + 'static,
    {
        self.state.metrics.job_outcome(kind, outcome);
        if let Err(e) = self.state.db.run(f).await {
            // The lease will expire and the job will be claimed again: at-least-once.
            tracing::error!(error = %e, outcome, "could not record the job's outcome");
        }
    }
}

async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("panicked: {detail}")
}

/// Run every job that is due now, one at a time, until none is left. For tests and
/// `cadenza admin run-jobs`. Returns how many jobs ran.
pub async fn run_pending_jobs(state: &AppState, registry: Arc<JobRegistry>) -> usize {
    let worker = Worker::new(state.clone(), registry, "inline");
    let token = CancellationToken::new();
    let mut n = 0;
    loop {
        match worker.claim().await {
            Ok(Some(job)) => {
                worker.execute(job, &token).await;
                n += 1;
            }
            Ok(None) => break,
            Err(e) => {
                tracing::error!(error = %e, "run_pending_jobs: claim failed");
                break;
            }
        }
    }
    n
}

/// Start `n` workers on the current runtime; they stop when `shutdown` is cancelled.
pub fn spawn_workers(
    state: &AppState,
    registry: Arc<JobRegistry>,
    n: usize,
    shutdown: &CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks: Vec<_> = (0..n)
        .map(|i| {
            let worker = Worker::new(state.clone(), registry.clone(), &format!("w{i}"));
            tokio::spawn(worker.run(shutdown.clone()))
        })
        .collect();
    if n > 0 {
        for (kind, payload, every) in &registry.periodic {
            tasks.push(tokio::spawn(schedule(
                state.clone(),
                kind,
                payload.clone(),
                *every,
                shutdown.clone(),
            )));
        }
    }
    tasks
}

/// Enqueue a `kind` job every `every`, unless one is still waiting or running. With
/// several processes each may enqueue one; the jobs are idempotent.
async fn schedule(
    state: AppState,
    kind: &'static str,
    payload: serde_json::Value,
    every: Duration,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.cancelled() => return,
        }
        let payload = payload.clone();
        let r = state
            .db
            .transaction(move |conn| {
                if store::has_unfinished(conn, kind)? {
                    return Ok(());
                }
                let now = chrono::Utc::now().naive_utc();
                store::enqueue(conn, kind, &payload, now, None).map(|_| ())
            })
            .await;
        if let Err(e) = r {
            tracing::warn!(kind, error = %e, "cannot schedule a periodic job");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let base = Duration::from_secs(5);
        let max = Duration::from_secs(3600);
        assert_eq!(backoff(1, base, max), Duration::from_secs(5));
        assert_eq!(backoff(2, base, max), Duration::from_secs(10));
        assert_eq!(backoff(3, base, max), Duration::from_secs(20));
        assert_eq!(backoff(10, base, max), Duration::from_secs(2560));
        assert_eq!(backoff(11, base, max), max);
        assert_eq!(backoff(1000, base, max), max);
        assert_eq!(backoff(0, base, max), base);
    }

    #[test]
    fn jitter_adds_at_most_a_tenth() {
        for _ in 0..100 {
            let d = with_jitter(Duration::from_secs(100));
            assert!(d >= Duration::from_secs(100) && d < Duration::from_secs(110));
        }
    }
}
