//! Files sent over HTTP from the object store: `Range: bytes=…` requests (parsed and
//! answered with 206 or 416), streamed bodies with the length known, and
//! `Content-Disposition` names in ASCII and UTF-8. Used for every audio a page plays and
//! every file a page downloads.

use crate::storage::{ByteRange, GetObject};

/// The range asked for lies outside the object.
#[derive(Debug, PartialEq, Eq)]
pub struct Unsatisfiable;

/// A `Range: bytes=…` header for an object of `size` bytes: `Ok(None)` for no (or an
/// ignorable) header, `Err` when it cannot be satisfied.
pub fn parse_range(header: Option<&str>, size: u64) -> Result<Option<ByteRange>, Unsatisfiable> {
    let Some(h) = header else { return Ok(None) };
    let Some(spec) = h.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    // Several ranges are allowed by HTTP; we serve the first (a player asks for one).
    let first = spec.split(',').next().unwrap_or("").trim();
    let (a, b) = first.split_once('-').ok_or(Unsatisfiable)?;
    let range = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| Unsatisfiable)?;
        if n == 0 || size == 0 {
            return Err(Unsatisfiable);
        }
        ByteRange {
            start: size.saturating_sub(n),
            end: None,
        }
    } else {
        let start: u64 = a.parse().map_err(|_| Unsatisfiable)?;
        let end = if b.is_empty() {
            None
        } else {
            Some(b.parse::<u64>().map_err(|_| Unsatisfiable)?)
        };
        ByteRange { start, end }
    };
    range.resolve(size).map_err(|_| Unsatisfiable)?;
    Ok(Some(range))
}

/// The entry's audio, what to call it, and its type.
pub struct Audio {
    pub object: GetObject,
    pub file_name: String,
    pub content_type: String,
}

pub enum Fetched {
    Audio(Audio),
    /// The range cannot be satisfied; the object's size.
    BadRange(u64),
}

/// The response for a stored audio object (or part of it): Range headers, the type,
/// an inline `Content-Disposition` named `file_name`, nosniff-safe sandbox CSP, no caching.
pub fn audio_response(
    object: GetObject,
    content_type: &str,
    file_name: &str,
) -> actix_web::HttpResponse {
    use actix_web::HttpResponse;
    use actix_web::http::header;
    let mut res = match object.range {
        Some(_) => HttpResponse::PartialContent(),
        None => HttpResponse::Ok(),
    };
    if let Some((s, e)) = object.range {
        res.insert_header((
            header::CONTENT_RANGE,
            format!("bytes {s}-{e}/{}", object.total_size),
        ));
    }
    let len = object.content_length();
    res.insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::CONTENT_TYPE, content_type.to_string()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            disposition("inline", file_name),
        ))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "sandbox; default-src 'none'",
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .no_chunking(len);
    res.streaming(object.body)
}

/// The response for what a feature's fetch found.
pub fn response(f: Fetched) -> actix_web::HttpResponse {
    match f {
        Fetched::Audio(a) => audio_response(a.object, &a.content_type, &a.file_name),
        Fetched::BadRange(size) => bad_range_response(size),
    }
}

/// 416 for a range outside an object of `size` bytes.
pub fn bad_range_response(size: u64) -> actix_web::HttpResponse {
    actix_web::HttpResponse::RangeNotSatisfiable()
        .insert_header((
            actix_web::http::header::CONTENT_RANGE,
            format!("bytes */{size}"),
        ))
        .finish()
}

/// `Content-Disposition` with an ASCII fallback and the UTF-8 name (RFC 6266).
pub fn disposition(kind: &str, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = |h: &str| parse_range(Some(h), 1000);
        assert_eq!(
            r("bytes=0-99").unwrap().unwrap().resolve(1000).unwrap(),
            (0, 99)
        );
        assert_eq!(
            r("bytes=900-").unwrap().unwrap().resolve(1000).unwrap(),
            (900, 999)
        );
        assert_eq!(
            r("bytes=-100").unwrap().unwrap().resolve(1000).unwrap(),
            (900, 999)
        );
        assert_eq!(
            r("bytes=990-5000").unwrap().unwrap().resolve(1000).unwrap(),
            (990, 999)
        );
        assert!(r("bytes=1000-").is_err());
        assert!(r("bytes=5-2").is_err());
        assert!(r("bytes=x-").is_err());
        assert_eq!(r("items=0-1").unwrap(), None);
        assert_eq!(parse_range(None, 10).unwrap(), None);
    }

    #[test]
    fn dispositions_carry_both_names() {
        assert_eq!(
            disposition("inline", "晚风 mix.wav"),
            "inline; filename=\"__ mix.wav\"; filename*=UTF-8''%E6%99%9A%E9%A3%8E%20mix.wav"
        );
    }
}
