//! The remix jobs: analyse a stem (the same sandboxed engine as entries), and compare a
//! remix with its source's stems.

use serde::Deserialize;

use super::model::{ANALYSED, FAILED, PENDING};
use super::{service, store};
use crate::audio::sandbox::analyze_isolated;
use crate::engine::{copy_to_temp, sandbox_config};
use crate::jobs::{JobError, JobRow};
use crate::state::AppState;

#[derive(Deserialize)]
struct StemPayload {
    file_id: String,
}

#[derive(Deserialize)]
struct CheckPayload {
    entry_id: String,
}

fn retry(what: &str) -> impl FnOnce(crate::error::AppError) -> JobError + '_ {
    move |e| JobError::Retry(format!("{what}: {e}"))
}

pub async fn analyse(state: AppState, job: JobRow) -> Result<(), JobError> {
    let p: StemPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobError::Fatal(format!("bad stem payload: {e}")))?;
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
pub async fn entry_landmarks(state: AppState, job: JobRow) -> Result<(), JobError> {
    let p: CheckPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobError::Fatal(format!("bad landmarks payload: {e}")))?;
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

pub async fn check(state: AppState, job: JobRow) -> Result<(), JobError> {
    let p: CheckPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobError::Fatal(format!("bad check payload: {e}")))?;
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
