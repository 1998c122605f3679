//! The organiser's team page: who runs, moderates and judges a competition, the
//! invitations nobody has answered (send again, revoke), and an invitation form.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::extract::AuthUser;
use super::extract::PageUser;
use super::team::{self, InvitationView, MemberView, TeamRole};
use crate::competitions::model::CompetitionView;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{PageCtx, form_error, render_with_status, see_other};

#[derive(Template)]
#[template(path = "account/team.html")]
struct TeamPage {
    ctx: PageCtx,
    c: CompetitionView,
    members: Vec<MemberView>,
    invitations: Vec<(InvitationView, String)>,
    roles: [&'static str; 3],
    notice: Option<&'static str>,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    cid: &str,
    notice: Option<&'static str>,
    error: Option<AppError>,
) -> Result<HttpResponse, AppError> {
    let c = crate::competitions::service::managed_view(state, who, cid).await?;
    let members = team::members(state, who, cid).await?;
    let invitations = team::pending(state, who, cid)
        .await?
        .into_iter()
        .map(|i| {
            let when = crate::competitions::domain::local_label_in(
                i.expires_at.naive_utc(),
                &c.time_zone,
                ctx.l,
            );
            (i, when)
        })
        .collect();
    let status = error
        .as_ref()
        .map(|e| e.status())
        .unwrap_or(actix_web::http::StatusCode::OK);
    render_with_status(
        &TeamPage {
            error: error.map(|e| e.message(ctx.l)),
            ctx: ctx.signed_in(&who.user.display_name),
            c,
            members,
            invitations,
            roles: ["co_organiser", "moderator", "judge"],
            notice,
        },
        status,
    )
}

#[derive(Deserialize)]
struct NoticeQuery {
    done: Option<String>,
}

#[get("/organise/{id}/team")]
async fn show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    id: web::Path<String>,
    q: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    let notice = match q.done.as_deref() {
        Some("invited") => Some("team.notice_invited"),
        Some("resent") => Some("team.notice_resent"),
        Some("revoked") => Some("team.notice_revoked"),
        Some("removed") => Some("team.notice_removed"),
        _ => None,
    };
    page(&state, ctx, &who, &id, notice, None).await
}

#[derive(Deserialize)]
struct InviteForm {
    email: String,
    role: String,
    #[serde(default)]
    language: String,
}

#[post("/organise/{id}/team/invite")]
async fn invite(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let f = form.into_inner();
    let lang = (!f.language.is_empty()).then_some(f.language.as_str());
    let result = match TeamRole::parse(&f.role) {
        Ok(role) => team::invite(&state, &who, &id, &f.email, lang, role).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(see_other(&format!("/organise/{id}/team?done=invited"))),
        Err(e) if form_error(&e) => page(&state, ctx, &who, &id, None, Some(e)).await,
        Err(e) => Err(e),
    }
}

#[post("/organise/{id}/team/invitations/{invitation}/resend")]
async fn resend(
    state: web::Data<AppState>,
    who: AuthUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (cid, iid) = path.into_inner();
    team::resend(&state, &who, &cid, &iid).await?;
    Ok(see_other(&format!("/organise/{cid}/team?done=resent")))
}

#[post("/organise/{id}/team/invitations/{invitation}/revoke")]
async fn revoke(
    state: web::Data<AppState>,
    who: AuthUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (cid, iid) = path.into_inner();
    team::revoke(&state, &who, &cid, &iid).await?;
    Ok(see_other(&format!("/organise/{cid}/team?done=revoked")))
}

#[post("/organise/{id}/team/{user}/{role}/remove")]
async fn remove(
    state: web::Data<AppState>,
    who: AuthUser,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AppError> {
    let (cid, uid, role) = path.into_inner();
    team::remove(&state, &who, &cid, &uid, TeamRole::parse(&role)?).await?;
    Ok(see_other(&format!("/organise/{cid}/team?done=removed")))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(show)
        .service(invite)
        .service(resend)
        .service(revoke)
        .service(remove);
}
