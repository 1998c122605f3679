//! Entry pages: the entry form, the entry page (status that updates itself, the
//! upload with a progress bar, the report as pictures and words, a player), the
//! musician's list, and the organiser's moderation list.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::entry_form::EntryForm;
use super::model::{EntryView, ReviewInput, Status, report_value};
use super::sections::Place;
use super::{moderation, service};
use crate::accounts::model::AuthUser;
use crate::accounts::model::PageUser;
use crate::competitions::model::CompetitionView;
use crate::competitions::service as competitions;
use crate::error::{AppError, OrNone as _};
use crate::state::AppState;
use crate::web::{PageCtx, render, render_with_status, see_other};

use crate::web::form_error;

#[derive(Template)]
#[template(path = "entries/new.html")]
struct NewEntryPage {
    ctx: PageCtx,
    c: CompetitionView,
    fc: Option<CompetitionView>,
    f: EntryForm,
    error: Option<String>,
    /// What stands in the way of entering at all; the form is not shown then.
    blocked: Option<Blocked>,
    /// The remix source fields, when the competition has stem packs or needs sources.
    remix_html: String,
}

/// Why the musician cannot enter, and the one place that fixes it.
struct Blocked {
    code: &'static str,
    message: String,
    href: String,
    action: String,
}

impl Blocked {
    fn of(ctx: &PageCtx, e: &AppError) -> Blocked {
        let code = e.code();
        let (href, action) = match code {
            "entry.quota_reached" => ("/me/entries".to_string(), "entry.mine_title"),
            "entry.window_not_open" | "entry.window_closed" | "entry.age_not_eligible" => {
                ("/".to_string(), "nav.home")
            }
            _ => (
                crate::accounts::service::ACCOUNT_SECTION.to_string(),
                "entry.go_to_account",
            ),
        };
        Blocked {
            code,
            message: e.message(ctx.l),
            href,
            action: ctx.t(action).to_string(),
        }
    }
}

#[get("/c/{slug}/enter")]
async fn new_entry(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    let c = competitions::public_view(&state, Some(&who), &slug)
        .await?
        .localised(ctx.l);
    // Say what stands in the way before the musician fills anything in, and show no
    // form that could not be sent.
    let blocked = match service::may_enter(&state, &who, &c.id).await {
        Ok(()) => None,
        Err(e) if form_error(&e) => Some(Blocked::of(&ctx, &e)),
        Err(e) => return Err(e),
    };
    let f = EntryForm {
        prompt_id: c.prompts.first().map(|p| p.id.clone()).unwrap_or_default(),
        ..EntryForm::default()
    };
    let remix_html =
        crate::remix::pages::new_entry_fields(&state, &ctx, &who, &c.id, "", "").await?;
    render(&NewEntryPage {
        remix_html,
        ctx,
        fc: Some(c.clone()),
        c,
        f,
        error: None,
        blocked,
    })
}

#[post("/c/{slug}/enter")]
async fn create_entry(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    slug: web::Path<String>,
    form: web::Form<EntryForm>,
) -> Result<HttpResponse, AppError> {
    let c = competitions::public_view(&state, Some(&who), &slug)
        .await?
        .localised(ctx.l);
    let f = form.into_inner();
    match service::create(&state, &who, &c.id, f.input(), ctx.l).await {
        Ok(v) => Ok(see_other(&format!("/entries/{}", v.id))),
        Err(e) if form_error(&e) => {
            let status = e.status();
            let remix_html = crate::remix::pages::new_entry_fields(
                &state,
                &ctx,
                &who,
                &c.id,
                &f.remix_source,
                &f.remix_song,
            )
            .await?;
            render_with_status(
                &NewEntryPage {
                    remix_html,
                    error: Some(e.message(ctx.l)),
                    blocked: None,
                    ctx,
                    fc: Some(c.clone()),
                    c,
                    f,
                },
                status,
            )
        }
        Err(e) => Err(e),
    }
}

/// A measured value in the report table.
struct Fact {
    label: &'static str,
    value: String,
}

