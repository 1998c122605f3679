//! Where a request carries its access token: an `Authorization: Bearer` header (API
//! clients), the access cookie (browsers), or a token renewed for this request from the
//! refresh cookie. Checking a token needs no database; who it belongs to is the
//! `accounts` feature's (its `AuthUser` extractor).

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, web};

use crate::state::AppState;

pub const ACCESS_COOKIE: &str = "__Host-cadenza-at";
pub const REFRESH_COOKIE: &str = "__Host-cadenza-rt";

/// An access token renewed for this request (by accounts' `renew_session`), read before
/// the request's own expired cookie.
#[derive(Clone)]
pub struct RenewedAccess(pub String);

fn bearer(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string())
}

/// The access token the request carries, if any (not yet verified).
pub fn access_token(req: &HttpRequest) -> Option<String> {
    if let Some(t) = bearer(req) {
        return Some(t);
    }
    if let Some(r) = req.extensions().get::<RenewedAccess>() {
        return Some(r.0.clone());
    }
    req.cookie(ACCESS_COOKIE).map(|c| c.value().to_string())
}

/// Whether the request carries an access token that verifies (no database lookup: for
/// showing "Account" rather than "Sign in" in the navigation).
pub fn has_valid_access(req: &HttpRequest) -> bool {
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return false;
    };
    access_token(req)
        .is_some_and(|t| !t.is_empty() && state.jwt.verify(&t, chrono::Utc::now()).is_ok())
}
