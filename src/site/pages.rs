//! The pages that gather every feature: a competition's public page (shareable, Open
//! Graph, in the reader's language where the organiser gave it, with the open vote,
//! the remix section and the results once out) and the organiser's desk (their
//! competitions, each with what needs them: entries to review, held votes, overdue
//! judging rounds) with its create form.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::accounts::model::{AuthUser, PageUser};
use crate::competitions::domain::CompetitionInput;
use crate::competitions::model::{CompetitionSummary, CompetitionView, Phase};
use crate::competitions::service;
use crate::error::AppError;
use crate::error::OrNone as _;
use crate::state::AppState;
use crate::time::local_label_in;
use crate::web::{PageCtx, render, render_with_status, see_other};

#[derive(Template)]
#[template(path = "competitions/show.html")]
struct ShowPage {
    ctx: PageCtx,
    c: CompetitionView,
    canonical_url: String,
    image_url: Option<String>,
    phase: &'static str,
    phase_label: &'static str,
    opens: Option<String>,
    closes: Option<String>,
    /// Readable audio rules.
    rules: Vec<String>,
    can_manage: bool,
    /// The public vote open now (or next, or last), as (path, open now).
    vote: Option<(String, bool)>,
    /// The results are public.
    results_out: bool,
    /// Stem packs and the remix rule, rendered by the remix feature.
    remix_html: String,
    /// Says the text is in another language than the reader's, when it is.
    shown_note: Option<String>,
}

/// The audio policy in plain words.
fn policy_lines(ctx: &PageCtx, c: &CompetitionView, consent_age: u32) -> Vec<String> {
    use crate::audio::policy::Severity;
    let p = &c.audio_policy;
    let l = ctx.l;
    let names: Vec<&str> = p
        .formats
        .allowed
        .iter()
        .map(|f| match f.as_str() {
            "pcm" => "WAV",
            "flac" => "FLAC",
            "mp3" => "MP3",
            "aac" => "AAC",
            "alac" => "ALAC",
            "vorbis" => "Ogg Vorbis",
            other => other,
        })
        .collect();
    let formats = match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => l.tf(
            "comp.list_or",
            &[("list", &rest.join(", ")), ("last", last)],
        ),
        _ => names.join(""),
    };
    let mut out = vec![l.tf("comp.rule_formats", &[("formats", &formats)])];
    if p.duration.severity != Severity::Off {
        let min = p
            .duration
            .min_secs
            .map(crate::audio::policy::minutes)
            .unwrap_or_else(|| "0:00".into());
        let max = p
            .duration
            .max_secs
            .map(crate::audio::policy::minutes)
            .unwrap_or_else(|| "—".into());
        out.push(l.tf("comp.rule_duration", &[("min", &min), ("max", &max)]));
    }
    if p.loudness.severity != Severity::Off {
        out.push(l.tf(
            "comp.rule_loudness",
            &[
                ("min", &format!("{}", p.loudness.min_lufs)),
                ("max", &format!("{}", p.loudness.max_lufs)),
            ],
        ));
    }
    if p.true_peak.severity != Severity::Off {
        out.push(l.tf(
            "comp.rule_true_peak",
            &[("max", &format!("{}", p.true_peak.max))],
        ));
    }
    if p.sample_rate.severity != Severity::Off {
        out.push(l.tf(
            "comp.rule_sample_rate",
            &[("min", &format!("{}", p.sample_rate.min))],
        ));
    }
    if p.bit_depth.severity != Severity::Off {
        out.push(l.tf(
            "comp.rule_bit_depth",
            &[("min", &format!("{}", p.bit_depth.min))],
        ));
    }
    if p.silence.severity != Severity::Off {
        out.push(l.tf(
            "comp.rule_silence",
            &[
                ("start", &format!("{}", p.silence.max_leading_secs)),
                ("end", &format!("{}", p.silence.max_trailing_secs)),
            ],
        ));
    }
    if p.clipping.severity != Severity::Off {
        out.push(if p.clipping.max <= 0.0 {
            l.t("comp.rule_no_clipping").to_string()
        } else {
            l.tf(
                "comp.rule_clipping",
                &[("max", &format!("{}", p.clipping.max))],
            )
        });
    }
    // Which of these refuse a file, and which only advise.
    let refused: Vec<&str> = [
        (p.duration.severity, "policy_form.rule_duration"),
        (p.loudness.severity, "policy_form.rule_loudness"),
        (p.true_peak.severity, "policy_form.rule_true_peak"),
        (p.sample_rate.severity, "policy_form.rule_sample_rate"),
        (p.bit_depth.severity, "policy_form.rule_bit_depth"),
        (p.silence.severity, "policy_form.rule_silence"),
        (p.clipping.severity, "policy_form.rule_clipping"),
    ]
    .into_iter()
    .filter(|(s, _)| *s == Severity::Reject)
    .map(|(_, k)| l.t(k))
    .collect();
    if !refused.is_empty() {
        out.push(l.tf(
            "comp.rule_refused",
            &[("rules", &refused.join(l.t("comp.list_sep")))],
        ));
    }
    // What judges and listeners hear: the renditions' bounds.
    out.push(l.tf(
        "comp.rule_playback",
        &[(
            "khz",
            &format!("{}", crate::audio::RENDITION_MAX_RATE / 1000),
        )],
    ));
    out.push(if c.entries_per_musician == 1 {
        l.t("comp.rule_quota_one").to_string()
    } else {
        l.tf(
            "comp.rule_quota",
            &[("n", &c.entries_per_musician.to_string())],
        )
    });
    out.push(
        l.t(&format!("ai.rule_{}_public", c.ai_rule.as_str()))
            .to_string(),
    );
    let consent = c.consent_age.map(|a| a as u32).unwrap_or(consent_age);
    if c.min_age.is_some() || c.max_age.is_some() {
        let a = |x: Option<i32>| x.map(|v| v.to_string()).unwrap_or_else(|| "—".into());
        out.push(l.tf(
            "comp.rule_ages",
            &[
                ("min", &a(c.min_age)),
                ("max", &a(c.max_age)),
                ("consent", &consent.to_string()),
            ],
        ));
    } else {
        out.push(l.tf("comp.rule_consent", &[("consent", &consent.to_string())]));
    }
    out
}

