//! The organiser's competition editor: one page in sections (details in each
//! language, window and eligibility, prompts with their pictures, categories, audio
//! rules with presets, cover), saved by one button that stays in reach. A
//! `multipart/form-data` form, so new prompts get their pictures in the same step;
//! it works without JavaScript (which only adds rows and fills presets).

use std::collections::BTreeMap;

use actix_multipart::Multipart;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::domain::{
    CategoryInput, CompetitionInput, MAX_CATEGORIES, MAX_PROMPTS, PromptInput, TranslationsInput,
    local_input,
};
use super::model::CompetitionView;
use super::policy_form::{RuleField, policy_of, policy_values, rule_fields};
use super::service::{self, ImageOf, MAX_IMAGE_BYTES};
use crate::accounts::model::AuthUser;
use crate::accounts::model::PageUser;
use crate::audio::policy::{PRESETS, Policy};
use crate::error::AppError;
use crate::http::form::{self, FormData, FormLimits};
use crate::i18n::Locale;
use crate::i18n::content::Translations;
use crate::state::AppState;
use crate::web::{PageCtx, render, render_with_status, see_other};

const LIMITS: FormLimits = FormLimits {
    text: 64 * 1024,
    all_text: 1024 * 1024,
    file: MAX_IMAGE_BYTES,
    all_files: 8 * MAX_IMAGE_BYTES,
    fields: 4000,
};

/// One language's value of a text field.
struct LangValue {
    tag: &'static str,
    native: &'static str,
    value: String,
    /// The competition's own language: the one that must be filled.
    primary: bool,
}

/// A text field in every language.
struct TextField {
    /// Form name prefix: `title` → `title.en`, `title.zh-CN`.
    name: String,
    label: &'static str,
    long: bool,
    max: usize,
    values: Vec<LangValue>,
}

struct PromptRowField {
    index: usize,
    id: String,
    image_url: Option<String>,
    title: Vec<LangValue>,
    story: Vec<LangValue>,
}

struct CategoryRowField {
    index: usize,
    id: String,
    name: Vec<LangValue>,
    description: Vec<LangValue>,
}

struct ZoneOption {
    name: &'static str,
    label: String,
}

#[derive(Template)]
#[template(path = "competitions/edit.html")]
struct EditPage {
    ctx: PageCtx,
    c: CompetitionView,
    /// The competition's own language (tag).
    language: String,
    languages: Vec<(&'static str, &'static str)>,
    texts: Vec<TextField>,
    slug: String,
    time_zone: String,
    zones: Vec<ZoneOption>,
    open_at: String,
    close_at: String,
    entries_per_musician: String,
    min_age: String,
    max_age: String,
    consent_age: String,
    default_consent_age: u32,
    ai_rules: Vec<AiRuleOption>,
    prompts: Vec<PromptRowField>,
    categories: Vec<CategoryRowField>,
    rules: Vec<RuleField>,
    presets: Vec<(&'static str, &'static str, String)>,
    severities: [&'static str; 3],
    error: Option<String>,
    saved: bool,
    /// Whether the reader may change the rules (the owner or an admin); a co-organiser
    /// reads them.
    owns: bool,
}

/// One choice of the rule on AI use.
struct AiRuleOption {
    value: &'static str,
    label: &'static str,
    help: &'static str,
    checked: bool,
}

fn ai_rule_options(ctx: &PageCtx, chosen: &str) -> Vec<AiRuleOption> {
    let chosen = super::ai::AiRule::parse(chosen).unwrap_or_default();
    super::ai::AiRule::ALL
        .into_iter()
        .map(|r| AiRuleOption {
            value: r.as_str(),
            label: ctx.t(&format!("ai.rule_{}", r.as_str())),
            help: ctx.t(&format!("ai.rule_{}_help", r.as_str())),
            checked: r == chosen,
        })
        .collect()
}

/// The zones most competitions use, first in the picker.
const COMMON_ZONES: [&str; 16] = [
    "UTC",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Kolkata",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Australia/Sydney",
];

fn zone_label(name: &'static str) -> String {
    use chrono::{Offset, TimeZone};
    let tz: chrono_tz::Tz = name.parse().unwrap_or(chrono_tz::UTC);
    let secs = tz
        .offset_from_utc_datetime(&chrono::Utc::now().naive_utc())
        .fix()
        .local_minus_utc();
    let sign = if secs < 0 { '-' } else { '+' };
    let secs = secs.abs();
    format!(
        "{name} (UTC{sign}{:02}:{:02})",
        secs / 3600,
        (secs % 3600) / 60
    )
}

fn zones() -> Vec<ZoneOption> {
    let mut out: Vec<ZoneOption> = COMMON_ZONES
        .iter()
        .map(|n| ZoneOption {
            name: n,
            label: zone_label(n),
        })
        .collect();
    out.extend(
        chrono_tz::TZ_VARIANTS
            .iter()
            .map(|t| t.name())
            .filter(|n| !COMMON_ZONES.contains(n))
            .map(|n| ZoneOption {
                name: n,
                label: zone_label(n),
            }),
    );
    out
}

/// What the form holds, by field name, whether from the stored competition or a submission.
pub(super) struct Values(pub(super) BTreeMap<String, String>);

impl Values {
    pub(super) fn get(&self, name: &str) -> String {
        self.0.get(name).cloned().unwrap_or_default()
    }

