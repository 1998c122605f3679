//! What an organiser types, parsed: slugs, times in a time zone, Markdown, the audio
//! policy, prompts and categories. Past this module the values are trusted.

use std::collections::BTreeMap;

use serde::Deserialize;
use utoipa::ToSchema;

/// The rule on AI use and entries' disclosures: vocabulary every feature reads.
pub use super::ai;

use crate::audio::policy::Policy;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::i18n::content::{Translations, parse_translations};

pub const MAX_TITLE: usize = 120;
pub const MAX_SUMMARY: usize = 300;
pub const MAX_MARKDOWN: usize = 20_000;
pub const MAX_PROMPTS: usize = 100;
pub const MAX_CATEGORIES: usize = 30;

/// A competition as the organiser sends it. On create, `title` and `slug` are needed;
/// on update, only the fields present change. An empty time clears it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompetitionInput {
    /// The language the text fields are written in: `en` (default) or `zh-CN`.
    pub language: Option<String>,
    pub title: Option<String>,
    /// Lower-case letters, digits and hyphens; the address of the public page (`/c/{slug}`).
    pub slug: Option<String>,
    /// One or two sentences for lists and link previews.
    pub summary: Option<String>,
    /// Markdown; HTML in it is removed when shown.
    pub description: Option<String>,
    /// Markdown: the organiser's own rules.
    pub rules: Option<String>,
    /// IANA time zone, e.g. `Asia/Shanghai`; the window is read and shown in it.
    pub time_zone: Option<String>,
    /// RFC 3339 (`2026-12-01T09:00:00+08:00`) or a local time in `time_zone` (`2026-12-01T09:00`).
    pub submissions_open_at: Option<String>,
    pub submissions_close_at: Option<String>,
    pub entries_per_musician: Option<i32>,
    /// Youngest age allowed on the day of entry (inclusive); `0` clears it.
    pub min_age: Option<i32>,
    /// Oldest age allowed (inclusive); `0` clears it.
    pub max_age: Option<i32>,
    /// The age of digital consent where the competition runs (13 to 18): entrants
    /// younger need a parent's or guardian's consent. `0` goes back to the server's default.
    pub consent_age: Option<i32>,
    /// The rule on AI use: `allowed` (the default), `disclose` (allowed, and every entry
    /// says whether and what for) or `forbidden`.
    pub ai_rule: Option<String>,
    /// The audio rules (see docs/audio-report.md); missing keys take defaults.
    #[schema(value_type = Object)]
    pub audio_policy: Option<serde_json::Value>,
    /// The full list of prompts, in order. Items with an `id` keep it; others are new;
    /// prompts left out are removed.
    pub prompts: Option<Vec<PromptInput>>,
    /// The full list of categories, in order (same rules as prompts).
    pub categories: Option<Vec<CategoryInput>>,
    /// `title`, `summary`, `description` and `rules` in the other languages, e.g.
    /// `{"zh-CN": {"title": "…"}}`. Replaces the stored translations; absent keeps them.
    #[schema(value_type = Option<Object>)]
    pub translations: Option<TranslationsInput>,
}

/// Text by language tag and field name.
pub type TranslationsInput = BTreeMap<String, BTreeMap<String, String>>;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptInput {
    pub id: Option<String>,
    pub title: String,
    #[serde(default)]
    pub story: String,
    /// `title` and `story` in the other languages; absent keeps a stored prompt's.
    #[schema(value_type = Option<Object>)]
    pub translations: Option<TranslationsInput>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    pub id: Option<String>,
    pub name: String,
    /// Absent keeps a stored category's description.
    pub description: Option<String>,
    /// `name` and `description` in the other languages; absent keeps a stored category's.
    #[schema(value_type = Option<Object>)]
    pub translations: Option<TranslationsInput>,
}

pub fn parse_title(raw: &str) -> Result<String, AppError> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > MAX_TITLE || t.chars().any(char::is_control) {
        return Err(AppError::invalid_with(
            "competition.title_invalid",
            vec![("max", MAX_TITLE.to_string())],
        ));
    }
    Ok(t.to_string())
}

pub fn parse_slug(raw: &str) -> Result<String, AppError> {
    let s = raw.trim().to_ascii_lowercase();
    let ok = (3..=60).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--");
    if !ok {
        return Err(AppError::invalid("competition.slug_invalid"));
    }
    Ok(s)
}

pub fn parse_text(raw: &str, max: usize, code: &'static str) -> Result<String, AppError> {
    let t = raw.trim();
    if t.chars().count() > max {
        return Err(AppError::invalid_with(code, vec![("max", max.to_string())]));
    }
    Ok(t.replace("\r\n", "\n"))
}

pub use crate::time::{local_input, local_label, local_label_in, parse_time, parse_time_zone};

pub fn parse_quota(n: i32) -> Result<i32, AppError> {
    if !(1..=50).contains(&n) {
        return Err(AppError::invalid("competition.quota_invalid"));
    }
    Ok(n)
}

