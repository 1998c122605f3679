//! Licences and downloads: a musician accepts a pack's licence version (or a song's remix
//! licence) and gets short-lived HMAC-signed links, stateless, one account and one file
//! each; a download that starts at byte 0 is counted.

use actix_web::http::StatusCode;
use chrono::Utc;
use secrecy::ExposeSecret;

use super::model::*;
use super::service::{now, utc, visible_pack};
use super::service::{pack_view, public_entry};
use super::store;
use crate::accounts::model::AuthUser;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;
use crate::submissions::service as submissions;

pub async fn accept(
    state: &AppState,
    who: &AuthUser,
    pack_id: &str,
    input: AcceptInput,
) -> Result<StemPackView, AppError> {
    submissions::check_account(who)?;
    let (who, id) = (who.clone(), pack_id.to_string());
    state
        .db
        .transaction(move |conn| {
            let (p, c, organiser) = visible_pack(conn, Some(&who), &id)?;
            if input.version != p.licence_version {
                return Err(AppError::Conflict {
                    code: "remix.licence_changed",
                });
            }
            store::accept(
                conn,
                &AcceptanceRow {
                    subject_id: p.id.clone(),
                    user_id: who.user.id.clone(),
                    licence: p.licence_tag(),
                    accepted_at: now(),
                },
            )?;
            pack_view(conn, &c, &p, Some(&who), organiser)
        })
        .await
}

const PURPOSE: &str = "cadenza/remix/download";

fn signed_link(state: &AppState, kind: &str, id: &str, user: &str) -> DownloadLink {
    let exp = Utc::now().timestamp() + state.settings.remix.download_link_secs as i64;
    let secret = state.settings.auth.secret.expose_secret().as_bytes();
    let sig = crate::auth::links::sign(secret, PURPOSE, &[kind, id, user], exp);
    DownloadLink {
        url: format!("/downloads/{kind}/{id}?u={user}&e={exp}&s={sig}"),
        expires_at: chrono::DateTime::from_timestamp(exp, 0).unwrap_or_else(Utc::now),
    }
}

/// A signed link to a pack file, for a musician who accepted the current licence.
pub async fn file_link(
    state: &AppState,
    who: &AuthUser,
    file_id: &str,
) -> Result<DownloadLink, AppError> {
    submissions::check_account(who)?;
    let (w, id) = (who.clone(), file_id.to_string());
    state
        .db
        .run(move |conn| {
            let f = store::find_file(conn, &id)?.ok_or(AppError::NotFound)?;
            let (p, _, organiser) = visible_pack(conn, Some(&w), &f.pack_id)?;
            if !organiser && !store::has_accepted(conn, &p.id, &w.user.id, &p.licence_tag())? {
                return Err(AppError::refused(
                    StatusCode::FORBIDDEN,
                    "remix.licence_not_accepted",
                ));
            }
            Ok(())
        })
        .await?;
    Ok(signed_link(state, "stem", file_id, &who.user.id))
}

/// A signed link to a published song open to remixes, for a musician who accepts its licence.
pub async fn song_link(
    state: &AppState,
    who: &AuthUser,
    entry_id: &str,
    licence: &str,
) -> Result<DownloadLink, AppError> {
    submissions::check_account(who)?;
    let (w, id, licence) = (who.clone(), entry_id.to_string(), licence.to_string());
    state
        .db
        .transaction(move |conn| {
            let e = public_entry(conn, &id)?;
            let perm = store::permission(conn, &e.id)?
                .filter(|p| p.allowed)
                .ok_or_else(|| AppError::refused(StatusCode::FORBIDDEN, "remix.not_allowed"))?;
            if perm.licence != licence {
                return Err(AppError::Conflict {
                    code: "remix.licence_changed",
                });
            }
            store::accept(
                conn,
                &AcceptanceRow {
                    subject_id: e.id.clone(),
                    user_id: w.user.id.clone(),
                    licence: perm.licence,
                    accepted_at: now(),
                },
            )
        })
        .await?;
    Ok(signed_link(state, "song", entry_id, &who.user.id))
}

/// What a signed link carries.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct LinkQuery {
    /// The account the link was made for.
    pub u: String,
    /// Expiry, Unix seconds.
    pub e: i64,
    /// Signature.
    pub s: String,
}

/// A file behind a signed link.
pub struct Download {
    pub object: crate::storage::GetObject,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
}

/// Check a signed link, count the download and open the file. `range` is the
/// request's Range header; only a request from the first byte counts.
pub async fn redeem(
    state: &AppState,
    kind: &str,
    id: &str,
    q: &LinkQuery,
    range: Option<&str>,
) -> Result<Option<Download>, AppError> {
    let secret = state.settings.auth.secret.expose_secret().as_bytes();
    if !crate::auth::links::verify(secret, PURPOSE, &[kind, id, &q.u], q.e, &q.s) {
        return Err(AppError::refused(
            StatusCode::FORBIDDEN,
            "remix.link_invalid",
        ));
    }
    if Utc::now().timestamp() > q.e {
        return Err(AppError::refused(StatusCode::GONE, "remix.link_expired"));
    }
    let (kind_s, id_s) = (kind.to_string(), id.to_string());
    let (key, file_name, content_type, size) = state
        .db
        .run(move |conn| match kind_s.as_str() {
            "stem" => {
                let f = store::find_file(conn, &id_s)?.ok_or(AppError::NotFound)?;
                Ok((f.object_key, f.file_name, f.content_type, f.size_bytes))
            }
            "song" => {
                let e = public_entry(conn, &id_s)?;
                let u = e
                    .upload_id
                    .as_deref()
                    .and_then(|u| submissions::find_upload(conn, u).transpose())
                    .transpose()?
                    .ok_or(AppError::NotFound)?;
                Ok((
                    u.object_key,
                    u.original_name,
                    u.content_type,
                    u.size_bytes.unwrap_or(0),
                ))
            }
            _ => Err(AppError::NotFound),
        })
        .await?;
    let size = size.max(0) as u64;
    let range = match crate::http::files::parse_range(range, size) {
        Ok(r) => r,
        Err(_) => return Ok(None),
    };
    if range.is_none_or(|r| r.start == 0) {
        let (kind, id) = (kind.to_string(), id.to_string());
        state
            .db
            .run(move |conn| match kind.as_str() {
                "stem" => store::count_download(conn, &id),
                _ => store::count_song_download(conn, &id),
            })
            .await?;
    }
    let object = state.storage.get(&key, range).await?;
    Ok(Some(Download {
        object,
        file_name,
        content_type,
        size,
    }))
}

/// Remix's part of a person's data: the licences they accepted, in the export.
pub struct LicenceData;

impl crate::accounts::service::PersonalData for LicenceData {
    fn export(
        &self,
        conn: &mut DbConnection,
        user_id: &str,
        out: &mut serde_json::Map<String, serde_json::Value>,
    ) -> Result<Vec<(String, String)>, AppError> {
        out.insert("licence_acceptances".into(), export_of(conn, user_id)?);
        Ok(Vec::new())
    }
}

/// The licences an account accepted, for its data export: what (a pack or a song), which
/// licence or version, when.
pub fn export_of(conn: &mut DbConnection, user: &str) -> Result<serde_json::Value, AppError> {
    Ok(serde_json::Value::Array(
        store::acceptances_of_user(conn, user)?
            .into_iter()
            .map(|a| {
                serde_json::json!({
                    "subject_id": a.subject_id,
                    "licence": a.licence,
                    "accepted_at": utc(a.accepted_at).to_rfc3339(),
                })
            })
            .collect(),
    ))
}
