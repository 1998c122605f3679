//! Pages for getting back in and changing what guards the account: forgot and reset
//! password, confirm an email change, request and use a magic sign-in link, and the
//! account page's password, email and resend forms.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::api::{limit_mail, limit_resend};
use super::extract::{AuthUser, set_session_cookies};
use super::page_kit::{ConfirmPage, TokenForm, TokenQuery, notice};
use super::recovery;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{PageCtx, render, render_with_status};

#[derive(Template)]
#[template(path = "account/email_form.html")]
struct EmailFormPage {
    ctx: PageCtx,
    title: String,
    intro: String,
    action: &'static str,
    button: String,
    error: Option<String>,
    next: Option<String>,
}

fn email_form(ctx: PageCtx, kind: &str, error: Option<String>) -> EmailFormPage {
    let (title, intro, action, button) = match kind {
        "magic" => (
            "account.magic_title",
            "account.magic_intro",
            "/magic-link",
            "account.magic_button",
        ),
        _ => (
            "account.forgot_title",
            "account.forgot_intro",
            "/forgot-password",
            "account.forgot_button",
        ),
    };
    EmailFormPage {
        title: ctx.t(title).to_string(),
        intro: ctx.t(intro).to_string(),
        action,
        button: ctx.t(button).to_string(),
        error,
        next: None,
        ctx,
    }
}

#[derive(Deserialize)]
struct EmailForm {
    email: String,
    next: Option<String>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// A local path to return to, or nothing.
fn local_next(next: Option<&str>) -> Option<String> {
    let p = crate::web::safe_return_path(next);
    (p != "/" && p.len() <= 512).then(|| p.to_string())
}

#[get("/forgot-password")]
async fn forgot_page(ctx: PageCtx) -> Result<HttpResponse, AppError> {
    render(&email_form(ctx, "forgot", None))
}

#[post("/forgot-password")]
async fn forgot_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    ctx: PageCtx,
    form: web::Form<EmailForm>,
) -> Result<HttpResponse, AppError> {
    limit_mail(&req, &state).await?;
    recovery::request_password_reset(&state, &form.email).await?;
    notice(ctx, "account.check_email_title", "account.reset_sent", None)
}

#[derive(Template)]
#[template(path = "account/reset_password.html")]
struct ResetPage {
    ctx: PageCtx,
    token: String,
    error: Option<String>,
}

#[get("/reset-password")]
async fn reset_page(ctx: PageCtx, q: web::Query<TokenQuery>) -> Result<HttpResponse, AppError> {
    render(&ResetPage {
        ctx,
        token: q.token.clone().unwrap_or_default(),
        error: None,
    })
}

#[derive(Deserialize)]
struct ResetForm {
    token: String,
    password: String,
}

#[post("/reset-password")]
async fn reset_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, AppError> {
    match recovery::reset_password(&state, &form.token, &form.password).await {
        Ok(()) => notice(
            ctx,
            "account.reset_done_title",
            "account.reset_done",
            Some(("/sign-in", "account.sign_in")),
        ),
        Err(e @ AppError::Invalid { code, .. }) if code != "account.token_invalid" => {
            let message = e.message(ctx.l);
            render_with_status(
                &ResetPage {
                    ctx,
                    token: form.token.clone(),
                    error: Some(message),
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(e),
    }
}

#[get("/confirm-email-change")]
async fn confirm_email_page(
    ctx: PageCtx,
    q: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    render(&ConfirmPage {
        title: ctx.t("account.change_email_title").to_string(),
        text: ctx.t("account.change_email_confirm_text").to_string(),
        action: "/confirm-email-change",
        token: q.token.clone().unwrap_or_default(),
        button: ctx.t("account.change_email_confirm_button").to_string(),
        next: None,
        ctx,
    })
}

#[post("/confirm-email-change")]
async fn confirm_email_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    recovery::confirm_email_change(&state, &form.token).await?;
    notice(
        ctx,
        "account.email_changed_title",
        "account.email_changed",
        Some(("/account", "nav.account")),
    )
}

#[get("/magic-link")]
async fn magic_page(ctx: PageCtx, q: web::Query<NextQuery>) -> Result<HttpResponse, AppError> {
    let mut page = email_form(ctx, "magic", None);
    page.next = local_next(q.next.as_deref());
    render(&page)
}

#[post("/magic-link")]
async fn magic_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    ctx: PageCtx,
    form: web::Form<EmailForm>,
) -> Result<HttpResponse, AppError> {
    limit_mail(&req, &state).await?;
    let next = local_next(form.next.as_deref());
    match recovery::request_magic_link(&state, &form.email, ctx.l, next.as_deref()).await {
        Ok(()) => notice(ctx, "account.check_email_title", "account.magic_sent", None),
        Err(e @ AppError::Invalid { .. }) => {
            let message = e.message(ctx.l);
            let mut page = email_form(ctx, "magic", Some(message));
            page.next = next;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e),
    }
}

#[get("/magic-link/sign-in")]
async fn magic_confirm_page(
    ctx: PageCtx,
    q: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    render(&ConfirmPage {
        title: ctx.t("account.magic_confirm_title").to_string(),
        text: ctx.t("account.magic_confirm_text").to_string(),
        action: "/magic-link/sign-in",
        token: q.token.clone().unwrap_or_default(),
        button: ctx.t("account.magic_confirm_button").to_string(),
        next: local_next(q.next.as_deref()),
        ctx,
    })
}

#[post("/magic-link/sign-in")]
async fn magic_confirm_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    let ua = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let tokens = recovery::sign_in_with_magic_link(&state, &form.token, ua).await?;
    let mut res = HttpResponse::SeeOther();
    set_session_cookies(&mut res, &state, &tokens);
    let to = local_next(form.next.as_deref()).unwrap_or_else(|| "/account".into());
    Ok(res.insert_header((header::LOCATION, to)).finish())
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
}

#[post("/account/password")]
async fn password_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    recovery::change_password(&state, &who, &form.current_password, &form.new_password).await?;
    notice(
        ctx.signed_in(&who.user.display_name),
        "account.password_changed_title",
        "account.password_changed",
        Some(("/account", "nav.account")),
    )
}

#[derive(Deserialize)]
struct EmailChangeForm {
    new_email: String,
    password: String,
}

#[post("/account/email")]
async fn email_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    form: web::Form<EmailChangeForm>,
) -> Result<HttpResponse, AppError> {
    limit_mail(&req, &state).await?;
    recovery::request_email_change(&state, &who, &form.new_email, &form.password).await?;
    notice(
        ctx.signed_in(&who.user.display_name),
        "account.check_email_title",
        "account.change_email_sent",
        Some(("/account", "nav.account")),
    )
}

#[post("/account/verification-email")]
async fn resend_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
) -> Result<HttpResponse, AppError> {
    limit_resend(&state, &who).await?;
    recovery::resend_verification(&state, &who).await?;
    notice(
        ctx.signed_in(&who.user.display_name),
        "account.check_email_title",
        "account.check_email",
        Some(("/account", "nav.account")),
    )
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(forgot_page)
        .service(forgot_submit)
        .service(reset_page)
        .service(reset_submit)
        .service(confirm_email_page)
        .service(confirm_email_submit)
        .service(magic_page)
        .service(magic_submit)
        .service(magic_confirm_page)
        .service(magic_confirm_submit)
        .service(password_submit)
        .service(email_submit)
        .service(resend_submit);
}
