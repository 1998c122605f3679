//! The results row (settings, computed standings, publication time), the input that
//! sets how results are formed, and the views: standings, the results, and what a
//! musician learns about an entry.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::scoring::{Method, Placing, TieBreak};
use crate::db::schema::results;
use crate::judging::model::CommentView;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = results, treat_none_as_null = true)]
pub struct ResultsRow {
    pub competition_id: String,
    /// JSON [`ResultsSettings`].
    pub settings: String,
    /// JSON list of [`Standing`].
    pub standings: Option<String>,
    pub computed_at: Option<NaiveDateTime>,
    pub publish_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

/// How final results are formed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResultsSettings {
    pub method: Method,
    /// Percent; with `public_weight` it adds up to 100. Until public voting has votes
    /// the jury counts alone.
    pub jury_weight: u32,
    pub public_weight: u32,
    pub tie_breaks: Vec<TieBreak>,
}

impl Default for ResultsSettings {
    fn default() -> Self {
        ResultsSettings {
            method: Method::Eurovision,
            jury_weight: 50,
            public_weight: 50,
            tie_breaks: vec![
                TieBreak::JuryRank,
                TieBreak::JuryMedian,
                TieBreak::EarliestEntry,
            ],
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultsInput {
    pub method: Option<Method>,
    pub jury_weight: Option<i64>,
    pub public_weight: Option<i64>,
    pub tie_breaks: Option<Vec<TieBreak>>,
    /// When the results become public (RFC 3339 or local time); empty: not scheduled.
    pub publish_at: Option<String>,
}

/// One entry of the final results.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Standing {
    pub entry_id: String,
    pub title: String,
    pub musician: String,
    pub category: Option<String>,
    /// What the musician declared AI helped with (`[]`: none; absent: not said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_use: Option<Vec<String>>,
    #[serde(flatten)]
    pub placing: Placing,
}

impl Standing {
    /// The AI disclosure in words for a reader of `l`.
    pub fn ai_summary(&self, l: &crate::i18n::Locale) -> Option<String> {
        crate::competitions::domain::ai::describe(*l, self.ai_use.as_deref())
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResultsView {
    pub competition_id: String,
    pub competition_title: String,
    pub competition_slug: String,
    pub settings: ResultsSettings,
    pub publish_at: Option<DateTime<Utc>>,
    pub published: bool,
    pub computed_at: Option<DateTime<Utc>>,
    pub standings: Vec<Standing>,
}

/// What a musician learns about one entry once results are public.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EntryOutcome {
    pub entry_id: String,
    pub title: String,
    pub competition_title: String,
    pub competition_slug: String,
    pub rounds: Vec<RoundOutcome>,
    /// Final place, when the entry is in the final results.
    pub place: Option<usize>,
    pub feedback: Vec<CommentView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoundOutcome {
    pub round: String,
    pub placement: Option<i32>,
    pub of: usize,
    pub advanced: Option<bool>,
}
