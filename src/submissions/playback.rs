//! An entry's own audio for those allowed to hear it (its musician and the
//! competition's organisers), as a ranged file (`http::files` answers the request).

use super::service::viewer_of;
use super::store;
use crate::accounts::model::AuthUser;
use crate::error::AppError;
use crate::state::AppState;

pub use crate::http::files::{Audio, Fetched, Unsatisfiable, parse_range};

pub async fn fetch(
    state: &AppState,
    who: &AuthUser,
    entry_id: &str,
    range: Option<&str>,
) -> Result<Fetched, AppError> {
    let (who, id) = (who.clone(), entry_id.to_string());
    let upload = state
        .db
        .run(move |conn| {
            let e = store::find_entry(conn, &id)?.ok_or(AppError::NotFound)?;
            viewer_of(conn, &who, &e)?;
            let u = e.upload_id.as_deref().ok_or(AppError::NotFound)?;
            store::find_upload(conn, u)?.ok_or(AppError::NotFound)
        })
        .await?;
    let size = upload.size_bytes.unwrap_or(0) as u64;
    let range = match parse_range(range, size) {
        Ok(r) => r,
        Err(Unsatisfiable) => return Ok(Fetched::BadRange(size)),
    };
    let object = state.storage.get(&upload.object_key, range).await?;
    Ok(Fetched::Audio(Audio {
        object,
        file_name: upload.original_name,
        content_type: upload.content_type,
    }))
}
