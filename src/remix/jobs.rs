//! The remix jobs: analyse a stem (the same sandboxed engine as entries), and compare a
//! remix with its source's stems.

use serde::{Deserialize, Serialize};

use super::model::{ANALYSED, FAILED, PENDING};
use super::{service, store};
use crate::audio::sandbox::analyze_isolated;
use crate::engine::{copy_to_temp, sandbox_config};
use crate::jobs::{Job, JobError, JobRow, retry};
use crate::state::AppState;

/// Analyse an uploaded stem.
#[derive(Debug, Serialize, Deserialize)]
pub struct AnalyseStem {
    pub file_id: String,
}

/// Compare a remix with its source's stems.
#[derive(Debug, Serialize, Deserialize)]
pub struct CheckStems {
    pub entry_id: String,
}

/// Fingerprint an entry's audio for remix checks.
#[derive(Debug, Serialize, Deserialize)]
pub struct Landmarks {
    pub entry_id: String,
}

impl Job for AnalyseStem {
    const NAME: &'static str = service::ANALYSE_JOB;

    async fn run(self, state: AppState, job: JobRow) -> Result<(), JobError> {
        analyse(state, job, self).await
    }
}

async fn analyse(state: AppState, _job: JobRow, p: AnalyseStem) -> Result<(), JobError> {
    let id = p.file_id.clone();
    let file = state
        .db
        .run(move |conn| store::find_file(conn, &id))
        .await
        .map_err(retry("loading the stem"))?;
    let Some(file) = file.filter(|f| f.status == PENDING) else {
        return Ok(());
    };
    let tmp = copy_to_temp(&state, &file.object_key).await?;
    let result = analyze_isolated(&sandbox_config(&state), tmp.path()).await;
    drop(tmp);
    if let Err(crate::audio::AnalysisError::Crashed(m)) = &result
        && m.starts_with("cannot start the analyser")
    {
        return Err(JobError::Retry(m.clone()));
    }
    state
        .db
        .transaction(move |conn| {
            let Some(mut f) = store::find_file(conn, &p.file_id)? else {
                return Ok(());
            };
            let now = service::now();
            match &result {
                Ok(report) => {
                    let mut stored = report.clone();
                    stored.fingerprint = None;
                    let lm = stored.landmarks.take();
                    f.report = Some(
                        serde_json::to_string(&stored).map_err(crate::error::AppError::internal)?,
                    );
                    f.status = ANALYSED.into();
                    f.analysis_error = None;
                    if let Some(lm) = lm {
                        store::put_landmarks(conn, &f.id, &lm.data, now)?;
                    }
                }
                Err(e) => {
                    f.status = FAILED.into();
                    f.analysis_error = Some(e.code().to_string());
                }
            }
            f.analysed_at = Some(now);
            store::save_file(conn, &f)?;
            super::check::recheck_pack(conn, &f.pack_id)
        })
        .await
        .map_err(retry("saving the stem's report"))
}

/// Fingerprint an analysed entry's audio (it became a remix, or a source).
impl Job for Landmarks {
    const NAME: &'static str = service::LANDMARKS_JOB;

    async fn run(self, state: AppState, job: JobRow) -> Result<(), JobError> {
        entry_landmarks(state, job, self).await
    }
}

async fn entry_landmarks(state: AppState, _job: JobRow, p: Landmarks) -> Result<(), JobError> {
    let id = p.entry_id.clone();
    let upload = state
        .db
        .run(move |conn| {
            let Some(e) = crate::submissions::service::find_entry(conn, &id)? else {
                return Ok(None);
            };
            match e.upload_id {
                Some(u) => crate::submissions::service::find_upload(conn, &u),
                None => Ok(None),
            }
        })
        .await
        .map_err(retry("loading the entry"))?;
    let Some(upload) = upload else { return Ok(()) };
    let tmp = copy_to_temp(&state, &upload.object_key).await?;
    let result = analyze_isolated(&sandbox_config(&state), tmp.path()).await;
    drop(tmp);
    let report = match result {
        Ok(r) => r,
        Err(crate::audio::AnalysisError::Crashed(m))
            if m.starts_with("cannot start the analyser") =>
        {
            return Err(JobError::Retry(m));
        }
        Err(e) => {
            tracing::info!(entry = %p.entry_id, error = %e, "no landmarks: the audio cannot be analysed");
            return Ok(());
        }
    };
    let Some(lm) = report.landmarks else {
        return Ok(());
    };
    state
        .db
        .transaction(move |conn| {
            // Still the audio in force?
            let current = crate::submissions::service::find_entry(conn, &p.entry_id)?
                .and_then(|e| e.upload_id);
            if current.as_deref() != Some(upload.id.as_str()) {
                return Ok(());
            }
            store::put_landmarks(conn, &p.entry_id, &lm.data, service::now())?;
            super::check::after_landmarks(conn, &p.entry_id)
        })
        .await
        .map_err(retry("saving landmarks"))
}

impl Job for CheckStems {
    const NAME: &'static str = service::CHECK_JOB;

    async fn run(self, state: AppState, job: JobRow) -> Result<(), JobError> {
        check(state, job, self).await
    }
}

async fn check(state: AppState, _job: JobRow, p: CheckStems) -> Result<(), JobError> {
    let v = state
        .db
        .run(move |conn| super::check::check_now(conn, &p.entry_id))
        .await
        .map_err(retry("checking stems"))?;
    if let Some(v) = v {
        tracing::info!(entry = %v.entry_id, status = %v.status,
            detected = v.stems.iter().filter(|s| s.detected).count(), "stem check finished");
    }
    Ok(())
}
