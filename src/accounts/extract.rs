//! Authentication as an extractor: handlers take `AuthUser` (401 without a session),
//! `PageUser` (pages: a visitor is sent to sign in) or `Option<AuthUser>` (pages anyone
//! may read).
//! API clients send `Authorization: Bearer <access token>`; browsers carry the access
//! and refresh tokens in `__Host-` HttpOnly cookies, and the access cookie renews
//! itself from the refresh cookie on page navigations (`renew_session`).

use std::future::Future;
use std::pin::Pin;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponseBuilder, web};

use super::auth::{self, Tokens};
use super::model::UserRow;
use crate::error::AppError;
use crate::state::AppState;

use crate::auth::request::RenewedAccess;
pub use crate::auth::request::{ACCESS_COOKIE, REFRESH_COOKIE, access_token, has_valid_access};

/// The signed-in person.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user: UserRow,
    pub session_id: String,
    /// Site-wide roles.
    pub roles: Vec<String>,
    /// Roles in one competition: (role, competition id) — judge, co-organiser, moderator.
    pub competition_roles: Vec<(String, String)>,
}

impl AuthUser {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether the person holds `role` in competition `cid`.
    pub fn has_role_in(&self, role: &str, cid: &str) -> bool {
        self.competition_roles
            .iter()
            .any(|(r, c)| r == role && c == cid)
    }

    /// Whether the person can submit entries in general: email verified, age known and
    /// no guardian's answer pending (a competition may still need consent at their age).
    pub fn can_submit(&self) -> bool {
        self.user.email_verified_at.is_some()
            && self.user.date_of_birth.is_some()
            && !self.user.awaits_guardian()
    }
}

impl FromRequest for AuthUser {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<AuthUser, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = access_token(req);
        Box::pin(async move {
            let (state, token) = match (state, token) {
                (Some(s), Some(t)) => (s, t),
                _ => return Err(AppError::Unauthorized.into()),
            };
            let (user, session_id, roles, competition_roles) =
                auth::authenticate(&state, &token).await?;
            Ok(AuthUser {
                user,
                session_id,
                roles,
                competition_roles,
            })
        })
    }
}

/// The signed-in reader of a page. A visitor who is not signed in is sent to sign in
/// (and brought back to this page after); any other failure (a blocked account, the
/// database down) is answered as it is, never mistaken for "not signed in".
pub struct PageUser(pub AuthUser);

impl FromRequest for PageUser {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<PageUser, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let who = AuthUser::from_request(req, payload);
        let here = req.path().to_string();
        Box::pin(async move {
            match who.await {
                Ok(who) => Ok(PageUser(who)),
                Err(e) if matches!(e.as_error::<AppError>(), Some(AppError::Unauthorized)) => {
                    Err(actix_web::error::InternalError::from_response(
                        "sign in first",
                        crate::web::to_sign_in(&here),
                    )
                    .into())
                }
                Err(e) => Err(e),
            }
        })
    }
}

fn cookie(name: &'static str, value: String, max_age: CookieDuration) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(max_age)
        .finish()
}

/// Put both tokens in cookies.
pub fn set_session_cookies(res: &mut HttpResponseBuilder, state: &AppState, tokens: &Tokens) {
    res.cookie(cookie(
        ACCESS_COOKIE,
        tokens.access_token.clone(),
        CookieDuration::seconds(tokens.expires_in),
    ));
    res.cookie(cookie(
        REFRESH_COOKIE,
        tokens.refresh_token.clone(),
        CookieDuration::days(state.settings.auth.session_days),
    ));
}

pub fn clear_session_cookies(res: &mut HttpResponseBuilder) {
    res.cookie(cookie(ACCESS_COOKIE, String::new(), CookieDuration::ZERO));
    res.cookie(cookie(REFRESH_COOKIE, String::new(), CookieDuration::ZERO));
}

