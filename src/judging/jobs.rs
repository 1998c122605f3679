//! The judging jobs: renditions, reminders and the results announcement.
//!
//! The rendition job makes a clean 16-bit WAV of an entry's audio, decoded in the limited
//! child process, with no tags, pictures or file names from the musician's file. Judges
//! only ever hear renditions, so a blind round cannot leak a name through metadata.

use futures_util::StreamExt;
use serde::Deserialize;

use super::model::RenditionRow;
use super::service::now;
use super::store;
use crate::audio::sandbox::render_isolated;
use crate::jobs::{JobError, JobRow};
use crate::startup::AppState;
use crate::storage::ByteStream;

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
    let src = crate::submissions::analysis::copy_to_temp(&state, &upload.object_key).await?;
    let out = tempfile::NamedTempFile::new_in(state.settings.data_dir.join("tmp"))
        .map_err(|e| JobError::Retry(format!("temp file: {e}")))?;
    let cfg = crate::submissions::analysis::sandbox_config(&state);
    render_isolated(&cfg, src.path(), out.path())
        .await
        .map_err(|e| {
            if e.is_transient() {
                JobError::Retry(e.to_string())
            } else {
                JobError::Fatal(e.to_string())
            }
        })?;
    drop(src);
    let key = format!("renditions/{}.wav", uuid::Uuid::new_v4().simple());
    let file = tokio::fs::File::open(out.path())
        .await
        .map_err(|e| JobError::Retry(format!("rendition: {e}")))?;
    let body: ByteStream = Box::pin(
        tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024)
            .map(|r| r.map_err(|e| crate::storage::StorageError::Source(e.to_string()))),
    );
    let put = state
        .storage
        .put_stream(&key, body, "audio/wav", None)
        .await
        .map_err(|e| JobError::Retry(format!("storing the rendition: {e}")))?;
    drop(out);
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
                    size_bytes: put.size as i64,
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

#[derive(Deserialize)]
struct AnnouncePayload {
    competition_id: String,
    publish_at: chrono::DateTime<chrono::Utc>,
}

pub async fn announce(state: AppState, job: JobRow) -> Result<(), JobError> {
    let p: AnnouncePayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobError::Fatal(format!("bad announcement payload: {e}")))?;
    let n = super::results::announce(&state, &p.competition_id, p.publish_at.naive_utc())
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    tracing::info!(competition = %p.competition_id, emails = n, "results announced");
    Ok(())
}
