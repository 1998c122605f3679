//! The album's use cases: assembling it from the published results, the musicians' and
//! guardians' agreements, preparing and publishing the release, and what the public
//! album page, its player and its download may show (only agreed tracks, ever).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use chrono::Datelike;

use super::domain;
use super::model::*;
use super::store;
use crate::accounts::model::{AuthUser, UserRow};
use crate::competitions::model::CompetitionRow;
use crate::competitions::service as competitions;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::results::model::Standing;
use crate::state::AppState;
use crate::submissions::model::{Credits, EntryRow};
use crate::submissions::service as submissions;
use crate::time::now;

pub use super::model::Agreement;

/// How long a download link works.
pub const LINK_SECS: i64 = 600;

fn refused(code: &'static str) -> AppError {
    AppError::Conflict { code }
}

/// The published results of `c` in order, or `album.results_not_published`.
fn standings(conn: &mut DbConnection, c: &CompetitionRow) -> Result<Vec<Standing>, AppError> {
    crate::results::service::published_standings(conn, &c.id)?
        .ok_or_else(|| refused("album.results_not_published"))
}

/// A track as it stands: the entry, its musician, and the agreement.
pub(super) struct Loaded {
    pub track: TrackRow,
    pub entry: EntryRow,
    pub musician: Option<UserRow>,
    pub consent: Option<ConsentRow>,
    pub agreement: Agreement,
    pub minor: bool,
    pub tags: crate::audio::release::ReleaseTags,
    pub digest: String,
}

/// Everything about an album's tracks, in order.
pub(super) fn load(
    conn: &mut DbConnection,
    c: &CompetitionRow,
    a: &AlbumRow,
) -> Result<Vec<Loaded>, AppError> {
    let tracks = store::tracks(conn, &c.id)?;
    let consents: HashMap<String, ConsentRow> = store::consents(conn, &c.id)?
        .into_iter()
        .map(|x| (x.entry_id.clone(), x))
        .collect();
    let prompts: HashMap<String, String> = competitions::prompts_of(conn, &c.id)?
        .into_iter()
        .map(|p| (p.id.clone(), p.title))
        .collect();
    let today = now().date();
    // First who agreed: the released album numbers only those tracks.
    let mut rows = Vec::with_capacity(tracks.len());
    for t in tracks {
        let Some(entry) = submissions::find_entry(conn, &t.entry_id)? else {
            continue;
        };
        let musician = crate::accounts::service::find_user(conn, &entry.musician_id)?;
        let minor = musician.as_ref().is_none_or(|u| u.is_minor(today));
        let consent = consents.get(&t.entry_id).cloned();
        let agreement = domain::agreement(consent.as_ref(), a.terms_version, minor);
        rows.push((t, entry, musician, consent, agreement, minor));
    }
    let total = rows.iter().filter(|r| r.4 == Agreement::Agreed).count();
    let mut number = 0;
    let mut out = Vec::with_capacity(rows.len());
    for (t, entry, musician, consent, agreement, minor) in rows {
        if agreement == Agreement::Agreed {
            number += 1;
        }
        let composers = t.composer_list();
        let ai = crate::competitions::domain::ai::describe(
            Locale::En,
            crate::competitions::domain::ai::decode(entry.ai_use.as_deref()).as_deref(),
        );
        let inspired = entry.prompt_id.as_ref().and_then(|p| prompts.get(p));
        let tags = domain::tags(&domain::TagSource {
            album_title: &a.title,
            album_artist: &a.artist,
            year: a.year,
            number,
            total,
            title: &entry.title,
            artist: &t.artist,
            composers: &composers,
            lyrics: &t.lyrics,
            inspired_by: inspired.map(String::as_str),
            ai: ai.as_deref(),
        });
        let digest = domain::track_digest(
            entry.upload_id.as_deref().unwrap_or(""),
            &tags,
            a.cover_key.as_deref(),
            a.target_lufs,
        );
        out.push(Loaded {
            track: t,
            entry,
            musician,
            consent,
            agreement,
            minor,
            tags,
            digest,
        });
    }
    Ok(out)
}

/// The digest of the release as the album stands: its agreed tracks and the terms.
pub(super) fn current_digest(a: &AlbumRow, loaded: &[Loaded]) -> String {
    let digests: Vec<String> = loaded
        .iter()
        .filter(|l| l.agreement == Agreement::Agreed)
        .map(|l| l.digest.clone())
        .collect();
    domain::album_digest(&digests, a.terms_version)
}

/// Whether the ready release was made from the album as it stands.
pub(super) fn release_fresh(a: &AlbumRow, loaded: &[Loaded]) -> bool {
    a.release_state == "ready"
        && a.release_of.as_deref() == Some(current_digest(a, loaded).as_str())
}

