//! Organisers' judging pages — rounds and panel, a round (settings, assignment,
//! progress, ranking, advancement), results — and the public results page. The judges'
//! own pages are in `judge_pages.rs`. Every form works without JavaScript.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::model::*;
use super::scoring::{Advancement, Criterion, Method, TieBreak};
use super::{results, service};
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

/// A time in the competition's zone, named as organisers and judges read it.
pub(super) fn when(t: Option<chrono::DateTime<chrono::Utc>>, tz: &str) -> String {
    crate::time::when(t, tz, crate::i18n::Locale::En)
}

/// The round settings form. Numbers arrive as text; the rubric as one row of fields per
/// criterion (`criterion.{i}.name`, `.weight`, `.min`, `.max`, `.description`, the
/// hidden `.key` that keeps a criterion's scores when it is renamed, and `.remove`).
#[derive(Deserialize, Default, Clone)]
struct RoundForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    opens_at: String,
    #[serde(default)]
    closes_at: String,
    blind: Option<String>,
    #[serde(default)]
    judges_per_entry: String,
    #[serde(default)]
    advancement: String,
    #[serde(default)]
    top_n: String,
    per_category: Option<String>,
    #[serde(default)]
    min_score: String,
    #[serde(default)]
    ranking_basis: String,
    #[serde(default)]
    min_listen_percent: String,
    #[serde(default)]
    others_scores: String,
    #[serde(default)]
    feedback_release: String,
    #[serde(default)]
    reminder_hours: String,
    /// The rubric rows and anything else the form carried.
    #[serde(flatten)]
    rows: HashMap<String, String>,
}

/// One rubric row as the form shows it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CriterionRow {
    pub key: String,
    pub name: String,
    pub weight: String,
    pub min: String,
    pub max: String,
    pub description: String,
}

impl CriterionRow {
    fn of(c: &Criterion) -> CriterionRow {
        CriterionRow {
            key: c.key.clone(),
            name: c.name.clone(),
            weight: c.weight.to_string(),
            min: c.min.to_string(),
            max: c.max.to_string(),
            description: c.description.clone(),
        }
    }

    pub fn is_blank(&self) -> bool {
        self.name.trim().is_empty()
            && self.weight.trim().is_empty()
            && self.description.trim().is_empty()
    }
}

/// Rows a form always offers beyond those filled in, for pages without JavaScript.
const SPARE_ROWS: usize = 2;

fn num(s: &str, code: &'static str) -> Result<i64, AppError> {
    s.trim().parse().map_err(|_| AppError::invalid(code))
}

