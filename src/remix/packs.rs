//! Stem packs: creating and changing a pack (title, licence, what it may be used for),
//! its files (stems, MIDI, lyrics) streamed to the store and analysed, who may see a
//! pack and its files, and deleting a file.

use actix_web::http::StatusCode;
use futures_util::StreamExt;

use super::model::*;
use super::store;
use crate::accounts::model::AuthUser;
use crate::competitions::model::CompetitionRow;
use crate::competitions::service as competitions;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;
use crate::storage::{ByteStream, StorageError};
use crate::submissions::service as submissions;

use super::service::{MAX_LICENCE, MAX_SIDE_FILE, MAX_TITLE, is_public, now, song_ref, utc};

fn apply_pack(
    conn: &mut DbConnection,
    c: &CompetitionRow,
    row: &mut StemPackRow,
    input: &StemPackInput,
) -> Result<(), AppError> {
    if let Some(t) = &input.title {
        let t = submissions::clean_text(t, MAX_TITLE, "remix.title_invalid")?;
        if t.is_empty() {
            return Err(AppError::invalid_with(
                "remix.title_invalid",
                vec![("max", MAX_TITLE.to_string())],
            ));
        }
        row.title = t;
    }
    if let Some(p) = &input.prompt_id {
        if p.is_empty() {
            row.prompt_id = None;
        } else if competitions::find_prompt(conn, p)?.is_some_and(|x| x.competition_id == c.id) {
            row.prompt_id = Some(p.clone());
        } else {
            return Err(AppError::invalid("remix.prompt_invalid"));
        }
    }
    if let Some(src) = &input.source_entry_id {
        if src.is_empty() {
            row.source_entry_id = None;
        } else {
            let e = submissions::find_entry(conn, src)?
                .ok_or_else(|| AppError::invalid("remix.source_entry_invalid"))?;
            if !is_public(conn, &e)? {
                return Err(AppError::invalid("remix.source_entry_invalid"));
            }
            row.source_entry_id = Some(e.id);
        }
    }
    if let Some(cr) = &input.credit {
        row.credit = submissions::clean_text(cr, 300, "remix.text_too_long")?;
    }
    if let Some(t) = input.tempo_bpm {
        if !(20.0..=400.0).contains(&t) {
            return Err(AppError::invalid("remix.tempo_invalid"));
        }
        row.tempo_bpm = Some((t * 100.0).round() / 100.0);
    }
    if let Some(k) = &input.musical_key {
        let k = submissions::clean_text(k, 40, "remix.text_too_long")?;
        row.musical_key = (!k.is_empty()).then_some(k);
    }
    let mut licence_changed = false;
    if let Some(n) = &input.licence_name {
        let n = submissions::clean_text(n, 200, "remix.text_too_long")?;
        licence_changed |= n != row.licence_name;
        row.licence_name = n;
    }
    if let Some(t) = &input.licence_text {
        let t = submissions::clean_text(t, MAX_LICENCE, "remix.text_too_long")?;
        licence_changed |= t != row.licence_text;
        row.licence_text = t;
    }
    if let Some(tr) = &input.translations {
        let fields = ["title", "credit", "licence_name", "licence_text"];
        let tr =
            crate::i18n::content::parse_translations(tr, c.source(), &fields, |f, v| match f {
                "title" => submissions::clean_text(v, MAX_TITLE, "remix.title_invalid"),
                "licence_text" => submissions::clean_text(v, MAX_LICENCE, "remix.text_too_long"),
                _ => submissions::clean_text(v, 300, "remix.text_too_long"),
            })?;
        let old = crate::i18n::content::Translations::from_stored(&row.translations);
        licence_changed |= crate::i18n::Locale::ALL.iter().any(|l| {
            ["licence_name", "licence_text"]
                .iter()
                .any(|f| old.get(*l, f) != tr.get(*l, f))
        });
        row.translations = tr.to_stored();
    }
    if row.licence_name.is_empty() || row.licence_text.is_empty() {
        return Err(AppError::invalid("remix.licence_required"));
    }
    if licence_changed && row.licence_version > 0 {
        row.licence_version += 1;
    }
    Ok(())
}

pub async fn create_pack(
    state: &AppState,
    who: &AuthUser,
    cid: &str,
    input: StemPackInput,
) -> Result<StemPackView, AppError> {
    let (who, cid) = (who.clone(), cid.to_string());
    state
        .db
        .transaction(move |conn| {
            let c = competitions::managed(conn, &who, &cid)?;
            if input.title.is_none() {
                return Err(AppError::invalid_with(
                    "remix.title_invalid",
                    vec![("max", MAX_TITLE.to_string())],
                ));
            }
            let now = now();
            let mut row = StemPackRow {
                id: uuid::Uuid::now_v7().simple().to_string(),
                competition_id: c.id.clone(),
                prompt_id: None,
                source_entry_id: None,
                title: String::new(),
                credit: String::new(),
                tempo_bpm: None,
                musical_key: None,
                licence_name: String::new(),
                licence_text: String::new(),
                licence_version: 0,
                created_by: who.user.id.clone(),
                created_at: now,
                updated_at: now,
                translations: "{}".into(),
            };
            apply_pack(conn, &c, &mut row, &input)?;
            row.licence_version = 1;
            store::insert_pack(conn, &row)?;
            pack_view(conn, &c, &row, Some(&who), true)
        })
        .await
}