/// The album's cover, or the competition's when it has none.
pub(super) fn cover_url(a: &AlbumRow, c: &CompetitionRow) -> Option<String> {
    match &a.cover_key {
        Some(k) => Some(crate::media::picture::url(
            &format!("/images/albums/{}", c.id),
            k,
        )),
        None => c
            .cover_key
            .as_ref()
            .map(|k| crate::media::picture::url(&format!("/images/competitions/{}", c.id), k)),
    }
}

pub fn public_path(c: &CompetitionRow) -> String {
    format!("/c/{}/album", c.slug)
}

fn view(conn: &mut DbConnection, c: &CompetitionRow, a: &AlbumRow) -> Result<AlbumView, AppError> {
    let loaded = load(conn, c, a)?;
    let results = standings(conn, c).unwrap_or_default();
    let places: HashMap<String, usize> = results
        .iter()
        .map(|s| (s.entry_id.clone(), s.placing.place))
        .collect();
    let on: std::collections::HashSet<&str> = loaded.iter().map(|l| l.entry.id.as_str()).collect();
    let candidates = results
        .into_iter()
        .filter(|s| !on.contains(s.entry_id.as_str()))
        .map(|s| Candidate {
            place: Some(s.placing.place),
            entry_id: s.entry_id,
            title: s.title,
            musician: s.musician,
        })
        .collect();
    let fresh = release_fresh(a, &loaded);
    let tracks: Vec<TrackView> = loaded
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let r = l.track.release_files();
            let current = r.as_ref().filter(|r| r.of == l.digest).cloned();
            TrackView {
                entry_id: l.entry.id.clone(),
                number: i + 1,
                title: l.entry.title.clone(),
                artist: l.track.artist.clone(),
                composers: l.track.composer_list(),
                producer: l.track.producer.clone(),
                lyrics: l.track.lyrics.clone(),
                agreement: l.agreement,
                minor: l.minor,
                release_stale: r.is_some() && current.is_none(),
                release: current,
                place: places.get(&l.entry.id).copied(),
            }
        })
        .collect();
    Ok(AlbumView {
        competition_id: c.id.clone(),
        competition_slug: c.slug.clone(),
        title: a.title.clone(),
        artist: a.artist.clone(),
        year: a.year,
        description: a.description.clone(),
        cover_url: cover_url(a, c),
        terms: a.terms.clone(),
        terms_version: a.terms_version,
        target_lufs: a.target_lufs,
        ceiling_dbtp: crate::audio::release::CEILING_DBTP,
        public_download: a.public_download,
        published_at: a.published_at.map(|t| t.and_utc()),
        waiting: tracks
            .iter()
            .filter(|t| t.agreement != Agreement::Agreed)
            .count(),
        tracks,
        candidates,
        release_state: a.release_state.clone(),
        release_fresh: fresh,
        release_error: a.release_error.clone(),
        release_size: a.release_size,
        downloads: a.downloads,
        public_url: public_path(c),
    })
}

/// The album of competition `id` as its organiser sees it (404 `album.none` before it
/// is started).
pub async fn organiser_view(
    state: &AppState,
    who: &AuthUser,
    id: &str,
) -> Result<AlbumView, AppError> {
    competitions::with_managed(state, who, id, move |conn, _, c| {
        let a = store::find(conn, &c.id)?
            .ok_or_else(|| AppError::refused(StatusCode::NOT_FOUND, "album.none"))?;
        view(conn, &c, &a)
    })
    .await
}

/// A track's credits from its entry: the stage name, co-writers, producer, lyrics.
fn default_track(c: &CompetitionRow, e: &EntryRow, musician: &str, position: i32) -> TrackRow {
    let credits: Credits = serde_json::from_str(&e.credits).unwrap_or_default();
    let mut composers = vec![musician.to_string()];
    composers.extend(
        credits
            .co_writers
            .iter()
            .filter(|w| !w.trim().is_empty())
            .cloned(),
    );
    TrackRow {
        competition_id: c.id.clone(),
        entry_id: e.id.clone(),
        position,
        artist: musician.to_string(),
        composers: serde_json::to_string(&composers).unwrap_or_else(|_| "[]".into()),
        producer: credits.producer,
        lyrics: e.lyrics.clone(),
        release: None,
    }
}

fn text(raw: &str, max: usize, code: &'static str, required: bool) -> Result<String, AppError> {
    let t = submissions::clean_text(raw, max, code)?;
    if required && t.is_empty() {
        return Err(AppError::invalid_with(code, vec![("max", max.to_string())]));
    }
    Ok(t)
}