#[get("/c/{slug}")]
async fn show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: Option<AuthUser>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let c = service::public_view(&state, who.as_ref(), &slug)
        .await?
        .localised(ctx.l);
    let can_manage = match &who {
        Some(w) => service::managed_view(&state, w, &c.id)
            .await
            .or_none()?
            .is_some(),
        None => false,
    };
    let vote = crate::voting::service::current_round(&state, who.as_ref(), &c.id)
        .await?
        .map(|r| (format!("/c/{}/vote/{}", c.slug, r.id), r.state == "open"));
    let remix_html =
        crate::remix::pages::competition_section(&state, &ctx, who.as_ref(), &c.id).await?;
    let results_out = service::results_are_out(&state, &c.id).await?;
    let base = state.settings.base_url();
    let tz = c.time_zone.clone();
    let label = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| local_label_in(t.naive_utc(), &tz, ctx.l))
    };
    let page = ShowPage {
        canonical_url: format!("{base}/c/{}", c.slug),
        image_url: c
            .cover_url
            .as_ref()
            .map(|u| crate::media::picture::url_at(&format!("{base}{u}"), 1280)),
        phase: match c.phase {
            Phase::Open => "open",
            Phase::Upcoming => "upcoming",
            Phase::Closed => "closed",
        },
        phase_label: ctx.t(match c.phase {
            Phase::Open => "home.status_open",
            Phase::Upcoming => "home.status_upcoming",
            Phase::Closed => "home.status_closed",
        }),
        opens: label(c.submissions_open_at),
        closes: label(c.submissions_close_at),
        rules: policy_lines(&ctx, &c, state.settings.auth.age_of_digital_consent),
        can_manage,
        vote,
        results_out,
        remix_html,
        shown_note: crate::i18n::content::shown_note(ctx.l, &c.shown_language),
        ctx,
        c,
    };
    render(&page)
}

/// One of the organiser's competitions on their home, with what needs them.
struct MyCompetition {
    c: CompetitionSummary,
    /// Entries that passed the audio check and wait for a review.
    to_moderate: i64,
    /// Held votes nobody reviewed.
    held: i64,
    /// Judging rounds past their closing time.
    overdue: i64,
    /// Whether the reader runs it (not only moderates its entries and votes).
    manages: bool,
}

impl MyCompetition {
    fn needs_nothing(&self) -> bool {
        self.to_moderate == 0 && self.held == 0 && (self.overdue == 0 || !self.manages)
    }
}

/// The organiser's competitions, each with what needs attention.
async fn my_competitions(
    state: &AppState,
    who: &AuthUser,
    l: crate::i18n::Locale,
) -> Result<Vec<MyCompetition>, AppError> {
    let list = service::list_managed(state, who, l).await?;
    let who = who.clone();
    state
        .db
        .run(move |conn| {
            list.into_iter()
                .map(|c| {
                    Ok(MyCompetition {
                        manages: service::find(conn, &c.id)?
                            .is_some_and(|row| service::may_manage(&who, &row)),
                        to_moderate: crate::submissions::service::count_to_moderate(conn, &c.id)?,
                        held: crate::voting::service::count_held(conn, &c.id)?,
                        overdue: crate::judging::service::count_overdue_rounds(conn, &c.id)?,
                        c,
                    })
                })
                .collect()
        })
        .await
}

#[derive(Template)]
#[template(path = "competitions/organise.html")]
struct OrganisePage {
    ctx: PageCtx,
    competitions: Vec<MyCompetition>,
    error: Option<String>,
    title: String,
    slug: String,
}

#[get("/organise")]
async fn organise(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    let competitions = my_competitions(&state, &who, ctx.l).await?;
    render(&OrganisePage {
        ctx,
        competitions,
        error: None,
        title: String::new(),
        slug: String::new(),
    })
}

#[derive(Deserialize)]
struct CreateForm {
    title: String,
    slug: String,
}

#[post("/organise")]
async fn organise_create(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = CompetitionInput {
        title: Some(form.title.clone()),
        slug: Some(form.slug.clone()),
        ..CompetitionInput::default()
    };
    match service::create(&state, &who, input).await {
        Ok(c) => Ok(see_other(&format!("/organise/{}", c.id))),
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict { .. })) => {
            let competitions = my_competitions(&state, &who, ctx.l).await?;
            let status = e.status();
            render_with_status(
                &OrganisePage {
                    error: Some(e.message(ctx.l)),
                    ctx,
                    competitions,
                    title: form.title,
                    slug: form.slug,
                },
                status,
            )
        }
        Err(e) => Err(e),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(show).service(organise).service(organise_create);
}
