//! The exhibition's JSON API, its QR code images and the scan address a QR code holds.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;

use super::model::PosterView;
use super::{qr, service};
use crate::accounts::model::AuthUser;
use crate::error::{AppError, ErrorBody};
use crate::i18n::Locale;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LangQuery {
    /// The poster's language, `en` or `zh-CN` (default: the reader's).
    pub lang: Option<String>,
}

/// The poster's language: `?lang=` if given and known, else the reader's.
pub fn lang_of(req: &HttpRequest, q: &LangQuery) -> Result<Locale, AppError> {
    match q.lang.as_deref().filter(|l| !l.is_empty()) {
        Some(l) => Locale::parse(l).ok_or_else(|| AppError::invalid("poster.lang_invalid")),
        None => Ok(crate::web::locale_of(req)),
    }
}

/// A poster for a competition (by slug or id), a prompt or an entry (by id), made on its
/// first request: its QR code's address and image links, its printable page.
#[utoipa::path(get, path = "/api/v1/posters/{kind}/{key}", tag = "exhibition",
    params(("kind" = String, Path, description = "`competition`, `prompt`, `entry` or `vote`"),
        ("key" = String, Path, description = "The competition's slug or id, the prompt's, the entry's or the voting round's id"),
        LangQuery),
    responses((status = 200, description = "The poster", body = PosterView),
        (status = 404, description = "No such public page", body = ErrorBody),
        (status = 422, description = "Unknown language", body = ErrorBody)))]
#[get("/api/v1/posters/{kind}/{key}")]
pub async fn get_poster(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    path: web::Path<(String, String)>,
    q: web::Query<LangQuery>,
) -> Result<HttpResponse, AppError> {
    let (kind, key) = path.into_inner();
    let lang = lang_of(&req, &q)?;
    let (_, v) = service::poster(&state, who.as_ref(), &kind, &key, lang).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// A competition's posters with how often each was scanned, per day (organisers).
#[utoipa::path(get, path = "/api/v1/competitions/{id}/posters", tag = "exhibition",
    params(("id" = String, Path, description = "Competition id")),
    security(("bearer" = [])),
    responses((status = 200, description = "Posters and their scans", body = [PosterView]),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)))]
#[get("/api/v1/competitions/{id}/posters")]
pub async fn list_posters(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(service::stats(&state, &who, &id).await?))
}

#[derive(Debug, Deserialize)]
struct QrQuery {
    lang: Option<String>,
    /// PNG only: pixels per module (default 12: about 6 cm at 300 dpi for a short address).
    scale: Option<usize>,
}

/// The poster's QR code, `qr.svg` or `qr.png`. A poster's code never changes, so the
/// image may be kept for a day.
#[get("/posters/{kind}/{key}/qr.{ext}")]
async fn qr_image(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    path: web::Path<(String, String, String)>,
    q: web::Query<QrQuery>,
) -> Result<HttpResponse, AppError> {
    let (kind, key, ext) = path.into_inner();
    if ext != "svg" && ext != "png" {
        return Err(AppError::NotFound);
    }
    let q = q.into_inner();
    let lang = lang_of(&req, &LangQuery { lang: q.lang })?;
    let (_, v) = service::poster(&state, who.as_ref(), &kind, &key, lang).await?;
    let (mime, body) = if ext == "png" {
        ("image/png", qr::png(&v.scan_url, q.scale.unwrap_or(12))?)
    } else {
        ("image/svg+xml", qr::svg(&v.scan_url)?.into_bytes())
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, mime))
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"cadenza-{}.{ext}\"", v.code),
        ))
        .body(body))
}

/// What a QR code holds: count the scan (per poster and day, nothing about who), then
/// open the page in the poster's language.
#[get("/p/{code}")]
async fn scan(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let to = service::scan(&state, &code).await?;
    let mut res = HttpResponse::SeeOther();
    // The poster's language stays for the visit (sign-in and the gallery included).
    let lang = to.split_once('?').and_then(|(_, q)| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| crate::i18n::Locale::parse(&v))
    });
    if let Some(l) = lang {
        res.cookie(crate::web::visit_language_cookie(
            l,
            state.settings.is_https(),
        ));
    }
    Ok(res
        .insert_header((header::LOCATION, to))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_poster)
        .service(list_posters)
        .service(qr_image)
        .service(scan);
}
