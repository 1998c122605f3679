//! The judging jobs: renditions and reminders.
//!
//! The rendition job makes a clean 16-bit WAV of an entry's audio, decoded in the limited
//! child process, with no tags, pictures or file names from the musician's file. Judges
//! only ever hear renditions, so a blind round cannot leak a name through metadata.

use serde::{Deserialize, Serialize};

use super::model::RenditionRow;
use super::service::now;
use super::store;
use crate::jobs::{Job, JobError, JobRow};
use crate::state::AppState;

/// Render the clean rendition judges hear of an upload.
#[derive(Debug, Serialize, Deserialize)]
pub struct RenderForJudges {
    pub upload_id: String,
}

impl Job for RenderForJudges {
    const NAME: &'static str = super::service::RENDER_JOB;

    async fn run(self, state: AppState, job: JobRow) -> Result<(), JobError> {
        run(state, job, self).await
    }
}

async fn run(state: AppState, _job: JobRow, p: RenderForJudges) -> Result<(), JobError> {
    let uid = p.upload_id.clone();
    let upload = state
        .db
        .run(move |conn| {
            if store::find_rendition(conn, &uid)?.is_some() {
                return Ok(None);
            }
            crate::submissions::service::find_upload(conn, &uid)
        })
        .await?;
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
        .await?;
    if !kept {
        // Another worker finished first; ours is not needed.
        let _ = state.storage.delete(&key).await;
    }
    Ok(())
}

/// Remind judges before a round closes (every five minutes).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Remind {}

impl Job for Remind {
    const NAME: &'static str = super::service::REMIND_JOB;

    async fn run(self, state: AppState, _job: JobRow) -> Result<(), JobError> {
        remind(state).await
    }
}

async fn remind(state: AppState) -> Result<(), JobError> {
    let n = super::service::remind(&state).await?;
    if n > 0 {
        tracing::info!(reminders = n, "judges reminded");
    }
    Ok(())
}
