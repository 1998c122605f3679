use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::audio::policy::Policy;
use crate::db::schema::{categories, competitions, prompts};
use crate::i18n::Locale;
use crate::i18n::content::{self, Translations};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = competitions, treat_none_as_null = true)]
pub struct CompetitionRow {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub status: String,
    pub submissions_open_at: Option<NaiveDateTime>,
    pub submissions_close_at: Option<NaiveDateTime>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub published_at: Option<NaiveDateTime>,
    /// Markdown source; rendered and sanitised when shown.
    pub description: String,
    /// Markdown source of the organiser's own rules.
    pub rules: String,
    pub cover_key: Option<String>,
    /// IANA time zone the window is set and shown in (stored times are UTC).
    pub time_zone: String,
    pub entries_per_musician: i32,
    pub min_age: Option<i32>,
    pub max_age: Option<i32>,
    /// The audio policy as JSON (`audio::policy::Policy`; missing keys take defaults).
    pub audio_policy: String,
    /// The age of digital consent where the competition runs (NULL: the server's).
    pub consent_age: Option<i32>,
    /// The language its text is written in (a tag: `en`, `zh-CN`).
    pub language: String,
    /// Its text in other languages (`i18n::content::Translations` as JSON).
    pub translations: String,
    /// The rule on AI use: `allowed`, `disclose` or `forbidden` ([`super::ai::AiRule`]).
    pub ai_rule: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = prompts, treat_none_as_null = true)]
pub struct PromptRow {
    pub id: String,
    pub competition_id: String,
    pub position: i32,
    pub title: String,
    pub story: String,
    pub image_key: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// `title` and `story` in other languages.
    pub translations: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = categories)]
pub struct CategoryRow {
    pub id: String,
    pub competition_id: String,
    pub position: i32,
    pub name: String,
    pub description: String,
    /// `name` and `description` in other languages.
    pub translations: String,
}

pub const PUBLISHED: &str = "published";
pub const DRAFT: &str = "draft";

/// Where a competition's call for entries stands at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Upcoming,
    Open,
    Closed,
}

impl CompetitionRow {
    /// The competition's time zone (UTC when it is not one we know).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// A draft with defaults for everything but its names.
    pub fn new(slug: &str, title: &str, created_by: Option<&str>, now: NaiveDateTime) -> Self {
        CompetitionRow {
            id: uuid::Uuid::now_v7().simple().to_string(),
            slug: slug.into(),
            title: title.into(),
            summary: String::new(),
            status: DRAFT.into(),
            submissions_open_at: None,
            submissions_close_at: None,
            created_by: created_by.map(str::to_string),
            created_at: now,
            updated_at: now,
            published_at: None,
            description: String::new(),
            rules: String::new(),
            cover_key: None,
            time_zone: "UTC".into(),
            entries_per_musician: 1,
            min_age: None,
            max_age: None,
            audio_policy: "{}".into(),
            consent_age: None,
            language: Locale::En.tag().into(),
            translations: "{}".into(),
            ai_rule: super::ai::AiRule::default().as_str().into(),
        }
    }

    /// The language the competition is written in.
    pub fn source(&self) -> Locale {
        content::source_of(&self.language)
    }

    /// The title for a reader of `l` (their language if given, else the competition's own).
    pub fn title_in(&self, l: Locale) -> String {
        Translations::from_stored(&self.translations)
            .text(&self.title, l, "title")
            .to_string()
    }

    /// The summary for a reader of `l`.
    pub fn summary_in(&self, l: Locale) -> String {
        Translations::from_stored(&self.translations)
            .text(&self.summary, l, "summary")
            .to_string()
    }

    /// The age under which an entrant needs a guardian's consent: the competition's
    /// own, else the server's default.
    pub fn consent_age_or(&self, default: u32) -> u32 {
        self.consent_age.map(|a| a as u32).unwrap_or(default)
    }

    /// The audio policy; a stored policy that no longer parses falls back to defaults.
    pub fn policy(&self) -> Policy {
        serde_json::from_str(&self.audio_policy).unwrap_or_default()
    }

    pub fn is_published(&self) -> bool {
        self.status == PUBLISHED
    }