    fn of_view(c: &CompetitionView) -> Values {
        let mut v = BTreeMap::new();
        let source = Locale::parse(&c.language).unwrap_or_default();
        let mut put_texts = |prefix: &str, base: &[(&str, &str)], tr: &Translations| {
            for (field, value) in base {
                v.insert(
                    format!("{prefix}{field}.{}", source.tag()),
                    value.to_string(),
                );
                for l in Locale::ALL.iter().filter(|l| **l != source) {
                    if let Some(t) = tr.get(*l, field) {
                        v.insert(format!("{prefix}{field}.{}", l.tag()), t.to_string());
                    }
                }
            }
        };
        put_texts(
            "",
            &[
                ("title", &c.title),
                ("summary", &c.summary),
                ("description", &c.description),
                ("rules", &c.rules),
            ],
            &c.translations,
        );
        for (i, p) in c.prompts.iter().enumerate() {
            put_texts(
                &format!("prompt.{i}."),
                &[("title", &p.title), ("story", &p.story)],
                &p.translations,
            );
        }
        for (i, k) in c.categories.iter().enumerate() {
            put_texts(
                &format!("category.{i}."),
                &[("name", &k.name), ("description", &k.description)],
                &k.translations,
            );
        }
        for (i, p) in c.prompts.iter().enumerate() {
            v.insert(format!("prompt.{i}.id"), p.id.clone());
        }
        for (i, k) in c.categories.iter().enumerate() {
            v.insert(format!("category.{i}.id"), k.id.clone());
        }
        v.insert("language".into(), source.tag().into());
        v.insert("slug".into(), c.slug.clone());
        v.insert("time_zone".into(), c.time_zone.clone());
        v.insert(
            "open_at".into(),
            local_input(c.submissions_open_at.map(|t| t.naive_utc()), &c.time_zone),
        );
        v.insert(
            "close_at".into(),
            local_input(c.submissions_close_at.map(|t| t.naive_utc()), &c.time_zone),
        );
        v.insert(
            "entries_per_musician".into(),
            c.entries_per_musician.to_string(),
        );
        let opt = |x: Option<i32>| x.map(|a| a.to_string()).unwrap_or_default();
        v.insert("min_age".into(), opt(c.min_age));
        v.insert("max_age".into(), opt(c.max_age));
        v.insert("consent_age".into(), opt(c.consent_age));
        v.insert("ai_rule".into(), c.ai_rule.as_str().into());
        policy_values(&c.audio_policy, &mut v);
        Values(v)
    }

