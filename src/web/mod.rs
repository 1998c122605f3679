//! The web shell: the page context every template gets (language, CSP nonce, current
//! path), language negotiation and switching, static assets, and the error page.
//! Feature pages live in their feature's `pages.rs` (and `organiser_pages.rs`,
//! `judge_pages.rs` …) and render templates from `web/templates/`; the `PageUser`
//! extractor that sends a visitor to sign in is accounts'.

pub mod assets;

use std::future::{Ready, ready};

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, post, web};
use askama::Template;
use serde::Deserialize;

use crate::error::AppError;
use crate::http::security::CspNonce;
use crate::i18n::{LANG_COOKIE, Locale, VISIT_LANG_COOKIE};
use crate::state::AppState;

/// The reader's language: `?lang=` in the address (a poster's QR code opens its page in
/// the poster's language), else the language the scanned QR code chose for this visit,
/// else the `lang` cookie, else `Accept-Language`, else English.
pub fn locale_of(req: &HttpRequest) -> Locale {
    if let Some(l) = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| Locale::parse(&v))
    {
        return l;
    }
    for name in [VISIT_LANG_COOKIE, LANG_COOKIE] {
        if let Some(l) = req.cookie(name).and_then(|c| Locale::parse(c.value())) {
            return l;
        }
    }
    req.headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Locale::negotiate)
        .unwrap_or_default()
}

/// The header's links by role, looked up once a minute per person (by the accounts feature's
/// `page_nav` middleware).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Nav {
    /// Organises (or co-organises, or moderates) at least one competition, or may create one.
    pub organise: bool,
    /// Judges in at least one competition.
    pub judge: bool,
    /// Runs the site.
    pub admin: bool,
}

/// What every page template needs from the request.
#[derive(Debug, Clone)]
pub struct PageCtx {
    pub l: Locale,
    pub nonce: String,
    /// Path and query of this page, for the language switcher's return address.
    pub here: String,
    /// Whether the reader is signed in (a valid access token came with the request).
    pub signed_in: bool,
    /// The reader's stage name, when the page looked it up.
    pub user_name: Option<String>,
    /// Which role links the header shows.
    pub nav: Nav,
}

impl PageCtx {
    pub fn from_request(req: &HttpRequest) -> PageCtx {
        // Without `lang=`: after switching language, the page follows the choice.
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                url::form_urlencoded::parse(req.query_string().as_bytes())
                    .filter(|(k, _)| k != "lang"),
            )
            .finish();
        let here = if query.is_empty() {
            req.path().to_string()
        } else {
            format!("{}?{query}", req.path())
        };
        let nonce = req
            .extensions()
            .get::<CspNonce>()
            .map(|n| n.0.clone())
            .unwrap_or_default();
        PageCtx {
            l: locale_of(req),
            nonce,
            here,
            signed_in: crate::auth::request::has_valid_access(req),
            user_name: None,
            nav: req.extensions().get::<Nav>().copied().unwrap_or_default(),
        }
    }

    /// The page knows who is signed in.
    pub fn signed_in(mut self, name: &str) -> PageCtx {
        self.signed_in = true;
        self.user_name = Some(name.to_string());
        self
    }

    pub fn t(&self, key: &str) -> &'static str {
        self.l.t(key)
    }

    /// The message `prefix` + `suffix`, for keys that name a state (`judging.status_open`).
    pub fn tk(&self, prefix: &str, suffix: impl AsRef<str>) -> &'static str {
        self.l.t(&format!("{prefix}{}", suffix.as_ref()))
    }

    pub fn tf(&self, key: &str, name: &str, value: &str) -> String {
        self.l.tf(key, &[(name, value)])
    }

    /// A message with two placeholders filled.
    pub fn tf2(&self, key: &str, n1: &str, v1: &str, n2: &str, v2: &str) -> String {
        self.l.tf(key, &[(n1, v1), (n2, v2)])
    }

    /// The other languages, for the switcher.
    pub fn locales(&self) -> [Locale; 2] {
        Locale::ALL
    }

    /// The address of one of our static files, naming its content's version (so the
    /// browser may keep it for a year): `/static/css/app.css?v=…`.
    pub fn asset(&self, path: &str) -> String {
        assets::url(path)
    }

    /// The import map that gives every JavaScript module its versioned address.
    pub fn import_map(&self) -> String {
        assets::import_map()
    }

    /// A picture's address (see `media::picture::url`) at `width` pixels.
    pub fn pic(&self, url: &str, width: u32) -> String {
        crate::media::picture::url_at(url, width)
    }

    /// The `srcset` of a picture: its renditions, for the browser to pick from.
    pub fn srcset(&self, url: &str) -> String {
        crate::media::picture::srcset(url)
    }

    /// The same, no wider than `limit` pixels (what phones are offered).
    pub fn srcset_upto(&self, url: &str, limit: u32) -> String {
        crate::media::picture::srcset_upto(url, limit)
    }

    /// The picture's `width` and `height` attributes (its proportions, so the page does
    /// not move when it arrives), when its address carries its size.
    pub fn pic_size(&self, url: &str) -> Option<crate::media::picture::Size> {
        crate::media::picture::size_of_url(url)
    }
}

impl FromRequest for PageCtx {
    type Error = actix_web::Error;
    type Future = Ready<Result<PageCtx, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(PageCtx::from_request(req)))
    }
}

