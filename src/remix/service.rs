//! Remix rounds: the competition's remix settings, the source a remix names, what is
//! public, remix permissions, lineage and credits. Stem packs and their files are
//! `packs` (re-exported here).

/// An entry's analysis finished: its landmarks and the stem-usage checks.
pub use super::check::entry_analysed;
pub use super::packs::*;

use std::collections::HashSet;

use actix_web::http::StatusCode;

use super::model::*;
use super::store;
use crate::accounts::model::AuthUser;
use crate::competitions::model::CompetitionRow;
use crate::competitions::service as competitions;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;
use crate::submissions::model::{EntryRow, Review, Status};
use crate::submissions::service as submissions;

/// Analyse an uploaded stem.
pub const ANALYSE_JOB: &str = "stem.analyse";
/// Compare a remix with its source's stems.
pub const CHECK_JOB: &str = "remix.stem_check";
/// Fingerprint an entry's audio for remix checks (when it became a remix or a source
/// after its analysis).
pub const LANDMARKS_JOB: &str = "remix.landmarks";

pub(super) const MAX_TITLE: usize = 120;
pub(super) const MAX_LICENCE: usize = 50_000;
/// MIDI and lyrics files are small.
pub(super) const MAX_SIDE_FILE: u64 = 5 * 1024 * 1024;
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

/// Whether an entry is a public song: placed in its published competition's public
/// results (an entry out before the final is not), and not withdrawn, disqualified or
/// rejected since. The same songs the results page plays and `/api/v1/songs/{id}/audio`
/// serves.
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
    Ok(c.is_published() && competitions::in_public_results(conn, &c.id, &e.id)?)
}

/// [`is_public`] for a request: whether entry `id` is a public song.
pub async fn is_public_song(state: &AppState, id: &str) -> Result<bool, AppError> {
    let id = id.to_string();
    state
        .db
        .run(move |conn| match submissions::find_entry(conn, &id)? {
            Some(e) => is_public(conn, &e),
            None => Ok(false),
        })
        .await
}

/// A public song's entry (in published results, not withdrawn or disqualified), or 404.
pub fn public_entry(conn: &mut DbConnection, id: &str) -> Result<EntryRow, AppError> {
    let e = submissions::find_entry(conn, id)?.ok_or(AppError::NotFound)?;
    if !is_public(conn, &e)? {
        return Err(AppError::NotFound);
    }
    Ok(e)
}

pub fn song_path(id: &str) -> String {
    format!("/songs/{id}")
}

pub(super) fn song_ref(conn: &mut DbConnection, id: &str) -> Result<Option<SongRef>, AppError> {
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
        ai_use: crate::competitions::domain::ai::decode(e.ai_use.as_deref()),
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
            crate::db::audit::record(
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