#[derive(Template)]
#[template(path = "entries/show.html")]
struct EntryPage {
    ctx: PageCtx,
    v: EntryView,
    fc: Option<CompetitionView>,
    f: EntryForm,
    /// The audio check in plain words, and its kind (`none`, `running`, `pass`, `warn`,
    /// `reject`, `withdrawn`): not to be read as the organisers' decision.
    check_label: &'static str,
    check_kind: &'static str,
    review_label: &'static str,
    in_progress: bool,
    organiser: bool,
    facts: Vec<Fact>,
    /// The waveform and loudness curve for the page's script (safe to embed).
    chart_json: String,
    /// In words: where the clipping is (waveform), and the target band (loudness).
    chart_notes: (Option<String>, Option<String>),
    /// What each chart shows, in words, for those who cannot see it (waveform, loudness).
    chart_summaries: (String, String),
    error: Option<String>,
    max_bytes: u64,
    max_label: String,
    /// Sections of the features above (see `sections`): under the header (the outcome
    /// once results are out) and at the end (the remix panel).
    after_header: String,
    end: String,
}

fn facts(ctx: &PageCtx, r: &serde_json::Value) -> Vec<Fact> {
    let num = |path: &[&str]| report_value(r, path).and_then(|x| x.as_f64());
    let fmt = |x: Option<f64>, unit: &str| {
        x.map(|v| format!("{} {unit}", crate::audio::policy::signed(v, 1)))
            .unwrap_or_else(|| "—".into())
    };
    let s = |path: &[&str]| -> String {
        match report_value(r, path) {
            Some(serde_json::Value::String(s)) => s.clone(),
            None | Some(serde_json::Value::Null) => "—".into(),
            Some(other) => other.to_string(),
        }
    };
    vec![
        Fact {
            label: ctx.t("entry.fact_format"),
            value: plain_format(ctx, r),
        },
        Fact {
            label: ctx.t("entry.fact_duration"),
            value: num(&["format", "duration_secs"])
                .map(crate::audio::policy::minutes)
                .unwrap_or_default(),
        },
        Fact {
            label: ctx.t("entry.fact_loudness"),
            value: fmt(num(&["loudness", "integrated_lufs"]), "LUFS"),
        },
        Fact {
            label: ctx.t("entry.fact_range"),
            value: num(&["loudness", "range_lu"])
                .map(|v| format!("{v:.1} LU"))
                .unwrap_or_else(|| "—".into()),
        },
        Fact {
            label: ctx.t("entry.fact_true_peak"),
            value: fmt(num(&["peaks", "true_peak_dbtp"]), "dBTP"),
        },
        Fact {
            label: ctx.t("entry.fact_silence"),
            value: format!(
                "{:.1} s / {:.1} s",
                num(&["silence", "leading_secs"]).unwrap_or(0.0),
                num(&["silence", "trailing_secs"]).unwrap_or(0.0)
            ),
        },
        Fact {
            label: ctx.t("entry.fact_clipping"),
            value: s(&["clipping", "runs"]),
        },
    ]
}

/// The format in the words a musician's software uses: "WAV · 16-bit · 44.1 kHz ·
/// stereo", not the decoder's "PCM Signed 16-bit Little-Endian Interleaved".
fn plain_format(ctx: &PageCtx, r: &serde_json::Value) -> String {
    let text = |path: &[&str]| report_value(r, path).and_then(|x| x.as_str()).unwrap_or("");
    let num = |path: &[&str]| report_value(r, path).and_then(|x| x.as_f64());
    let mut parts = vec![
        match (text(&["format", "codec"]), text(&["format", "container"])) {
            ("pcm", _) => "WAV".to_string(),
            ("flac", _) => "FLAC".into(),
            ("mp3", _) => "MP3".into(),
            ("aac", "adts") => "AAC".into(),
            ("aac", _) => "AAC (M4A)".into(),
            ("alac", _) => "ALAC".into(),
            ("vorbis", _) => "Ogg Vorbis".into(),
            (other, _) => other.to_uppercase(),
        },
    ];
    if report_value(r, &["format", "float_samples"]).and_then(|x| x.as_bool()) == Some(true) {
        parts.push(ctx.t("entry.format_float").to_string());
    } else if let Some(b) = num(&["format", "bit_depth"]) {
        parts.push(ctx.tf("entry.format_bits", "bits", &format!("{b:.0}")));
    }
    if let Some(hz) = num(&["format", "sample_rate"]) {
        let khz = hz / 1000.0;
        parts.push(if (khz - khz.round()).abs() < 1e-9 {
            format!("{khz:.0} kHz")
        } else {
            format!("{khz:.1} kHz")
        });
    }
    parts.push(match num(&["format", "channels"]).map(|c| c as u32) {
        Some(1) => ctx.t("entry.channels_mono").to_string(),
        Some(2) => ctx.t("entry.channels_stereo").to_string(),
        Some(n) => ctx.tf("entry.channels_n", "count", &n.to_string()),
        None => String::new(),
    });
    parts.retain(|p| !p.is_empty());
    parts.join(" · ")
}