    fn of_form(f: &FormData) -> Values {
        Values(f.text.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// The largest row index present for `prefix` (`prompt.`), plus one.
    fn rows(&self, prefix: &str) -> usize {
        self.0
            .keys()
            .filter_map(|k| {
                k.strip_prefix(prefix)?
                    .split('.')
                    .next()?
                    .parse::<usize>()
                    .ok()
            })
            .map(|i| i + 1)
            .max()
            .unwrap_or(0)
    }
}

fn lang_values(v: &Values, prefix: &str, source: Locale) -> Vec<LangValue> {
    let mut langs = Locale::ALL.to_vec();
    // The competition's own language first.
    langs.sort_by_key(|l| *l != source);
    langs
        .into_iter()
        .map(|l| LangValue {
            tag: l.tag(),
            native: l.native_name(),
            value: v.get(&format!("{prefix}.{}", l.tag())),
            primary: l == source,
        })
        .collect()
}

/// A record's text from the form: its own language's value and the others' as translations.
fn texts_of(
    f: &FormData,
    prefix: &str,
    fields: &[&str],
    source: Locale,
) -> (Vec<String>, TranslationsInput) {
    let mut base = Vec::new();
    let mut tr: TranslationsInput = BTreeMap::new();
    for field in fields {
        base.push(
            f.get(&format!("{prefix}{field}.{}", source.tag()))
                .to_string(),
        );
        for l in Locale::ALL.iter().filter(|l| **l != source) {
            let v = f.get(&format!("{prefix}{field}.{}", l.tag()));
            if !v.trim().is_empty() {
                tr.entry(l.tag().to_string())
                    .or_default()
                    .insert(field.to_string(), v.to_string());
            }
        }
    }
    (base, tr)
}

fn any_text(f: &FormData, prefix: &str) -> bool {
    f.text
        .iter()
        .any(|(k, v)| k.starts_with(prefix) && !k.ends_with(".id") && !v.trim().is_empty())
}

/// The competition a submitted form describes.
fn input_of(f: &FormData, c: &CompetitionView) -> Result<CompetitionInput, AppError> {
    let source = crate::i18n::content::parse_language(f.get("language"))?;
    let (base, translations) =
        texts_of(f, "", &["title", "summary", "description", "rules"], source);
    let int = |name: &str, code: &'static str| -> Result<i32, AppError> {
        let s = f.get(name).trim();
        if s.is_empty() {
            return Ok(0);
        }
        s.parse().map_err(|_| AppError::invalid(code))
    };
    let mut prompts = Vec::new();
    for i in 0..MAX_PROMPTS + 1 {
        let prefix = format!("prompt.{i}.");
        let id = f.get(&format!("prompt.{i}.id"));
        if f.checked(&format!("prompt.{i}.remove")) || (id.is_empty() && !any_text(f, &prefix)) {
            continue;
        }
        let (b, tr) = texts_of(f, &prefix, &["title", "story"], source);
        prompts.push(PromptInput {
            id: (!id.is_empty()).then(|| id.to_string()),
            title: b[0].clone(),
            story: b[1].clone(),
            translations: Some(tr),
        });
    }
    let mut categories = Vec::new();
    for i in 0..MAX_CATEGORIES + 1 {
        let prefix = format!("category.{i}.");
        let id = f.get(&format!("category.{i}.id"));
        if f.checked(&format!("category.{i}.remove")) || (id.is_empty() && !any_text(f, &prefix)) {
            continue;
        }
        let (b, tr) = texts_of(f, &prefix, &["name", "description"], source);
        categories.push(CategoryInput {
            id: (!id.is_empty()).then(|| id.to_string()),
            name: b[0].clone(),
            description: Some(b[1].clone()),
            translations: Some(tr),
        });
    }
    Ok(CompetitionInput {
        language: Some(source.tag().to_string()),
        title: Some(base[0].clone()),
        summary: Some(base[1].clone()),
        description: Some(base[2].clone()),
        rules: Some(base[3].clone()),
        translations: Some(translations),
        slug: Some(f.get("slug").to_string()),
        time_zone: Some(f.get("time_zone").to_string()),
        submissions_open_at: Some(f.get("open_at").to_string()),
        submissions_close_at: Some(f.get("close_at").to_string()),
        entries_per_musician: Some(
            f.get("entries_per_musician")
                .trim()
                .parse()
                .map_err(|_| AppError::invalid("competition.quota_invalid"))?,
        ),
        min_age: Some(int("min_age", "competition.ages_invalid")?),
        max_age: Some(int("max_age", "competition.ages_invalid")?),
        consent_age: Some(int("consent_age", "competition.consent_age_invalid")?),
        ai_rule: Some(f.get("ai_rule").to_string()).filter(|r| !r.is_empty()),
        audio_policy: Some(policy_of(f, &c.audio_policy)?),
        prompts: Some(prompts),
        categories: Some(categories),
    })
}

fn edit_page(
    state: &AppState,
    ctx: PageCtx,
    c: CompetitionView,
    v: Values,
    error: Option<String>,
    saved: bool,
    owns: bool,
) -> EditPage {
    let source = Locale::parse(&v.get("language")).unwrap_or_default();
    let text = |name: &str, label: &'static str, long: bool, max: usize| TextField {
        name: name.to_string(),
        label,
        long,
        max,
        values: lang_values(&v, name, source),
    };
    use super::domain::{MAX_MARKDOWN, MAX_SUMMARY, MAX_TITLE};
    let texts = vec![
        text("title", ctx.t("organise.field_title"), false, MAX_TITLE),
        text(
            "summary",
            ctx.t("organise.field_summary"),
            false,
            MAX_SUMMARY,
        ),
        text(
            "description",
            ctx.t("organise.field_description"),
            true,
            MAX_MARKDOWN,
        ),
        text("rules", ctx.t("organise.field_rules"), true, MAX_MARKDOWN),
    ];
    let image_of = |id: &str| {
        c.prompts
            .iter()
            .find(|p| p.id == id)
            .and_then(|p| p.image_url.clone())
    };
    // The rows the form had, then empty ones to add more (three to start with).
    let stored = v.rows("prompt.");
    let blanks = if stored == 0 { 3 } else { 1 };
    let prompts = (0..stored + blanks)
        .map(|i| {
            let id = v.get(&format!("prompt.{i}.id"));
            PromptRowField {
                index: i,
                image_url: image_of(&id),
                id,
                title: lang_values(&v, &format!("prompt.{i}.title"), source),
                story: lang_values(&v, &format!("prompt.{i}.story"), source),
            }
        })
        .collect();
    let stored = v.rows("category.");
    let blanks = if stored == 0 { 2 } else { 1 };
    let categories = (0..stored + blanks)
        .map(|i| CategoryRowField {
            index: i,
            id: v.get(&format!("category.{i}.id")),
            name: lang_values(&v, &format!("category.{i}.name"), source),
            description: lang_values(&v, &format!("category.{i}.description"), source),
        })
        .collect();
    let presets = PRESETS
        .iter()
        .map(|name| {
            let mut values = BTreeMap::new();
            if let Some(p) = Policy::preset(name) {
                policy_values(&p, &mut values);
            }
            (
                *name,
                ctx.tk("policy_form.preset_", name),
                crate::web::script_json(&values),
            )
        })
        .collect();
    EditPage {
        language: source.tag().to_string(),
        languages: Locale::ALL
            .iter()
            .map(|l| (l.tag(), l.native_name()))
            .collect(),
        texts,
        slug: v.get("slug"),
        time_zone: v.get("time_zone"),
        zones: zones(),
        open_at: v.get("open_at"),
        close_at: v.get("close_at"),
        entries_per_musician: v.get("entries_per_musician"),
        min_age: v.get("min_age"),
        max_age: v.get("max_age"),
        consent_age: v.get("consent_age"),
        default_consent_age: state.settings.auth.age_of_digital_consent,
        ai_rules: ai_rule_options(&ctx, &v.get("ai_rule")),
        prompts,
        categories,
        rules: rule_fields(&ctx, &v),
        presets,
        severities: ["off", "warn", "reject"],
        error,
        saved,
        owns,
        ctx,
        c,
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
    who: PageUser,
    id: web::Path<String>,
    q: web::Query<SavedQuery>,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    let c = service::managed_view(&state, &who, &id).await?;
    let owns = service::owns(&state, &who, &id).await?;
    let v = Values::of_view(&c);
    render(&edit_page(&state, ctx, c, v, None, q.saved.is_some(), owns))
}

/// Check every picture before anything is saved: nothing half-written on a bad file.
fn check_images(f: &FormData) -> Result<(), AppError> {
    for file in f.files.values() {
        service::picture_size(&file.bytes, Some(&file.file_name))?;
    }
    Ok(())
}

#[post("/organise/{id}")]
async fn edit_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let c = service::managed_view(&state, &who, &id).await?;
    let owns = service::owns(&state, &who, &id).await?;
    let f = form::read(payload, LIMITS).await?;
    let result = async {
        check_images(&f)?;
        let input = input_of(&f, &c)?;
        // Which saved prompt each form row became: rows are saved in order.
        let rows: Vec<usize> = (0..MAX_PROMPTS + 1)
            .filter(|i| {
                let id = f.get(&format!("prompt.{i}.id"));
                !f.checked(&format!("prompt.{i}.remove"))
                    && (!id.is_empty() || any_text(&f, &format!("prompt.{i}.")))
            })
            .collect();
        let saved = service::update(&state, &who, &id, input).await?;
        for (row, prompt) in rows.iter().zip(&saved.prompts) {
            if let Some(file) = f.files.get(&format!("prompt.{row}.image")) {
                service::set_image(
                    &state,
                    &who,
                    ImageOf::Prompt,
                    &prompt.id,
                    file.bytes.clone(),
                )
                .await?;
            }
        }
        if let Some(file) = f.files.get("cover") {
            service::set_image(&state, &who, ImageOf::Cover, &saved.id, file.bytes.clone()).await?;
        }
        Ok::<_, AppError>(saved)
    }
    .await;
    match result {
        Ok(saved) => Ok(see_other(&format!("/organise/{}?saved=1", saved.id))),
        Err(e) if crate::web::form_error(&e) => {
            let status = e.status();
            let v = Values::of_form(&f);
            render_with_status(
                &edit_page(
                    &state,
                    ctx.clone(),
                    c,
                    v,
                    Some(e.message(ctx.l)),
                    false,
                    owns,
                ),
                status,
            )
        }
        Err(e) => Err(e),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(edit).service(edit_submit);
}