/// A pack its competition's organiser may change.
fn managed_pack(
    conn: &mut DbConnection,
    who: &AuthUser,
    id: &str,
) -> Result<(StemPackRow, CompetitionRow), AppError> {
    let p = store::find_pack(conn, id)?.ok_or(AppError::NotFound)?;
    let c = competitions::managed(conn, who, &p.competition_id)?;
    Ok((p, c))
}

pub async fn update_pack(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    input: StemPackInput,
) -> Result<StemPackView, AppError> {
    let (who, id) = (who.clone(), id.to_string());
    state
        .db
        .transaction(move |conn| {
            let (mut p, c) = managed_pack(conn, &who, &id)?;
            apply_pack(conn, &c, &mut p, &input)?;
            p.updated_at = now();
            store::save_pack(conn, &p)?;
            pack_view(conn, &c, &p, Some(&who), true)
        })
        .await
}

/// A pack as `who` may see it: anyone once the competition is published, its organisers always.
pub(super) fn visible_pack(
    conn: &mut DbConnection,
    who: Option<&AuthUser>,
    id: &str,
) -> Result<(StemPackRow, CompetitionRow, bool), AppError> {
    let p = store::find_pack(conn, id)?.ok_or(AppError::NotFound)?;
    let c = competitions::find(conn, &p.competition_id)?.ok_or(AppError::NotFound)?;
    let organiser = who.is_some_and(|w| competitions::may_manage(w, &c));
    if !organiser && !c.is_published() {
        return Err(AppError::NotFound);
    }
    Ok((p, c, organiser))
}

fn file_view(f: &StemFileRow, organiser: bool) -> StemFileView {
    let report: Option<serde_json::Value> = f
        .report
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok());
    let num = |path: &[&str]| {
        report
            .as_ref()
            .and_then(|r| crate::submissions::model::report_value(r, path))
            .and_then(|v| v.as_f64())
    };
    StemFileView {
        id: f.id.clone(),
        kind: f.kind.clone(),
        name: f.name.clone(),
        file_name: f.file_name.clone(),
        size_bytes: f.size_bytes,
        status: f.status.clone(),
        duration_secs: num(&["format", "duration_secs"]),
        integrated_lufs: num(&["loudness", "integrated_lufs"]),
        true_peak_dbtp: num(&["peaks", "true_peak_dbtp"]),
        sample_rate: num(&["format", "sample_rate"]).map(|v| v as u32),
        analysis_error: f.analysis_error.clone(),
        downloads: organiser.then_some(f.downloads),
    }
}

pub(super) fn pack_view(
    conn: &mut DbConnection,
    c: &CompetitionRow,
    p: &StemPackRow,
    who: Option<&AuthUser>,
    organiser: bool,
) -> Result<StemPackView, AppError> {
    let files = store::files_of(conn, &p.id)?
        .iter()
        .map(|f| file_view(f, organiser))
        .collect();
    let accepted = match who {
        Some(w) => store::has_accepted(conn, &p.id, &w.user.id, &p.licence_tag())?,
        None => false,
    };
    let source_entry = match &p.source_entry_id {
        Some(id) => song_ref(conn, id)?,
        None => None,
    };
    Ok(StemPackView {
        id: p.id.clone(),
        competition_id: c.id.clone(),
        competition_slug: c.slug.clone(),
        competition_title: c.title.clone(),
        prompt_id: p.prompt_id.clone(),
        title: p.title.clone(),
        credit: p.credit.clone(),
        tempo_bpm: p.tempo_bpm,
        musical_key: p.musical_key.clone(),
        source_entry,
        licence_name: p.licence_name.clone(),
        licence_text: p.licence_text.clone(),
        licence_version: p.licence_version,
        translations: crate::i18n::content::Translations::from_stored(&p.translations),
        licence_accepted: accepted,
        files,
        acceptances: if organiser {
            Some(store::acceptances(conn, &p.id, &p.licence_tag())?)
        } else {
            None
        },
        created_at: utc(p.created_at),
        updated_at: utc(p.updated_at),
    })
}

pub async fn get_pack(
    state: &AppState,
    who: Option<&AuthUser>,
    id: &str,
) -> Result<StemPackView, AppError> {
    let (who, id) = (who.cloned(), id.to_string());
    state
        .db
        .run(move |conn| {
            let (p, c, organiser) = visible_pack(conn, who.as_ref(), &id)?;
            pack_view(conn, &c, &p, who.as_ref(), organiser)
        })
        .await
}