/// The rubric rows of a form, in their order, without removed and blank ones.
fn criterion_rows(fields: &HashMap<String, String>) -> Vec<CriterionRow> {
    let mut indices: Vec<usize> = fields
        .keys()
        .filter_map(|k| {
            k.strip_prefix("criterion.")?
                .split('.')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    indices.sort_unstable();
    indices.dedup();
    let get = |i: usize, f: &str| {
        fields
            .get(&format!("criterion.{i}.{f}"))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    indices
        .into_iter()
        .filter(|&i| !fields.contains_key(&format!("criterion.{i}.remove")))
        .map(|i| CriterionRow {
            key: get(i, "key"),
            name: get(i, "name"),
            weight: get(i, "weight").trim_end_matches('%').trim().to_string(),
            min: get(i, "min"),
            max: get(i, "max"),
            description: get(i, "description"),
        })
        .filter(|r| !r.is_blank())
        .collect()
}

/// The rubric the rows describe; a row that is not whole says which one (numbered
/// as the page shows them).
pub fn parse_criterion_rows(rows: &[CriterionRow]) -> Result<Vec<CriterionInput>, AppError> {
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let bad = || {
                AppError::invalid_with(
                    "judging.rubric_row_invalid",
                    vec![("row", (i + 1).to_string())],
                )
            };
            let int = |s: &str| s.trim().parse::<i64>().map_err(|_| bad());
            if r.name.trim().is_empty() {
                return Err(bad());
            }
            Ok(CriterionInput {
                key: Some(r.key.clone()).filter(|k| !k.is_empty()),
                name: r.name.clone(),
                description: r.description.clone(),
                weight: int(&r.weight)?,
                min: int(&r.min)?,
                max: int(&r.max)?,
            })
        })
        .collect()
}

fn rows_into(fields: &mut HashMap<String, String>, rows: &[CriterionRow]) {
    fields.retain(|k, _| !k.starts_with("criterion."));
    for (i, r) in rows.iter().enumerate() {
        for (f, v) in [
            ("key", &r.key),
            ("name", &r.name),
            ("weight", &r.weight),
            ("min", &r.min),
            ("max", &r.max),
            ("description", &r.description),
        ] {
            fields.insert(format!("criterion.{i}.{f}"), v.clone());
        }
    }
}

impl RoundForm {
    fn of(r: &RoundView, tz: &str) -> RoundForm {
        let (adv, n, per, min) = match &r.advancement {
            Advancement::TopN { n, per_category } => {
                ("top_n", n.to_string(), *per_category, String::new())
            }
            Advancement::Threshold { min_score } => {
                ("threshold", String::new(), false, min_score.to_string())
            }
            Advancement::Manual => ("manual", String::new(), false, String::new()),
        };
        RoundForm {
            name: r.name.clone(),
            kind: r.kind.clone(),
            opens_at: crate::competitions::domain::local_input(
                r.opens_at.map(|t| t.naive_utc()),
                tz,
            ),
            closes_at: crate::competitions::domain::local_input(
                r.closes_at.map(|t| t.naive_utc()),
                tz,
            ),
            blind: r.blind.then(|| "on".into()),
            judges_per_entry: r.judges_per_entry.to_string(),
            advancement: adv.into(),
            top_n: n,
            per_category: per.then(|| "on".into()),
            min_score: min,
            ranking_basis: r.ranking_basis.clone(),
            min_listen_percent: r.min_listen_percent.to_string(),
            others_scores: r.others_scores.clone(),
            feedback_release: r.feedback_release.clone(),
            reminder_hours: r.reminder_hours.to_string(),
            rows: HashMap::new(),
        }
        .with_rows(&r.rubric.iter().map(CriterionRow::of).collect::<Vec<_>>())
    }

    /// A new round's form: the default rubric, its names in the organiser's language.
    fn defaults(l: crate::i18n::Locale) -> RoundForm {
        RoundForm {
            kind: STANDARD.into(),
            blind: Some("on".into()),
            judges_per_entry: "3".into(),
            advancement: "top_n".into(),
            top_n: "10".into(),
            ranking_basis: "normalised".into(),
            min_listen_percent: "0".into(),
            others_scores: "after_scoring".into(),
            feedback_release: "round".into(),
            reminder_hours: "24".into(),
            ..RoundForm::default()
        }
        .with_rows(
            &super::domain::default_rubric()
                .iter()
                .map(|c| CriterionRow {
                    name: l
                        .t(&format!("judging.default_criterion_{}", c.key))
                        .to_string(),
                    ..CriterionRow::of(c)
                })
                .collect::<Vec<_>>(),
        )
    }

    fn with_rows(mut self, rows: &[CriterionRow]) -> RoundForm {
        rows_into(&mut self.rows, rows);
        self
    }

    /// The rubric rows to show: those the form holds, then a few empty ones.
    fn criteria(&self) -> Vec<CriterionRow> {
        let mut rows = criterion_rows(&self.rows);
        let spare = SPARE_ROWS.min(super::domain::MAX_CRITERIA.saturating_sub(rows.len()));
        rows.extend(std::iter::repeat_n(CriterionRow::default(), spare));
        rows
    }

    /// The weights given so far, for the running total beside the rubric.
    fn weight_total(&self) -> i64 {
        criterion_rows(&self.rows)
            .iter()
            .filter_map(|r| r.weight.parse::<i64>().ok())
            .sum()
    }

    fn input(&self) -> Result<RoundInput, AppError> {
        let advancement = match self.advancement.as_str() {
            "top_n" => Advancement::TopN {
                n: usize::try_from(num(&self.top_n, "judging.advancement_invalid")?)
                    .map_err(|_| AppError::invalid("judging.advancement_invalid"))?,
                per_category: self.per_category.is_some(),
            },
            "threshold" => Advancement::Threshold {
                min_score: self
                    .min_score
                    .trim()
                    .parse()
                    .map_err(|_| AppError::invalid("judging.advancement_invalid"))?,
            },
            _ => Advancement::Manual,
        };
        Ok(RoundInput {
            name: Some(self.name.clone()),
            kind: Some(if self.kind.is_empty() {
                STANDARD.into()
            } else {
                self.kind.clone()
            }),
            opens_at: Some(self.opens_at.clone()),
            closes_at: Some(self.closes_at.clone()),
            rubric: Some(parse_criterion_rows(&criterion_rows(&self.rows))?),
            blind: Some(self.blind.is_some()),
            judges_per_entry: Some(num(
                &self.judges_per_entry,
                "judging.judges_per_entry_invalid",
            )?),
            advancement: Some(advancement),
            ranking_basis: Some(self.ranking_basis.clone()),
            min_listen_percent: Some(num(
                &self.min_listen_percent,
                "judging.listen_share_invalid",
            )?),
            others_scores: Some(self.others_scores.clone()),
            feedback_release: Some(self.feedback_release.clone()).filter(|f| !f.is_empty()),
            reminder_hours: Some(num(&self.reminder_hours, "judging.reminder_invalid")?),
            anchors: None,
        })
    }
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
    let judge = crate::accounts::team::TeamRole::Judge;
    match crate::accounts::team::invite(&state, &who, &id, &f.email, lang, judge).await {
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

#[derive(Template)]
#[template(path = "judging/results_admin.html")]
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
    let publish_at =
        crate::competitions::domain::local_input(v.publish_at.map(|t| t.naive_utc()), &c.time_zone);
    let publish_label = when(v.publish_at, &c.time_zone);
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
        .service(round_advance)
        .service(results_show)
        .service(results_compute)
        .service(results_publish);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn rubric_rows_parse_in_order_without_removed_or_blank_rows() {
        let f = fields(&[
            ("criterion.10.name", "Last"),
            ("criterion.10.weight", "20"),
            ("criterion.10.min", "1"),
            ("criterion.10.max", "10"),
            ("criterion.2.name", "Originality"),
            ("criterion.2.key", "orig"),
            ("criterion.2.weight", "80%"),
            ("criterion.2.min", "0"),
            ("criterion.2.max", "5"),
            ("criterion.2.description", "New ideas"),
            ("criterion.3.name", "Gone"),
            ("criterion.3.weight", "5"),
            ("criterion.3.remove", "on"),
            ("criterion.4.name", ""),
            ("criterion.4.min", "1"),
            ("criterion.4.max", "10"),
            ("name", "Round one"),
        ]);
        let rows = criterion_rows(&f);
        assert_eq!(rows.len(), 2, "{rows:?}");
        let r = parse_criterion_rows(&rows).unwrap();
        assert_eq!(r[0].name, "Originality");
        assert_eq!(r[0].key.as_deref(), Some("orig"));
        assert_eq!(r[0].weight, 80);
        assert_eq!((r[0].min, r[0].max), (0, 5));
        assert_eq!(r[0].description, "New ideas");
        assert_eq!(r[1].name, "Last");
        assert_eq!(r[1].key, None);
    }

    #[test]
    fn a_rubric_row_that_is_not_whole_is_named() {
        let f = fields(&[
            ("criterion.0.name", "A"),
            ("criterion.0.weight", "50"),
            ("criterion.0.min", "1"),
            ("criterion.0.max", "10"),
            ("criterion.1.name", "B"),
            ("criterion.1.weight", "x"),
            ("criterion.1.min", "1"),
            ("criterion.1.max", "10"),
        ]);
        let e = parse_criterion_rows(&criterion_rows(&f)).unwrap_err();
        assert_eq!(e.code(), "judging.rubric_row_invalid");
        let f = fields(&[("criterion.0.weight", "50"), ("criterion.0.min", "1")]);
        let e = parse_criterion_rows(&criterion_rows(&f)).unwrap_err();
        assert_eq!(e.code(), "judging.rubric_row_invalid");
    }

    #[test]
    fn a_form_shows_its_rows_and_spare_ones() {
        let f = RoundForm::defaults(crate::i18n::Locale::En);
        let rows = f.criteria();
        let n = super::super::domain::default_rubric().len();
        assert_eq!(rows.len(), n + SPARE_ROWS);
        assert_eq!(f.weight_total(), 100);
        assert!(rows[n].is_blank());
        assert_eq!(rows[0].name, "Originality");
        assert_eq!(rows[0].key, "originality");
        let zh = RoundForm::defaults(crate::i18n::Locale::ZhCn).criteria();
        assert_eq!(
            zh[0].name, "原创性",
            "a new round's rubric is in the organiser's language"
        );
    }
}
