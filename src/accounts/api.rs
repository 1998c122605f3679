//! JSON API of sign-up and sign-in.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{self, RegisterInput, Tokens};
use super::extract::{AuthUser, REFRESH_COOKIE};
use super::recovery;
use crate::error::{AppError, ErrorBody};
use crate::http::ratelimit::{self, Limit};
use crate::state::AppState;

pub fn ip_key(req: &HttpRequest, state: &AppState) -> String {
    ratelimit::ip_key(ratelimit::client_ip(
        req,
        &state.settings.server.trusted_proxies,
    ))
}

pub async fn limit_sign_in(req: &HttpRequest, state: &AppState) -> Result<(), AppError> {
    let l = Limit {
        name: "sign_in_ip",
        max: state.settings.auth.sign_in_per_ip_per_minute,
        window_secs: 60,
    };
    ratelimit::check(&state.db, l, &ip_key(req, state)).await
}

pub async fn limit_register(req: &HttpRequest, state: &AppState) -> Result<(), AppError> {
    let key = ip_key(req, state);
    let a = &state.settings.auth;
    ratelimit::check(
        &state.db,
        Limit {
            name: "register_ip",
            max: a.register_per_ip_per_hour,
            window_secs: 3600,
        },
        &key,
    )
    .await?;
    ratelimit::check(
        &state.db,
        Limit {
            name: "mail_ip",
            max: a.mail_per_ip_per_hour,
            window_secs: 3600,
        },
        &key,
    )
    .await
}

#[derive(Serialize, ToSchema)]
pub struct Accepted {
    /// `check_your_email`: the same answer whether or not the address had an account.
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Registration {
    /// `check_your_email`: the same answer whether or not the address had an account.
    pub status: &'static str,
    /// A parent or guardian was emailed for consent too (follows from the form alone).
    pub guardian_emailed: bool,
}

/// Register as a musician. A verification link is emailed; below the age of digital
/// consent a guardian's email is required and gets a consent link (under 18, a
/// guardian's email given is asked too).
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "accounts", request_body = RegisterInput,
    responses(
        (status = 202, description = "Check your email", body = Registration),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
        (status = 429, description = "Too many registrations from this address", body = ErrorBody)))]
#[post("/api/v1/auth/register")]
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<RegisterInput>,
) -> Result<HttpResponse, AppError> {
    limit_register(&req, &state).await?;
    let done = auth::register(&state, body.into_inner()).await?;
    Ok(HttpResponse::Accepted().json(Registration {
        status: "check_your_email",
        guardian_emailed: done.guardian_asked,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    pub token: String,
}

/// Confirm an email address with the token from the emailed link.
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "accounts", request_body = TokenBody,
    responses((status = 204, description = "Verified"), (status = 422, description = "Invalid or used token", body = ErrorBody)))]
#[post("/api/v1/auth/verify-email")]
pub async fn verify_email(
    state: web::Data<AppState>,
    body: web::Json<TokenBody>,
) -> Result<HttpResponse, AppError> {
    auth::verify_email(&state, &body.token).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentBody {
    pub token: String,
    /// The guardian's full name, as a record of who consented.
    pub guardian_name: String,
}

/// A guardian consents, with the token from the emailed link.
#[utoipa::path(post, path = "/api/v1/auth/guardian-consent", tag = "accounts", request_body = ConsentBody,
    responses((status = 204, description = "Consent recorded"), (status = 422, description = "Invalid token or name", body = ErrorBody)))]
#[post("/api/v1/auth/guardian-consent")]
pub async fn guardian_consent(
    state: web::Data<AppState>,
    body: web::Json<ConsentBody>,
) -> Result<HttpResponse, AppError> {
    super::guardian::give(&state, &body.token, &body.guardian_name).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
pub struct Withdrawn {
    /// Entries that stopped because they needed the consent.
    pub entries_withdrawn: usize,
}

/// A guardian withdraws consent, with the token from the standing link emailed when
/// they agreed. The musician's entries in competitions that need it are withdrawn.
#[utoipa::path(post, path = "/api/v1/auth/guardian-consent/withdraw", tag = "accounts", request_body = TokenBody,
    responses((status = 200, description = "Consent withdrawn", body = Withdrawn), (status = 422, description = "Invalid or used token", body = ErrorBody)))]
