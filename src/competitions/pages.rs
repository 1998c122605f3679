//! Competition pages: the public page (shareable, Open Graph), and the organiser's
//! list, create and edit forms. Plain forms; images upload with JavaScript.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::domain::{CategoryInput, CompetitionInput, PromptInput, local_input, local_label_in};
use super::model::{CompetitionSummary, CompetitionView, Phase};
use super::service;
use crate::accounts::extract::AuthUser;
use crate::error::AppError;
use crate::startup::AppState;
use crate::web::{PageCtx, render, render_with_status, see_other, to_sign_in};

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
    let c = service::public_view(&state, who.as_ref(), &slug).await?;
    let can_manage = match &who {
        Some(w) => service::managed_view(&state, w, &c.id).await.is_ok(),
        None => false,
    };
    let vote = crate::voting::service::current_round(&state, who.as_ref(), &c.id)
        .await
        .ok()
        .flatten()
        .map(|r| (format!("/c/{}/vote/{}", c.slug, r.id), r.state == "open"));
    let remix_html =
        crate::remix::pages::competition_section(&state, &ctx, who.as_ref(), &c.id).await?;
    let results_out = crate::judging::results::published(&state, &c.id).await?;
    let base = state.settings.base_url();
    let tz = c.time_zone.clone();
    let label = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| local_label_in(t.naive_utc(), &tz, ctx.l))
    };
    let page = ShowPage {
        canonical_url: format!("{base}/c/{}", c.slug),
        image_url: c.cover_url.as_ref().map(|u| format!("{base}{u}")),
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
        ctx,
        c,
    };
    render(&page)
}

#[derive(Template)]
#[template(path = "competitions/organise.html")]
struct OrganisePage {
    ctx: PageCtx,
    competitions: Vec<CompetitionSummary>,
    error: Option<String>,
    title: String,
    slug: String,
}

#[get("/organise")]
async fn organise(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: Option<AuthUser>,
) -> Result<HttpResponse, AppError> {
    let Some(who) = who else {
        return Ok(to_sign_in("/organise"));
    };
    let competitions = service::list_managed(&state, &who).await?;
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
            let competitions = service::list_managed(&state, &who).await?;
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

/// One prompt row of the edit form.
struct PromptField {
    id: String,
    title: String,
    story: String,
    image_url: Option<String>,
}

#[derive(Template)]
#[template(path = "competitions/edit.html")]
struct EditPage {
    ctx: PageCtx,
    c: CompetitionView,
    f: EditForm,
    prompts: Vec<PromptField>,
    error: Option<String>,
    saved: bool,
    time_zones: Vec<&'static str>,
    /// The server's age of digital consent, used when the competition sets none.
    default_consent_age: u32,
}

#[derive(Deserialize, Default, Clone)]
struct EditForm {
    title: String,
    slug: String,
    summary: String,
    description: String,
    rules: String,
    time_zone: String,
    open_at: String,
    close_at: String,
    entries_per_musician: String,
    min_age: String,
    max_age: String,
    /// Empty: the server's default.
    #[serde(default)]
    consent_age: String,
    /// One category per line.
    categories: String,
    loudness_min: String,
    loudness_max: String,
    true_peak_max: String,
    duration_min: String,
    duration_max: String,
    /// Prompt fields arrive as `prompt_id_N`, `prompt_title_N`, `prompt_story_N`.
    #[serde(flatten)]
    rest: std::collections::HashMap<String, String>,
}

impl EditForm {
    fn of(c: &CompetitionView) -> EditForm {
        let p = &c.audio_policy;
        EditForm {
            title: c.title.clone(),
            slug: c.slug.clone(),
            summary: c.summary.clone(),
            description: c.description.clone(),
            rules: c.rules.clone(),
            time_zone: c.time_zone.clone(),
            open_at: local_input(c.submissions_open_at.map(|t| t.naive_utc()), &c.time_zone),
            close_at: local_input(c.submissions_close_at.map(|t| t.naive_utc()), &c.time_zone),
            entries_per_musician: c.entries_per_musician.to_string(),
            min_age: c.min_age.map(|a| a.to_string()).unwrap_or_default(),
            max_age: c.max_age.map(|a| a.to_string()).unwrap_or_default(),
            consent_age: c.consent_age.map(|a| a.to_string()).unwrap_or_default(),
            categories: c
                .categories
                .iter()
                .map(|k| k.name.clone())
                .collect::<Vec<_>>()
                .join("\n"),
            loudness_min: p.loudness.min_lufs.to_string(),
            loudness_max: p.loudness.max_lufs.to_string(),
            true_peak_max: p.true_peak.max.to_string(),
            duration_min: p
                .duration
                .min_secs
                .map(|v| v.to_string())
                .unwrap_or_default(),
            duration_max: p
                .duration
                .max_secs
                .map(|v| v.to_string())
                .unwrap_or_default(),
            rest: Default::default(),
        }
    }

    fn prompts(&self) -> Vec<PromptInput> {
        (0..100)
            .filter_map(|i| {
                let title = self
                    .rest
                    .get(&format!("prompt_title_{i}"))?
                    .trim()
                    .to_string();
                let id = self
                    .rest
                    .get(&format!("prompt_id_{i}"))
                    .filter(|s| !s.is_empty())
                    .cloned();
                let story = self
                    .rest
                    .get(&format!("prompt_story_{i}"))
                    .cloned()
                    .unwrap_or_default();
                (!title.is_empty()).then_some(PromptInput { id, title, story })
            })
            .collect()
    }

    fn input(&self, c: &CompetitionView) -> Result<CompetitionInput, AppError> {
        let num = |s: &str, code: &'static str| -> Result<Option<f64>, AppError> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            s.replace('\u{2212}', "-")
                .parse::<f64>()
                .map(Some)
                .map_err(|_| AppError::invalid_with(code, vec![("reason", s.to_string())]))
        };
        let int = |s: &str| -> Result<i32, AppError> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(0);
            }
            s.parse()
                .map_err(|_| AppError::invalid("competition.ages_invalid"))
        };
        let mut policy = serde_json::to_value(&c.audio_policy).map_err(AppError::internal)?;
        let code = "competition.policy_invalid";
        if let Some(v) = num(&self.loudness_min, code)? {
            policy["loudness"]["min_lufs"] = v.into();
        }
        if let Some(v) = num(&self.loudness_max, code)? {
            policy["loudness"]["max_lufs"] = v.into();
        }
        if let Some(v) = num(&self.true_peak_max, code)? {
            policy["true_peak"]["max"] = v.into();
        }
        policy["duration"]["min_secs"] = num(&self.duration_min, code)?.into();
        policy["duration"]["max_secs"] = num(&self.duration_max, code)?.into();
        let categories = self
            .categories
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|name| CategoryInput {
                id: c
                    .categories
                    .iter()
                    .find(|k| k.name == name)
                    .map(|k| k.id.clone()),
                name: name.to_string(),
                description: String::new(),
            })
            .collect();
        Ok(CompetitionInput {
            title: Some(self.title.clone()),
            slug: Some(self.slug.clone()),
            summary: Some(self.summary.clone()),
            description: Some(self.description.clone()),
            rules: Some(self.rules.clone()),
            time_zone: Some(self.time_zone.clone()),
            submissions_open_at: Some(self.open_at.clone()),
            submissions_close_at: Some(self.close_at.clone()),
            entries_per_musician: Some(
                self.entries_per_musician
                    .trim()
                    .parse()
                    .map_err(|_| AppError::invalid("competition.quota_invalid"))?,
            ),
            min_age: Some(int(&self.min_age)?),
            max_age: Some(int(&self.max_age)?),
            consent_age: Some(
                int(&self.consent_age)
                    .map_err(|_| AppError::invalid("competition.consent_age_invalid"))?,
            ),
            audio_policy: Some(policy),
            prompts: Some(self.prompts()),
            categories: Some(categories),
        })
    }
}

