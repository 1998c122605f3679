//! Text answers sent gzip-compressed to browsers that accept it: pages, our CSS and
//! JavaScript, JSON and SVG of at least 1 KiB whose length is known. Streams (the live
//! leaderboard, CSV exports), audio, pictures and small answers (a vote's receipt) are
//! passed through untouched, so nothing that must flow or is already compressed pays
//! for it. Our static files are compressed once per version and kept.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use actix_web::Error;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use bytes::Bytes;

/// Smaller answers are not worth the work (and fit in a packet or two anyway).
const MIN_BYTES: u64 = 1024;

/// Whether the `Accept-Encoding` header accepts gzip.
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    accept_encoding.split(',').any(|part| {
        let mut it = part.split(';');
        let name = it.next().unwrap_or("").trim();
        let refused = it.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q == 0.0)
        });
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
    })
}

/// Whether answers of this `Content-Type` are text worth compressing.
pub fn compressible(content_type: &str) -> bool {
    let t = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    t.starts_with("text/") && t != "text/event-stream"
        || matches!(
            t.as_str(),
            "application/json" | "application/javascript" | "image/svg+xml"
        )
}

/// gzip at a level that costs well under a millisecond for a page.
pub fn gzip(bytes: &[u8]) -> Bytes {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 3 + 64),
        flate2::Compression::new(6),
    );
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(bytes);
    Bytes::from(enc.finish().unwrap_or_default())
}

/// Our static files, compressed once per version (keyed by their ETag).
fn static_cache() -> &'static Mutex<HashMap<String, Bytes>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Bytes>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

pub async fn compress(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let wanted = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip);
    let is_static = req.path().starts_with("/static/");
    let res = next.call(req).await?;
    if !wanted {
        return Ok(res.map_into_boxed_body());
    }
    let h = res.headers();
    let fits = res.status() == StatusCode::OK
        && !h.contains_key(header::CONTENT_ENCODING)
        && !h.contains_key(header::CONTENT_RANGE)
        && h.get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(compressible)
        && matches!(res.response().body().size(), BodySize::Sized(n) if n >= MIN_BYTES);
    if !fits {
        return Ok(res.map_into_boxed_body());
    }
    let etag = h
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (req, res) = res.into_parts();
    let (mut res, body) = res.into_parts();
    let bytes = match body.try_into_bytes() {
        Ok(b) => b,
        // Not a body held in memory after all: sent as it is.
        Err(body) => {
            return Ok(ServiceResponse::new(req, res.set_body(body)).map_into_boxed_body());
        }
    };
    let cached = match (&etag, is_static) {
        (Some(tag), true) => static_cache().lock().ok().and_then(|c| c.get(tag).cloned()),
        _ => None,
    };
    let packed = match cached {
        Some(b) => b,
        None => {
            let b = gzip(&bytes);
            if let (Some(tag), true) = (&etag, is_static)
                && let Ok(mut c) = static_cache().lock()
            {
                c.insert(tag.clone(), b.clone());
            }
            b
        }
    };
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.remove(header::CONTENT_LENGTH);
    // The compressed bytes are another representation: its validator is weak.
    if let Some(tag) = etag.filter(|t| !t.starts_with("W/"))
        && let Ok(weak) = HeaderValue::from_str(&format!("W/{tag}"))
    {
        headers.insert(header::ETAG, weak);
    }
    Ok(ServiceResponse::new(
        req,
        res.set_body(BoxBody::new(packed)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_used_when_accepted() {
        assert!(accepts_gzip("gzip, deflate, br, zstd"));
        assert!(accepts_gzip("br;q=1.0, gzip;q=0.8"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("br, identity"));
        assert!(!accepts_gzip(""));
    }

    #[test]
    fn only_text_is_compressed() {
        assert!(compressible("text/html; charset=utf-8"));
        assert!(compressible("text/css"));
        assert!(compressible("application/json"));
        assert!(compressible("image/svg+xml"));
        assert!(!compressible("text/event-stream"));
        assert!(!compressible("audio/mpeg"));
        assert!(!compressible("image/jpeg"));
    }

    #[test]
    fn gzip_round_trips() {
        use std::io::Read;
        let text = "Paintings that sing. ".repeat(200);
        let packed = gzip(text.as_bytes());
        assert!(packed.len() < text.len() / 10);
        let mut out = String::new();
        flate2::read::GzDecoder::new(&packed[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, text);
    }
}