/// Start or change the album of competition `id`. Starting needs published results;
/// the first time, the tracks are the results in order with the entries' credits.
pub async fn put(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    input: AlbumInput,
) -> Result<AlbumView, AppError> {
    competitions::with_managed(state, who, id, move |conn, who, c| {
        let standings = standings(conn, &c)?;
        let now = now();
        let l = Locale::parse(&who.user.locale).unwrap_or_default();
        let mut a = match store::find(conn, &c.id)? {
            Some(a) => a,
            None => {
                let a = AlbumRow {
                    competition_id: c.id.clone(),
                    title: c.title_in(l),
                    artist: c.title_in(l),
                    year: now.year(),
                    description: String::new(),
                    cover_key: None,
                    terms: l.t("album.default_terms").to_string(),
                    terms_version: 1,
                    target_lufs: crate::audio::release::DEFAULT_TARGET_LUFS,
                    public_download: false,
                    published_at: None,
                    release_state: "none".into(),
                    release_of: None,
                    release_key: None,
                    release_size: None,
                    release_error: None,
                    downloads: 0,
                    created_at: now,
                    updated_at: now,
                };
                store::insert(conn, &a)?;
                let mut rows = Vec::new();
                for (i, s) in standings.iter().enumerate() {
                    if let Some(e) = submissions::find_entry(conn, &s.entry_id)? {
                        rows.push(default_track(&c, &e, &s.musician, i as i32));
                    }
                }
                store::replace_tracks(conn, &c.id, &rows)?;
                a
            }
        };
        apply(conn, &c, &mut a, &standings, &input)?;
        a.updated_at = now;
        store::save(conn, &a)?;
        view(conn, &c, &a)
    })
    .await
}

fn apply(
    conn: &mut DbConnection,
    c: &CompetitionRow,
    a: &mut AlbumRow,
    standings: &[Standing],
    input: &AlbumInput,
) -> Result<(), AppError> {
    use domain::*;
    if let Some(t) = &input.title {
        a.title = text(t, MAX_TITLE, "album.title_invalid", true)?;
    }
    if let Some(t) = &input.artist {
        a.artist = text(t, MAX_TITLE, "album.artist_invalid", true)?;
    }
    if let Some(y) = input.year {
        if !(1900..=2200).contains(&y) {
            return Err(AppError::invalid("album.year_invalid"));
        }
        a.year = y;
    }
    if let Some(d) = &input.description {
        a.description = text(d, MAX_DESCRIPTION, "album.text_too_long", false)?;
    }
    if let Some(t) = &input.terms {
        let t = text(t, MAX_TERMS, "album.terms_invalid", true)?;
        if t != a.terms {
            // Everyone agrees again to what the terms now say.
            a.terms = t;
            a.terms_version += 1;
        }
    }
    if let Some(t) = input.target_lufs {
        if !t.is_finite() || !TARGET_RANGE.contains(&t) {
            return Err(AppError::invalid_with(
                "album.target_invalid",
                vec![
                    ("min", format!("{}", TARGET_RANGE.start())),
                    ("max", format!("{}", TARGET_RANGE.end())),
                ],
            ));
        }
        a.target_lufs = (t * 10.0).round() / 10.0;
    }
    if let Some(p) = input.public_download {
        a.public_download = p;
    }
    if let Some(list) = &input.tracks {
        let old: HashMap<String, TrackRow> = store::tracks(conn, &c.id)?
            .into_iter()
            .map(|t| (t.entry_id.clone(), t))
            .collect();
        let mut seen = std::collections::HashSet::new();
        let mut rows = Vec::with_capacity(list.len());
        for (i, t) in list.iter().enumerate() {
            let Some(s) = standings.iter().find(|s| s.entry_id == t.entry_id) else {
                return Err(AppError::invalid("album.track_not_in_results"));
            };
            if !seen.insert(t.entry_id.clone()) {
                return Err(AppError::invalid("album.track_twice"));
            }
            let mut row = match old.get(&t.entry_id) {
                Some(r) => r.clone(),
                None => {
                    let e = submissions::find_entry(conn, &t.entry_id)?
                        .ok_or_else(|| AppError::invalid("album.track_not_in_results"))?;
                    default_track(c, &e, &s.musician, 0)
                }
            };
            row.position = i as i32;
            if let Some(x) = &t.artist {
                row.artist = text(x, MAX_CREDIT, "album.artist_invalid", true)?;
            }
            if let Some(x) = &t.composers {
                let mut names = Vec::new();
                for n in x {
                    let n = text(n, MAX_CREDIT, "album.credit_too_long", false)?;
                    if !n.is_empty() {
                        names.push(n);
                    }
                }
                if names.len() > 20 {
                    return Err(AppError::invalid("album.credit_too_long"));
                }
                row.composers = serde_json::to_string(&names).unwrap_or_else(|_| "[]".into());
            }
            if let Some(x) = &t.producer {
                row.producer = text(x, MAX_CREDIT, "album.credit_too_long", false)?;
            }
            if let Some(x) = &t.lyrics {
                row.lyrics = text(x, MAX_LYRICS, "album.text_too_long", false)?;
            }
            rows.push(row);
        }
        store::replace_tracks(conn, &c.id, &rows)?;
    }
    Ok(())
}