/// Render a page. Pages depend on the language cookie and header, so caches must vary.
/// JSON for a page script, unable to end its `<script>` element.
pub fn script_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// Whether an error belongs on the form (a 4xx the reader can fix) rather than an error page.
pub fn form_error(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Invalid { .. } | AppError::Conflict { .. } | AppError::Refused { .. }
    )
}

pub fn render<T: Template>(page: &T) -> Result<HttpResponse, AppError> {
    render_with_status(page, StatusCode::OK)
}

pub fn render_with_status<T: Template>(
    page: &T,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let html = page.render()?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::VARY, "Cookie, Accept-Language"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(html))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    ctx: PageCtx,
    status: u16,
    message: &'a str,
    request_id: Option<&'a str>,
}

/// The HTML error page; used by the response envelope for browser requests.
pub fn render_error_page(
    locale: Locale,
    nonce: &str,
    status: StatusCode,
    message: &str,
    request_id: Option<&str>,
    (signed_in, nav): (bool, Nav),
) -> String {
    let page = ErrorPage {
        ctx: PageCtx {
            l: locale,
            nonce: nonce.to_string(),
            here: "/".into(),
            signed_in,
            user_name: None,
            nav,
        },
        status: status.as_u16(),
        message,
        request_id,
    };
    page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot render the error page");
        format!(
            "<!doctype html><title>{}</title><p>{}</p>",
            status.as_u16(),
            locale.t("error.internal")
        )
    })
}

#[derive(Deserialize)]
struct LanguageForm {
    lang: String,
    next: Option<String>,
}

/// A redirect after a form post (303: the browser follows with GET).
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// Send a signed-out reader to the sign-in page, to come back to `next` afterwards.
pub fn to_sign_in(next: &str) -> HttpResponse {
    see_other(&format!("/sign-in?next={next}"))
}

/// `url` with `?next=` (or `&next=`) set to a local path, unless it is the home page.
pub fn with_next(url: &str, next: &str) -> String {
    let next = safe_return_path(Some(next));
    if next == "/" {
        return url.to_string();
    }
    let enc: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}next={enc}")
}

/// Only paths on this site: `/x`, never `//host` or `/\host`.
pub fn safe_return_path(next: Option<&str>) -> &str {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && !p.contains(['\r', '\n']) =>
        {
            p
        }
        _ => "/",
    }
}

/// Switch language: remembered in a cookie for a year; works without JavaScript.
#[post("/language")]
async fn switch_language(
    state: web::Data<AppState>,
    form: web::Form<LanguageForm>,
) -> Result<HttpResponse, AppError> {
    let locale =
        Locale::parse(&form.lang).ok_or_else(|| AppError::invalid("request.invalid_form"))?;
    let cookie = Cookie::build(LANG_COOKIE, locale.tag())
        .path("/")
        .max_age(CookieDuration::days(365))
        .same_site(SameSite::Lax)
        .secure(state.settings.is_https())
        .http_only(true)
        .finish();
    // A choice made here outranks the language a scanned poster chose for the visit.
    let mut visit = Cookie::build(VISIT_LANG_COOKIE, "").path("/").finish();
    visit.make_removal();
    Ok(HttpResponse::SeeOther()
        .cookie(cookie)
        .cookie(visit)
        .insert_header((header::LOCATION, safe_return_path(form.next.as_deref())))
        .finish())
}

/// The session cookie that keeps a scanned poster's language for the rest of the visit.
pub fn visit_language_cookie(locale: Locale, https: bool) -> Cookie<'static> {
    Cookie::build(VISIT_LANG_COOKIE, locale.tag())
        .path("/")
        .same_site(SameSite::Lax)
        .secure(https)
        .http_only(true)
        .finish()
}

/// A page opened in a language by its address (`?lang=`, as a poster's QR code or a
/// shared link does) keeps that language for the rest of the visit: the next page, the
/// gallery, sign-in. Not for the API, static files or the printable posters themselves.
pub async fn remember_visit_language(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let path = req.path();
    let lang = (req.method() == actix_web::http::Method::GET
        && req.query_string().contains("lang=")
        && !path.starts_with("/api/")
        && !path.starts_with("/static/")
        && !path.starts_with("/posters/"))
    .then(|| {
        url::form_urlencoded::parse(req.query_string().as_bytes())
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| Locale::parse(&v))
    })
    .flatten()
    .filter(|l| {
        req.cookie(VISIT_LANG_COOKIE)
            .is_none_or(|c| c.value() != l.tag())
    });
    let https = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.settings.is_https());
    let mut res = next.call(req).await?;
    if let Some(l) = lang
        && res.status().is_success()
    {
        res.response_mut()
            .add_cookie(&visit_language_cookie(l, https))
            .map_err(actix_web::error::ErrorInternalServerError)?;
    }
    Ok(res)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(switch_language).service(assets::static_file);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_paths_stay_on_site() {
        assert_eq!(safe_return_path(Some("/c/x?y=1")), "/c/x?y=1");
        assert_eq!(safe_return_path(Some("//evil.example")), "/");
        assert_eq!(safe_return_path(Some("/\\evil.example")), "/");
        assert_eq!(safe_return_path(Some("https://evil.example")), "/");
        assert_eq!(safe_return_path(Some("/x\r\nSet-Cookie: a=b")), "/");
        assert_eq!(safe_return_path(None), "/");
    }
}
