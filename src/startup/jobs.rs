//! The job registry every process runs: each feature's job kinds, wired here (the
//! composition root) so that the queue in `jobs/` knows none of them, and the jobs
//! enqueued on a timer.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use serde::Deserialize;

use crate::config::Settings;
use crate::jobs::{JobError, JobRegistry, JobRow};
use crate::mail::{Email, MailError, SEND_JOB};
use crate::state::AppState;

/// Checks the worker pipeline end to end: a probe object is written, read back and
/// deleted. `cadenza admin selftest` enqueues one and waits for it.
pub const SELFTEST_JOB: &str = "system.selftest";

/// The job kinds every Cadenza process runs, and the ones enqueued on a timer.
pub fn standard(settings: &Settings) -> JobRegistry {
    let mut r = JobRegistry::default();
    register(&mut r);
    for (kind, every) in periodic(settings) {
        r.every(kind, every);
    }
    r
}

fn register(r: &mut JobRegistry) {
    use crate::submissions::{analysis, sweeper, upload::ANALYSE_JOB};
    r.register(SEND_JOB, |state, job| Box::pin(send_mail(state, job)));
    r.register(SELFTEST_JOB, |state, job| Box::pin(selftest(state, job)));
    r.register(ANALYSE_JOB, |state, job| {
        Box::pin(analysis::run(state, job))
    });
    r.register(crate::remix::service::ANALYSE_JOB, |state, job| {
        Box::pin(crate::remix::jobs::analyse(state, job))
    });
    r.register(crate::remix::service::CHECK_JOB, |state, job| {
        Box::pin(crate::remix::jobs::check(state, job))
    });
    r.register(crate::remix::service::LANDMARKS_JOB, |state, job| {
        Box::pin(crate::remix::jobs::entry_landmarks(state, job))
    });
    r.register(sweeper::SWEEP_JOB, |state, job| {
        Box::pin(sweeper::run(state, job))
    });
    r.register(
        crate::submissions::public_audio::PUBLIC_RENDER_JOB,
        |state, job| Box::pin(crate::submissions::public_audio::run(state, job)),
    );
    r.register(crate::judging::service::RENDER_JOB, |state, job| {
        Box::pin(crate::judging::jobs::run(state, job))
    });
    r.register(crate::results::service::ANNOUNCE_JOB, |state, job| {
        Box::pin(crate::results::jobs::announce(state, job))
    });
    r.register(crate::judging::service::REMIND_JOB, |state, job| {
        Box::pin(crate::judging::jobs::remind(state, job))
    });
    r.register(crate::voting::service::AUDIT_JOB, |state, _job| {
        Box::pin(async move {
            crate::voting::service::audit_job(&state)
                .await
                .map(|_| ())
                .map_err(|e| JobError::Retry(e.to_string()))
        })
    });
}

/// Jobs enqueued on a timer by processes that run workers.
fn periodic(settings: &Settings) -> Vec<(&'static str, Duration)> {
    // Judges are reminded before a round closes; a few minutes late is fine.
    let mut out = vec![(
        crate::judging::service::REMIND_JOB,
        Duration::from_secs(300),
    )];
    // The fraud rules re-run over open rounds' logs; bursts are also caught as votes arrive.
    out.push((crate::voting::service::AUDIT_JOB, Duration::from_secs(120)));
    if settings.uploads.sweep_interval_secs > 0 {
        out.push((
            crate::submissions::sweeper::SWEEP_JOB,
            Duration::from_secs(settings.uploads.sweep_interval_secs),
        ));
    }
    out
}

async fn send_mail(state: AppState, job: JobRow) -> Result<(), JobError> {
    let email: Email = serde_json::from_str(&job.payload)
        .map_err(|e| JobError::Fatal(format!("bad mail payload: {e}")))?;
    match state.mailer.send(&email).await {
        Ok(()) => Ok(()),
        Err(MailError::Delivery(e)) => Err(JobError::Retry(e)),
        Err(e) => Err(JobError::Fatal(e.to_string())),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SelftestPayload {
    /// Keep the job running this long after the checks (to exercise leases and shutdown).
    hold_ms: u64,
}

async fn selftest(state: AppState, job: JobRow) -> Result<(), JobError> {
    let payload: SelftestPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobError::Fatal(format!("bad selftest payload: {e}")))?;
    let key = format!("system/selftest/{}", uuid::Uuid::new_v4().simple());
    let body = Bytes::from(format!("cadenza selftest job {}", job.id));
    state
        .storage
        .put_bytes(&key, body.clone(), "text/plain")
        .await
        .map_err(|e| JobError::Retry(format!("storage put: {e}")))?;
    let mut got = Vec::new();
    let mut obj = state
        .storage
        .get(&key, None)
        .await
        .map_err(|e| JobError::Retry(format!("storage get: {e}")))?;
    while let Some(chunk) = obj.body.next().await {
        got.extend_from_slice(&chunk.map_err(|e| JobError::Retry(format!("storage read: {e}")))?);
    }
    state
        .storage
        .delete(&key)
        .await
        .map_err(|e| JobError::Retry(format!("storage delete: {e}")))?;
    if got != body {
        return Err(JobError::Retry("storage returned different bytes".into()));
    }
    if payload.hold_ms > 0 {
        tokio::time::sleep(Duration::from_millis(payload.hold_ms)).await;
    }
    tracing::info!(job.id = job.id, "selftest passed");
    Ok(())
}