    pub fn phase(&self, now: NaiveDateTime) -> Phase {
        match (self.submissions_open_at, self.submissions_close_at) {
            (Some(open), _) if now < open => Phase::Upcoming,
            (_, Some(close)) if now >= close => Phase::Closed,
            _ => Phase::Open,
        }
    }
}

impl PromptRow {
    pub fn title_in(&self, l: Locale) -> String {
        Translations::from_stored(&self.translations)
            .text(&self.title, l, "title")
            .to_string()
    }
}

impl CategoryRow {
    pub fn name_in(&self, l: Locale) -> String {
        Translations::from_stored(&self.translations)
            .text(&self.name, l, "name")
            .to_string()
    }
}

/// A competition as the public sees it in lists.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompetitionSummary {
    /// Opaque identifier.
    pub id: String,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub phase: Phase,
    pub submissions_open_at: Option<DateTime<Utc>>,
    pub submissions_close_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    /// The language `title` and `summary` are in (the reader's where given).
    pub shown_language: String,
}

impl CompetitionSummary {
    /// The summary for a reader of `l`.
    pub fn from_row(row: &CompetitionRow, now: NaiveDateTime, l: Locale) -> CompetitionSummary {
        let tr = Translations::from_stored(&row.translations);
        CompetitionSummary {
            id: row.id.clone(),
            slug: row.slug.clone(),
            title: tr.text(&row.title, l, "title").to_string(),
            summary: tr.text(&row.summary, l, "summary").to_string(),
            shown_language: tr.shown(row.source(), l, "title").tag().to_string(),
            phase: row.phase(now),
            submissions_open_at: row.submissions_open_at.map(|t| t.and_utc()),
            submissions_close_at: row.submissions_close_at.map(|t| t.and_utc()),
            published_at: row.published_at.map(|t| t.and_utc()),
        }
    }
}

/// One page of competitions.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompetitionPage {
    pub items: Vec<CompetitionSummary>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A prompt: one theme an entry answers (e.g. one painting of an exhibition).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PromptView {
    pub id: String,
    pub title: String,
    /// Markdown source.
    pub story: String,
    /// Sanitised HTML of `story`.
    pub story_html: String,
    pub image_url: Option<String>,
    /// `title` and `story` in the competition's other languages.
    pub translations: Translations,
    /// The language `title` and `story` are shown in.
    pub shown_language: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryView {
    pub id: String,
    pub name: String,
    pub description: String,
    /// `name` and `description` in the competition's other languages.
    pub translations: Translations,
}

/// A competition in full: what its public page and its organiser see.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompetitionView {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub description: String,
    pub description_html: String,
    pub rules: String,
    pub rules_html: String,
    pub cover_url: Option<String>,
    /// `draft` or `published`.
    pub status: String,
    pub phase: Phase,
    pub time_zone: String,
    pub submissions_open_at: Option<DateTime<Utc>>,
    pub submissions_close_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    pub entries_per_musician: i32,
    pub min_age: Option<i32>,
    pub max_age: Option<i32>,
    /// The competition's own age of digital consent (`null`: the server's default).
    pub consent_age: Option<i32>,
    /// The audio rules in force, defaults filled in.
    #[schema(value_type = Object)]
    pub audio_policy: Policy,
    pub prompts: Vec<PromptView>,
    pub categories: Vec<CategoryView>,
    /// The language the organiser wrote the competition in (`en`, `zh-CN`).
    pub language: String,
    /// The language `title`, `summary`, `description` and `rules` are shown in: the
    /// reader's where the organiser gave it, else `language`.
    pub shown_language: String,
    /// The text in the other languages, as the organiser gave it.
    pub translations: Translations,
    /// The rule on AI use.
    pub ai_rule: super::ai::AiRule,
}

