use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;
use utoipa::ToSchema;

use super::service;
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::web::{PageCtx, render, render_with_status};

#[derive(Template)]
#[template(path = "account/set_password.html")]
struct SetPasswordPage {
    ctx: PageCtx,
    email: String,
    token: String,
    /// The name the account has now (from the address, for an account made for them).
    name: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "account/set_password_done.html")]
struct SetPasswordDone {
    ctx: PageCtx,
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

#[get("/account/set-password")]
async fn set_password_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = query.token.clone().unwrap_or_default();
    let user = service::check_setup_token(&state, &token).await?;
    render(&SetPasswordPage {
        ctx,
        email: user.email,
        token,
        name: user.display_name,
        error: None,
    })
}

#[derive(Deserialize)]
struct SetPasswordForm {
    token: String,
    password: String,
    password_confirm: String,
    #[serde(default)]
    name: String,
}

#[post("/account/set-password")]
async fn set_password_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    form: web::Form<SetPasswordForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    match service::set_password_with_token(
        &state,
        &form.token,
        &form.password,
        Some(&form.password_confirm),
        Some(&form.name),
    )
    .await
    {
        Ok(()) => render(&SetPasswordDone { ctx }),
        // A fixable mistake in the form: show the form again with the reason.
        Err(e @ AppError::Invalid { code, .. }) if code != "account.token_invalid" => {
            let user = service::check_setup_token(&state, &form.token).await?;
            let message = e.message(ctx.l);
            render_with_status(
                &SetPasswordPage {
                    ctx,
                    email: user.email,
                    token: form.token,
                    name: form.name,
                    error: Some(message),
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordSetup {
    /// The token from the set-up link.
    pub token: String,
    /// 8 to 256 characters.
    pub password: String,
    /// The name musicians and judges will see (1 to 40 characters); kept as it is when
    /// left out.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// Set a password with the one-time token from a set-up link.
#[utoipa::path(post, path = "/api/v1/account/password-setup", tag = "accounts", request_body = PasswordSetup,
    responses(
        (status = 204, description = "Password set"),
        (status = 422, description = "The token is not valid or the password breaks a rule", body = ErrorBody)))]
#[post("/api/v1/account/password-setup")]
async fn password_setup_api(
    state: web::Data<AppState>,
    body: web::Json<PasswordSetup>,
) -> Result<HttpResponse, AppError> {
    service::set_password_with_token(
        &state,
        &body.token,
        &body.password,
        None,
        body.display_name.as_deref(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(set_password_page)
        .service(set_password_submit)
        .service(password_setup_api);
}
