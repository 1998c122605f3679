use actix_web::{HttpResponse, get, web};
use askama::Template;

use super::model::{CompetitionPage, Phase};
use super::service;
use crate::error::{AppError, ErrorBody};
use crate::http::pagination::PageQuery;
use crate::startup::AppState;
use crate::web::{PageCtx, render};

/// A competition card on the home page, with texts already in the reader's language.
struct Card {
    title: String,
    summary: String,
    status_class: &'static str,
    status_label: &'static str,
    /// (RFC 3339, readable) close time.
    closes: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: PageCtx,
    competitions: Vec<Card>,
    next_cursor: Option<String>,
    canonical_url: String,
}

#[get("/")]
async fn home(
    state: web::Data<AppState>,
    ctx: PageCtx,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = service::list_public(&state.db, &query).await?;
    let competitions = page
        .items
        .iter()
        .map(|c| {
            let (status_class, key) = match c.phase {
                Phase::Open => ("open", "home.status_open"),
                Phase::Upcoming => ("upcoming", "home.status_upcoming"),
                Phase::Closed => ("closed", "home.status_closed"),
            };
            Card {
                title: c.title.clone(),
                summary: c.summary.clone(),
                status_class,
                status_label: ctx.t(key),
                closes: c.submissions_close_at.map(|t| {
                    (
                        t.to_rfc3339(),
                        ctx.tf(
                            "home.closes",
                            "date",
                            &t.format("%Y-%m-%d %H:%M UTC").to_string(),
                        ),
                    )
                }),
            }
        })
        .collect();
    render(&HomePage {
        canonical_url: format!("{}/", state.settings.base_url()),
        ctx,
        competitions,
        next_cursor: page.next_cursor,
    })
}

/// List published competitions, newest first.
#[utoipa::path(get, path = "/api/v1/competitions", tag = "competitions", params(PageQuery),
    responses(
        (status = 200, description = "One page of competitions", body = CompetitionPage),
        (status = 422, description = "The cursor is not valid", body = ErrorBody)))]
#[get("/api/v1/competitions")]
async fn list_competitions(
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<CompetitionPage>, AppError> {
    Ok(web::Json(service::list_public(&state.db, &query).await?))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(home).service(list_competitions);
}
