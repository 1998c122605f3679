//! Security headers on every response (errors included) with a per-response CSP
//! nonce, and the cross-site request guard for state-changing requests.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use base64::Engine;
use rand::RngCore;

use crate::error::AppError;
use crate::http::envelope::PreparedResponse;
use crate::state::AppState;

/// The nonce of this response's Content-Security-Policy; templates put it on `<script>`.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

impl CspNonce {
    fn generate() -> CspNonce {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        CspNonce(base64::engine::general_purpose::STANDARD.encode(bytes))
    }
}

/// The policy for our own pages: scripts only by nonce (and what they load), no
/// plugins, no framing, no base-URI tricks, forms only to us.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic'; style-src 'self'; \
         img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self'; connect-src 'self'; \
         worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// The bundled Swagger UI sets inline styles and data: images; its scripts are files.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let nonce = CspNonce::generate();
    req.extensions_mut().insert(nonce.clone());
    let https = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.settings.is_https());
    let docs = req.path().starts_with("/api/docs");
    let apply = |h: &mut HeaderMap| {
        if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
            let csp = if docs {
                DOCS_CSP.to_string()
            } else {
                page_csp(&nonce.0)
            };
            if let Ok(v) = HeaderValue::from_str(&csp) {
                h.insert(header::CONTENT_SECURITY_POLICY, v);
            }
        }
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        h.insert(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        );
        h.insert(
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        );
        h.insert(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
        );
        if https {
            h.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
    };
    match next.call(req).await {
        Ok(mut res) => {
            apply(res.headers_mut());
            Ok(res)
        }
        Err(e) => {
            let mut prepared = PreparedResponse::from_response(e.error_response());
            apply(prepared.headers_mut());
            Err(prepared.into())
        }
    }
}

/// The origin (`scheme://host[:port]`) of a URL.
fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    Some(u.origin().ascii_serialization())
}

/// Decide whether a state-changing request may proceed.
///
/// Browsers send `Sec-Fetch-Site`; only `same-origin` and `none` (typed or bookmarked)
/// pass. Without it, an `Origin` header must be ours (the public URL, or the host the
/// request was sent to). A request with neither comes from a non-browser client, which
/// cannot be made to act with someone else's cookies, so it passes.
pub fn cross_site_verdict(
    sec_fetch_site: Option<&str>,
    origin: Option<&str>,
    host: Option<&str>,
    public_url: &str,
) -> bool {
    if let Some(site) = sec_fetch_site {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = origin else { return true };
    if origin == "null" {
        return false;
    }
    if origin_of(public_url).as_deref() == Some(origin) {
        return true;
    }
    match (origin_of(origin), host) {
        (Some(o), Some(host)) => {
            let host_of_origin = o.split("://").nth(1).unwrap_or("");
            host_of_origin.eq_ignore_ascii_case(host)
        }
        _ => false,
    }
}

pub async fn csrf_guard<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let safe = matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS" | "TRACE");
    if !safe {
        let h = req.headers();
        let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
        let public_url = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.settings.server.public_url.clone())
            .unwrap_or_default();
        let allowed = cross_site_verdict(
            get("sec-fetch-site"),
            get("origin"),
            get("host"),
            &public_url,
        );
        if !allowed {
            tracing::warn!(path = req.path(), "refused a cross-site request");
            return Ok(req
                .error_response(AppError::CrossSite)
                .map_into_right_body());
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC: &str = "https://contest.example.org";

    #[test]
    fn fetch_metadata_decides_first() {
        assert!(cross_site_verdict(Some("same-origin"), None, None, PUBLIC));
        assert!(cross_site_verdict(Some("none"), None, None, PUBLIC));
        assert!(!cross_site_verdict(
            Some("cross-site"),
            Some(PUBLIC),
            None,
            PUBLIC
        ));
        assert!(!cross_site_verdict(Some("same-site"), None, None, PUBLIC));
    }

    #[test]
    fn origin_must_be_ours() {
        assert!(cross_site_verdict(None, Some(PUBLIC), None, PUBLIC));
        assert!(!cross_site_verdict(
            None,
            Some("https://evil.example"),
            Some("contest.example.org"),
            PUBLIC
        ));
        assert!(cross_site_verdict(
            None,
            Some("http://127.0.0.1:4000"),
            Some("127.0.0.1:4000"),
            PUBLIC
        ));
        assert!(!cross_site_verdict(
            None,
            Some("http://127.0.0.1:4001"),
            Some("127.0.0.1:4000"),
            PUBLIC
        ));
        assert!(!cross_site_verdict(None, Some("null"), Some("x"), PUBLIC));
        assert!(!cross_site_verdict(
            None,
            Some("not a url"),
            Some("x"),
            PUBLIC
        ));
    }

    #[test]
    fn non_browser_clients_pass() {
        assert!(cross_site_verdict(None, None, Some("x"), PUBLIC));
    }

    #[test]
    fn csp_carries_the_nonce() {
        let csp = page_csp("abc");
        assert!(csp.contains("'nonce-abc'"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("object-src 'none'"));
        assert!(!csp.contains("unsafe-inline"));
    }
}
