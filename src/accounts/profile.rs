//! The account's own data: profile (stage name, bio, links, language, avatar), active
//! sessions, a download of everything we hold about the person, and erasure.

use super::AccountsState as _;
use bytes::Bytes;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::domain::{Password, StageName};
use super::extract::AuthUser;
use super::store;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::state::AppState;

pub const MAX_BIO_CHARS: usize = 500;
pub const MAX_LINKS: usize = 5;
pub const MAX_AVATAR_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    pub stage_name: String,
    #[serde(default)]
    pub bio: String,
    /// Up to 5 `http(s)` links.
    #[serde(default)]
    pub links: Vec<String>,
    /// `en` or `zh-CN`.
    pub language: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Profile {
    pub stage_name: String,
    pub bio: String,
    pub links: Vec<String>,
    pub language: String,
    /// Where the avatar is served, if there is one.
    pub avatar_url: Option<String>,
}

pub fn profile_of(user: &super::model::UserRow) -> Profile {
    Profile {
        stage_name: user.display_name.clone(),
        bio: user.bio.clone(),
        links: serde_json::from_str(&user.links).unwrap_or_default(),
        language: user.locale.clone(),
        avatar_url: user
            .avatar_key
            .as_ref()
            .map(|k| crate::media::picture::url(&format!("/avatars/{}", user.id), k)),
    }
}

fn parse_links(links: &[String]) -> Result<Vec<String>, AppError> {
    let cleaned: Vec<String> = links
        .iter()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    if cleaned.len() > MAX_LINKS {
        return Err(AppError::invalid_with(
            "account.too_many_links",
            vec![("max", MAX_LINKS.to_string())],
        ));
    }
    for l in &cleaned {
        let ok = l.len() <= 200
            && url::Url::parse(l)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        if !ok {
            return Err(AppError::invalid("account.link_invalid"));
        }
    }
    Ok(cleaned)
}

pub async fn update_profile(
    state: &AppState,
    who: &AuthUser,
    input: ProfileInput,
) -> Result<Profile, AppError> {
    let stage_name = StageName::parse(&input.stage_name)?;
    let bio = input.bio.trim().to_string();
    if bio.chars().count() > MAX_BIO_CHARS || bio.chars().any(|c| c.is_control() && c != '\n') {
        return Err(AppError::invalid_with(
            "account.bio_too_long",
            vec![("max", MAX_BIO_CHARS.to_string())],
        ));
    }
    let links = parse_links(&input.links)?;
    let locale = Locale::parse(&input.language)
        .ok_or_else(|| AppError::invalid("account.language_invalid"))?;
    let id = who.user.id.clone();
    let links_json = serde_json::to_string(&links).map_err(AppError::internal)?;
    state
        .db
        .run(move |conn| {
            store::update_profile(
                conn,
                &id,
                stage_name.as_str(),
                &bio,
                &links_json,
                locale.tag(),
                Utc::now().naive_utc(),
            )?;
            let user = store::find_user(conn, &id)?.ok_or(AppError::NotFound)?;
            Ok(profile_of(&user))
        })
        .await
}

pub use crate::media::image_type;

pub async fn set_avatar(
    state: &AppState,
    who: &AuthUser,
    bytes: Bytes,
) -> Result<Profile, AppError> {
    if bytes.len() > MAX_AVATAR_BYTES {
        return Err(AppError::PayloadTooLarge {
            limit: MAX_AVATAR_BYTES as u64,
        });
    }
    if image_type(&bytes).is_none() {
        return Err(AppError::invalid("account.avatar_type"));
    }
    let size = crate::media::picture::measure(&bytes).map_err(|e| match e {
        crate::media::picture::PictureError::TooLarge(s) => AppError::invalid_with(
            "account.avatar_too_large",
            vec![
                ("width", s.width.to_string()),
                ("height", s.height.to_string()),
            ],
        ),
        crate::media::picture::PictureError::Unreadable => AppError::invalid("account.avatar_type"),
    })?;
    let key = crate::media::picture::new_key("avatars", size);
    state
        .storage
        .put_bytes(&key, bytes, "application/octet-stream")
        .await?;
    let id = who.user.id.clone();
    let new_key = key.clone();
    let result = state
        .db
        .run(move |conn| {
            let before = store::find_user(conn, &id)?.ok_or(AppError::NotFound)?;
            store::set_avatar_key(conn, &id, Some(&new_key), Utc::now().naive_utc())?;
            let after = store::find_user(conn, &id)?.ok_or(AppError::NotFound)?;
            Ok((before.avatar_key, profile_of(&after)))
        })
        .await;
    match result {
        Ok((old, profile)) => {
            if let Some(old) = old {
                let _ = state.storage.delete(&old).await;
            }
            Ok(profile)
        }
        Err(e) => {
            let _ = state.storage.delete(&key).await;
            Err(e)
        }
    }
}

