//! Remix rounds: stem packs and their licence, signed downloads, the source a remix
//! names, remix permissions, lineage and credits.

use std::collections::HashSet;

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
use crate::submissions::model::{EntryRow, Review, Status};
use crate::submissions::service as submissions;

/// Analyse an uploaded stem.
pub const ANALYSE_JOB: &str = "stem.analyse";
/// Compare a remix with its source's stems.
pub const CHECK_JOB: &str = "remix.stem_check";
/// Fingerprint an entry's audio for remix checks (when it became a remix or a source
/// after its analysis).
pub const LANDMARKS_JOB: &str = "remix.landmarks";

const MAX_TITLE: usize = 120;
const MAX_LICENCE: usize = 50_000;
/// MIDI and lyrics files are small.
const MAX_SIDE_FILE: u64 = 5 * 1024 * 1024;
/// How far up a lineage is followed (a guard; sources are always older, so no cycles).
const MAX_DEPTH: usize = 32;

pub use crate::time::now;

pub(super) use crate::time::utc;

// ---- settings ----

pub fn sources_required(conn: &mut DbConnection, cid: &str) -> Result<bool, AppError> {
    Ok(store::settings(conn, cid)?.is_some_and(|s| s.sources_required))
}

pub async fn put_settings(
    state: &AppState,
    who: &AuthUser,
    cid: &str,
    input: RemixSettingsInput,
) -> Result<RemixSettingsView, AppError> {
    let (who, cid) = (who.clone(), cid.to_string());
    state
        .db
        .transaction(move |conn| {
            let c = competitions::managed(conn, &who, &cid)?;
            store::put_settings(
                conn,
                &RemixSettingsRow {
                    competition_id: c.id.clone(),
                    sources_required: input.sources_required,
                    updated_at: now(),
                },
            )?;
            Ok(RemixSettingsView {
                competition_id: c.id,
                sources_required: input.sources_required,
            })
        })
        .await
}

pub async fn settings_view(
    state: &AppState,
    who: Option<&AuthUser>,
    cid: &str,
) -> Result<RemixSettingsView, AppError> {
    let c = competitions::public_view(state, who, cid).await?;
    let id = c.id.clone();
    let required = state
        .db
        .run(move |conn| sources_required(conn, &id))
        .await?;
    Ok(RemixSettingsView {
        competition_id: c.id,
        sources_required: required,
    })
}

