//! The judges' pages: their rounds, a queue, the scoring page (player, rubric, comments,
//! conflict), and everyone's affiliations. Every form works without JavaScript;
//! `web/static/js/judge-player.js` adds the loudness-matched player, listening coverage
//! and keyboard shortcuts.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::judge;
use super::model::*;
use super::pages::{form_error, script_json};
use crate::accounts::model::AuthUser;
use crate::accounts::model::PageUser;
use crate::error::AppError;
use crate::error::OrNone as _;
use crate::state::AppState;
use crate::time::when;
use crate::web::{PageCtx, render, render_with_status, see_other};

#[derive(Template)]
#[template(path = "judging/home.html")]
struct HomePage {
    ctx: PageCtx,
    rounds: Vec<JudgeRound>,
}

#[get("/judge")]
async fn home(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    let rounds = judge::my_rounds(&state, &who).await?;
    render(&HomePage {
        ctx: ctx.signed_in(&who.user.display_name),
        rounds,
    })
}

#[derive(Template)]
#[template(path = "judging/queue.html")]
struct QueuePage {
    ctx: PageCtx,
    q: Queue,
    calibration: Option<Calibration>,
    offset_label: Option<String>,
    closes: String,
}

impl QueuePage {
    /// A total on the scale the judge marked with.
    fn scale(&self, t: f64) -> String {
        super::domain::on_judge_scale(t, &self.q.round.rubric)
    }
}

#[get("/judge/rounds/{id}")]
async fn queue_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    let q = judge::queue(&state, &who, &id).await?;
    let calibration = if q.round.kind == CALIBRATION {
        Some(judge::calibration(&state, &who, &id).await?)
    } else {
        None
    };
    let closes = when(q.round.closes_at, &q.round.time_zone, ctx.l);
    let offset_label = calibration
        .as_ref()
        .and_then(|c| c.offset)
        .map(|o| format!("{o:+.1}"));
    render(&QueuePage {
        ctx: ctx.signed_in(&who.user.display_name),
        q,
        calibration,
        offset_label,
        closes,
    })
}

#[derive(Template)]
#[template(path = "judging/score.html")]
struct ScorePage {
    ctx: PageCtx,
    v: AssignmentView,
    /// Current value per criterion key ("" when not scored yet).
    values: HashMap<String, String>,
    player_json: String,
    /// The waveform in words (its text alternative): length and how to move in it.
    wave_label: String,
    panel: Option<Vec<PanelScore>>,
    error: Option<String>,
    saved: bool,
    closes: String,
    gain_label: String,
    /// The judge's total on the scale they marked with.
    my_score: Option<String>,
    /// A comment the server refused, kept so nothing typed is lost.
    draft: CommentForm,
}

/// What the score page shows besides the assignment: the marks and comment as sent (after
/// a refusal, so nothing typed is lost), the refusal, and whether a score was just saved.
#[derive(Default)]
struct Shown {
    form: Option<HashMap<String, String>>,
    err: Option<AppError>,
    saved: bool,
    draft: Option<CommentForm>,
}