pub fn parse_ages(
    min: Option<i32>,
    max: Option<i32>,
) -> Result<(Option<i32>, Option<i32>), AppError> {
    let norm = |a: Option<i32>| a.filter(|&a| a != 0);
    let (min, max) = (norm(min), norm(max));
    let bad = |a: Option<i32>| a.is_some_and(|a| !(5..=120).contains(&a));
    if bad(min) || bad(max) || matches!((min, max), (Some(a), Some(b)) if a > b) {
        return Err(AppError::invalid("competition.ages_invalid"));
    }
    Ok((min, max))
}

/// A competition's age of digital consent: 13 to 18 (GDPR's range, and the UK's and
/// China's 14), or `0` for the server's default.
pub fn parse_consent_age(a: i32) -> Result<Option<i32>, AppError> {
    match a {
        0 => Ok(None),
        13..=18 => Ok(Some(a)),
        _ => Err(AppError::invalid("competition.consent_age_invalid")),
    }
}

/// The audio policy: the engine's rules with defaults for what is left out, checked.
pub fn parse_policy(v: &serde_json::Value) -> Result<Policy, AppError> {
    let p: Policy = serde_json::from_value(v.clone()).map_err(|e| {
        AppError::invalid_with(
            "competition.policy_invalid",
            vec![("reason", e.to_string())],
        )
    })?;
    let known = ["pcm", "flac", "alac", "mp3", "aac", "vorbis"];
    let sane = p
        .formats
        .allowed
        .iter()
        .all(|f| known.contains(&f.as_str()))
        && !p.formats.allowed.is_empty()
        && p.loudness.min_lufs < p.loudness.max_lufs
        && p.duration.min_secs.unwrap_or(0.0) >= 0.0
        && match (p.duration.min_secs, p.duration.max_secs) {
            (Some(a), Some(b)) => a < b,
            _ => true,
        }
        && !p.channels.allowed.is_empty();
    if !sane {
        return Err(AppError::invalid_with(
            "competition.policy_invalid",
            vec![(
                "reason",
                "limits contradict each other or name an unknown format".into(),
            )],
        ));
    }
    Ok(p)
}

pub fn parse_prompt_title(raw: &str) -> Result<String, AppError> {
    let title = raw.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE || title.chars().any(char::is_control)
    {
        return Err(AppError::invalid("competition.prompt_invalid"));
    }
    Ok(title.to_string())
}

pub fn parse_prompt(p: &PromptInput) -> Result<(String, String), AppError> {
    Ok((
        parse_prompt_title(&p.title)?,
        parse_text(&p.story, MAX_MARKDOWN, "competition.text_too_long")?,
    ))
}

pub fn parse_category_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
        return Err(AppError::invalid("competition.category_invalid"));
    }
    Ok(name.to_string())
}

/// A category's name and, if sent, its description.
pub fn parse_category(c: &CategoryInput) -> Result<(String, Option<String>), AppError> {
    Ok((
        parse_category_name(&c.name)?,
        c.description
            .as_deref()
            .map(|d| parse_text(d, MAX_SUMMARY, "competition.text_too_long"))
            .transpose()?,
    ))
}

/// A competition's own text in other languages: the same rules as the fields themselves.
pub fn parse_competition_translations(
    raw: &TranslationsInput,
    source: Locale,
) -> Result<Translations, AppError> {
    parse_translations(
        raw,
        source,
        &["title", "summary", "description", "rules"],
        |field, v| match field {
            "title" => parse_title(v),
            "summary" => parse_text(v, MAX_SUMMARY, "competition.text_too_long"),
            _ => parse_text(v, MAX_MARKDOWN, "competition.text_too_long"),
        },
    )
}

pub fn parse_prompt_translations(
    raw: &TranslationsInput,
    source: Locale,
) -> Result<Translations, AppError> {
    parse_translations(raw, source, &["title", "story"], |field, v| match field {
        "title" => parse_prompt_title(v),
        _ => parse_text(v, MAX_MARKDOWN, "competition.text_too_long"),
    })
}

pub fn parse_category_translations(
    raw: &TranslationsInput,
    source: Locale,
) -> Result<Translations, AppError> {
    parse_translations(
        raw,
        source,
        &["name", "description"],
        |field, v| match field {
            "name" => parse_category_name(v),
            _ => parse_text(v, MAX_SUMMARY, "competition.text_too_long"),
        },
    )
}

/// Markdown to HTML that is safe to embed: raw HTML, scripts, event handlers and
/// `javascript:` links are removed by ammonia's allow-list; links get `rel=noopener`.
pub fn render_markdown(md: &str) -> String {
    let parser = pulldown_cmark::Parser::new_ext(md, pulldown_cmark::Options::ENABLE_STRIKETHROUGH);
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, parser);
    let clean = ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow ugc"))
        .clean(&html)
        .to_string();
    with_alt_text(&clean)
}