/// What the charts show that a glance might miss, in words (also for screen readers).
fn chart_notes(
    ctx: &PageCtx,
    r: Option<&serde_json::Value>,
    c: Option<&CompetitionView>,
) -> (Option<String>, Option<String>) {
    let clips = Some(clip_times(r)).filter(|t| !t.is_empty()).map(|t| {
        let mut times: Vec<String> = t.into_iter().map(crate::audio::policy::minutes).collect();
        times.dedup();
        let shown = times.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
        ctx.tf("entry.clips_marked", "times", &shown)
    });
    let target = c.map(|c| {
        let p = &c.audio_policy.loudness;
        ctx.l.tf(
            "entry.target_band",
            &[
                ("min", &crate::audio::policy::signed(p.min_lufs, 0)),
                ("max", &crate::audio::policy::signed(p.max_lufs, 0)),
            ],
        )
    });
    (clips, target)
}

/// The charts in words (their text alternative): the waveform's length, loudest peak,
/// silent ends and clipping; the loudness curve's level and spread, and the target.
fn chart_summaries(
    ctx: &PageCtx,
    r: Option<&serde_json::Value>,
    c: Option<&CompetitionView>,
) -> (String, String) {
    use crate::audio::policy::{minutes, signed};
    let Some(r) = r else {
        return (
            ctx.t("entry.waveform").into(),
            ctx.t("entry.loudness_curve").into(),
        );
    };
    let num = |p: &str| r.pointer(p).and_then(|v| v.as_f64());
    let one = |x: Option<f64>| x.map_or_else(|| "—".to_string(), |x| signed(x, 1));
    let (clips, target) = chart_notes(ctx, Some(r), c);
    let wave = ctx.l.tf(
        "entry.waveform_summary",
        &[
            (
                "duration",
                &minutes(num("/format/duration_secs").unwrap_or(0.0)),
            ),
            ("peak", &one(num("/peaks/true_peak_dbtp"))),
            (
                "leading",
                &format!("{:.1}", num("/silence/leading_secs").unwrap_or(0.0)),
            ),
            (
                "trailing",
                &format!("{:.1}", num("/silence/trailing_secs").unwrap_or(0.0)),
            ),
        ],
    );
    let wave = format!(
        "{}: {wave}; {}.",
        ctx.t("entry.waveform"),
        clips.unwrap_or_else(|| ctx.t("entry.no_clipping").into())
    );
    let short: Vec<f64> = r
        .pointer("/loudness/short_term/values")
        .and_then(|v| v.as_array())
        .map(|vs| vs.iter().filter_map(|v| v.as_f64()).collect())
        .unwrap_or_default();
    let lo = short.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = short.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let spread = |x: f64| {
        if x.is_finite() {
            signed(x, 0)
        } else {
            "—".into()
        }
    };
    let loud = ctx.l.tf(
        "entry.loudness_summary",
        &[
            ("lufs", &one(num("/loudness/integrated_lufs"))),
            ("min", &spread(lo)),
            ("max", &spread(hi)),
        ],
    );
    let loud = match target {
        Some(t) => format!("{}: {loud}; {t}.", ctx.t("entry.loudness_curve")),
        None => format!("{}: {loud}.", ctx.t("entry.loudness_curve")),
    };
    (wave, loud)
}