fn edit_page(
    state: &AppState,
    ctx: PageCtx,
    c: CompetitionView,
    f: EditForm,
    error: Option<String>,
    saved: bool,
) -> EditPage {
    let mut prompts: Vec<PromptField> = c
        .prompts
        .iter()
        .map(|p| PromptField {
            id: p.id.clone(),
            title: p.title.clone(),
            story: p.story.clone(),
            image_url: p.image_url.clone(),
        })
        .collect();
    prompts.push(PromptField {
        id: String::new(),
        title: String::new(),
        story: String::new(),
        image_url: None,
    });
    EditPage {
        ctx,
        c,
        f,
        prompts,
        error,
        saved,
        time_zones: chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()).collect(),
        default_consent_age: state.settings.auth.age_of_digital_consent,
    }
}

#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

#[get("/organise/{id}")]
async fn edit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: Option<AuthUser>,
    id: web::Path<String>,
    q: web::Query<SavedQuery>,
) -> Result<HttpResponse, AppError> {
    let Some(who) = who else {
        return Ok(to_sign_in(&format!("/organise/{id}")));
    };
    let c = service::managed_view(&state, &who, &id).await?;
    let f = EditForm::of(&c);
    render(&edit_page(&state, ctx, c, f, None, q.saved.is_some()))
}

#[post("/organise/{id}")]
async fn edit_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<EditForm>,
) -> Result<HttpResponse, AppError> {
    let c = service::managed_view(&state, &who, &id).await?;
    let form = form.into_inner();
    let result = match form.input(&c) {
        Ok(input) => service::update(&state, &who, &id, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(c) => Ok(see_other(&format!("/organise/{}?saved=1", c.id))),
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict { .. })) => {
            let status = e.status();
            render_with_status(
                &edit_page(&state, ctx.clone(), c, form, Some(e.message(ctx.l)), false),
                status,
            )
        }
        Err(e) => Err(e),
    }
}

#[post("/organise/{id}/publish")]
async fn publish(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    service::set_published(&state, &who, &id, true).await?;
    Ok(see_other(&format!("/organise/{id}?saved=1")))
}

#[post("/organise/{id}/unpublish")]
async fn unpublish(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    service::set_published(&state, &who, &id, false).await?;
    Ok(see_other(&format!("/organise/{id}?saved=1")))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(show)
        .service(organise)
        .service(organise_create)
        .service(edit)
        .service(edit_submit)
        .service(publish)
        .service(unpublish);
}