/// A person's avatar, at the width asked for.
pub async fn avatar(
    state: &AppState,
    user_id: &str,
    q: &crate::http::pictures::PictureQuery,
) -> Result<actix_web::HttpResponse, AppError> {
    let id = user_id.to_string();
    let key = state
        .db
        .run(move |conn| Ok(store::find_user(conn, &id)?.and_then(|u| u.avatar_key)))
        .await?
        .ok_or(AppError::NotFound)?;
    crate::http::pictures::picture_response(&state.storage, &key, q, MAX_AVATAR_BYTES, "avatar")
        .await
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    pub created_at: chrono::DateTime<Utc>,
    pub last_used_at: chrono::DateTime<Utc>,
    pub user_agent: String,
    /// The session this request was made with.
    pub current: bool,
}

pub async fn sessions(state: &AppState, who: &AuthUser) -> Result<Vec<SessionView>, AppError> {
    let (id, current) = (who.user.id.clone(), who.session_id.clone());
    state
        .db
        .run(move |conn| {
            Ok(store::active_sessions(conn, &id, Utc::now().naive_utc())?
                .into_iter()
                .map(|s| SessionView {
                    current: s.id == current,
                    id: s.id,
                    created_at: s.created_at.and_utc(),
                    last_used_at: s.last_used_at.and_utc(),
                    user_agent: s.user_agent,
                })
                .collect())
        })
        .await
}

/// End one of the person's own sessions; someone else's is "not found".
pub async fn revoke_session(
    state: &AppState,
    who: &AuthUser,
    session_id: &str,
) -> Result<(), AppError> {
    let (uid, sid) = (who.user.id.clone(), session_id.to_string());
    state
        .db
        .run(move |conn| {
            let s = store::find_session(conn, &sid)?.ok_or(AppError::NotFound)?;
            if s.user_id != uid {
                return Err(AppError::NotFound);
            }
            store::revoke_session(conn, &sid, "revoked_by_owner", Utc::now().naive_utc())
        })
        .await
}

/// Everything we hold about the person, as JSON (the password hash is not "data about
/// them" and is left out; so are other people's data).
pub async fn export(state: &AppState, who: &AuthUser) -> Result<serde_json::Value, AppError> {
    Ok(export_with_files(state, who).await?.0)
}

/// The export, and the stored audio files that go with it (archive path, object key).
async fn export_with_files(
    state: &AppState,
    who: &AuthUser,
) -> Result<(serde_json::Value, Vec<(String, String)>), AppError> {
    let id = who.user.id.clone();
    let st = state.clone();
    state
        .db
        .run(move |conn| {
            let mut held = serde_json::Map::new();
            let files = st.holders().export(conn, &id, &mut held)?;
            let u = store::find_user(conn, &id)?.ok_or(AppError::NotFound)?;
            let roles = store::roles_with_scope(conn, &id)?;
            let sessions = store::all_sessions(conn, &id)?;
            let audit = store::audit_of(conn, &id)?;
            let ts = |t: Option<chrono::NaiveDateTime>| t.map(|t| t.and_utc().to_rfc3339());
            let mut data = serde_json::json!({
                "format": "cadenza.account-export/2",
                "exported_at": Utc::now().to_rfc3339(),
                "account": {
                    "id": u.id, "email": u.email, "stage_name": u.display_name, "language": u.locale,
                    "date_of_birth": u.date_of_birth, "country": u.country, "bio": u.bio,
                    "links": serde_json::from_str::<serde_json::Value>(&u.links).unwrap_or_default(),
                    "has_avatar": u.avatar_key.is_some(),
                    "created_at": u.created_at.and_utc().to_rfc3339(),
                    "email_verified_at": ts(u.email_verified_at),
                },
                "guardian_consent": u.guardian_email.as_ref().map(|g| serde_json::json!({
                    "guardian_email": g, "given_at": ts(u.guardian_consent_at),
                    "given_by": u.guardian_consent_by, "method": u.guardian_consent_method,
                })),
                "roles": roles.iter().map(|(r, c)| serde_json::json!({ "role": r, "competition_id": c })).collect::<Vec<_>>(),
                "sessions": sessions.iter().map(|s| serde_json::json!({
                    "created_at": s.created_at.and_utc().to_rfc3339(), "last_used_at": s.last_used_at.and_utc().to_rfc3339(),
                    "user_agent": s.user_agent, "ended_at": ts(s.revoked_at),
                })).collect::<Vec<_>>(),
                "activity": audit.iter().map(|(at, action)| serde_json::json!({ "at": at.and_utc().to_rfc3339(), "action": action })).collect::<Vec<_>>(),
            });
            if let Some(o) = data.as_object_mut() {
                o.extend(held);
            }
            Ok((data, files))
        })
        .await
}