/// Where the report located clipping runs (their start, seconds).
fn clip_times(r: Option<&serde_json::Value>) -> Vec<f64> {
    r.and_then(|r| r.pointer("/clipping/first_runs"))
        .and_then(|v| v.as_array())
        .map(|runs| {
            runs.iter()
                .filter_map(|c| c["time_secs"].as_f64())
                .collect()
        })
        .unwrap_or_default()
}

/// The chart data as JSON that cannot end the `<script>` element it sits in.
/// The clipping runs and the silent ends are marked on the waveform; the competition's
/// loudness target is drawn as a band behind the curve.
fn chart_json(r: Option<&serde_json::Value>, target: Option<(f64, f64)>) -> String {
    let Some(r) = r else { return "null".into() };
    let clips = clip_times(Some(r));
    let data = serde_json::json!({
        "waveform": r.get("waveform"),
        "loudness": r.get("loudness").and_then(|l| l.get("short_term")),
        "duration": r.get("format").and_then(|f| f.get("duration_secs")),
        "clips": clips,
        "silence": {
            "leading": r.pointer("/silence/leading_secs"),
            "trailing": r.pointer("/silence/trailing_secs"),
        },
        "target": target.map(|(min, max)| serde_json::json!({ "min": min, "max": max })),
    });
    data.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

async fn entry_page(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    id: &str,
    form: Option<EntryForm>,
    error: Option<String>,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, AppError> {
    let v = service::get(state, who, id, ctx.l).await?;
    let organiser = v.musician.is_some();
    let c = competitions::public_view(state, Some(who), &v.competition_id)
        .await
        .or_none()?
        .map(|c| c.localised(ctx.l));
    use crate::submissions::model::Status;
    let check_kind = match v.status {
        Status::Draft => "none",
        Status::Uploading | Status::Uploaded | Status::Analysing => "running",
        Status::Accepted => "pass",
        Status::NeedsAttention => "warn",
        Status::Rejected => "reject",
        Status::Withdrawn => "withdrawn",
    };
    let check_label = ctx.tk("entry.check_", check_kind);
    // What needs fixing first: rejections, then warnings, then what passed.
    let mut v = v;
    v.rules.sort_by_key(|r| match r.outcome.as_str() {
        "reject" => 0,
        "warn" => 1,
        _ => 2,
    });
    let review_label = ctx.t(&format!("entry.review_{}", serde_plain(&v.review)));
    let max_bytes = state.settings.uploads.max_bytes;
    let sections = state.part::<super::sections::EntrySections>();
    let after_header = sections
        .render(Place::AfterHeader, state, &ctx, who, &v, organiser)
        .await?;
    let end = sections
        .render(Place::End, state, &ctx, who, &v, organiser)
        .await?;
    let page = EntryPage {
        after_header,
        end,
        facts: v
            .report
            .as_ref()
            .map(|r| facts(&ctx, r))
            .unwrap_or_default(),
        chart_notes: chart_notes(&ctx, v.report.as_ref(), c.as_ref()),
        chart_summaries: chart_summaries(&ctx, v.report.as_ref(), c.as_ref()),
        chart_json: chart_json(
            v.report.as_ref(),
            c.as_ref().map(|c| {
                (
                    c.audio_policy.loudness.min_lufs,
                    c.audio_policy.loudness.max_lufs,
                )
            }),
        ),
        f: form.unwrap_or_else(|| EntryForm::of(&v)),
        in_progress: v.status.in_progress(),
        check_label,
        check_kind,
        review_label,
        organiser,
        error,
        max_bytes,
        max_label: crate::error::human_bytes(max_bytes),
        ctx,
        fc: c,
        v,
    };
    render_with_status(&page, status)
}

fn serde_plain<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|s| s.as_str().map(String::from))
        .unwrap_or_default()
}

#[get("/entries/{id}")]
async fn show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    entry_page(
        &state,
        ctx,
        &who,
        &id,
        None,
        None,
        actix_web::http::StatusCode::OK,
    )
    .await
}

#[post("/entries/{id}")]
async fn update(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<EntryForm>,
) -> Result<HttpResponse, AppError> {
    let f = form.into_inner();
    match service::update(&state, &who, &id, f.input(), ctx.l).await {
        Ok(v) => Ok(see_other(&format!("/entries/{}", v.id))),
        Err(e) if form_error(&e) => {
            let (msg, status) = (e.message(ctx.l), e.status());
            entry_page(&state, ctx, &who, &id, Some(f), Some(msg), status).await
        }
        Err(e) => Err(e),
    }
}

