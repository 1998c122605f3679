//! Making an album's release: each agreed track's FLAC and MP3 (at the album's
//! loudness, never limited: brought only as far as the true-peak ceiling allows,
//! measured again on the encoded files) in the limited child, then the ZIP of them all
//! with the cover and the credits. Tracks whose files are up to date are kept.

use std::io::Write as _;
use std::path::Path;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::model::*;
use super::service::{Loaded, current_digest, load};
use super::store;
use crate::audio::release::{CEILING_DBTP, ReleaseOutput, release_gain};
use crate::audio::sandbox::release_isolated;
use crate::competitions::service as competitions;
use crate::engine::{copy_to_temp, sandbox_config};
use crate::i18n::Locale;
use crate::jobs::{Job, JobError, JobRow};
use crate::state::AppState;
use crate::storage::ByteStream;

pub const RELEASE_JOB: &str = "album.release";

/// Make (or bring up to date) an album's release files and ZIP.
#[derive(Debug, Serialize, Deserialize)]
pub struct MakeRelease {
    pub competition_id: String,
}

impl Job for MakeRelease {
    const NAME: &'static str = RELEASE_JOB;

    async fn run(self, state: AppState, _job: JobRow) -> Result<(), JobError> {
        let id = self.competition_id.clone();
        match make(&state, &self.competition_id).await {
            Err(JobError::Fatal(why)) => {
                tracing::warn!(competition = %id, %why, "album release failed");
                let w = why.clone();
                state
                    .db
                    .run(move |conn| {
                        if let Some(mut a) = store::find(conn, &id)? {
                            a.release_state = "failed".into();
                            a.release_error = Some(w.chars().take(500).collect());
                            store::save(conn, &a)?;
                        }
                        Ok(())
                    })
                    .await?;
                Err(JobError::Fatal(why))
            }
            other => other,
        }
    }
}

fn fatal(e: impl std::fmt::Display) -> JobError {
    JobError::Fatal(e.to_string())
}

fn retry(e: impl std::fmt::Display) -> JobError {
    JobError::Retry(e.to_string())
}

/// A track to encode: its loaded state and where its audio is stored.
struct Work {
    loaded: Loaded,
    source_key: String,
    lufs: f64,
    peak: f64,
}

async fn make(state: &AppState, id: &str) -> Result<(), JobError> {
    let cid = id.to_string();
    let found = state
        .db
        .run(move |conn| {
            let Some(c) = competitions::find(conn, &cid)? else {
                return Ok(None);
            };
            let Some(a) = store::find(conn, &cid)? else {
                return Ok(None);
            };
            let loaded = load(conn, &c, &a)?;
            let digest = current_digest(&a, &loaded);
            let mut work = Vec::new();
            for l in loaded
                .into_iter()
                .filter(|l| l.agreement == Agreement::Agreed)
            {
                let upload = l
                    .entry
                    .upload_id
                    .as_deref()
                    .and_then(|u| crate::submissions::service::find_upload(conn, u).transpose())
                    .transpose()?;
                let report: Option<serde_json::Value> = l
                    .entry
                    .report
                    .as_deref()
                    .and_then(|r| serde_json::from_str(r).ok());
                let num = |a: &str, b: &str| report.as_ref().and_then(|r| r[a][b].as_f64());
                work.push(Work {
                    source_key: upload.map(|u| u.object_key).unwrap_or_default(),
                    lufs: num("loudness", "integrated_lufs").unwrap_or(f64::NAN),
                    peak: num("peaks", "true_peak_dbtp").unwrap_or(f64::NAN),
                    loaded: l,
                });
            }
            Ok(Some((c, a, digest, work)))
        })
        .await?;
    let Some((c, a, digest, work)) = found else {
        return Ok(());
    };
    let tmp_root = state.settings.data_dir.join("tmp");
    tokio::fs::create_dir_all(&tmp_root).await.map_err(retry)?;
    let cover = cover_jpeg(state, &a, &c).await;
    let mut made = Vec::new();
    for w in &work {
        let release = match w.loaded.track.release_files() {
            Some(r) if r.of == w.loaded.digest => r,
            old => {
                let r = encode(state, &a, &c.id, w, cover.as_deref(), &tmp_root).await?;
                let (cid, eid, rj) = (
                    c.id.clone(),
                    w.loaded.entry.id.clone(),
                    serde_json::to_string(&r).map_err(fatal)?,
                );
                state
                    .db
                    .run(move |conn| {
                        if let Some(mut t) = store::tracks(conn, &cid)?
                            .into_iter()
                            .find(|t| t.entry_id == eid)
                        {
                            t.release = Some(rj);
                            store::save_track(conn, &t)?;
                        }
                        Ok(())
                    })
                    .await?;
                if let Some(old) = old {
                    let _ = state.storage.delete(&old.flac.key).await;
                    let _ = state.storage.delete(&old.mp3.key).await;
                }
                r
            }
        };
        made.push((w, release));
    }
    let (zip_key, size) = zip_release(state, &a, &made, cover.as_deref(), &tmp_root).await?;
    let (cid, k) = (c.id.clone(), zip_key.clone());
    let old = state
        .db
        .run(move |conn| {
            let Some(mut a) = store::find(conn, &cid)? else {
                return Ok(None);
            };
            let old = a.release_key.replace(k);
            a.release_state = "ready".into();
            a.release_of = Some(digest);
            a.release_size = Some(size as i64);
            a.release_error = None;
            store::save(conn, &a)?;
            Ok(old)
        })
        .await?;
    if let Some(old) = old.filter(|o| *o != zip_key) {
        let _ = state.storage.delete(&old).await;
    }
    tracing::info!(competition = %c.id, tracks = made.len(), "album release ready");
    Ok(())
}