/// The packs of a competition (by slug or id).
pub async fn packs(
    state: &AppState,
    who: Option<&AuthUser>,
    cid: &str,
) -> Result<Vec<StemPackView>, AppError> {
    let c = competitions::public_view(state, who, cid).await?;
    let (who, id) = (who.cloned(), c.id);
    state
        .db
        .run(move |conn| {
            let c = competitions::find(conn, &id)?.ok_or(AppError::NotFound)?;
            let organiser = who
                .as_ref()
                .is_some_and(|w| competitions::may_manage(w, &c));
            store::packs_of(conn, &c.id)?
                .iter()
                .map(|p| pack_view(conn, &c, p, who.as_ref(), organiser))
                .collect()
        })
        .await
}

/// What a pack file's upload says about itself.
pub struct FileMeta {
    pub kind: String,
    pub name: String,
    pub file_name: String,
    pub content_length: Option<u64>,
}

/// Store a file of a pack; a stem is checked to be audio and queued for analysis.
pub async fn upload_file(
    state: &AppState,
    who: &AuthUser,
    pack_id: &str,
    meta: FileMeta,
    body: ByteStream,
) -> Result<StemFileView, AppError> {
    let kind = KINDS
        .iter()
        .find(|k| **k == meta.kind)
        .copied()
        .ok_or_else(|| AppError::invalid("remix.file_kind_invalid"))?;
    let name = submissions::clean_text(&meta.name, 80, "remix.text_too_long")?;
    let file_name = crate::media::sanitise_file_name(&meta.file_name);
    let name = if name.is_empty() {
        file_name.clone()
    } else {
        name
    };
    let max = if kind == STEM {
        state.settings.uploads.max_bytes
    } else {
        MAX_SIDE_FILE
    };
    if meta.content_length.is_some_and(|n| n > max) {
        return Err(AppError::PayloadTooLarge { limit: max });
    }
    {
        let (who, id) = (who.clone(), pack_id.to_string());
        state
            .db
            .run(move |conn| managed_pack(conn, &who, &id).map(|_| ()))
            .await?;
    }
    let (head, rest) = crate::http::body::peek(body, 64).await?;
    let content_type = match kind {
        STEM => {
            crate::media::check_audio_head(&head)?;
            crate::media::audio_mime(&head)
        }
        MIDI => {
            if !head.starts_with(b"MThd") {
                return Err(AppError::Refused {
                    status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    code: "remix.midi_invalid",
                    params: vec![],
                });
            }
            "audio/midi"
        }
        // Lyrics are checked whole once stored (UTF-8 may be cut at 64 bytes).
        _ => "text/plain; charset=utf-8",
    };
    let key = format!("stems/{}", uuid::Uuid::new_v4().simple());
    let first: ByteStream = Box::pin(futures_util::stream::once(async move { Ok(head) }));
    let stream: ByteStream = Box::pin(first.chain(rest));
    let stored = state
        .storage
        .put_stream(&key, stream, "application/octet-stream", Some(max))
        .await
        .map_err(|e| match e {
            e @ StorageError::Source(_) => crate::http::body::interrupted(&e),
            other => other.into(),
        })?;
    if kind == LYRICS {
        // Lyrics must be text a musician's editor opens.
        let bytes = state.storage.read_small(&key, MAX_SIDE_FILE as usize).await;
        if !bytes
            .as_deref()
            .is_ok_and(|b| std::str::from_utf8(b).is_ok())
        {
            let _ = state.storage.delete(&key).await;
            return Err(AppError::Refused {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code: "remix.lyrics_invalid",
                params: vec![],
            });
        }
    }
    let (who2, id) = (who.clone(), pack_id.to_string());
    let key2 = key.clone();
    let saved = state
        .db
        .transaction(move |conn| {
            let (p, _) = managed_pack(conn, &who2, &id)?;
            let now = now();
            let row = StemFileRow {
                id: uuid::Uuid::now_v7().simple().to_string(),
                pack_id: p.id.clone(),
                kind: kind.into(),
                name,
                file_name,
                object_key: key2,
                content_type: content_type.into(),
                size_bytes: stored.size as i64,
                sha256: stored.sha256.clone(),
                status: if kind == STEM { PENDING } else { READY }.into(),
                report: None,
                analysis_error: None,
                downloads: 0,
                created_at: now,
                analysed_at: None,
            };
            store::insert_file(conn, &row)?;
            if kind == STEM {
                crate::jobs::enqueue(
                    conn,
                    &super::jobs::AnalyseStem {
                        file_id: row.id.clone(),
                    },
                    now,
                    None,
                )?;
            }
            Ok(file_view(&row, true))
        })
        .await;
    if saved.is_err() {
        let _ = state.storage.delete(&key).await;
    }
    saved
}

pub async fn delete_file(state: &AppState, who: &AuthUser, id: &str) -> Result<(), AppError> {
    let (who, id) = (who.clone(), id.to_string());
    let key = state
        .db
        .transaction(move |conn| {
            let f = store::find_file(conn, &id)?.ok_or(AppError::NotFound)?;
            managed_pack(conn, &who, &f.pack_id)?;
            store::delete_file(conn, &f.id)?;
            Ok(f.object_key)
        })
        .await?;
    // The row is gone; a failed delete leaves an orphan for the sweeper.
    let _ = state.storage.delete(&key).await;
    Ok(())
}
