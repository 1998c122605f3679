//! HTTP infrastructure shared by every feature: the response envelope (request ids
//! and error bodies, error pages), security headers and the cross-site request guard,
//! request bodies read at a minimum pace, forms with files, ranged file responses,
//! pictures at the width a page shows them, CSV downloads, rate limits, metrics, health endpoints and cursor pagination.

pub mod body;
pub mod compress;
pub mod csv;
pub mod envelope;
pub mod files;
pub mod form;
pub mod health;
pub mod metrics;
pub mod pagination;
pub mod pictures;
pub mod ratelimit;
pub mod security;

use actix_web::HttpRequest;

/// Whether the client wants JSON rather than an HTML page: API paths always do,
/// and so does anyone who asks for JSON and not for HTML.
pub fn wants_json(req: &HttpRequest) -> bool {
    let path = req.path();
    if path.starts_with("/api/") || path == "/livez" || path == "/readyz" {
        return true;
    }
    let accept = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("application/json") && !accept.contains("text/html")
}

/// A JSON answer that no cache keeps (it is about the reader, or changes by the second).
pub fn no_store(v: impl serde::Serialize) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(v)
}