/// Everything as a ZIP: `data.json` and every stored audio file under `audio/`. Built
/// in a temporary file (audio can be large), never in memory.
pub async fn export_zip(
    state: &AppState,
    who: &AuthUser,
) -> Result<tempfile::NamedTempFile, AppError> {
    use std::io::Write;
    use tokio::io::AsyncWriteExt;
    let (data, files) = export_with_files(state, who).await?;
    let dir = state.settings.data_dir.join("tmp");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(AppError::internal)?;
    // Each audio file is copied to its own temporary file first, then added.
    let mut parts = Vec::new();
    for (path, key) in files {
        let tmp = tempfile::NamedTempFile::new_in(&dir).map_err(AppError::internal)?;
        let mut obj = match state.storage.get(&key, None).await {
            Ok(o) => o,
            // An object the sweeper already removed: the listing still names it.
            Err(crate::storage::StorageError::NotFound) => continue,
            Err(e) => return Err(e.into()),
        };
        let mut f = tokio::fs::File::create(tmp.path())
            .await
            .map_err(AppError::internal)?;
        while let Some(chunk) = futures_util::StreamExt::next(&mut obj.body).await {
            f.write_all(&chunk.map_err(AppError::internal)?)
                .await
                .map_err(AppError::internal)?;
        }
        f.flush().await.map_err(AppError::internal)?;
        parts.push((path, tmp));
    }
    let out = tempfile::NamedTempFile::new_in(&dir).map_err(AppError::internal)?;
    let file = out.reopen().map_err(AppError::internal)?;
    tokio::task::spawn_blocking(move || -> Result<(), AppError> {
        let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
        let text = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        // Audio is compressed already, or is PCM that deflate barely shrinks.
        let audio = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(true);
        zip.start_file("data.json", text)
            .map_err(AppError::internal)?;
        let json = serde_json::to_vec_pretty(&data).map_err(AppError::internal)?;
        zip.write_all(&json).map_err(AppError::internal)?;
        for (path, tmp) in parts {
            zip.start_file(path, audio).map_err(AppError::internal)?;
            let mut src = std::fs::File::open(tmp.path()).map_err(AppError::internal)?;
            std::io::copy(&mut src, &mut zip).map_err(AppError::internal)?;
        }
        zip.finish()
            .map_err(AppError::internal)?
            .flush()
            .map_err(AppError::internal)?;
        Ok(())
    })
    .await
    .map_err(AppError::internal)??;
    Ok(out)
}

/// Erase the account. With a password, it must be given; without one (voters), the
/// email must be typed to confirm.
pub async fn delete_account(
    state: &AppState,
    who: &AuthUser,
    confirmation: &str,
) -> Result<(), AppError> {
    let ok = match &who.user.password_hash {
        Some(phc) => match Password::parse(confirmation) {
            Ok(p) => state.hasher.verify(p, phc.clone()).await?,
            Err(_) => false,
        },
        None => confirmation.trim().eq_ignore_ascii_case(&who.user.email),
    };
    if !ok {
        return Err(AppError::invalid("account.delete_confirmation_wrong"));
    }
    let id = who.user.id.clone();
    let avatar = who.user.avatar_key.clone();
    state.revoked().revoke_user(&id);
    let st = state.clone();
    let keys = state
        .db
        .transaction(move |conn| {
            let now = Utc::now().naive_utc();
            let mut keys = st.holders().erase(conn, &id, now)?;
            store::erase_user(conn, &id, now)?;
            store::audit(
                conn,
                None,
                "account.erased",
                "erased",
                &serde_json::json!({}),
                now,
            )?;
            keys.extend(avatar);
            Ok(keys)
        })
        .await?;
    // The audio, renditions and picture. A failed delete leaves an object without a
    // row, which the sweeper removes.
    for key in keys {
        let _ = state.storage.delete(&key).await;
    }
    Ok(())
}
