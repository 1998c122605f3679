//! What the public sees of an album: the page (only tracks every agreement covers, with
//! release files), each track's MP3 for the player, and the ZIP behind a short-lived
//! signed link, counted.

use actix_web::http::StatusCode;
use chrono::Utc;
use secrecy::ExposeSecret;

use super::model::*;
use super::service::{LINK_SECS, cover_url, load, release_fresh};
use super::store;
use crate::accounts::model::AuthUser;
use crate::competitions::model::CompetitionRow;
use crate::competitions::service as competitions;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::http::files::{Audio, Fetched};
use crate::i18n::Locale;
use crate::state::AppState;

const LINK_PURPOSE: &str = "cadenza/album/download";

/// The album of `slug_or_id` if `who` may see it: published (and its results public),
/// or run by `who`. Returns whether `who` runs it.
fn visible(
    conn: &mut DbConnection,
    who: Option<&AuthUser>,
    slug_or_id: &str,
) -> Result<(CompetitionRow, AlbumRow, bool), AppError> {
    let c = competitions::find_by_slug_or_id(conn, slug_or_id)?.ok_or(AppError::NotFound)?;
    let a = store::find(conn, &c.id)?.ok_or(AppError::NotFound)?;
    let manages = who.is_some_and(|w| competitions::managed(conn, w, &c.id).is_ok());
    let public = a.published_at.is_some() && competitions::results_out(conn, &c.id)?;
    if !public && !manages {
        return Err(AppError::NotFound);
    }
    Ok((c, a, manages))
}

/// The album page's content: tracks with every agreement and their release files, in
/// order, numbered as on the album the public gets.
pub fn public_album_in(
    conn: &mut DbConnection,
    who: Option<&AuthUser>,
    slug_or_id: &str,
    l: Locale,
) -> Result<PublicAlbum, AppError> {
    let (c, a, manages) = visible(conn, who, slug_or_id)?;
    let prompts: std::collections::HashMap<String, crate::competitions::model::PromptRow> =
        competitions::prompts_of(conn, &c.id)?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
    let loaded = load(conn, &c, &a)?;
    let fresh = release_fresh(&a, &loaded);
    let mut tracks = Vec::new();
    for t in loaded {
        if t.agreement != Agreement::Agreed
            || crate::remix::service::public_entry(conn, &t.entry.id).is_err()
        {
            continue;
        }
        let Some(r) = t.track.release_files() else {
            continue;
        };
        let prompt = t.entry.prompt_id.as_ref().and_then(|p| prompts.get(p));
        tracks.push(PublicTrack {
            number: tracks.len() + 1,
            audio_url: format!("/api/v1/albums/{}/tracks/{}/audio", c.id, t.entry.id),
            song_url: crate::remix::service::song_path(&t.entry.id),
            entry_id: t.entry.id.clone(),
            title: t.entry.title.clone(),
            artist: t.track.artist.clone(),
            composers: t.track.composer_list(),
            producer: t.track.producer.clone(),
            lyrics: t.track.lyrics.clone(),
            duration_secs: r.duration_secs,
            integrated_lufs: r.mp3.integrated_lufs,
            peak_limited: r.peak_limited,
            prompt_title: prompt.map(|p| p.title_in(l)),
            prompt_image_url: prompt.and_then(|p| {
                p.image_key
                    .as_ref()
                    .map(|k| crate::media::picture::url(&format!("/images/prompts/{}", p.id), k))
            }),
            ai_use: crate::competitions::domain::ai::decode(t.entry.ai_use.as_deref()),
        });
    }
    Ok(PublicAlbum {
        competition_id: c.id.clone(),
        competition_slug: c.slug.clone(),
        competition_title: c.title_in(l),
        cover_url: cover_url(&a, &c),
        title: a.title,
        artist: a.artist,
        year: a.year,
        description: a.description,
        target_lufs: a.target_lufs,
        tracks,
        downloadable: fresh && (manages || a.public_download) && a.release_key.is_some(),
    })
}

pub async fn public_album(
    state: &AppState,
    who: Option<&AuthUser>,
    slug_or_id: &str,
    l: Locale,
) -> Result<PublicAlbum, AppError> {
    let (w, key) = (who.cloned(), slug_or_id.to_string());
    state
        .db
        .run(move |conn| public_album_in(conn, w.as_ref(), &key, l))
        .await
}

