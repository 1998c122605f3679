//! The response envelope: every response carries `X-Request-Id`, and every error —
//! ours, actix's own (bad JSON, unknown route) or a caught panic — becomes the
//! standard body in the reader's language: JSON for API clients, a page for browsers.
//!
//! A middleware may not keep a clone of the request across the inner call (actix's
//! router needs it unshared), so an error that comes back as `Err` (a caught panic)
//! cannot be turned into a `ServiceResponse` here. It is passed on as a
//! [`PreparedResponse`] error instead, which actix renders exactly as prepared; the
//! outer middlewares add their headers to it the same way.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, ResponseError};
use bytes::Bytes;
use tracing_actix_web::RequestId;

use crate::error::AppError;
use crate::http::security::CspNonce;
use crate::i18n::Locale;
use crate::web;

/// A complete response carried as an error, for paths where only `Err` can travel.
#[derive(Debug)]
pub struct PreparedResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl PreparedResponse {
    pub fn from_response(res: HttpResponse) -> PreparedResponse {
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().try_into_bytes().unwrap_or_default();
        PreparedResponse {
            status,
            headers,
            body,
        }
    }

    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }
}

impl std::fmt::Display for PreparedResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "prepared response {}", self.status)
    }
}

impl ResponseError for PreparedResponse {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status).body(self.body.clone());
        for (name, value) in &self.headers {
            res.headers_mut().insert(name.clone(), value.clone());
        }
        res
    }
}

/// What the envelope needs to know about the request, taken before the inner call.
struct Reader {
    request_id: Option<String>,
    locale: Locale,
    json: bool,
    nonce: String,
}

impl Reader {
    fn render(&self, status: StatusCode, err: &AppError) -> HttpResponse {
        self.render_for(status, err, (false, web::Nav::default()))
    }

    /// The error for a reader whose sign-in and header links are known.
    fn render_for(
        &self,
        status: StatusCode,
        err: &AppError,
        who: (bool, web::Nav),
    ) -> HttpResponse {
        let mut res = if self.json {
            HttpResponse::build(status).json(err.body(self.locale, self.request_id.clone()))
        } else {
            let html = web::render_error_page(
                self.locale,
                &self.nonce,
                status,
                &err.message(self.locale),
                self.request_id.as_deref(),
                who,
            );
            HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .body(html)
        };
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let AppError::RateLimited { retry_after } = err
            && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        // RFC 9110: a 401 names the scheme that would work.
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"cadenza\""),
            );
        }
        self.stamp(res.headers_mut());
        res
    }

    fn stamp(&self, headers: &mut HeaderMap) {
        if let Some(id) = &self.request_id
            && let Ok(v) = HeaderValue::from_str(id)
        {
            headers.insert(header::HeaderName::from_static("x-request-id"), v);
        }
    }
}

fn log_server_error(status: StatusCode, err: &AppError, cause: &str) {
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), code = err.code(), cause = %cause, "request failed");
    }
}

pub async fn envelope(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // Separate statements: `extensions()` guards must not live while cookies are parsed.
    let request_id = req.extensions().get::<RequestId>().map(|r| r.to_string());
    let nonce = req
        .extensions()
        .get::<CspNonce>()
        .map(|n| n.0.clone())
        .unwrap_or_default();
    let locale = web::locale_of(req.request());
    let json = crate::http::wants_json(req.request());
    let reader = Reader {
        request_id,
        locale,
        json,
        nonce,
    };
    match next.call(req).await {
        Ok(res) => {
            let mut res = res.map_into_boxed_body();
            let status = res.status();
            if status.is_redirection() && res.response().error().is_some() {
                // A redirect carried as an extractor's error (a visitor sent to sign in)
                // is an answer, not a failure: without the error, it is not logged as one.
                let (req, sent) = res.into_parts();
                let mut fresh = HttpResponse::build(status);
                for (k, v) in sent.headers() {
                    fresh.append_header((k.clone(), v.clone()));
                }
                return Ok(ServiceResponse::new(req, fresh.finish()));
            }
            let needs_body = status.as_u16() >= 400
                && (res.response().error().is_some()
                    || !res.headers().contains_key(header::CONTENT_TYPE));
            if needs_body {
                let fallback;
                let err = match res
                    .response()
                    .error()
                    .and_then(|e| e.as_error::<AppError>())
                {
                    Some(e) => e,
                    None => {
                        fallback = AppError::from_status(status);
                        &fallback
                    }
                };
                let cause = res
                    .response()
                    .error()
                    .map(|e| format!("{e:?}"))
                    .unwrap_or_default();
                log_server_error(status, err, &cause);
                // A signed-in reader's error page keeps their header (no "Sign in").
                let who = (
                    crate::auth::request::has_valid_access(res.request()),
                    res.request()
                        .extensions()
                        .get::<web::Nav>()
                        .copied()
                        .unwrap_or_default(),
                );
                let mut fresh = reader.render_for(status, err, who);
                if res.response().head().connection_type() == actix_web::http::ConnectionType::Close
                {
                    fresh
                        .head_mut()
                        .set_connection_type(actix_web::http::ConnectionType::Close);
                }
                // Keep headers such as Allow or Retry-After from the original response.
                for (name, value) in res.headers() {
                    if !fresh.headers().contains_key(name) && name != header::CONTENT_LENGTH {
                        fresh.headers_mut().insert(name.clone(), value.clone());
                    }
                }
                let (http_req, _) = res.into_parts();
                Ok(ServiceResponse::new(http_req, fresh))
            } else {
                reader.stamp(res.headers_mut());
                Ok(res)
            }
        }
        Err(e) => {
            let status = e.as_response_error().status_code();
            let fallback;
            let err = match e.as_error::<AppError>() {
                Some(a) => a,
                None => {
                    fallback = AppError::from_status(status);
                    &fallback
                }
            };
            log_server_error(status, err, &format!("{e:?}"));
            Err(PreparedResponse::from_response(reader.render(status, err)).into())
        }
    }
}
