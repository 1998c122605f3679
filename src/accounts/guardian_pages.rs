//! The pages of a guardian's consent: the guardian's consent form and withdrawal (from
//! emailed links), and the teen's own forms on the account page: a date of birth for an
//! account that has none, and asking a guardian (again).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::extract::AuthUser;
use super::guardian;
use super::page_kit::{Notice, TokenForm, TokenQuery, notice};
use super::pages::account_view;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{PageCtx, render, render_with_status};

#[derive(Template)]
#[template(path = "account/guardian.html")]
struct GuardianPage {
    ctx: PageCtx,
    stage_name: String,
    guardian_email: String,
    token: String,
    error: Option<String>,
}

#[get("/guardian-consent")]
async fn guardian_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    q: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = q.token.clone().unwrap_or_default();
    let (stage_name, guardian_email) = guardian::request_of(&state, &token).await?;
    render(&GuardianPage {
        ctx,
        stage_name,
        guardian_email,
        token,
        error: None,
    })
}

#[derive(Deserialize)]
struct GuardianForm {
    token: String,
    guardian_name: String,
    agree: Option<String>,
}

#[post("/guardian-consent")]
async fn guardian_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    form: web::Form<GuardianForm>,
) -> Result<HttpResponse, AppError> {
    let result = if form.agree.is_none() {
        Err(AppError::invalid("account.guardian_must_agree"))
    } else {
        guardian::give(&state, &form.token, &form.guardian_name).await
    };
    match result {
        Ok(()) => notice(
            ctx,
            "account.consent_given_title",
            "account.consent_given",
            None,
        ),
        Err(e @ AppError::Invalid { code, .. }) if code != "account.token_invalid" => {
            let (stage_name, guardian_email) = guardian::request_of(&state, &form.token).await?;
            let message = e.message(ctx.l);
            render_with_status(
                &GuardianPage {
                    ctx,
                    stage_name,
                    guardian_email,
                    token: form.token.clone(),
                    error: Some(message),
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "account/guardian_standing.html")]
struct StandingPage {
    ctx: PageCtx,
    name: String,
    token: String,
    comments_allowed: bool,
}

/// The guardian's standing link lands here: listeners' comments on the young musician's
/// songs (off until allowed), and withdrawing consent. Each is a button (GET changes
/// nothing).
#[get("/guardian-consent/withdraw")]
async fn withdraw_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    q: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = q.token.clone().unwrap_or_default();
    let (name, comments_allowed) = guardian::comments_of(&state, &token).await?;
    render(&StandingPage {
        ctx,
        name,
        token,
        comments_allowed,
    })
}

#[derive(Deserialize)]
struct CommentsForm {
    token: String,
    allow: String,
}

#[post("/guardian-consent/comments")]
async fn comments_submit(
    state: web::Data<AppState>,
    form: web::Form<CommentsForm>,
) -> Result<HttpResponse, AppError> {
    guardian::allow_comments(&state, &form.token, form.allow == "yes").await?;
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", &form.token)
        .finish();
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/guardian-consent/withdraw?{query}"),
        ))
        .finish())
}

#[post("/guardian-consent/withdraw")]
async fn withdraw_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    let stopped = guardian::withdraw(&state, &form.token).await?;
    render(&Notice {
        title: ctx.t("account.withdrawn_title").to_string(),
        paragraphs: vec![ctx.tf("account.withdrawn_text", "count", &stopped.to_string())],
        link: None,
        ctx,
    })
}

fn back_to_account() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, guardian::ACCOUNT_SECTION))
        .finish()
}

#[derive(Deserialize)]
struct BirthDateForm {
    date_of_birth: String,
    guardian_email: Option<String>,
}

#[post("/account/birth-date")]
async fn birth_date_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    form: web::Form<BirthDateForm>,
) -> Result<HttpResponse, AppError> {
    let r = guardian::give_birth_date(
        &state,
        &who,
        &form.date_of_birth,
        form.guardian_email.as_deref(),
    )
    .await;
    again_or_back(&state, ctx, &who, r.map(|_| ())).await
}

#[derive(Deserialize)]
struct GuardianRequestForm {
    guardian_email: Option<String>,
}

#[post("/account/guardian")]
async fn guardian_request_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    form: web::Form<GuardianRequestForm>,
) -> Result<HttpResponse, AppError> {
    let r = match guardian::may_request(&who) {
        Ok(()) => super::api::limit_guardian_requests(&state, &who).await,
        Err(e) => Err(e),
    };
    let r = match r {
        Ok(()) => guardian::request(&state, &who, form.guardian_email.as_deref()).await,
        Err(e) => Err(e),
    };
    again_or_back(&state, ctx, &who, r).await
}

/// Back to the account page; a mistake is shown there with what to do.
async fn again_or_back(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    r: Result<(), AppError>,
) -> Result<HttpResponse, AppError> {
    match r {
        Ok(()) => Ok(back_to_account()),
        Err(
            e @ (AppError::Invalid { .. }
            | AppError::Conflict { .. }
            | AppError::RateLimited { .. }),
        ) => {
            let message = e.message(ctx.l);
            let status = e.status();
            account_view(state, ctx, who, Some(message), status).await
        }
        Err(e) => Err(e),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(guardian_page)
        .service(guardian_submit)
        .service(withdraw_page)
        .service(withdraw_submit)
        .service(comments_submit)
        .service(birth_date_submit)
        .service(guardian_request_submit);
}