/// Ask for the release files to be made (again) from the album as it stands.
pub async fn prepare(state: &AppState, who: &AuthUser, id: &str) -> Result<AlbumView, AppError> {
    competitions::with_managed(state, who, id, move |conn, _, c| {
        let mut a = store::find(conn, &c.id)?
            .ok_or_else(|| AppError::refused(StatusCode::NOT_FOUND, "album.none"))?;
        let loaded = load(conn, &c, &a)?;
        if !loaded.iter().any(|l| l.agreement == Agreement::Agreed) {
            return Err(refused("album.nothing_agreed"));
        }
        if a.release_state != "preparing" {
            a.release_state = "preparing".into();
            a.release_error = None;
            a.updated_at = now();
            store::save(conn, &a)?;
            crate::jobs::enqueue(
                conn,
                &super::jobs::MakeRelease {
                    competition_id: c.id.clone(),
                },
                now(),
                None,
            )?;
        }
        view(conn, &c, &a)
    })
    .await
}

/// Publish (or take down) the album page. Publishing needs release files made from the
/// album as it stands.
pub async fn publish(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    input: PublishInput,
) -> Result<AlbumView, AppError> {
    competitions::with_managed(state, who, id, move |conn, _, c| {
        let mut a = store::find(conn, &c.id)?
            .ok_or_else(|| AppError::refused(StatusCode::NOT_FOUND, "album.none"))?;
        if input.published {
            let loaded = load(conn, &c, &a)?;
            if !release_fresh(&a, &loaded) {
                return Err(refused("album.release_not_ready"));
            }
            if a.published_at.is_none() {
                a.published_at = Some(now());
            }
        } else {
            a.published_at = None;
        }
        a.updated_at = now();
        store::save(conn, &a)?;
        view(conn, &c, &a)
    })
    .await
}

/// Store a new cover (PNG, JPEG or WebP, checked like every picture).
pub async fn set_cover(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    bytes: bytes::Bytes,
) -> Result<(), AppError> {
    let max = competitions::MAX_IMAGE_BYTES;
    if bytes.len() > max {
        return Err(AppError::PayloadTooLarge { limit: max as u64 });
    }
    let size = competitions::picture_size(&bytes, None)?;
    competitions::with_managed(state, who, id, move |conn, _, c| {
        store::find(conn, &c.id)?
            .ok_or_else(|| AppError::refused(StatusCode::NOT_FOUND, "album.none"))
            .map(|_| ())
    })
    .await?;
    let key = crate::media::picture::new_key("images", size);
    state
        .storage
        .put_bytes(&key, bytes, "application/octet-stream")
        .await?;
    let k = key.clone();
    let saved = competitions::with_managed(state, who, id, move |conn, _, c| {
        let mut a = store::find(conn, &c.id)?.ok_or(AppError::NotFound)?;
        let old = a.cover_key.replace(k);
        a.updated_at = now();
        store::save(conn, &a)?;
        Ok(old)
    })
    .await;
    match saved {
        Ok(old) => {
            if let Some(old) = old {
                let _ = state.storage.delete(&old).await;
            }
            Ok(())
        }
        Err(e) => {
            let _ = state.storage.delete(&key).await;
            Err(e)
        }
    }
}

/// The stored key of a published (or managed) album's cover.
pub async fn cover_key(state: &AppState, id: &str) -> Result<String, AppError> {
    let id = id.to_string();
    state
        .db
        .run(move |conn| {
            store::find(conn, &id)?
                .and_then(|a| a.cover_key)
                .ok_or(AppError::NotFound)
        })
        .await
}

/// The address of competition `id`'s album page, once it is published.
pub async fn published_path(state: &AppState, id: &str) -> Result<Option<String>, AppError> {
    let id = id.to_string();
    state
        .db
        .run(move |conn| {
            let Some(c) = competitions::find(conn, &id)? else {
                return Ok(None);
            };
            Ok(store::find(conn, &id)?
                .filter(|a| a.published_at.is_some())
                .map(|_| public_path(&c)))
        })
        .await
}

/// Object keys the albums hold (the sweeper keeps them).
pub fn keys(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    store::keys(conn)
}

pub use super::consent::*;
pub use super::public::*;