async fn score_page(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    alias: &str,
    shown: Shown,
) -> Result<HttpResponse, AppError> {
    let Shown {
        form,
        err,
        saved,
        draft,
    } = shown;
    let (error, status) = match err {
        Some(e) => (Some(e.message(ctx.l)), e.status()),
        None => (None, StatusCode::OK),
    };
    let v = judge::view(state, who, alias).await?;
    let panel = if v.others_visible {
        judge::panel_scores(state, who, alias).await.or_none()?
    } else {
        None
    };
    let values = v
        .round
        .rubric
        .iter()
        .map(|c| {
            let from_form = form
                .as_ref()
                .and_then(|f| f.get(&format!("c_{}", c.key)))
                .cloned();
            let saved = v
                .score
                .as_ref()
                .and_then(|s| s.criteria.get(&c.key))
                .map(|x| x.to_string());
            (c.key.clone(), from_form.or(saved).unwrap_or_default())
        })
        .collect();
    let player_json = script_json(&serde_json::json!({
        "alias": v.alias,
        "audio": v.audio,
        "listened_url": format!("/api/v1/judging/assignments/{}/listened", v.alias),
        "next": v.next.as_ref().map(|n| format!("/judge/a/{n}")),
        "previous": v.previous.as_ref().map(|n| format!("/judge/a/{n}")),
        "scoring_open": v.round.scoring_open,
    }));
    let closes = when(v.round.closes_at, &v.round.time_zone, ctx.l);
    let gain_label = format!("{:+.1}", v.audio.gain_db);
    let wave_label = ctx.tf(
        "judging.wave_label",
        "duration",
        &crate::audio::policy::minutes(v.audio.duration_secs.unwrap_or(0.0)),
    );
    let my_score = v
        .score
        .as_ref()
        .map(|s| super::domain::on_judge_scale(s.total, &v.round.rubric));
    render_with_status(
        &ScorePage {
            my_score,
            draft: draft.unwrap_or_default(),
            ctx: ctx.signed_in(&who.user.display_name),
            v,
            values,
            player_json,
            wave_label,
            panel,
            error,
            saved,
            closes,
            gain_label,
        },
        status,
    )
}

#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

#[get("/judge/a/{alias}")]
async fn score_show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    alias: web::Path<String>,
    q: web::Query<SavedQuery>,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    let shown = Shown {
        saved: q.saved.is_some(),
        ..Default::default()
    };
    score_page(&state, ctx, &who, &alias, shown).await
}

