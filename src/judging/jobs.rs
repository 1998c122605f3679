//! The judging jobs: renditions and reminders.
//!
//! The rendition job makes a clean 16-bit WAV of an entry's audio, decoded in the limited
//! child process, with no tags, pictures or file names from the musician's file. Judges
//! only ever hear renditions, so a blind round cannot leak a name through metadata.

use serde::Deserialize;

use super::model::RenditionRow;
use super::service::now;
use super::store;
use crate::jobs::{JobError, JobRow};
use crate::state::AppState;

#[derive(Deserialize)]
struct Payload {
    upload_id: String,
}

pub async fn run(state: AppState, job: JobRow) -> Result<(), JobError> {
    let p: Payload = serde_json::from_str(&job.payload)
        .map_err(|e| JobError::Fatal(format!("bad render payload: {e}")))?;
    let uid = p.upload_id.clone();
    let upload = state
        .db
        .run(move |conn| {
            if store::find_rendition(conn, &uid)?.is_some() {
                return Ok(None);
            }
            crate::submissions::service::find_upload(conn, &uid)
        })
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    let Some(upload) = upload else { return Ok(()) };
    let (key, size) =
        crate::submissions::service::render_to_store(&state, &upload.object_key, 0.0).await?;
    let (k, uid) = (key.clone(), p.upload_id.clone());
    let kept = state
        .db
        .transaction(move |conn| {
            if store::find_rendition(conn, &uid)?.is_some() {
                return Ok(false);
            }
            store::insert_rendition(
                conn,
                &RenditionRow {
                    upload_id: uid,
                    object_key: k,
                    size_bytes: size as i64,
                    created_at: now(),
                },
            )?;
            Ok(true)
        })
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    if !kept {
        // Another worker finished first; ours is not needed.
        let _ = state.storage.delete(&key).await;
    }
    Ok(())
}

pub async fn remind(state: AppState, _job: JobRow) -> Result<(), JobError> {
    let n = super::service::remind(&state)
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    if n > 0 {
        tracing::info!(reminders = n, "judges reminded");
    }
    Ok(())
}
