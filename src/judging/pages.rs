//! Organisers' judging pages — rounds and panel, a round (settings, assignment,
//! progress, ranking, advancement). The judges' own pages are in `judge_pages.rs`;
//! results are `results::organiser_pages`. Every form works without JavaScript.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::model::*;
use super::round_form::RoundForm;
use super::service;
use crate::accounts::model::AuthUser;
use crate::accounts::model::PageUser;
use crate::competitions::model::CompetitionView;
use crate::competitions::service as competitions;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{PageCtx, render_with_status, see_other};

pub(super) use crate::web::{form_error, script_json};

fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into())
}

fn z(x: Option<f64>) -> String {
    x.map(|v| format!("{v:+.2}")).unwrap_or_else(|| "—".into())
}

#[derive(Template)]
#[template(path = "judging/rounds.html")]
struct RoundsPage {
    ctx: PageCtx,
    c: CompetitionView,
    rounds: Vec<RoundView>,
    panel: Vec<PanelJudge>,
    f: RoundForm,
    error: Option<String>,
    notice: Option<String>,
}

async fn rounds_page(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    cid: &str,
    f: RoundForm,
    err: Option<AppError>,
    notice: Option<String>,
) -> Result<HttpResponse, AppError> {
    let (error, status) = match err {
        Some(e) => (Some(e.message(ctx.l)), e.status()),
        None => (None, StatusCode::OK),
    };
    let c = competitions::managed_view(state, who, cid).await?;
    let rounds = service::list_rounds(state, who, cid).await?;
    let panel = service::panel(state, who, cid).await?;
    render_with_status(
        &RoundsPage {
            ctx: ctx.signed_in(&who.user.display_name),
            c,
            rounds,
            panel,
            f,
            error,
            notice,
        },
        status,
    )
}

#[get("/organise/{id}/rounds")]
async fn rounds_show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    id: web::Path<String>,
    q: web::Query<InvitedQuery>,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    let notice = q
        .invited
        .is_some()
        .then(|| ctx.t("judging.invited").to_string());
    {
        let f = RoundForm::defaults(ctx.l);
        rounds_page(&state, ctx, &who, &id, f, None, notice).await
    }
}