#[post("/judge/a/{alias}/score")]
async fn score_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    alias: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut criteria = BTreeMap::new();
    for (k, v) in &form {
        if let Some(key) = k.strip_prefix("c_") {
            let n = v.trim().parse::<i64>().map_err(|_| {
                AppError::invalid_with(
                    "judging.score_missing",
                    vec![("criterion", key.to_string())],
                )
            });
            match n {
                Ok(n) => {
                    criteria.insert(key.to_string(), n);
                }
                Err(e) => {
                    return score_page(
                        &state,
                        ctx,
                        &who,
                        &alias,
                        Shown {
                            form: Some(form),
                            err: Some(e),
                            ..Default::default()
                        },
                    )
                    .await;
                }
            }
        }
    }
    match judge::score(&state, &who, &alias, ScoreInput { criteria }).await {
        Ok(_) => {
            let next = form.get("then").filter(|t| t.as_str() == "next");
            let v = judge::view(&state, &who, &alias).await?;
            match (next, v.next) {
                (Some(_), Some(n)) => Ok(see_other(&format!("/judge/a/{n}"))),
                _ => Ok(see_other(&format!("/judge/a/{alias}?saved=1"))),
            }
        }
        Err(e) if form_error(&e) => {
            score_page(
                &state,
                ctx,
                &who,
                &alias,
                Shown {
                    form: Some(form),
                    err: Some(e),
                    ..Default::default()
                },
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default, Clone)]
struct CommentForm {
    body: String,
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    at_secs: String,
}

#[post("/judge/a/{alias}/comment")]
async fn comment_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    alias: web::Path<String>,
    form: web::Form<CommentForm>,
) -> Result<HttpResponse, AppError> {
    let f = form.into_inner();
    let draft = f.clone();
    let at_secs = match f.at_secs.trim() {
        "" => None,
        s => match parse_clock(s) {
            Some(x) => Some(x),
            None => {
                // Say what is wrong with the time, and keep everything typed.
                let e = AppError::invalid("judging.comment_time_unreadable");
                return score_page(
                    &state,
                    ctx,
                    &who,
                    &alias,
                    Shown {
                        err: Some(e),
                        draft: Some(draft),
                        ..Default::default()
                    },
                )
                .await;
            }
        },
    };
    let input = CommentInput {
        body: f.body,
        visibility: Some(if f.visibility.is_empty() {
            "panel".into()
        } else {
            f.visibility
        }),
        at_secs,
    };
    match judge::comment(&state, &who, &alias, input).await {
        Ok(_) => Ok(see_other(&format!("/judge/a/{alias}#comments"))),
        Err(e) if form_error(&e) => {
            score_page(
                &state,
                ctx,
                &who,
                &alias,
                Shown {
                    err: Some(e),
                    draft: Some(draft),
                    ..Default::default()
                },
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// `83`, `83.5` or `1:23` → seconds.
pub fn parse_clock(s: &str) -> Option<f64> {
    let s = s.trim();
    let v = match s.split_once(':') {
        Some((m, sec)) => m.trim().parse::<f64>().ok()? * 60.0 + sec.trim().parse::<f64>().ok()?,
        None => s.parse::<f64>().ok()?,
    };
    (v.is_finite() && v >= 0.0).then_some(v)
}

#[derive(Deserialize)]
struct ConflictForm {
    #[serde(default)]
    reason: String,
}

#[post("/judge/a/{alias}/conflict")]
async fn conflict_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    alias: web::Path<String>,
    form: web::Form<ConflictForm>,
) -> Result<HttpResponse, AppError> {
    let round = judge::view(&state, &who, &alias).await?.round.id;
    match judge::conflict(
        &state,
        &who,
        &alias,
        ConflictInput {
            reason: form.into_inner().reason,
        },
    )
    .await
    {
        Ok(()) => Ok(see_other(&format!("/judge/rounds/{round}"))),
        Err(e) if form_error(&e) => {
            score_page(
                &state,
                ctx,
                &who,
                &alias,
                Shown {
                    err: Some(e),
                    ..Default::default()
                },
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "judging/affiliations.html")]
struct AffiliationsPage {
    ctx: PageCtx,
    text: String,
    error: Option<String>,
    saved: bool,
}

fn affiliations_text(a: &Affiliations) -> String {
    a.items
        .iter()
        .map(|x| format!("{}: {}", x.kind, x.value))
        .collect::<Vec<_>>()
        .join("\n")
}

#[get("/account/affiliations")]
async fn affiliations_show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    q: web::Query<SavedQuery>,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    let a = judge::get_affiliations(&state, &who).await?;
    render(&AffiliationsPage {
        ctx: ctx.signed_in(&who.user.display_name),
        text: affiliations_text(&a),
        error: None,
        saved: q.saved.is_some(),
    })
}

#[derive(Deserialize)]
struct AffiliationsForm {
    #[serde(default)]
    items: String,
}

#[post("/account/affiliations")]
async fn affiliations_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    form: web::Form<AffiliationsForm>,
) -> Result<HttpResponse, AppError> {
    let text = form.into_inner().items;
    let mut items = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (kind, value) = line.split_once(':').unwrap_or(("", line));
        items.push(AffiliationItem {
            kind: kind.trim().to_lowercase(),
            value: value.trim().to_string(),
        });
    }
    match judge::put_affiliations(&state, &who, Affiliations { items }).await {
        Ok(_) => Ok(see_other("/account/affiliations?saved=1")),
        Err(e) if form_error(&e) => {
            let (msg, status) = (e.message(ctx.l), e.status());
            render_with_status(
                &AffiliationsPage {
                    ctx: ctx.signed_in(&who.user.display_name),
                    text,
                    error: Some(msg),
                    saved: false,
                },
                status,
            )
        }
        Err(e) => Err(e),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(home)
        .service(queue_page)
        .service(score_show)
        .service(score_submit)
        .service(comment_submit)
        .service(conflict_submit)
        .service(affiliations_show)
        .service(affiliations_submit);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_times() {
        assert_eq!(parse_clock("83"), Some(83.0));
        assert_eq!(parse_clock("1:23.5"), Some(83.5));
        assert_eq!(parse_clock("-1"), None);
        assert_eq!(parse_clock("soon"), None);
    }
}