impl CompetitionView {
    /// The competition for a reader of `l`: each text in their language where the
    /// organiser gave it, else in the competition's own. The view as built is in its own.
    pub fn localised(mut self, l: Locale) -> CompetitionView {
        use super::domain::render_markdown;
        let source = content::source_of(&self.language);
        if l == source {
            return self;
        }
        let tr = &self.translations;
        let pick = |base: &mut String, field: &str| {
            if let Some(t) = tr.get(l, field) {
                *base = t.to_string();
            }
        };
        pick(&mut self.title, "title");
        pick(&mut self.summary, "summary");
        let had = (self.description.clone(), self.rules.clone());
        pick(&mut self.description, "description");
        pick(&mut self.rules, "rules");
        if self.description != had.0 {
            self.description_html = render_markdown(&self.description);
        }
        if self.rules != had.1 {
            self.rules_html = render_markdown(&self.rules);
        }
        self.shown_language = tr.shown(source, l, "title").tag().to_string();
        for p in &mut self.prompts {
            let story = p.story.clone();
            if let Some(t) = p.translations.get(l, "title") {
                p.title = t.to_string();
                p.shown_language = l.tag().to_string();
            }
            if let Some(t) = p.translations.get(l, "story") {
                p.story = t.to_string();
            }
            if p.story != story {
                p.story_html = render_markdown(&p.story);
            }
        }
        for c in &mut self.categories {
            if let Some(t) = c.translations.get(l, "name") {
                c.name = t.to_string();
            }
            if let Some(t) = c.translations.get(l, "description") {
                c.description = t.to_string();
            }
        }
        self
    }

    /// Whether a reader of `l` sees some of the text in another language.
    pub fn falls_back_for(&self, l: Locale) -> bool {
        self.shown_language != l.tag()
    }

    pub fn new(
        c: &CompetitionRow,
        prompts: &[PromptRow],
        categories: &[CategoryRow],
        now: NaiveDateTime,
    ) -> CompetitionView {
        use super::domain::render_markdown;
        CompetitionView {
            id: c.id.clone(),
            slug: c.slug.clone(),
            title: c.title.clone(),
            summary: c.summary.clone(),
            description: c.description.clone(),
            description_html: render_markdown(&c.description),
            rules: c.rules.clone(),
            rules_html: render_markdown(&c.rules),
            cover_url: c
                .cover_key
                .as_ref()
                .map(|k| crate::media::picture::url(&format!("/images/competitions/{}", c.id), k)),
            status: c.status.clone(),
            phase: c.phase(now),
            time_zone: c.time_zone.clone(),
            submissions_open_at: c.submissions_open_at.map(|t| t.and_utc()),
            submissions_close_at: c.submissions_close_at.map(|t| t.and_utc()),
            published_at: c.published_at.map(|t| t.and_utc()),
            entries_per_musician: c.entries_per_musician,
            min_age: c.min_age,
            max_age: c.max_age,
            consent_age: c.consent_age,
            audio_policy: c.policy(),
            language: c.source().tag().to_string(),
            shown_language: c.source().tag().to_string(),
            translations: Translations::from_stored(&c.translations),
            ai_rule: super::ai::AiRule::of_stored(&c.ai_rule),
            prompts: prompts
                .iter()
                .map(|p| PromptView {
                    id: p.id.clone(),
                    title: p.title.clone(),
                    story: p.story.clone(),
                    story_html: render_markdown(&p.story),
                    image_url: p.image_key.as_ref().map(|k| {
                        crate::media::picture::url(&format!("/images/prompts/{}", p.id), k)
                    }),
                    translations: Translations::from_stored(&p.translations),
                    shown_language: c.source().tag().to_string(),
                })
                .collect(),
            categories: categories
                .iter()
                .map(|c| CategoryView {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    description: c.description.clone(),
                    translations: Translations::from_stored(&c.translations),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    fn row(open: Option<NaiveDateTime>, close: Option<NaiveDateTime>) -> CompetitionRow {
        CompetitionRow {
            submissions_open_at: open,
            submissions_close_at: close,
            ..CompetitionRow::new("s", "t", None, at(0))
        }
    }

    #[test]
    fn phase_follows_the_window_edges() {
        let r = row(Some(at(10)), Some(at(12)));
        assert_eq!(r.phase(at(9)), Phase::Upcoming);
        assert_eq!(r.phase(at(10)), Phase::Open);
        assert_eq!(r.phase(at(11)), Phase::Open);
        assert_eq!(r.phase(at(12)), Phase::Closed);
        assert_eq!(row(None, None).phase(at(1)), Phase::Open);
    }
}