#[post("/entries/{id}/withdraw")]
async fn withdraw(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    match service::withdraw(&state, &who, &id, ctx.l).await {
        Ok(v) => Ok(see_other(&format!("/entries/{}", v.id))),
        Err(e) if form_error(&e) => {
            let (msg, status) = (e.message(ctx.l), e.status());
            entry_page(&state, ctx, &who, &id, None, Some(msg), status).await
        }
        Err(e) => Err(e),
    }
}

#[post("/entries/{id}/review")]
async fn review(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<ReviewInput>,
) -> Result<HttpResponse, AppError> {
    match moderation::review(&state, &who, &id, form.into_inner(), ctx.l).await {
        Ok(v) => Ok(see_other(&format!("/entries/{}", v.id))),
        Err(e) if form_error(&e) => {
            let (msg, status) = (e.message(ctx.l), e.status());
            entry_page(&state, ctx, &who, &id, None, Some(msg), status).await
        }
        Err(e) => Err(e),
    }
}

/// A row of an entry list.
struct Row {
    v: EntryView,
    status_label: &'static str,
    review_label: &'static str,
}

fn rows(ctx: &PageCtx, items: Vec<EntryView>) -> Vec<Row> {
    items
        .into_iter()
        .map(|v| Row {
            status_label: ctx.t(&format!("entry.status_{}", serde_plain(&v.status))),
            review_label: ctx.t(&format!("entry.review_{}", serde_plain(&v.review))),
            v,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "entries/mine.html")]
struct MinePage {
    ctx: PageCtx,
    rows: Vec<Row>,
}

#[get("/me/entries")]
async fn mine(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    let items = service::list_mine(&state, &who, ctx.l).await?;
    render(&MinePage {
        rows: rows(&ctx, items),
        ctx,
    })
}

#[derive(Deserialize, Default)]
struct FilterForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    review: String,
    #[serde(default)]
    prompt: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    flagged: String,
}

#[derive(Template)]
#[template(path = "entries/moderation.html")]
struct ModerationPage {
    ctx: PageCtx,
    c: CompetitionView,
    rows: Vec<Row>,
    q: FilterForm,
    statuses: Vec<(&'static str, &'static str)>,
    reviews: Vec<(&'static str, &'static str)>,
    /// Whether the reader runs the competition (a moderator only reviews).
    manages: bool,
}

#[get("/organise/{id}/entries")]
async fn moderation_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    id: web::Path<String>,
    q: web::Query<FilterForm>,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    let c = competitions::moderated_view(&state, &who, &id)
        .await?
        .localised(ctx.l);
    let manages = competitions::manages(&state, &who, &id).await?;
    let q = q.into_inner();
    let query = super::routes::ModerationQuery {
        status: Some(q.status.clone()),
        review: Some(q.review.clone()),
        prompt: Some(q.prompt.clone()),
        category: Some(q.category.clone()),
        flagged: (q.flagged == "1").then_some(true),
    };
    let items = moderation::list(&state, &who, &id, query.filter(), ctx.l).await?;
    let statuses = [
        Status::Draft,
        Status::Uploading,
        Status::Uploaded,
        Status::Analysing,
        Status::Accepted,
        Status::NeedsAttention,
        Status::Rejected,
        Status::Withdrawn,
    ]
    .into_iter()
    .map(|s| (s.as_str(), ctx.t(&format!("entry.status_{}", s.as_str()))))
    .collect();
    let reviews = ["pending", "accepted", "changes_requested", "disqualified"]
        .into_iter()
        .map(|r| (r, ctx.t(&format!("entry.review_{r}"))))
        .collect();
    render(&ModerationPage {
        rows: rows(&ctx, items),
        ctx,
        c,
        q,
        statuses,
        reviews,
        manages,
    })
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(new_entry)
        .service(create_entry)
        .service(mine)
        .service(show)
        .service(update)
        .service(withdraw)
        .service(review)
        .service(moderation_page);
}
