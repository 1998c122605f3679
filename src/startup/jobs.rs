//! The job registry every process runs: each feature's job kinds (each a `jobs::Job`:
//! a name and a typed payload), wired here (the composition root) so that the worker in
//! `jobs/` knows none of them, and the jobs enqueued on a timer.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::jobs::{Job, JobError, JobRegistry, JobRow};
use crate::mail::{Email, MailError, SEND_JOB};
use crate::state::AppState;

/// Checks the worker pipeline end to end: a probe object is written, read back and
/// deleted. `cadenza admin selftest` enqueues one and waits for it.
pub const SELFTEST_JOB: &str = "system.selftest";

/// The job kinds every Cadenza process runs, and the ones enqueued on a timer.
pub fn standard(settings: &Settings) -> JobRegistry {
    let mut r = JobRegistry::default();
    r.add::<SendMail>();
    r.add::<Selftest>();
    r.add::<crate::submissions::analysis::Analyse>();
    r.add::<crate::submissions::public_audio::RenderPublic>();
    r.add::<crate::remix::jobs::AnalyseStem>();
    r.add::<crate::remix::jobs::CheckStems>();
    r.add::<crate::remix::jobs::Landmarks>();
    r.add::<crate::judging::jobs::RenderForJudges>();
    r.add::<crate::results::jobs::Announce>();
    r.add::<crate::album::jobs::MakeRelease>();
    // Judges are reminded before a round closes; a few minutes late is fine.
    r.every::<crate::judging::jobs::Remind>(Duration::from_secs(300));
    // The fraud rules re-run over open rounds' logs; bursts are also caught as votes arrive.
    r.every::<crate::voting::audit::AuditVotes>(Duration::from_secs(120));
    if settings.uploads.sweep_interval_secs > 0 {
        r.every::<crate::submissions::sweeper::Sweep>(Duration::from_secs(
            settings.uploads.sweep_interval_secs,
        ));
    } else {
        r.add::<crate::submissions::sweeper::Sweep>();
    }
    r
}

/// Send one email (enqueued by `mail::enqueue`, below the worker, with this payload).
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct SendMail(Email);

impl Job for SendMail {
    const NAME: &'static str = SEND_JOB;

    async fn run(self, state: AppState, _job: JobRow) -> Result<(), JobError> {
        match state.mailer.send(&self.0).await {
            Ok(()) => Ok(()),
            Err(MailError::Delivery(e)) => Err(JobError::Retry(e)),
            Err(e) => Err(JobError::Fatal(e.to_string())),
        }
    }
}

/// Checks the worker pipeline end to end (see [`SELFTEST_JOB`]).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Selftest {
    /// Keep the job running this long after the checks (to exercise leases and shutdown).
    pub hold_ms: u64,
}

impl Job for Selftest {
    const NAME: &'static str = SELFTEST_JOB;

    async fn run(self, state: AppState, job: JobRow) -> Result<(), JobError> {
        selftest(state, job, self).await
    }
}

async fn selftest(state: AppState, job: JobRow, payload: Selftest) -> Result<(), JobError> {
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
