//! The account pages: register, confirm email, guardian consent, sign in and out, and
//! the account overview. Plain forms that work without JavaScript.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::api::{limit_register, limit_sign_in};
use super::auth::{self, RegisterInput};
use super::extract::{AuthUser, clear_session_cookies, set_session_cookies};
use super::guardian;
use super::page_kit::{ConfirmPage, Notice, TokenForm, TokenQuery, notice};
use super::profile::{self, Profile, ProfileInput, SessionView};
use super::team::{self, TeamRole};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{PageCtx, render, render_with_status, safe_return_path, with_next};

#[derive(Deserialize, Default, Clone)]
struct RegisterForm {
    email: String,
    password: String,
    stage_name: String,
    date_of_birth: String,
    country: String,
    language: Option<String>,
    guardian_email: Option<String>,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "account/register.html")]
struct RegisterPage {
    ctx: PageCtx,
    form: RegisterForm,
    error: Option<String>,
    age: u32,
}

#[get("/register")]
async fn register_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    q: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    let form = RegisterForm {
        language: Some(ctx.l.tag().to_string()),
        next: Some(safe_return_path(q.next.as_deref()).to_string()),
        ..RegisterForm::default()
    };
    render(&RegisterPage {
        ctx,
        form,
        error: None,
        age: state.settings.auth.age_of_digital_consent,
    })
}

