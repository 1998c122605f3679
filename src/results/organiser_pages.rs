//! The organiser's results page: how results are formed (method, weights, tie-breaks),
//! the embargo, computing and publishing. Works without JavaScript.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;

use super::model::{ResultsInput, ResultsView};
use super::scoring::{Method, TieBreak};
use super::service as results;
use crate::accounts::model::{AuthUser, PageUser};
use crate::competitions::model::CompetitionView;
use crate::competitions::service as competitions;
use crate::error::AppError;
use crate::state::AppState;
use crate::time::{local_input, when};
use crate::web::{PageCtx, form_error, render_with_status, see_other};

#[derive(Template)]
#[template(path = "results/organiser.html")]
struct ResultsAdminPage {
    ctx: PageCtx,
    c: CompetitionView,
    v: ResultsView,
    publish_at: String,
    publish_label: String,
    error: Option<String>,
    methods: Vec<(&'static str, bool)>,
    tie_breaks: Vec<(&'static str, bool)>,
}

async fn results_admin(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    cid: &str,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let c = competitions::managed_view(state, who, cid).await?;
    let v = results::organiser_results(state, who, cid).await?;
    let methods = [Method::Eurovision, Method::Borda, Method::Scores]
        .into_iter()
        .map(|m| {
            (
                match m {
                    Method::Eurovision => "eurovision",
                    Method::Borda => "borda",
                    Method::Scores => "scores",
                },
                m == v.settings.method,
            )
        })
        .collect();
    let tie_breaks = [
        TieBreak::JuryRank,
        TieBreak::PublicRank,
        TieBreak::JuryMedian,
        TieBreak::EarliestEntry,
    ]
    .into_iter()
    .map(|t| {
        let on = v.settings.tie_breaks.contains(&t);
        (
            match t {
                TieBreak::JuryRank => "jury_rank",
                TieBreak::PublicRank => "public_rank",
                TieBreak::JuryMedian => "jury_median",
                TieBreak::EarliestEntry => "earliest_entry",
            },
            on,
        )
    })
    .collect();
    let publish_at = local_input(v.publish_at.map(|t| t.naive_utc()), &c.time_zone);
    let publish_label = when(v.publish_at, &c.time_zone, ctx.l);
    render_with_status(
        &ResultsAdminPage {
            ctx: ctx.signed_in(&who.user.display_name),
            c,
            v,
            publish_at,
            publish_label,
            error,
            methods,
            tie_breaks,
        },
        status,
    )
}

#[get("/organise/{id}/results")]
async fn results_show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    results_admin(&state, ctx, &who, &id, None, StatusCode::OK).await
}

#[post("/organise/{id}/results")]
async fn results_compute(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let method = match form.get("method").map(String::as_str) {
        Some("borda") => Method::Borda,
        Some("scores") => Method::Scores,
        _ => Method::Eurovision,
    };
    // Tie-breaks in the order of the page.
    let order = [
        ("jury_rank", TieBreak::JuryRank),
        ("public_rank", TieBreak::PublicRank),
        ("jury_median", TieBreak::JuryMedian),
        ("earliest_entry", TieBreak::EarliestEntry),
    ];
    let tie_breaks = order
        .iter()
        .filter(|(k, _)| form.contains_key(&format!("tb_{k}")))
        .map(|(_, t)| *t)
        .collect();
    let jury = form
        .get("jury_weight")
        .and_then(|s| s.trim().parse::<i64>().ok());
    let input = ResultsInput {
        method: Some(method),
        jury_weight: jury,
        public_weight: jury.map(|j| 100 - j),
        tie_breaks: Some(tie_breaks),
        publish_at: Some(form.get("publish_at").cloned().unwrap_or_default()),
    };
    match results::put_results(&state, &who, &id, input).await {
        Ok(_) => Ok(see_other(&format!("/organise/{id}/results"))),
        Err(e) if form_error(&e) => {
            let (msg, status) = (e.message(ctx.l), e.status());
            results_admin(&state, ctx, &who, &id, Some(msg), status).await
        }
        Err(e) => Err(e),
    }
}

#[post("/organise/{id}/results/publish")]
async fn results_publish(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    match results::publish_results(&state, &who, &id).await {
        Ok(v) => Ok(see_other(&format!("/c/{}/results", v.competition_slug))),
        Err(e) if form_error(&e) => {
            let (msg, status) = (e.message(ctx.l), e.status());
            results_admin(&state, ctx, &who, &id, Some(msg), status).await
        }
        Err(e) => Err(e),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(results_show)
        .service(results_compute)
        .service(results_publish);
}