/// On a page navigation whose access cookie is missing or no longer valid, trade the
/// refresh cookie for new tokens and set both cookies on the response. Only
/// navigations renew (not background fetches), so parallel requests never race to
/// spend the same refresh token.
pub async fn renew_session<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let navigation = req.method() == actix_web::http::Method::GET
        && req
            .headers()
            .get("sec-fetch-mode")
            .and_then(|v| v.to_str().ok())
            .is_none_or(|m| m == "navigate")
        && !req.path().starts_with("/static/")
        && !req.path().starts_with("/api/");
    let refresh = req
        .cookie(REFRESH_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (Some(refresh), Some(state), true) = (refresh, state, navigation) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let access_ok = match req.cookie(ACCESS_COOKIE) {
        Some(c) if !c.value().is_empty() => state.jwt.verify(c.value(), chrono::Utc::now()).is_ok(),
        _ => false,
    };
    if access_ok {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    match auth::refresh(&state, &refresh).await {
        Ok(tokens) => {
            req.extensions_mut()
                .insert(RenewedAccess(tokens.access_token.clone()));
            let mut res = next.call(req).await?;
            let mut b = actix_web::HttpResponse::Ok();
            set_session_cookies(&mut b, &state, &tokens);
            for c in b.finish().cookies() {
                let _ = res.response_mut().add_cookie(&c.into_owned());
            }
            Ok(res.map_into_left_body())
        }
        Err(_) => {
            // The session is over: forget the cookies.
            let mut res = next.call(req).await?;
            let mut b = actix_web::HttpResponse::Ok();
            clear_session_cookies(&mut b);
            for c in b.finish().cookies() {
                let _ = res.response_mut().add_cookie(&c.into_owned());
            }
            Ok(res.map_into_left_body())
        }
    }
}

/// The header's role links of each person, for a minute (a grant or removal forgets them).
static NAV: std::sync::LazyLock<moka::sync::Cache<String, crate::web::Nav>> =
    std::sync::LazyLock::new(|| {
        moka::sync::Cache::builder()
            .max_capacity(100_000)
            .time_to_live(std::time::Duration::from_secs(60))
            .build()
    });

/// Forget `user_id`'s header links (their roles changed).
pub fn forget_nav(user_id: &str) {
    NAV.invalidate(user_id);
}

/// The header links for someone holding `roles` (role, competition).
pub fn nav_of(roles: &[(String, Option<String>)]) -> crate::web::Nav {
    use super::model::Role;
    let has = |role: &str, site: bool| roles.iter().any(|(r, c)| r == role && c.is_none() == site);
    let admin = has(Role::Admin.as_str(), true);
    crate::web::Nav {
        admin,
        organise: admin
            || has(Role::Organiser.as_str(), true)
            || has(Role::Organiser.as_str(), false)
            || has(super::model::MODERATOR, false),
        judge: has(Role::Judge.as_str(), false),
    }
}

/// On page views of a signed-in person, find which role links the header shows
/// (`web::Nav`, read by `PageCtx`). Not for the API or static files.
pub async fn page_nav<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let path = req.path();
    let page = req.method() == actix_web::http::Method::GET
        && !path.starts_with("/api/")
        && !path.starts_with("/static/")
        && !path.starts_with("/images/");
    let state = req.app_data::<web::Data<AppState>>().cloned();
    if let (true, Some(state), Some(token)) = (page, state, access_token(req.request()))
        && let Ok(claims) = state.jwt.verify(&token, chrono::Utc::now())
    {
        let nav = match NAV.get(&claims.sub) {
            Some(n) => Some(n),
            None => {
                let uid = claims.sub.clone();
                match state
                    .db
                    .run(move |conn| super::store::all_roles(conn, &uid))
                    .await
                {
                    Ok(roles) => {
                        let n = nav_of(&roles);
                        NAV.insert(claims.sub.clone(), n);
                        Some(n)
                    }
                    // The page still renders, without role links.
                    Err(_) => None,
                }
            }
        };
        if let Some(n) = nav {
            req.extensions_mut().insert(n);
        }
    }
    next.call(req).await
}
