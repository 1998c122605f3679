//! Public renditions: the only audio of an entry that listeners outside the panel are
//! sent (vote galleries, song pages, results). Each is a clean 16-bit WAV made in the
//! limited child process — no tags, pictures or file names from the musician's upload,
//! which for a minor could carry a real name or a contact — and loudness-matched to
//! [`crate::audio::gain::REFERENCE_LUFS`] within the track's true-peak headroom, so no
//! song wins the crowd by being louder. The original stays with the musician and the
//! organisers.
//!
//! Renditions are requested when an entry is put to a public vote or into results;
//! [`render_to_store`] is also how judging makes the judges' copies.

use chrono::NaiveDateTime;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::model::{EntryRow, PublicRenditionRow, report_value};
use super::playback::{Audio, Fetched, Unsatisfiable, parse_range};
use super::store;
use crate::audio::gain::playback_gain;
use crate::audio::sandbox::render_isolated;
use crate::db::DbConnection;
use crate::engine::{copy_to_temp, sandbox_config};
use crate::error::AppError;
use crate::jobs::{Job, JobError, JobRow};
use crate::state::AppState;
use crate::storage::ByteStream;

pub const PUBLIC_RENDER_JOB: &str = "audio.public_rendition";

/// The gain that brings an entry's audio to the reference loudness, from its report.
pub fn gain_of(e: &EntryRow) -> f64 {
    let report: Option<serde_json::Value> = e
        .report
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok());
    let num = |path: &[&str]| {
        report
            .as_ref()
            .and_then(|r| report_value(r, path))
            .and_then(|v| v.as_f64())
    };
    playback_gain(
        num(&["loudness", "integrated_lufs"]),
        num(&["peaks", "true_peak_dbtp"]),
    )
}

/// Queue the public rendition of these entries' audio where it is missing.
pub fn request(
    conn: &mut DbConnection,
    entries: &[EntryRow],
    now: NaiveDateTime,
) -> Result<(), AppError> {
    for e in entries {
        if let Some(u) = &e.upload_id
            && store::find_public_rendition(conn, u)?.is_none()
        {
            crate::jobs::enqueue(
                conn,
                &RenderPublic {
                    upload_id: u.clone(),
                },
                now,
                None,
            )?;
        }
    }
    Ok(())
}

/// Whether the public rendition of `upload_id` is ready.
pub fn ready(conn: &mut DbConnection, upload_id: &str) -> Result<bool, AppError> {
    Ok(store::find_public_rendition(conn, upload_id)?.is_some())
}

/// Object keys of the public renditions (the sweeper keeps them).
pub fn keys(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    store::public_rendition_keys(conn)
}

/// Render the stored object `source_key` in the limited child (scaled by `gain_db`)
/// and store the WAV under `renditions/`. Returns the new key and its size.
pub async fn render_to_store(
    state: &AppState,
    source_key: &str,
    gain_db: f64,
) -> Result<(String, u64), JobError> {
    let src = copy_to_temp(state, source_key).await?;
    let out = tempfile::NamedTempFile::new_in(state.settings.data_dir.join("tmp"))
        .map_err(|e| JobError::Retry(format!("temp file: {e}")))?;
    let cfg = sandbox_config(state);
    render_isolated(&cfg, src.path(), out.path(), gain_db)
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
    Ok((key, put.size))
}

/// Render an upload's clean public rendition (`entry.public_render`).
#[derive(Debug, Serialize, Deserialize)]
pub struct RenderPublic {
    pub upload_id: String,
}

/// The public rendition job.
impl Job for RenderPublic {
    const NAME: &'static str = PUBLIC_RENDER_JOB;

    async fn run(self, state: AppState, job: JobRow) -> Result<(), JobError> {
        run(state, job, self).await
    }
}

async fn run(state: AppState, _job: JobRow, p: RenderPublic) -> Result<(), JobError> {
    let uid = p.upload_id.clone();
    let found = state
        .db
        .run(move |conn| {
            if store::find_public_rendition(conn, &uid)?.is_some() {
                return Ok(None);
            }
            let Some(u) = store::find_upload(conn, &uid)? else {
                return Ok(None);
            };
            let e = store::find_entry(conn, &u.entry_id)?;
            Ok(e.map(|e| (u, gain_of(&e))))
        })
        .await?;
    let Some((upload, gain)) = found else {
        return Ok(());
    };
    let (key, size) = render_to_store(&state, &upload.object_key, gain).await?;
    let (k, uid) = (key.clone(), p.upload_id);
    let kept = state
        .db
        .transaction(move |conn| {
            if store::find_public_rendition(conn, &uid)?.is_some() {
                return Ok(false);
            }
            store::insert_public_rendition(
                conn,
                &PublicRenditionRow {
                    upload_id: uid,
                    object_key: k,
                    size_bytes: size as i64,
                    gain_cdb: (gain * 100.0).round() as i32,
                    created_at: super::service::now(),
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

/// The public rendition of `upload_id` (or the requested range of it), named
/// `title.wav`. 409 `audio.preparing` until it is made.
pub async fn fetch(
    state: &AppState,
    upload_id: &str,
    title: &str,
    range: Option<&str>,
) -> Result<Fetched, AppError> {
    let uid = upload_id.to_string();
    let row = state
        .db
        .run(move |conn| store::find_public_rendition(conn, &uid))
        .await?
        .ok_or(AppError::Conflict {
            code: "audio.preparing",
        })?;
    let size = row.size_bytes.max(0) as u64;
    let range = match parse_range(range, size) {
        Ok(r) => r,
        Err(Unsatisfiable) => return Ok(Fetched::BadRange(size)),
    };
    let object = state.storage.get(&row.object_key, range).await?;
    Ok(Fetched::Audio(Audio {
        object,
        file_name: format!("{title}.wav"),
        content_type: "audio/wav".into(),
    }))
}
