//! The organisers' review of the judges' feedback for musicians (some of them minors):
//! every musician-facing comment with where it stands — released, waiting for its round,
//! held back (with the reason), or never released (its judge declared a conflict or was
//! removed) — a CSV of the same, and holding a comment back or releasing it again.

use std::collections::{HashMap, HashSet};

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, delete, get, post, web};
use askama::Template;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::domain::feedback_released;
use super::model::{ACTIVE, STANDARD};
use super::service::now;
use super::store;
use crate::accounts::model::AuthUser;
use crate::accounts::model::PageUser;
use crate::competitions::model::CompetitionRow;
use crate::competitions::service as competitions;
use crate::competitions::service::with_managed;
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::web::{PageCtx, render_with_status, see_other};

/// The longest reason for holding a comment back.
pub const MAX_HOLD_REASON: usize = 500;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedbackItem {
    pub comment_id: String,
    pub round: String,
    pub entry_id: String,
    pub entry_title: String,
    pub musician: String,
    pub judge: String,
    pub body: String,
    /// Where in the track, if pinned.
    pub at_secs: Option<f64>,
    /// `released`, `waiting` (its round's feedback is not out yet), `held` or `never`
    /// (the judge declared a conflict or was removed).
    pub status: &'static str,
    pub held_reason: Option<String>,
}

fn items(
    conn: &mut crate::db::DbConnection,
    c: &CompetitionRow,
) -> Result<Vec<FeedbackItem>, AppError> {
    let published = crate::competitions::service::results_out(conn, &c.id)?;
    let rounds: HashMap<String, super::model::RoundRow> = store::rounds_of(conn, &c.id)?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    let rows = store::musician_comments_of(conn, &c.id)?;
    let entry_ids: Vec<String> = rows.iter().map(|(_, a)| a.entry_id.clone()).collect();
    let entries = crate::submissions::service::find_entries(conn, &entry_ids)?;
    let mut people: Vec<String> = rows.iter().map(|(_, a)| a.judge_id.clone()).collect();
    people.extend(entries.values().map(|e| e.musician_id.clone()));
    let names = crate::accounts::service::display_names(conn, &people)?;
    let conflicts: HashSet<(String, String)> = store::conflicts_of(conn, &c.id)?
        .into_iter()
        .map(|k| (k.judge_id, k.entry_id))
        .collect();
    let name = |id: &str| {
        names
            .get(id)
            .filter(|n| !n.is_empty())
            .cloned()
            .unwrap_or_else(|| "—".into())
    };
    Ok(rows
        .into_iter()
        .filter_map(|(k, a)| {
            let r = rounds.get(&a.round_id)?;
            let e = entries.get(&a.entry_id)?;
            let status = if a.state != ACTIVE
                || conflicts.contains(&(a.judge_id.clone(), a.entry_id.clone()))
            {
                "never"
            } else if k.held_at.is_some() {
                "held"
            } else if r.kind == STANDARD && feedback_released(r, published) {
                "released"
            } else {
                "waiting"
            };
            Some(FeedbackItem {
                comment_id: k.id,
                round: r.name.clone(),
                entry_id: e.id.clone(),
                entry_title: e.title.clone(),
                musician: name(&e.musician_id),
                judge: name(&a.judge_id),
                body: k.body,
                at_secs: k.at_ms.map(|m| f64::from(m) / 1000.0),
                status,
                held_reason: k.held_reason,
            })
        })
        .collect())
}

pub async fn review(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
) -> Result<(CompetitionRow, Vec<FeedbackItem>), AppError> {
    with_managed(state, who, competition_id, |conn, _, c| {
        let list = items(conn, &c)?;
        Ok((c, list))
    })
    .await
}

/// Hold a comment back from its musician with a reason, or release it (`None`).
pub async fn hold(
    state: &AppState,
    who: &AuthUser,
    comment_id: &str,
    reason: Option<&str>,
) -> Result<(), AppError> {
    let reason = match reason {
        Some(r) => {
            let r = r.trim().to_string();
            if r.is_empty()
                || r.chars().count() > MAX_HOLD_REASON
                || r.chars().any(char::is_control)
            {
                return Err(AppError::invalid_with(
                    "judging.hold_reason_invalid",
                    vec![("max", MAX_HOLD_REASON.to_string())],
                ));
            }
            Some(r)
        }
        None => None,
    };
    let (who, id) = (who.clone(), comment_id.to_string());
    state
        .db
        .transaction(move |conn| {
            let k = store::find_comment(conn, &id)?.ok_or(AppError::NotFound)?;
            let a =
                store::find_assignment_by_id(conn, &k.assignment_id)?.ok_or(AppError::NotFound)?;
            let r = store::find_round(conn, &a.round_id)?.ok_or(AppError::NotFound)?;
            competitions::managed(conn, &who, &r.competition_id)?;
            let now = now();
            store::set_comment_hold(conn, &id, reason.as_deref(), now)?;
            crate::db::audit::record(
                conn,
                Some(&who.user.id),
                if reason.is_some() {
                    "feedback.held"
                } else {
                    "feedback.released"
                },
                &id,
                &serde_json::json!({ "reason": reason }),
                now,
            )
        })
        .await
}