#[post("/organise/{id}/rounds")]
async fn rounds_create(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<RoundForm>,
) -> Result<HttpResponse, AppError> {
    let f = form.into_inner();
    let result = match f.input() {
        Ok(input) => service::create_round(&state, &who, &id, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => Ok(see_other(&format!("/organise/rounds/{}", r.id))),
        Err(e) if form_error(&e) => rounds_page(&state, ctx, &who, &id, f, Some(e), None).await,
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct InvitedQuery {
    invited: Option<String>,
}

#[derive(Deserialize)]
struct InviteForm {
    email: String,
    #[serde(default)]
    language: String,
}

#[post("/organise/{id}/panel/invite")]
async fn panel_invite(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let f = form.into_inner();
    let lang = (!f.language.is_empty()).then_some(f.language.as_str());
    let judge = crate::accounts::service::TeamRole::Judge;
    match crate::accounts::service::invite_to_team(&state, &who, &id, &f.email, lang, judge).await {
        Ok(_) => Ok(see_other(&format!("/organise/{id}/rounds?invited=1"))),
        Err(e) if form_error(&e) => {
            let f = RoundForm::defaults(ctx.l);
            rounds_page(&state, ctx, &who, &id, f, Some(e), None).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct RemoveJudgeForm {
    judge_id: String,
}

#[post("/organise/{id}/panel/remove")]
async fn panel_remove(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<RemoveJudgeForm>,
) -> Result<HttpResponse, AppError> {
    match service::remove_judge(&state, &who, &id, &form.judge_id).await {
        Ok(_) => Ok(see_other(&format!("/organise/{id}/rounds"))),
        Err(e) if form_error(&e) => {
            let f = RoundForm::defaults(ctx.l);
            rounds_page(&state, ctx, &who, &id, f, Some(e), None).await
        }
        Err(e) => Err(e),
    }
}

struct RankRow {
    e: RankedEntry,
    mean: String,
    median: String,
    normalised: String,
}

struct JudgeRow {
    j: JudgeStanding,
    mean: String,
    correlation: String,
    bias: String,
}

#[derive(Template)]
#[template(path = "judging/round.html")]
struct RoundPage {
    ctx: PageCtx,
    c: CompetitionView,
    f: RoundForm,
    p: Progress,
    ranking: Option<Vec<RankRow>>,
    judges: Vec<JudgeRow>,
    agreement: String,
    panel: Vec<PanelJudge>,
    error: Option<String>,
    notice: Option<String>,
    /// Judgeable entries, for calibration anchors: (id, title, chosen).
    anchors: Vec<(String, String, bool)>,
}

async fn round_page(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    rid: &str,
    f: Option<RoundForm>,
    err: Option<AppError>,
    notice: Option<String>,
) -> Result<HttpResponse, AppError> {
    let (error, status) = match err {
        Some(e) => (Some(e.message(ctx.l)), e.status()),
        None => (None, StatusCode::OK),
    };
    let p = service::progress(state, who, rid).await?;
    let c = competitions::managed_view(state, who, &p.round.competition_id).await?;
    let panel = service::panel(state, who, &c.id).await?;
    let (ranking, judges, agreement) = if p.round.status == CLOSED || p.round.status == DECIDED {
        let r = service::ranking(state, who, rid).await?;
        let rows = r
            .entries
            .into_iter()
            .map(|e| RankRow {
                mean: pct(e.standing.mean),
                median: pct(e.standing.median),
                normalised: z(e.standing.normalised),
                e,
            })
            .collect();
        let judges = r
            .judges
            .into_iter()
            .map(|j| JudgeRow {
                mean: pct(j.agreement.mean),
                correlation: j
                    .agreement
                    .correlation
                    .map(|x| format!("{x:.2}"))
                    .unwrap_or_else(|| "—".into()),
                bias: j
                    .agreement
                    .bias
                    .map(|x| format!("{x:+.1}"))
                    .unwrap_or_else(|| "—".into()),
                j,
            })
            .collect();
        (
            Some(rows),
            judges,
            r.agreement
                .map(|x| format!("{x:.2}"))
                .unwrap_or_else(|| "—".into()),
        )
    } else {
        (None, Vec::new(), String::new())
    };
    let anchors = if p.round.kind == CALIBRATION {
        let chosen: Vec<String> = p.entries.iter().map(|e| e.entry_id.clone()).collect();
        let (st, cid) = (state.clone(), c.id.clone());
        let list = st
            .db
            .run(move |conn| crate::submissions::service::judgeable_entries(conn, &cid))
            .await?;
        list.into_iter()
            .map(|e| {
                let on = chosen.contains(&e.id);
                (e.id, e.title, on)
            })
            .collect()
    } else {
        Vec::new()
    };
    let f = f.unwrap_or_else(|| RoundForm::of(&p.round, &c.time_zone));
    render_with_status(
        &RoundPage {
            ctx: ctx.signed_in(&who.user.display_name),
            c,
            f,
            p,
            ranking,
            judges,
            agreement,
            panel,
            error,
            notice,
            anchors,
        },
        status,
    )
}

#[derive(Deserialize)]
struct NoticeQuery {
    done: Option<String>,
}

#[get("/organise/rounds/{id}")]
async fn round_show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    id: web::Path<String>,
    q: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    let notice = q.done.as_deref().and_then(|d| match d {
        "saved" | "assigned" | "closed" | "advanced" | "changed" => {
            Some(ctx.t(&format!("judging.done_{d}")).to_string())
        }
        _ => None,
    });
    round_page(&state, ctx, &who, &id, None, None, notice).await
}

/// Run an organiser action and come back to the round page, with the error on it if any.
async fn round_action<T>(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    rid: &str,
    done: &str,
    f: Option<RoundForm>,
    r: Result<T, AppError>,
) -> Result<HttpResponse, AppError> {
    match r {
        Ok(_) => Ok(see_other(&format!("/organise/rounds/{rid}?done={done}"))),
        Err(e) if form_error(&e) => round_page(state, ctx, who, rid, f, Some(e), None).await,
        Err(e) => Err(e),
    }
}

#[post("/organise/rounds/{id}")]
async fn round_update(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<RoundForm>,
) -> Result<HttpResponse, AppError> {
    let f = form.into_inner();
    let r = match f.input() {
        Ok(mut input) => {
            input.kind = None;
            service::update_round(&state, &who, &id, input).await
        }
        Err(e) => Err(e),
    };
    round_action(&state, ctx, &who, &id, "saved", Some(f), r).await
}

#[post("/organise/rounds/{id}/anchors")]
async fn round_anchors(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let anchors: Vec<String> = form
        .keys()
        .filter_map(|k| k.strip_prefix("anchor_").map(str::to_string))
        .collect();
    let r = service::update_round(
        &state,
        &who,
        &id,
        RoundInput {
            anchors: Some(anchors),
            ..RoundInput::default()
        },
    )
    .await;
    round_action(&state, ctx, &who, &id, "saved", None, r).await
}

#[post("/organise/rounds/{id}/assign")]
async fn round_assign(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let r = service::assign_round(&state, &who, &id).await;
    round_action(&state, ctx, &who, &id, "assigned", None, r).await
}

#[post("/organise/rounds/{id}/assignments")]
async fn round_add_assignment(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<ManualAssignInput>,
) -> Result<HttpResponse, AppError> {
    let r = service::add_assignment(&state, &who, &id, form.into_inner()).await;
    round_action(&state, ctx, &who, &id, "changed", None, r).await
}

#[derive(Deserialize)]
struct ConflictFormOrg {
    judge_id: String,
    entry_id: String,
    #[serde(default)]
    reason: String,
}

#[post("/organise/rounds/{id}/conflicts")]
async fn round_conflict(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<ConflictFormOrg>,
) -> Result<HttpResponse, AppError> {
    let f = form.into_inner();
    let cid = service::get_round(&state, &who, &id).await?.competition_id;
    let r = service::add_conflict(
        &state,
        &who,
        &cid,
        OrganiserConflictInput {
            judge_id: f.judge_id,
            entry_id: f.entry_id,
            reason: f.reason,
        },
    )
    .await;
    round_action(&state, ctx, &who, &id, "changed", None, r).await
}

#[post("/organise/rounds/{id}/assignments/{alias}/remove")]
async fn round_remove_assignment(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, alias) = path.into_inner();
    let r = service::remove_assignment(&state, &who, &id, &alias).await;
    round_action(&state, ctx, &who, &id, "changed", None, r).await
}

#[post("/organise/rounds/{id}/close")]
async fn round_close(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let r = service::close_round(&state, &who, &id).await;
    round_action(&state, ctx, &who, &id, "closed", None, r).await
}

#[post("/organise/rounds/{id}/advance")]
async fn round_advance(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let entries: Vec<String> = form
        .keys()
        .filter_map(|k| k.strip_prefix("advance_").map(str::to_string))
        .collect();
    let reason = form.get("reason").cloned().filter(|r| !r.trim().is_empty());
    let r = service::advance(
        &state,
        &who,
        &id,
        AdvanceInput {
            entries: Some(entries),
            reason,
        },
    )
    .await;
    round_action(&state, ctx, &who, &id, "advanced", None, r).await
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(rounds_show)
        .service(rounds_create)
        .service(panel_remove)
        .service(round_show)
        .service(round_update)
        .service(round_anchors)
        .service(round_assign)
        .service(round_add_assignment)
        .service(round_conflict)
        .service(round_remove_assignment)
        .service(panel_invite)
        .service(round_close)
        .service(round_advance);
}
