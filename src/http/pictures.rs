//! Pictures sent over HTTP (covers, prompt pictures, avatars): at the width the page
//! asks for (`?w=480`, rounded up to a rendition width, made on first request and
//! stored), and kept by the browser for a year when the address names the stored
//! version (`?v=…`, see [`crate::media::picture::url`]). See `media::picture`.

use actix_web::HttpResponse;
use actix_web::http::header;
use serde::Deserialize;
use tokio::sync::Semaphore;

use crate::error::AppError;
use crate::media::picture;
use crate::storage::{ObjectStore, StorageError};

/// The query of a picture's address.
#[derive(Debug, Default, Deserialize)]
pub struct PictureQuery {
    /// The stored version the page was rendered with.
    pub v: Option<String>,
    /// The width wanted, in pixels.
    pub w: Option<u32>,
}

/// Renditions made at once by this process: each decodes a picture of up to 50
/// megapixels (CPU and up to 256 MB), so a page of many new pictures queues them.
static MAKING: Semaphore = Semaphore::const_new(2);

/// The picture stored at `key` (at most `max_bytes`), at the width asked for.
pub async fn picture_response(
    store: &ObjectStore,
    key: &str,
    q: &PictureQuery,
    max_bytes: usize,
    name: &str,
) -> Result<HttpResponse, AppError> {
    let (bytes, kind) = match q.w {
        Some(w) if w > 0 => at_width(store, key, w, max_bytes).await?,
        _ => original(store, key, max_bytes).await?,
    };
    let current = q.v.as_deref().is_some_and(|v| picture::is_current(key, v));
    let cache = if current {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    Ok(HttpResponse::Ok()
        .content_type(kind)
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        ))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"{name}\""),
        ))
        .body(bytes))
}

async fn original(
    store: &ObjectStore,
    key: &str,
    max_bytes: usize,
) -> Result<(Vec<u8>, &'static str), AppError> {
    let bytes = store.read_small(key, max_bytes).await.map_err(gone)?;
    let kind = crate::media::image_type(&bytes).ok_or(AppError::NotFound)?;
    Ok((bytes, kind))
}

/// A stored picture that cannot be read is, to the reader, no picture.
fn gone(e: StorageError) -> AppError {
    match e {
        StorageError::TooLarge { .. } => AppError::NotFound,
        other => other.into(),
    }
}

async fn at_width(
    store: &ObjectStore,
    key: &str,
    asked: u32,
    max_bytes: usize,
) -> Result<(Vec<u8>, &'static str), AppError> {
    // The original's width: from its key, or (keys from before sizes were kept) from it.
    let mut read = None;
    let width = match picture::size_of_key(key) {
        Some(s) => s.width,
        None => {
            let (bytes, kind) = original(store, key, max_bytes).await?;
            let w = picture::measure(&bytes).map_or(0, |s| s.width);
            read = Some((bytes, kind));
            w
        }
    };
    let Some(w) = picture::rendition_width(asked, width) else {
        return match read {
            Some(r) => Ok(r),
            None => original(store, key, max_bytes).await,
        };
    };
    let rkey = picture::rendition_key(key, w);
    match store.read_small(&rkey, max_bytes).await {
        Ok(bytes) => {
            if let Some(kind) = crate::media::image_type(&bytes) {
                return Ok((bytes, kind));
            }
        }
        Err(StorageError::NotFound) => {}
        Err(e) => return Err(gone(e)),
    }
    let (bytes, _) = match read {
        Some(r) => r,
        None => original(store, key, max_bytes).await?,
    };
    let made = {
        let _turn = MAKING.acquire().await.map_err(|_| AppError::NotFound)?;
        tokio::task::spawn_blocking(move || picture::render(&bytes, w))
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("rendition task: {e}")))?
    };
    match made {
        Ok((small, kind)) => {
            // Stored for the next reader; a failure to store only costs the next one
            // the same work.
            if let Err(e) = store
                .put_bytes(&rkey, bytes::Bytes::from(small.clone()), kind)
                .await
            {
                tracing::warn!(key = %rkey, error = %e, "cannot store a picture's rendition");
            }
            Ok((small, kind))
        }
        // A picture stored before pictures were checked at upload, that cannot be
        // decoded: served as it is (the browser may still show it).
        Err(_) => original(store, key, max_bytes).await,
    }
}