pub async fn csv(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
) -> Result<(String, String), AppError> {
    use crate::http::csv::cell;
    let (c, list) = review(state, who, competition_id).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let head = [
        "comment_id",
        "round",
        "entry_id",
        "entry_title",
        "musician",
        "judge",
        "at_secs",
        "status",
        "held_reason",
        "comment",
    ];
    w.write_record(head).map_err(AppError::internal)?;
    for i in list {
        w.write_record([
            cell(&i.comment_id),
            cell(&i.round),
            cell(&i.entry_id),
            cell(&i.entry_title),
            cell(&i.musician),
            cell(&i.judge),
            i.at_secs.map(|s| format!("{s:.1}")).unwrap_or_default(),
            i.status.to_string(),
            cell(i.held_reason.as_deref().unwrap_or("")),
            cell(&i.body),
        ])
        .map_err(AppError::internal)?;
    }
    let body = String::from_utf8(w.into_inner().map_err(AppError::internal)?)
        .map_err(AppError::internal)?;
    Ok((format!("{}-feedback.csv", c.slug), body))
}

/// Every comment for musicians, with where it stands.
#[utoipa::path(get, path = "/api/v1/competitions/{id}/feedback", tag = "judging",
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 200, description = "Comments", body = Vec<FeedbackItem>),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/competitions/{id}/feedback")]
pub async fn feedback_api(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (_, list) = review(&state, &who, &id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(list))
}

/// The same, as CSV.
#[utoipa::path(get, path = "/api/v1/competitions/{id}/feedback.csv", tag = "judging",
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 200, description = "CSV", content_type = "text/csv"),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/competitions/{id}/feedback.csv")]
pub async fn feedback_csv(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(crate::http::csv::download(csv(&state, &who, &id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldInput {
    /// Why the musician will not read it (kept in the audit log), up to 500 characters.
    pub reason: String,
}

/// Hold a comment back from its musician.
#[utoipa::path(post, path = "/api/v1/judging/comments/{id}/hold", tag = "judging", request_body = HoldInput,
    params(("id" = String, Path, description = "Comment id")),
    responses((status = 204, description = "Held"),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 422, description = "No reason, or too long", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/judging/comments/{id}/hold")]
pub async fn hold_api(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    body: web::Json<HoldInput>,
) -> Result<HttpResponse, AppError> {
    hold(&state, &who, &id, Some(&body.reason)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Release a held comment again.
#[utoipa::path(delete, path = "/api/v1/judging/comments/{id}/hold", tag = "judging",
    params(("id" = String, Path, description = "Comment id")),
    responses((status = 204, description = "Released"),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[delete("/api/v1/judging/comments/{id}/hold")]
pub async fn release_api(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    hold(&state, &who, &id, None).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Template)]
#[template(path = "judging/feedback.html")]
struct FeedbackPage {
    ctx: PageCtx,
    c: CompetitionRow,
    items: Vec<FeedbackItem>,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    id: &str,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (c, items) = review(state, who, id).await?;
    let ctx = ctx.signed_in(&who.user.display_name);
    render_with_status(
        &FeedbackPage {
            ctx,
            c,
            items,
            error,
        },
        status,
    )
}

#[get("/organise/{id}/feedback")]
async fn feedback_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    page(&state, ctx, &who, &id, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct HoldForm {
    comment_id: String,
    /// Empty: release it.
    #[serde(default)]
    reason: String,
    action: String,
}

#[post("/organise/{id}/feedback")]
async fn feedback_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<HoldForm>,
) -> Result<HttpResponse, AppError> {
    let reason = (form.action == "hold").then_some(form.reason.as_str());
    match hold(&state, &who, &form.comment_id, reason).await {
        Ok(()) => Ok(see_other(&format!(
            "/organise/{id}/feedback#c-{}",
            form.comment_id
        ))),
        Err(e @ AppError::Invalid { .. }) => {
            let message = e.message(ctx.l);
            page(
                &state,
                ctx,
                &who,
                &id,
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(feedback_api)
        .service(feedback_csv)
        .service(hold_api)
        .service(release_api)
        .service(feedback_page)
        .service(feedback_submit);
}