/// The cover as a 600-pixel JPEG for the tags (the album's, else the competition's).
async fn cover_jpeg(
    state: &AppState,
    a: &AlbumRow,
    c: &crate::competitions::model::CompetitionRow,
) -> Option<Vec<u8>> {
    let key = a.cover_key.clone().or_else(|| c.cover_key.clone())?;
    let bytes = state
        .storage
        .read_small(&key, competitions::MAX_IMAGE_BYTES)
        .await
        .ok()?;
    tokio::task::spawn_blocking(move || crate::media::picture::render(&bytes, 600).ok())
        .await
        .ok()
        .flatten()
        .map(|(b, _)| b)
}

/// Encode one track: the gain from its report, then again with the encoders' overshoot
/// taken off when the measured true peak passes the ceiling.
async fn encode(
    state: &AppState,
    a: &AlbumRow,
    cid: &str,
    w: &Work,
    cover: Option<&[u8]>,
    tmp_root: &Path,
) -> Result<TrackRelease, JobError> {
    if !w.lufs.is_finite() || !w.peak.is_finite() || w.source_key.is_empty() {
        return Err(fatal(format!(
            "“{}” has no loudness measurement (its analysis did not finish)",
            w.loaded.entry.title
        )));
    }
    let src = copy_to_temp(state, &w.source_key).await?;
    let dir = tempfile::tempdir_in(tmp_root).map_err(retry)?;
    let tags_path = dir.path().join("tags.json");
    std::fs::write(
        &tags_path,
        serde_json::to_vec(&w.loaded.tags).map_err(fatal)?,
    )
    .map_err(retry)?;
    let cover_path = dir.path().join("cover.jpg");
    if let Some(c) = cover {
        std::fs::write(&cover_path, c).map_err(retry)?;
    }
    let cfg = sandbox_config(state);
    let wanted = a.target_lufs - w.lufs;
    let mut headroom = 0.0;
    let mut result: Option<(f64, ReleaseOutput)> = None;
    for _ in 0..3 {
        let g = release_gain(w.lufs, w.peak, a.target_lufs, CEILING_DBTP, headroom);
        let out = release_isolated(
            &cfg,
            src.path(),
            dir.path(),
            g.gain_db,
            &tags_path,
            cover.is_some().then_some(cover_path.as_path()),
        )
        .await
        .map_err(|e| {
            if e.is_transient() {
                retry(&e)
            } else {
                fatal(&e)
            }
        })?;
        let peak = [out.flac.true_peak_dbtp, out.mp3.true_peak_dbtp]
            .into_iter()
            .flatten()
            .fold(f64::NEG_INFINITY, f64::max);
        let over = peak - CEILING_DBTP;
        result = Some((g.gain_db, out));
        if over <= 0.0 {
            break;
        }
        // The encoders (MP3 above all) raise the peaks a little: make room for it.
        headroom += over + 0.05;
    }
    let Some((gain, out)) = result else {
        return Err(fatal("no release was made"));
    };
    let peak_limited = gain < wanted - 0.05;
    let flac = store_file(state, cid, &out.flac, "flac", "audio/flac").await?;
    let mp3 = store_file(state, cid, &out.mp3, "mp3", "audio/mpeg").await?;
    Ok(TrackRelease {
        of: w.loaded.digest.clone(),
        gain_db: gain,
        peak_limited,
        duration_secs: out.mp3.duration_secs,
        flac,
        mp3,
    })
}