/// A track's MP3 release file for the player: an agreed track of an album `who` may see.
pub async fn track_audio(
    state: &AppState,
    who: Option<&AuthUser>,
    id: &str,
    entry_id: &str,
    range: Option<&str>,
) -> Result<Fetched, AppError> {
    let (w, id, eid) = (who.cloned(), id.to_string(), entry_id.to_string());
    let (key, size, name) = state
        .db
        .run(move |conn| {
            let album = public_album_in(conn, w.as_ref(), &id, Locale::En)?;
            let t = album
                .tracks
                .iter()
                .find(|t| t.entry_id == eid)
                .ok_or(AppError::NotFound)?;
            let row = store::tracks(conn, &album.competition_id)?
                .into_iter()
                .find(|r| r.entry_id == eid)
                .and_then(|r| r.release_files())
                .ok_or(AppError::NotFound)?;
            Ok((
                row.mp3.key,
                row.mp3.size_bytes,
                super::domain::file_name(t.number, &t.artist, &t.title, "mp3"),
            ))
        })
        .await?;
    let range = match crate::http::files::parse_range(range, size) {
        Ok(r) => r,
        Err(_) => return Ok(Fetched::BadRange(size)),
    };
    Ok(Fetched::Audio(Audio {
        object: state.storage.get(&key, range).await?,
        file_name: name,
        content_type: "audio/mpeg".into(),
    }))
}

/// A short-lived signed link to the album's ZIP: for its organisers, and for everyone
/// when the organiser allows it. Only a release made from the album as it stands.
pub async fn download_link(
    state: &AppState,
    who: Option<&AuthUser>,
    id: &str,
) -> Result<DownloadLink, AppError> {
    let (w, key) = (who.cloned(), id.to_string());
    let cid = state
        .db
        .run(move |conn| {
            let album = public_album_in(conn, w.as_ref(), &key, Locale::En)?;
            if !album.downloadable {
                return Err(AppError::refused(
                    StatusCode::FORBIDDEN,
                    "album.download_not_allowed",
                ));
            }
            Ok(album.competition_id)
        })
        .await?;
    let user = who.map(|w| w.user.id.clone()).unwrap_or_else(|| "-".into());
    let exp = Utc::now().timestamp() + LINK_SECS;
    let secret = state.settings.auth.secret.expose_secret().as_bytes();
    let sig = crate::auth::links::sign(secret, LINK_PURPOSE, &[&cid, &user], exp);
    Ok(DownloadLink {
        url: format!("/album-downloads/{cid}?u={user}&e={exp}&s={sig}"),
        expires_at: chrono::DateTime::from_timestamp(exp, 0).unwrap_or_else(Utc::now),
    })
}

/// What a signed link carries.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct LinkQuery {
    /// The account the link was made for (`-`: anyone).
    pub u: String,
    /// Expiry, Unix seconds.
    pub e: i64,
    /// Signature.
    pub s: String,
}

/// Check a signed link, count the download (a request from the first byte) and open
/// the ZIP. Returns the file name too.
pub async fn redeem(
    state: &AppState,
    id: &str,
    q: &LinkQuery,
    range: Option<&str>,
) -> Result<(Fetched, String), AppError> {
    let secret = state.settings.auth.secret.expose_secret().as_bytes();
    if !crate::auth::links::verify(secret, LINK_PURPOSE, &[id, &q.u], q.e, &q.s) {
        return Err(AppError::refused(
            StatusCode::FORBIDDEN,
            "album.link_invalid",
        ));
    }
    if Utc::now().timestamp() > q.e {
        return Err(AppError::refused(StatusCode::GONE, "album.link_expired"));
    }
    let cid = id.to_string();
    let (a, c) = state
        .db
        .run(move |conn| {
            let c = competitions::find(conn, &cid)?.ok_or(AppError::NotFound)?;
            Ok((store::find(conn, &cid)?.ok_or(AppError::NotFound)?, c))
        })
        .await?;
    let (Some(key), Some(size)) = (a.release_key.clone(), a.release_size) else {
        return Err(AppError::NotFound);
    };
    let size = size.max(0) as u64;
    let name = super::domain::zip_name(&a.artist, &a.title);
    let range = match crate::http::files::parse_range(range, size) {
        Ok(r) => r,
        Err(_) => return Ok((Fetched::BadRange(size), name)),
    };
    if range.is_none_or(|r| r.start == 0) {
        let cid = c.id.clone();
        state
            .db
            .run(move |conn| store::count_download(conn, &cid))
            .await?;
    }
    Ok((
        Fetched::Audio(Audio {
            object: state.storage.get(&key, range).await?,
            file_name: name.clone(),
            content_type: "application/zip".into(),
        }),
        name,
    ))
}