#[post("/api/v1/auth/guardian-consent/withdraw")]
pub async fn guardian_withdraw(
    state: web::Data<AppState>,
    body: web::Json<TokenBody>,
) -> Result<HttpResponse, AppError> {
    let n = super::guardian::withdraw(&state, &body.token).await?;
    Ok(HttpResponse::Ok().json(Withdrawn {
        entries_withdrawn: n,
    }))
}

pub async fn limit_guardian_requests(state: &AppState, who: &AuthUser) -> Result<(), AppError> {
    let l = Limit {
        name: "guardian_request",
        max: super::guardian::REQUESTS_PER_HOUR,
        window_secs: 3600,
    };
    ratelimit::check(&state.db, l, &who.user.id).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardianRequestBody {
    /// Where to send it; left out, the address already on file.
    pub guardian_email: Option<String>,
}

/// Ask a parent or guardian (again) for consent: a fresh link replaces older ones
/// (3 an hour). Refused once consent is given, and for adults.
#[utoipa::path(post, path = "/api/v1/account/guardian-request", tag = "accounts", request_body = GuardianRequestBody,
    responses((status = 202, description = "Sent", body = Accepted),
        (status = 409, description = "Consent was already given", body = ErrorBody),
        (status = 422, description = "Not needed, no date of birth, or a bad address", body = ErrorBody),
        (status = 429, description = "Too many in an hour", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/account/guardian-request")]
pub async fn guardian_request(
    state: web::Data<AppState>,
    who: AuthUser,
    body: web::Json<GuardianRequestBody>,
) -> Result<HttpResponse, AppError> {
    super::guardian::may_request(&who)?;
    limit_guardian_requests(&state, &who).await?;
    super::guardian::request(&state, &who, body.guardian_email.as_deref()).await?;
    Ok(HttpResponse::Accepted().json(Accepted {
        status: "check_your_email",
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BirthDateBody {
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// Required below the server's age of digital consent.
    pub guardian_email: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BirthDateGiven {
    /// A parent or guardian was emailed for consent.
    pub guardian_emailed: bool,
}

/// Give a date of birth, once, for an account made without one (a voter's or a judge's):
/// no competition can be entered before.
#[utoipa::path(put, path = "/api/v1/account/birth-date", tag = "accounts", request_body = BirthDateBody,
    responses((status = 200, description = "Recorded", body = BirthDateGiven),
        (status = 409, description = "A date of birth was already given", body = ErrorBody),
        (status = 422, description = "Not a date, or a guardian is needed", body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/api/v1/account/birth-date")]
pub async fn birth_date(
    state: web::Data<AppState>,
    who: AuthUser,
    body: web::Json<BirthDateBody>,
) -> Result<HttpResponse, AppError> {
    let asked = super::guardian::give_birth_date(
        &state,
        &who,
        &body.date_of_birth,
        body.guardian_email.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(BirthDateGiven {
        guardian_emailed: asked,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInBody {
    pub email: String,
    pub password: String,
}

/// Sign in. Wrong email and wrong password get the same answer.
#[utoipa::path(post, path = "/api/v1/auth/sign-in", tag = "accounts", request_body = SignInBody,
    responses(
        (status = 200, description = "Signed in", body = Tokens),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        (status = 429, description = "Too many attempts from this address", body = ErrorBody)))]
#[post("/api/v1/auth/sign-in")]
pub async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<SignInBody>,
) -> Result<HttpResponse, AppError> {
    limit_sign_in(&req, &state).await?;
    let ua = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let tokens = auth::sign_in(&state, &body.email, &body.password, ua).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(tokens))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    /// Absent for browsers, which send the refresh cookie.
    pub refresh_token: Option<String>,
}

/// Trade a refresh token for new tokens (the old one is spent).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "accounts", request_body = RefreshBody,
    responses((status = 200, description = "New tokens", body = Tokens), (status = 401, description = "Unknown, spent or revoked", body = ErrorBody)))]
#[post("/api/v1/auth/refresh")]
pub async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Option<web::Json<RefreshBody>>,
) -> Result<HttpResponse, AppError> {
    let from_body = body.and_then(|b| b.into_inner().refresh_token);
    let from_cookie = req.cookie(REFRESH_COOKIE).map(|c| c.value().to_string());
    let cookie_based = from_body.is_none();
    let token = from_body.or(from_cookie).ok_or(AppError::Unauthorized)?;
    let tokens = auth::refresh(&state, &token).await?;
    let mut res = HttpResponse::Ok();
    res.insert_header(("Cache-Control", "no-store"));
    if cookie_based {
        super::extract::set_session_cookies(&mut res, &state, &tokens);
    }
    Ok(res.json(tokens))
}

/// End this session.
#[utoipa::path(post, path = "/api/v1/auth/sign-out", tag = "accounts",
    responses((status = 204, description = "Signed out"), (status = 401, description = "Not signed in", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/auth/sign-out")]
pub async fn sign_out(state: web::Data<AppState>, who: AuthUser) -> Result<HttpResponse, AppError> {
    auth::sign_out(&state, &who.session_id).await?;
    let mut res = HttpResponse::NoContent();
    super::extract::clear_session_cookies(&mut res);
    Ok(res.finish())
}

/// End every session of this account, on every device.
#[utoipa::path(post, path = "/api/v1/auth/sign-out-everywhere", tag = "accounts",
    responses((status = 204, description = "Signed out everywhere"), (status = 401, description = "Not signed in", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/auth/sign-out-everywhere")]
pub async fn sign_out_everywhere(
    state: web::Data<AppState>,
    who: AuthUser,
) -> Result<HttpResponse, AppError> {
    auth::sign_out_everywhere(&state, &who.user.id).await?;
    let mut res = HttpResponse::NoContent();
    super::extract::clear_session_cookies(&mut res);
    Ok(res.finish())
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: String,
    pub stage_name: String,
    pub email: String,
    pub language: String,
    pub country: String,
    pub roles: Vec<String>,
    pub email_verified: bool,
    /// A minor's account waits for a guardian's consent.
    pub awaiting_guardian_consent: bool,
    /// No date of birth yet: one must be given before entering a competition.
    pub birth_date_missing: bool,
    /// Verified, and (for minors) with a guardian's consent.
    pub can_submit: bool,
    /// Ids of the competitions this person judges.
    pub judge_for: Vec<String>,
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, description = "The account", body = Me), (status = 401, description = "Not signed in", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/me")]
pub async fn me(state: web::Data<AppState>, who: AuthUser) -> Result<HttpResponse, AppError> {
    let id = who.user.id.clone();
    let judge_for = state
        .db
        .run(move |c| super::store::judge_of(c, &id))
        .await?;
    let u = &who.user;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(Me {
            id: u.id.clone(),
            stage_name: u.display_name.clone(),
            email: u.email.clone(),
            language: u.locale.clone(),
            country: u.country.clone(),
            roles: who.roles.clone(),
            email_verified: u.email_verified_at.is_some(),
            awaiting_guardian_consent: u.awaits_guardian(),
            birth_date_missing: u.date_of_birth.is_none(),
            can_submit: who.can_submit(),
            judge_for,
        }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailBody {
    pub email: String,
    /// `en` or `zh-CN` (magic links to new voters).
    pub language: Option<String>,
    /// A local path the emailed sign-in link returns to (magic links).
    pub next: Option<String>,
}

pub async fn limit_mail(req: &HttpRequest, state: &AppState) -> Result<(), AppError> {
    let l = Limit {
        name: "mail_ip",
        max: state.settings.auth.mail_per_ip_per_hour,
        window_secs: 3600,
    };
    ratelimit::check(&state.db, l, &ip_key(req, state)).await
}

/// Email a password-reset link (30 minutes, single use). The same answer for any address.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "accounts", request_body = EmailBody,
    responses((status = 202, description = "Check your email", body = Accepted), (status = 429, description = "Too many emails from this address", body = ErrorBody)))]
#[post("/api/v1/auth/password-reset")]
pub async fn password_reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<EmailBody>,
) -> Result<HttpResponse, AppError> {
    limit_mail(&req, &state).await?;
    recovery::request_password_reset(&state, &body.email).await?;
    Ok(HttpResponse::Accepted().json(Accepted {
        status: "check_your_email",
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    pub token: String,
    pub password: String,
}

/// Set a new password with the reset token. Every session ends; a blocked account opens.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "accounts", request_body = ResetBody,
    responses((status = 204, description = "Password set"), (status = 422, description = "Invalid token or password", body = ErrorBody)))]
#[post("/api/v1/auth/password-reset/confirm")]
pub async fn password_reset_confirm(
    state: web::Data<AppState>,
    body: web::Json<ResetBody>,
) -> Result<HttpResponse, AppError> {
    recovery::reset_password(&state, &body.token, &body.password).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeBody {
    pub current_password: String,
    pub new_password: String,
}

/// Change the password. Other sessions end; the account's email is told.
#[utoipa::path(post, path = "/api/v1/account/password", tag = "accounts", request_body = PasswordChangeBody,
    responses((status = 204, description = "Changed"), (status = 422, description = "Wrong current password or a weak new one", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/account/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    who: AuthUser,
    body: web::Json<PasswordChangeBody>,
) -> Result<HttpResponse, AppError> {
    recovery::change_password(&state, &who, &body.current_password, &body.new_password).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChangeBody {
    pub new_email: String,
    pub password: String,
}

/// Start changing the email: a confirmation link goes to the new address.
#[utoipa::path(post, path = "/api/v1/account/email", tag = "accounts", request_body = EmailChangeBody,
    responses((status = 202, description = "Check the new address", body = Accepted), (status = 422, description = "Wrong password or invalid address", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/account/email")]
pub async fn change_email(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AuthUser,
    body: web::Json<EmailChangeBody>,
) -> Result<HttpResponse, AppError> {
    limit_mail(&req, &state).await?;
    recovery::request_email_change(&state, &who, &body.new_email, &body.password).await?;
    Ok(HttpResponse::Accepted().json(Accepted {
        status: "check_your_email",
    }))
}

/// Confirm an email change with the token sent to the new address.
#[utoipa::path(post, path = "/api/v1/account/email/confirm", tag = "accounts", request_body = TokenBody,
    responses((status = 204, description = "Changed"), (status = 422, description = "Invalid token", body = ErrorBody)))]
#[post("/api/v1/account/email/confirm")]
pub async fn change_email_confirm(
    state: web::Data<AppState>,
    body: web::Json<TokenBody>,
) -> Result<HttpResponse, AppError> {
    recovery::confirm_email_change(&state, &body.token).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn limit_resend(state: &AppState, who: &AuthUser) -> Result<(), AppError> {
    let l = Limit {
        name: "resend_account",
        max: recovery::RESENDS_PER_HOUR,
        window_secs: 3600,
    };
    ratelimit::check(&state.db, l, &who.user.id).await
}

/// Send the verification link again (3 an hour).
#[utoipa::path(post, path = "/api/v1/account/verification-email", tag = "accounts",
    responses((status = 202, description = "Sent", body = Accepted), (status = 429, description = "Too many in an hour", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/account/verification-email")]
pub async fn resend_verification(
    state: web::Data<AppState>,
    who: AuthUser,
) -> Result<HttpResponse, AppError> {
    limit_resend(&state, &who).await?;
    recovery::resend_verification(&state, &who).await?;
    Ok(HttpResponse::Accepted().json(Accepted {
        status: "check_your_email",
    }))
}

/// Email a one-time sign-in link (10 minutes): voters sign in without a password.
/// Disposable email addresses are refused.
#[utoipa::path(post, path = "/api/v1/auth/magic-link", tag = "accounts", request_body = EmailBody,
    responses((status = 202, description = "Check your email", body = Accepted), (status = 422, description = "Invalid or disposable address", body = ErrorBody)))]
#[post("/api/v1/auth/magic-link")]
pub async fn magic_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<EmailBody>,
) -> Result<HttpResponse, AppError> {
    limit_mail(&req, &state).await?;
    let locale = body
        .language
        .as_deref()
        .and_then(crate::i18n::Locale::parse)
        .unwrap_or_default();
    recovery::request_magic_link(&state, &body.email, locale, body.next.as_deref()).await?;
    Ok(HttpResponse::Accepted().json(Accepted {
        status: "check_your_email",
    }))
}

/// Sign in with a magic-link token.
#[utoipa::path(post, path = "/api/v1/auth/magic-link/sign-in", tag = "accounts", request_body = TokenBody,
    responses((status = 200, description = "Signed in", body = Tokens), (status = 422, description = "Invalid, used or expired link", body = ErrorBody)))]
#[post("/api/v1/auth/magic-link/sign-in")]
pub async fn magic_link_sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<TokenBody>,
) -> Result<HttpResponse, AppError> {
    let ua = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let tokens = recovery::sign_in_with_magic_link(&state, &body.token, ua).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(tokens))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(password_reset)
        .service(password_reset_confirm)
        .service(change_password)
        .service(change_email)
        .service(change_email_confirm)
        .service(resend_verification)
        .service(magic_link)
        .service(magic_link_sign_in)
        .service(register)
        .service(verify_email)
        .service(guardian_withdraw)
        .service(guardian_consent)
        .service(guardian_request)
        .service(birth_date)
        .service(sign_in)
        .service(refresh)
        .service(sign_out)
        .service(sign_out_everywhere)
        .service(me);
}