#[post("/register")]
async fn register_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    ctx: PageCtx,
    form: web::Form<RegisterForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    limit_register(&req, &state).await?;
    let input = RegisterInput {
        email: form.email.clone(),
        password: form.password.clone(),
        stage_name: form.stage_name.clone(),
        date_of_birth: form.date_of_birth.clone(),
        country: form.country.clone(),
        language: form.language.clone(),
        guardian_email: form.guardian_email.clone(),
        next: form.next.clone(),
    };
    match auth::register(&state, input).await {
        Ok(done) => {
            let mut paragraphs = vec![ctx.t("account.check_email").to_string()];
            if done.guardian_asked {
                paragraphs.push(ctx.t("account.check_email_guardian").to_string());
            }
            render(&Notice {
                title: ctx.t("account.check_email_title").to_string(),
                paragraphs,
                link: None,
                ctx,
            })
        }
        Err(e @ AppError::Invalid { .. }) => {
            let message = e.message(ctx.l);
            render_with_status(
                &RegisterPage {
                    ctx,
                    form: RegisterForm {
                        password: String::new(),
                        ..form
                    },
                    error: Some(message),
                    age: state.settings.auth.age_of_digital_consent,
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(e),
    }
}

/// The emailed link lands here; confirming is a button (no state change on GET).
#[get("/verify-email")]
async fn verify_page(ctx: PageCtx, q: web::Query<TokenQuery>) -> Result<HttpResponse, AppError> {
    render(&ConfirmPage {
        title: ctx.t("account.verify_title").to_string(),
        text: ctx.t("account.verify_text").to_string(),
        action: "/verify-email",
        token: q.token.clone().unwrap_or_default(),
        button: ctx.t("account.verify_button").to_string(),
        next: Some(safe_return_path(q.next.as_deref()).to_string()).filter(|n| n != "/"),
        ctx,
    })
}

#[post("/verify-email")]
async fn verify_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    auth::verify_email(&state, &form.token).await?;
    let next = safe_return_path(form.next.as_deref());
    let sign_in = with_next("/sign-in", next);
    notice(
        ctx,
        "account.verified_title",
        "account.verified",
        Some((&sign_in, "account.sign_in")),
    )
}

#[derive(Template)]
#[template(path = "account/sign_in.html")]
struct SignInPage {
    ctx: PageCtx,
    email: String,
    next: String,
    error: Option<String>,
}

impl SignInPage {
    /// The way to register that comes back to the same place.
    fn register_href(&self) -> String {
        with_next("/register", &self.next)
    }
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[get("/sign-in")]
async fn sign_in_page(ctx: PageCtx, q: web::Query<NextQuery>) -> Result<HttpResponse, AppError> {
    render(&SignInPage {
        ctx,
        email: String::new(),
        next: safe_return_path(q.next.as_deref()).to_string(),
        error: None,
    })
}

#[derive(Deserialize)]
struct SignInForm {
    email: String,
    password: String,
    next: Option<String>,
}

#[post("/sign-in")]
async fn sign_in_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    ctx: PageCtx,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, AppError> {
    limit_sign_in(&req, &state).await?;
    let ua = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let next = safe_return_path(form.next.as_deref()).to_string();
    match auth::sign_in(&state, &form.email, &form.password, ua).await {
        Ok(tokens) => {
            let target = if next == "/" {
                home_of(&state, &tokens).await.to_string()
            } else {
                next
            };
            let mut res = HttpResponse::SeeOther();
            set_session_cookies(&mut res, &state, &tokens);
            Ok(res.insert_header((header::LOCATION, target)).finish())
        }
        Err(AppError::InvalidCredentials) => {
            let message = AppError::InvalidCredentials.message(ctx.l);
            render_with_status(
                &SignInPage {
                    ctx,
                    email: form.email.clone(),
                    next,
                    error: Some(message),
                },
                StatusCode::UNAUTHORIZED,
            )
        }
        Err(e) => Err(e),
    }
}

#[post("/sign-out")]
async fn sign_out_submit(
    state: web::Data<AppState>,
    who: Option<AuthUser>,
) -> Result<HttpResponse, AppError> {
    if let Some(who) = who {
        auth::sign_out(&state, &who.session_id).await?;
    }
    let mut res = HttpResponse::SeeOther();
    clear_session_cookies(&mut res);
    Ok(res.insert_header((header::LOCATION, "/")).finish())
}

#[post("/sign-out-everywhere")]
async fn sign_out_everywhere_submit(
    state: web::Data<AppState>,
    who: AuthUser,
) -> Result<HttpResponse, AppError> {
    auth::sign_out_everywhere(&state, &who.user.id).await?;
    let mut res = HttpResponse::SeeOther();
    clear_session_cookies(&mut res);
    Ok(res.insert_header((header::LOCATION, "/")).finish())
}

#[derive(Template)]
#[template(path = "account/account.html")]
struct AccountPage {
    ctx: PageCtx,
    stage_name: String,
    email: String,
    verified: bool,
    awaiting_guardian: bool,
    can_submit: bool,
    roles: Vec<String>,
    profile: Profile,
    links_text: String,
    sessions: Vec<SessionView>,
    has_password: bool,
    consent: guardian::ConsentStatus,
    error: Option<String>,
}

pub(super) async fn account_view(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let ctx = ctx.signed_in(&who.user.display_name);
    let profile = profile::profile_of(&who.user);
    render_with_status(
        &AccountPage {
            ctx,
            stage_name: who.user.display_name.clone(),
            email: who.user.email.clone(),
            verified: who.user.email_verified_at.is_some(),
            awaiting_guardian: who.user.awaits_guardian(),
            can_submit: who.can_submit(),
            roles: who.roles.clone(),
            links_text: profile.links.join("\n"),
            profile,
            sessions: profile::sessions(state, who).await?,
            has_password: who.user.password_hash.is_some(),
            consent: guardian::status_of(&who.user, chrono::Utc::now().date_naive()),
            error,
        },
        status,
    )
}

/// Where a person lands after signing in with nowhere else to go: their competitions
/// for organisers, their judging for judges, else their account.
pub async fn home_of(state: &AppState, tokens: &auth::Tokens) -> &'static str {
    let Ok(claims) = state.jwt.verify(&tokens.access_token, chrono::Utc::now()) else {
        return "/account";
    };
    let uid = claims.sub;
    let roles = state
        .db
        .run(move |conn| super::store::all_roles(conn, &uid))
        .await
        .unwrap_or_default();
    let nav = super::extract::nav_of(&roles);
    if nav.organise {
        "/organise"
    } else if nav.judge {
        "/judge"
    } else {
        "/account"
    }
}

#[get("/account")]
async fn account_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: Option<AuthUser>,
) -> Result<HttpResponse, AppError> {
    let Some(who) = who else {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/sign-in?next=/account"))
            .finish());
    };
    account_view(&state, ctx, &who, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct ProfileForm {
    stage_name: String,
    bio: String,
    links: String,
    language: String,
}

#[post("/account/profile")]
async fn profile_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    form: web::Form<ProfileForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = ProfileInput {
        stage_name: form.stage_name,
        bio: form.bio,
        links: form.links.lines().map(str::to_string).collect(),
        language: form.language,
    };
    match profile::update_profile(&state, &who, input).await {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/account"))
            .finish()),
        Err(e @ AppError::Invalid { .. }) => {
            let message = e.message(ctx.l);
            account_view(
                &state,
                ctx,
                &who,
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[post("/account/sessions/{id}/revoke")]
async fn session_revoke_submit(
    state: web::Data<AppState>,
    who: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    profile::revoke_session(&state, &who, &path).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/account"))
        .finish())
}

#[derive(Deserialize)]
struct DeleteForm {
    confirmation: String,
}

#[post("/account/delete")]
async fn delete_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    form: web::Form<DeleteForm>,
) -> Result<HttpResponse, AppError> {
    match profile::delete_account(&state, &who, &form.confirmation).await {
        Ok(()) => {
            let page = Notice {
                title: ctx.t("account.deleted_title").to_string(),
                paragraphs: vec![ctx.t("account.deleted").to_string()],
                link: None,
                ctx: PageCtx {
                    signed_in: false,
                    ..ctx
                },
            };
            let mut res = render(&page)?;
            let mut b = HttpResponse::Ok();
            clear_session_cookies(&mut b);
            for c in b.finish().cookies() {
                let _ = res.add_cookie(&c.into_owned());
            }
            Ok(res)
        }
        Err(e @ AppError::Invalid { .. }) => {
            let message = e.message(ctx.l);
            account_view(
                &state,
                ctx,
                &who,
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "account/judge_invitation.html")]
struct JudgePage {
    ctx: PageCtx,
    competition: String,
    email: String,
    has_account: bool,
    /// `judge`, `co_organiser` or `moderator`.
    role: &'static str,
    token: String,
    error: Option<String>,
}

#[get("/judge-invitation")]
async fn judge_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    q: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = q.token.clone().unwrap_or_default();
    let i = team::invitation(&state, &token, ctx.l).await?;
    render(&JudgePage {
        ctx,
        competition: i.competition,
        email: i.email,
        has_account: i.has_account,
        role: i.role.name(),
        token,
        error: None,
    })
}

#[derive(Deserialize)]
struct JudgeForm {
    token: String,
    stage_name: Option<String>,
    password: Option<String>,
}

#[post("/judge-invitation")]
async fn judge_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    ctx: PageCtx,
    form: web::Form<JudgeForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let ua = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let input = team::AcceptInput {
        token: form.token.clone(),
        stage_name: form.stage_name,
        password: form.password,
    };
    match team::accept(&state, input, ua).await {
        Ok((tokens, role)) => {
            let mut res = HttpResponse::SeeOther();
            set_session_cookies(&mut res, &state, &tokens);
            let home = match role {
                TeamRole::Judge => "/judge",
                _ => "/organise",
            };
            Ok(res.insert_header((header::LOCATION, home)).finish())
        }
        Err(e @ AppError::Invalid { code, .. }) if code != "account.token_invalid" => {
            let i = team::invitation(&state, &form.token, ctx.l).await?;
            let message = e.message(ctx.l);
            render_with_status(
                &JudgePage {
                    ctx,
                    competition: i.competition,
                    email: i.email,
                    has_account: i.has_account,
                    role: i.role.name(),
                    token: form.token,
                    error: Some(message),
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(e),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(register_page)
        .service(register_submit)
        .service(verify_page)
        .service(verify_submit)
        .service(sign_in_page)
        .service(sign_in_submit)
        .service(sign_out_submit)
        .service(sign_out_everywhere_submit)
        .service(account_page)
        .service(profile_submit)
        .service(session_revoke_submit)
        .service(delete_submit)
        .service(judge_page)
        .service(judge_submit);
}
