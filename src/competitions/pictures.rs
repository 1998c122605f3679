//! A competition's pictures: its cover and each prompt's picture (the painting), checked
//! (type, and size from the header) before anything is stored, and kept under a key
//! that carries their size (see `media::picture`).

use bytes::Bytes;
use chrono::Utc;

use super::service::{MAX_IMAGE_BYTES, owned};
use super::store;
use crate::accounts::model::AuthUser;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;

/// Which image: a competition's cover or a prompt's picture.
#[derive(Debug, Clone, Copy)]
pub enum ImageOf {
    Cover,
    Prompt,
}

/// Store a new cover or prompt image (PNG, JPEG or WebP up to 5 MiB), replacing the old one.
/// A cover or prompt picture's size, or why it cannot be used (`file` names it in the
/// message when it came with a form).
pub fn picture_size(
    bytes: &[u8],
    file: Option<&str>,
) -> Result<crate::media::picture::Size, AppError> {
    use crate::media::picture::{self, PictureError};
    let named = |mut params: Vec<(&'static str, String)>| {
        if let Some(f) = file {
            params.push(("file", f.to_string()));
        }
        params
    };
    if crate::media::image_type(bytes).is_none() {
        return Err(AppError::invalid_with(
            "competition.image_type",
            named(vec![]),
        ));
    }
    picture::measure(bytes).map_err(|e| match e {
        PictureError::TooLarge(s) => AppError::invalid_with(
            "competition.image_too_large",
            named(vec![
                ("width", s.width.to_string()),
                ("height", s.height.to_string()),
            ]),
        ),
        PictureError::Unreadable => AppError::invalid_with("competition.image_type", named(vec![])),
    })
}

pub async fn set_image(
    state: &AppState,
    who: &AuthUser,
    of: ImageOf,
    id: &str,
    bytes: Bytes,
) -> Result<(), AppError> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(AppError::PayloadTooLarge {
            limit: MAX_IMAGE_BYTES as u64,
        });
    }
    let size = picture_size(&bytes, None)?;
    // Check the right to change it before storing anything.
    let (w, i) = (who.clone(), id.to_string());
    state
        .db
        .run(move |conn| owner_check(conn, &w, of, &i))
        .await?;
    let key = crate::media::picture::new_key("images", size);
    state
        .storage
        .put_bytes(&key, bytes, "application/octet-stream")
        .await?;
    let (w, i, k) = (who.clone(), id.to_string(), key.clone());
    let old = state
        .db
        .transaction(move |conn| {
            owner_check(conn, &w, of, &i)?;
            let now = Utc::now().naive_utc();
            match of {
                ImageOf::Cover => {
                    let mut c = store::find(conn, &i)?.ok_or(AppError::NotFound)?;
                    let old = c.cover_key.replace(k);
                    c.updated_at = now;
                    store::save(conn, &c)?;
                    Ok(old)
                }
                ImageOf::Prompt => {
                    let mut p = store::find_prompt(conn, &i)?.ok_or(AppError::NotFound)?;
                    let old = p.image_key.replace(k);
                    p.updated_at = now;
                    store::save_prompt(conn, &p)?;
                    Ok(old)
                }
            }
        })
        .await;
    match old {
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

fn owner_check(
    conn: &mut DbConnection,
    who: &AuthUser,
    of: ImageOf,
    id: &str,
) -> Result<(), AppError> {
    let cid = match of {
        ImageOf::Cover => id.to_string(),
        ImageOf::Prompt => {
            store::find_prompt(conn, id)?
                .ok_or(AppError::NotFound)?
                .competition_id
        }
    };
    owned(conn, who, &cid).map(|_| ())
}

/// The stored key of a published competition's cover or a prompt's image.
pub async fn image_key(state: &AppState, of: ImageOf, id: &str) -> Result<String, AppError> {
    let id = id.to_string();
    state
        .db
        .run(move |conn| {
            let key = match of {
                ImageOf::Cover => store::find(conn, &id)?.and_then(|c| c.cover_key),
                ImageOf::Prompt => store::find_prompt(conn, &id)?.and_then(|p| p.image_key),
            };
            key.ok_or(AppError::NotFound)
        })
        .await
}