// ---- stem packs ----

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
    let file_name = crate::submissions::upload::sanitise_file_name(&meta.file_name);
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
    let (head, rest) = crate::submissions::upload::peek(body, 64).await?;
    let content_type = match kind {
        STEM => {
            crate::submissions::upload::check_head(&head)?;
            crate::submissions::upload::mime_of(&head)
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
                crate::jobs::store::enqueue(
                    conn,
                    ANALYSE_JOB,
                    &serde_json::json!({ "file_id": row.id }),
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

// ---- sources ----

/// A source a remix may name, checked.
#[derive(Debug, Clone)]
pub enum Source {
    Pack(String),
    Entry(String),
}

/// Check what a new or changed entry names as its source (`None` when it names none);
/// refuse a missing source in a remix competition.
pub fn resolve_source(
    conn: &mut DbConnection,
    c: &CompetitionRow,
    musician: &str,
    input: Option<&SourceInput>,
) -> Result<Option<Source>, AppError> {
    let input = match input {
        Some(i) if i.stem_pack_id.is_some() || i.entry_id.is_some() => i,
        _ => {
            if sources_required(conn, &c.id)? {
                return Err(AppError::invalid("remix.source_required"));
            }
            return Ok(None);
        }
    };
    match (&input.stem_pack_id, &input.entry_id) {
        (Some(p), None) => {
            let p = store::find_pack(conn, p)?
                .filter(|p| p.competition_id == c.id)
                .ok_or_else(|| AppError::invalid("remix.source_pack_invalid"))?;
            if !store::has_accepted(conn, &p.id, musician, &p.licence_tag())? {
                return Err(AppError::refused(
                    StatusCode::FORBIDDEN,
                    "remix.licence_not_accepted",
                ));
            }
            Ok(Some(Source::Pack(p.id)))
        }
        (None, Some(e)) => {
            let e = submissions::find_entry(conn, e)?
                .ok_or_else(|| AppError::invalid("remix.source_entry_invalid"))?;
            if !is_public(conn, &e)? {
                return Err(AppError::invalid("remix.source_entry_invalid"));
            }
            let perm = store::permission(conn, &e.id)?
                .filter(|p| p.allowed)
                .ok_or_else(|| AppError::refused(StatusCode::FORBIDDEN, "remix.not_allowed"))?;
            if e.musician_id != musician
                && !store::has_accepted(conn, &e.id, musician, &perm.licence)?
            {
                return Err(AppError::refused(
                    StatusCode::FORBIDDEN,
                    "remix.licence_not_accepted",
                ));
            }
            Ok(Some(Source::Entry(e.id)))
        }
        _ => Err(AppError::invalid("remix.source_ambiguous")),
    }
}

/// Record an entry's source (in the caller's transaction) and check it again if the
/// entry's audio is analysed.
pub fn record_source(
    conn: &mut DbConnection,
    entry_id: &str,
    source: Source,
) -> Result<(), AppError> {
    let now = now();
    let (pack_id, source_entry_id) = match source {
        Source::Pack(p) => (Some(p), None),
        Source::Entry(e) => (None, Some(e)),
    };
    let source_entry = source_entry_id.clone();
    store::put_source(
        conn,
        &SourceRow {
            entry_id: entry_id.to_string(),
            pack_id,
            source_entry_id,
            created_at: now,
        },
    )?;
    // The source song is compared as one stem: it needs landmarks too.
    if let Some(src) = source_entry
        && store::landmarks(conn, &src)?.is_none()
    {
        super::check::ensure_landmarks(conn, &src)?;
    }
    super::check::ensure_landmarks(conn, entry_id)
}

/// Remove an entry's source (refused in a remix competition).
pub fn clear_source(
    conn: &mut DbConnection,
    c: &CompetitionRow,
    entry_id: &str,
) -> Result<(), AppError> {
    if sources_required(conn, &c.id)? {
        return Err(AppError::invalid("remix.source_required"));
    }
    store::delete_source(conn, entry_id)
}

pub fn source_view(
    conn: &mut DbConnection,
    entry_id: &str,
) -> Result<Option<SourceView>, AppError> {
    let Some(s) = store::source_of(conn, entry_id)? else {
        return Ok(None);
    };
    Ok(Some(source_of_row(conn, &s)?))
}

fn source_of_row(conn: &mut DbConnection, s: &SourceRow) -> Result<SourceView, AppError> {
    if let Some(p) = &s.pack_id
        && let Some(p) = store::find_pack(conn, p)?
    {
        let c = competitions::find(conn, &p.competition_id)?.ok_or(AppError::NotFound)?;
        return Ok(SourceView {
            kind: "stem_pack".into(),
            stem_pack: Some(PackRef {
                id: p.id,
                title: p.title,
                credit: p.credit,
                competition_title: c.title,
                competition_slug: c.slug,
            }),
            entry: None,
        });
    }
    if let Some(e) = &s.source_entry_id
        && let Some(r) = song_ref(conn, e)?
    {
        return Ok(SourceView {
            kind: "entry".into(),
            stem_pack: None,
            entry: Some(r),
        });
    }
    Ok(SourceView {
        kind: "removed".into(),
        stem_pack: None,
        entry: None,
    })
}

// ---- what is public ----

/// Whether an entry is public: its competition published with results out, and the
/// entry not withdrawn, disqualified or rejected.
pub fn is_public(conn: &mut DbConnection, e: &EntryRow) -> Result<bool, AppError> {
    if e.withdrawn_at.is_some()
        || e.review == Review::Disqualified.as_str()
        || !matches!(
            Status::parse(&e.status),
            Some(Status::Accepted | Status::NeedsAttention)
        )
    {
        return Ok(false);
    }
    let Some(c) = competitions::find(conn, &e.competition_id)? else {
        return Ok(false);
    };
    Ok(c.is_published() && crate::judging::results::is_published(conn, &c.id)?)
}

pub(super) fn public_entry(conn: &mut DbConnection, id: &str) -> Result<EntryRow, AppError> {
    let e = submissions::find_entry(conn, id)?.ok_or(AppError::NotFound)?;
    if !is_public(conn, &e)? {
        return Err(AppError::NotFound);
    }
    Ok(e)
}

pub fn song_path(id: &str) -> String {
    format!("/songs/{id}")
}

fn song_ref(conn: &mut DbConnection, id: &str) -> Result<Option<SongRef>, AppError> {
    let Some(e) = submissions::find_entry(conn, id)? else {
        return Ok(None);
    };
    let Some(c) = competitions::find(conn, &e.competition_id)? else {
        return Ok(None);
    };
    let names =
        crate::accounts::service::display_names(conn, std::slice::from_ref(&e.musician_id))?;
    let public = is_public(conn, &e)?;
    Ok(Some(SongRef {
        url: public.then(|| song_path(&e.id)),
        musician: names.get(&e.musician_id).cloned().unwrap_or_default(),
        id: e.id,
        title: e.title,
        competition_title: c.title,
        competition_slug: c.slug,
    }))
}

// ---- permissions ----

fn permission_view(row: Option<PermissionRow>, entry_id: &str, owner: bool) -> PermissionView {
    match row {
        Some(p) => PermissionView {
            entry_id: entry_id.to_string(),
            allowed: p.allowed,
            licence_url: p.allowed.then(|| licence_url(&p.licence)).flatten(),
            licence: p.allowed.then_some(p.licence),
            downloads: owner.then_some(p.downloads),
        },
        None => PermissionView {
            entry_id: entry_id.to_string(),
            allowed: false,
            licence: None,
            licence_url: None,
            downloads: owner.then_some(0),
        },
    }
}

pub fn licence_url(id: &str) -> Option<String> {
    LICENCES
        .iter()
        .find(|(l, _)| *l == id)
        .map(|(_, u)| u.to_string())
        .filter(|u| u.starts_with("https://"))
}

/// The musician opens (or closes) a song to remixes, once its competition's results are out.
pub async fn set_permission(
    state: &AppState,
    who: &AuthUser,
    entry_id: &str,
    input: PermissionInput,
) -> Result<PermissionView, AppError> {
    let (who, id) = (who.clone(), entry_id.to_string());
    state
        .db
        .transaction(move |conn| {
            let e = submissions::find_entry(conn, &id)?.ok_or(AppError::NotFound)?;
            if e.musician_id != who.user.id {
                return Err(AppError::NotFound);
            }
            if !is_public(conn, &e)? {
                return Err(AppError::Conflict {
                    code: "remix.results_not_published",
                });
            }
            let old = store::permission(conn, &e.id)?;
            let licence = match (&input.licence, input.allowed) {
                (Some(l), _) if LICENCES.iter().any(|(x, _)| x == l) => l.clone(),
                (Some(_), _) => return Err(AppError::invalid("remix.licence_invalid")),
                (None, true) => return Err(AppError::invalid("remix.licence_invalid")),
                (None, false) => old.as_ref().map(|o| o.licence.clone()).unwrap_or_default(),
            };
            let row = PermissionRow {
                entry_id: e.id.clone(),
                allowed: input.allowed,
                licence,
                downloads: old.as_ref().map_or(0, |o| o.downloads),
                updated_at: now(),
            };
            store::put_permission(conn, &row)?;
            if row.allowed {
                super::check::ensure_landmarks(conn, &e.id)?;
            }
            crate::accounts::service::audit(
                conn,
                Some(&who.user.id),
                "entry.remix_permission",
                &e.id,
                &serde_json::json!({ "allowed": row.allowed, "licence": row.licence }),
                row.updated_at,
            )?;
            Ok(permission_view(Some(row), &e.id, true))
        })
        .await
}

// ---- lineage and credits ----

/// The lineage of an entry: public entries for everyone; an unpublished one for its
/// musician and organisers.
pub async fn lineage(
    state: &AppState,
    who: Option<&AuthUser>,
    entry_id: &str,
) -> Result<LineageView, AppError> {
    let (who, id) = (who.cloned(), entry_id.to_string());
    state
        .db
        .run(move |conn| {
            let e = submissions::find_entry(conn, &id)?.ok_or(AppError::NotFound)?;
            let owner = who.as_ref().is_some_and(|w| w.user.id == e.musician_id);
            if !is_public(conn, &e)? {
                match &who {
                    Some(w) => {
                        submissions::viewer_of(conn, w, &e)?;
                    }
                    None => return Err(AppError::NotFound),
                }
            }
            lineage_of(conn, &e, owner)
        })
        .await
}

pub fn lineage_of(
    conn: &mut DbConnection,
    e: &EntryRow,
    owner: bool,
) -> Result<LineageView, AppError> {
    // Up: the chain of sources, and who to credit.
    let mut ancestors = Vec::new();
    let mut credits: Vec<Credit> = Vec::new();
    let mut seen: HashSet<String> = HashSet::from([e.id.clone()]);
    let mut cur = store::source_of(conn, &e.id)?;
    while let Some(s) = cur.take() {
        if ancestors.len() >= MAX_DEPTH {
            break;
        }
        let view = source_of_row(conn, &s)?;
        ancestors.push(view.clone());
        let next_entry = match (&view.stem_pack, &view.entry) {
            (Some(p), _) => {
                if !p.credit.is_empty() {
                    credits.push(Credit {
                        role: "stems".into(),
                        name: p.credit.clone(),
                        work: p.title.clone(),
                        entry_id: None,
                    });
                }
                store::find_pack(conn, &p.id)?.and_then(|p| p.source_entry_id)
            }
            (None, Some(r)) => Some(r.id.clone()),
            _ => None,
        };
        let Some(next) = next_entry else { break };
        if !seen.insert(next.clone()) {
            break;
        }
        if let Some(r) = song_ref(conn, &next)? {
            credits.push(Credit {
                role: "remix".into(),
                name: r.musician.clone(),
                work: r.title.clone(),
                entry_id: Some(r.id.clone()),
            });
            // A pack made from a song continues the chain through the song.
            if view.stem_pack.is_some() {
                ancestors.push(SourceView {
                    kind: "entry".into(),
                    stem_pack: None,
                    entry: Some(r),
                });
            }
        }
        cur = store::source_of(conn, &next)?;
    }
    // The last song credited is where it all began.
    if let Some(last) = credits.iter_mut().rev().find(|c| c.entry_id.is_some()) {
        last.role = "original".into();
    }
    credits.reverse();
    let mut unique: Vec<Credit> = Vec::new();
    for c in credits {
        if !unique.contains(&c) {
            unique.push(c);
        }
    }
    // Down: public remixes, through packs made from the song too.
    let remixed_by = descendants(conn, &e.id, &mut seen, 0)?;
    let permission = if is_public(conn, e)? || owner {
        Some(permission_view(
            store::permission(conn, &e.id)?,
            &e.id,
            owner,
        ))
    } else {
        None
    };
    Ok(LineageView {
        entry_id: e.id.clone(),
        remix_of: ancestors.first().cloned(),
        ancestors,
        remixed_by,
        credits: unique,
        permission,
    })
}

fn descendants(
    conn: &mut DbConnection,
    id: &str,
    seen: &mut HashSet<String>,
    depth: usize,
) -> Result<Vec<LineageNode>, AppError> {
    if depth >= MAX_DEPTH {
        return Ok(Vec::new());
    }
    let mut ids = store::remixes_of(conn, id)?;
    for p in store::packs_from_entry(conn, id)? {
        ids.extend(store::remixes_of_pack(conn, &p)?);
    }
    let found = submissions::find_entries(conn, &ids)?;
    let mut out = Vec::new();
    for rid in ids {
        let Some(r) = found.get(&rid) else { continue };
        if !seen.insert(rid.clone()) || !is_public(conn, r)? {
            continue;
        }
        let Some(song) = song_ref(conn, &rid)? else {
            continue;
        };
        let remix_licence = store::permission(conn, &rid)?
            .filter(|p| p.allowed)
            .map(|p| p.licence);
        out.push(LineageNode {
            song,
            remix_licence,
            remixed_by: descendants(conn, &rid, seen, depth + 1)?,
        });
    }
    Ok(out)
}

/// Name, change or (with `None`) remove an entry's source while the musician may
/// still change the entry.
pub async fn set_source(
    state: &AppState,
    who: &AuthUser,
    entry_id: &str,
    input: Option<SourceInput>,
) -> Result<Option<SourceView>, AppError> {
    let (who, id) = (who.clone(), entry_id.to_string());
    state
        .db
        .transaction(move |conn| {
            let (e, c) = submissions::own_editable(conn, &who, &id)?;
            match input {
                Some(i) => match resolve_source(conn, &c, &e.musician_id, Some(&i))? {
                    Some(s) => record_source(conn, &e.id, s)?,
                    None => clear_source(conn, &c, &e.id)?,
                },
                None => clear_source(conn, &c, &e.id)?,
            }
            source_view(conn, &e.id)
        })
        .await
}

/// A public song and its lineage (404 unless its competition's results are out).
pub async fn public_song(
    state: &AppState,
    who: Option<&AuthUser>,
    id: &str,
) -> Result<(SongRef, LineageView), AppError> {
    let (who, id) = (who.cloned(), id.to_string());
    state
        .db
        .run(move |conn| {
            let e = public_entry(conn, &id)?;
            let owner = who.as_ref().is_some_and(|w| w.user.id == e.musician_id);
            let song = song_ref(conn, &e.id)?.ok_or(AppError::NotFound)?;
            Ok((song, lineage_of(conn, &e, owner)?))
        })
        .await
}

/// Object keys of pack files (the sweeper keeps them).
pub fn file_keys(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    store::file_keys(conn)
}

/// Remove the landmarks kept for an entry whose audio is gone.
pub fn forget_landmarks(conn: &mut DbConnection, entry_id: &str) -> Result<(), AppError> {
    store::delete_landmarks(conn, entry_id)
}