/// Every picture in sanitised HTML gets a text alternative: one written without (raw
/// `<img>` in an organiser's text) is marked as decoration (`alt=""`), so a screen
/// reader skips it instead of reading its address out. Input is ammonia's output:
/// attribute values are double-quoted with `"` escaped.
fn with_alt_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 16);
    let mut rest = html;
    while let Some(at) = rest.find("<img") {
        let (before, tag) = rest.split_at(at);
        out.push_str(before);
        // The end of the tag: the first `>` outside a quoted value.
        let mut quoted = false;
        let end = tag
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    quoted = !quoted;
                }
                c == '>' && !quoted
            })
            .map_or(tag.len(), |(i, _)| i);
        let (head, after) = tag.split_at(end);
        out.push_str(head);
        if !head.contains(" alt=\"") {
            out.push_str(" alt=\"\"");
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    #[test]
    fn every_picture_in_organisers_text_has_a_text_alternative() {
        let html =
            render_markdown("![The river at dawn](/a.png) and <img src=\"/b.png\" title=\"x>y\">");
        assert!(html.contains(r#"alt="The river at dawn""#), "{html}");
        assert!(
            html.contains(r#"<img src="/b.png" title="x&gt;y" alt="">"#),
            "{html}"
        );
        assert_eq!(render_markdown("no pictures").trim(), "<p>no pictures</p>");
    }

    #[test]
    fn slugs() {
        assert_eq!(parse_slug(" Paintings-2026 ").unwrap(), "paintings-2026");
        for bad in ["ab", "-a-b", "a--b", "a b c", "über", "x-"] {
            assert!(parse_slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn local_times_follow_the_zone_and_its_daylight_saving() {
        let sh = parse_time_zone("Asia/Shanghai").unwrap();
        let t = parse_time("2026-12-01T09:00", sh).unwrap().unwrap();
        assert_eq!(t.to_string(), "2026-12-01 01:00:00");
        let t = parse_time("2026-12-01T09:00:00+02:00", sh)
            .unwrap()
            .unwrap();
        assert_eq!(t.to_string(), "2026-12-01 07:00:00");
        let ny = parse_time_zone("America/New_York").unwrap();
        // 02:30 on the spring-forward day does not exist in New York.
        assert!(parse_time("2026-03-08T02:30", ny).is_err());
        assert_eq!(
            parse_time("2026-07-01T12:00", ny)
                .unwrap()
                .unwrap()
                .to_string(),
            "2026-07-01 16:00:00"
        );
        assert!(parse_time("", ny).unwrap().is_none());
        assert!(parse_time("tomorrow", ny).is_err());
        assert!(parse_time_zone("Mars/Olympus").is_err());
        assert_eq!(
            local_label(t_utc("2026-12-01 01:00:00"), "Asia/Shanghai"),
            "2026-12-01 09:00 (Asia/Shanghai)"
        );
        use crate::i18n::Locale;
        let t = t_utc("2026-12-01 01:00:00");
        assert_eq!(
            local_label_in(t, "Asia/Shanghai", Locale::ZhCn),
            "2026-12-01 09:00（UTC+8）"
        );
        assert_eq!(
            local_label_in(t, "Asia/Kolkata", Locale::ZhCn),
            "2026-12-01 06:30（UTC+5:30）"
        );
        assert_eq!(
            local_label_in(t, "America/New_York", Locale::ZhCn),
            "2026-11-30 20:00（UTC-5）"
        );
        assert_eq!(
            local_label_in(t, "UTC", Locale::ZhCn),
            "2026-12-01 01:00（UTC）"
        );
        assert_eq!(
            local_label_in(t, "Asia/Shanghai", Locale::En),
            "2026-12-01 09:00 (Asia/Shanghai)"
        );
    }

    fn t_utc(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn markdown_is_sanitised() {
        let html = render_markdown(
            "# Hi\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)> **bold**",
        );
        assert!(html.contains("<h1>Hi</h1>"));
        assert!(html.contains("<strong>bold</strong>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("javascript:"));
        assert!(!html.contains("onerror"));
    }

    #[test]
    fn policies_take_defaults_and_refuse_contradictions() {
        let p =
            parse_policy(&serde_json::json!({"true_peak": {"max": -2.0, "severity": "reject"}}))
                .unwrap();
        assert_eq!(p.true_peak.max, -2.0);
        assert_eq!(p.loudness, Policy::default().loudness);
        assert!(
            parse_policy(&serde_json::json!({"loudness": {"min_lufs": -5.0, "max_lufs": -10.0}}))
                .is_err()
        );
        assert!(parse_policy(&serde_json::json!({"formats": {"allowed": ["exe"]}})).is_err());
        assert!(parse_policy(&serde_json::json!({"nonsense": 1})).is_err());
    }

    #[test]
    fn ages() {
        assert_eq!(
            parse_ages(Some(13), Some(25)).unwrap(),
            (Some(13), Some(25))
        );
        assert_eq!(parse_ages(Some(0), None).unwrap(), (None, None));
        assert!(parse_ages(Some(20), Some(10)).is_err());
        assert!(parse_ages(Some(2), None).is_err());
    }
}