async fn store_file(
    state: &AppState,
    cid: &str,
    f: &crate::audio::release::EncodedFile,
    ext: &str,
    content_type: &str,
) -> Result<ReleaseFile, JobError> {
    let key = format!("albums/{cid}/{}.{ext}", uuid::Uuid::new_v4().simple());
    let size_bytes = store_file_at(state, &key, &f.path, content_type).await?;
    Ok(ReleaseFile {
        key,
        size_bytes,
        integrated_lufs: f.integrated_lufs.map(|v| (v * 100.0).round() / 100.0),
        true_peak_dbtp: f.true_peak_dbtp.map(|v| (v * 100.0).round() / 100.0),
    })
}

/// The credits in words, both languages: what a listener of the ZIP reads.
fn credits_text(a: &AlbumRow, made: &[(&Work, TrackRelease)]) -> String {
    let mut s = String::new();
    for l in [Locale::En, Locale::ZhCn] {
        s.push_str(&format!("{} — {} ({})\n", a.title, a.artist, a.year));
        if !a.description.is_empty() {
            s.push_str(&format!("\n{}\n", a.description));
        }
        for (w, r) in made {
            let t = &w.loaded.tags;
            s.push_str(&format!("\n{:02}. {} — {}\n", t.track, t.title, t.artist));
            if !t.composers.is_empty() {
                s.push_str(&format!(
                    "   {}: {}\n",
                    l.t("album.composers"),
                    t.composers.join(", ")
                ));
            }
            if !w.loaded.track.producer.is_empty() {
                s.push_str(&format!(
                    "   {}: {}\n",
                    l.t("album.producer"),
                    w.loaded.track.producer
                ));
            }
            if !t.comment.is_empty() {
                s.push_str(&format!("   {}\n", t.comment.replace('\n', "\n   ")));
            }
            if let Some(v) = r.mp3.integrated_lufs {
                let key = if r.peak_limited {
                    "album.level_peak_limited"
                } else {
                    "album.level_target"
                };
                s.push_str(&format!(
                    "   {}\n",
                    l.tf(key, &[("lufs", &format!("{v:.1}"))])
                ));
            }
            if !t.lyrics.is_empty() {
                s.push_str(&format!("\n{}\n", t.lyrics));
            }
        }
        s.push_str("\n\n");
    }
    s
}

async fn zip_release(
    state: &AppState,
    a: &AlbumRow,
    made: &[(&Work, TrackRelease)],
    cover: Option<&[u8]>,
    tmp_root: &Path,
) -> Result<(String, u64), JobError> {
    let mut parts = Vec::new();
    for (w, r) in made {
        let t = &w.loaded.tags;
        for (folder, f, ext) in [("FLAC", &r.flac, "flac"), ("MP3", &r.mp3, "mp3")] {
            let tmp = copy_to_temp(state, &f.key).await?;
            let name = super::domain::file_name(t.track as usize, &t.artist, &t.title, ext);
            parts.push((format!("{folder}/{name}"), tmp));
        }
    }
    let credits = credits_text(a, made);
    let cover = cover.map(<[u8]>::to_vec);
    let out = tempfile::NamedTempFile::new_in(tmp_root).map_err(retry)?;
    let file = out.reopen().map_err(retry)?;
    tokio::task::spawn_blocking(move || -> Result<(), JobError> {
        let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
        let text = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(true);
        zip.start_file("credits.txt", text).map_err(fatal)?;
        zip.write_all(credits.as_bytes()).map_err(retry)?;
        if let Some(c) = cover {
            zip.start_file("cover.jpg", stored).map_err(fatal)?;
            zip.write_all(&c).map_err(retry)?;
        }
        for (path, tmp) in parts {
            zip.start_file(path, stored).map_err(fatal)?;
            let mut src = std::fs::File::open(tmp.path()).map_err(retry)?;
            std::io::copy(&mut src, &mut zip).map_err(retry)?;
        }
        zip.finish().map_err(fatal)?.flush().map_err(retry)?;
        Ok(())
    })
    .await
    .map_err(retry)??;
    let key = format!(
        "albums/{}/{}.zip",
        a.competition_id,
        uuid::Uuid::new_v4().simple()
    );
    let size = store_file_at(state, &key, out.path(), "application/zip").await?;
    Ok((key, size))
}

async fn store_file_at(
    state: &AppState,
    key: &str,
    path: &Path,
    content_type: &str,
) -> Result<u64, JobError> {
    let file = tokio::fs::File::open(path).await.map_err(retry)?;
    let body: ByteStream = Box::pin(
        tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024)
            .map(|r| r.map_err(|e| crate::storage::StorageError::Source(e.to_string()))),
    );
    Ok(state
        .storage
        .put_stream(key, body, content_type, None)
        .await
        .map_err(retry)?
        .size)
}
