//! Our own CSS and JavaScript modules from `web/static/`, compiled into the binary
//! (read from disk in debug builds). Pages name each file with its content's version
//! (`/static/js/vote.js?v=3f2a9c1d8e`), so a browser keeps it for a year
//! (`Cache-Control: immutable`) and a new release is fetched at once; modules import
//! each other by plain relative names, which the page's import map turns into the
//! versioned addresses. Without the version (or with an old one) a file is served for
//! revalidation by its strong ETag. Text is sent compressed by `http::compress`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use rust_embed::Embed;
use serde::Deserialize;

use crate::error::AppError;

#[derive(Embed)]
#[folder = "web/static/"]
struct Static;

/// How long a versioned file is kept: a year, unchanged.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A file's version: the start of its SHA-256 (computed at build time in release).
fn version(path: &str) -> Option<String> {
    Static::get(path).map(|f| hex::encode(&f.metadata.sha256_hash()[..5]))
}

/// The address of `path` (under `web/static/`) with its version.
pub fn url(path: &str) -> String {
    match version(path) {
        Some(v) => format!("/static/{path}?v={v}"),
        None => format!("/static/{path}"),
    }
}

/// The page's import map: each of our modules' address → its versioned address. A
/// module loaded by a relative `import` (or `import.meta.resolve`) gets the version.
pub fn import_map() -> String {
    let mut imports = serde_json::Map::new();
    for path in Static::iter().filter(|p| p.ends_with(".js")) {
        imports.insert(
            format!("/static/{path}"),
            serde_json::Value::String(url(&path)),
        );
    }
    serde_json::json!({ "imports": imports }).to_string()
}

#[derive(Deserialize)]
pub struct AssetQuery {
    v: Option<String>,
}

#[get("/static/{path:.*}")]
pub async fn static_file(
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<AssetQuery>,
) -> Result<HttpResponse, AppError> {
    let path = path.into_inner();
    let file = Static::get(&path).ok_or(AppError::NotFound)?;
    let hash = file.metadata.sha256_hash();
    let etag = format!("\"{}\"", hex::encode(&hash[..16]));
    let current = q.v.as_deref() == Some(hex::encode(&hash[..5]).as_str());
    let cache = if current {
        IMMUTABLE
    } else {
        "public, no-cache"
    };
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        // A compressed copy was sent with the weak form of the tag (`http::compress`).
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == etag)
        });
    if matches {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, cache))
            .finish());
    }
    let mime = mime_guess::from_path(&path).first_or_octet_stream();
    let content_type = if mime.type_() == "text" || mime.subtype() == "javascript" {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache))
        .body(file.data.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_has_a_versioned_address_in_the_import_map() {
        let map: serde_json::Value = serde_json::from_str(&import_map()).unwrap();
        let imports = map["imports"].as_object().unwrap();
        assert!(imports.len() >= 10, "{imports:?}");
        let app = imports["/static/js/app.js"].as_str().unwrap();
        assert!(app.starts_with("/static/js/app.js?v="), "{app}");
        assert_eq!(app, url("js/app.js"));
        assert_eq!(url("nope.js"), "/static/nope.js");
    }
}
