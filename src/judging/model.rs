//! Rows of the judging tables, the inputs the API accepts, and the views it returns.
//! Judge-facing views carry nothing that identifies a musician in a blind round.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::scoring::{Advancement, Criterion, EntryStanding, JudgeAgreement};
use crate::db::schema::{
    affiliations, assignments, judge_comments, judge_conflicts, renditions, round_entries, rounds,
    scores,
};

pub const DRAFT: &str = "draft";
pub const OPEN: &str = "open";
pub const CLOSED: &str = "closed";
pub const DECIDED: &str = "decided";

pub const STANDARD: &str = "standard";
pub const CALIBRATION: &str = "calibration";

pub const ACTIVE: &str = "active";
pub const CONFLICT: &str = "conflict";
pub const REMOVED: &str = "removed";

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = rounds, treat_none_as_null = true)]
pub struct RoundRow {
    pub id: String,
    pub competition_id: String,
    pub position: i32,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub opens_at: Option<NaiveDateTime>,
    pub closes_at: Option<NaiveDateTime>,
    /// JSON list of [`Criterion`].
    pub rubric: String,
    pub blind: bool,
    pub judges_per_entry: i32,
    /// JSON [`Advancement`].
    pub advancement: String,
    pub ranking_basis: String,
    pub min_listen_permille: i32,
    /// `never`, `after_scoring` or `always`.
    pub others_scores: String,
    pub reminder_hours: i32,
    pub reminded_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub decided_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// When musicians read the judges' feedback: `round` (once this round is decided)
    /// or `final` (with the competition's results).
    pub feedback_release: String,
}

impl RoundRow {
    pub fn rubric(&self) -> Vec<Criterion> {
        serde_json::from_str(&self.rubric).unwrap_or_default()
    }

    pub fn advancement(&self) -> Advancement {
        serde_json::from_str(&self.advancement).unwrap_or(Advancement::Manual)
    }

    pub fn is_calibration(&self) -> bool {
        self.kind == CALIBRATION
    }

    /// Whether judges may score now: assigned and not closed, inside the window.
    pub fn scoring_open(&self, now: NaiveDateTime) -> bool {
        self.status == OPEN
            && self.opens_at.is_none_or(|t| now >= t)
            && self.closes_at.is_none_or(|t| now < t)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = round_entries, treat_none_as_null = true)]
pub struct RoundEntryRow {
    pub round_id: String,
    pub entry_id: String,
    /// A short code the panel can talk about ("K7F3Q"), the same for every judge.
    pub code: String,
    pub anchor: bool,
    pub placement: Option<i32>,
    /// JSON [`EntryStanding`] once the round is closed.
    pub result: Option<String>,
    pub advanced: Option<bool>,
    /// `rule` or `manual`.
    pub decided_by: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = assignments, treat_none_as_null = true)]
pub struct AssignmentRow {
    pub id: String,
    pub round_id: String,
    pub entry_id: String,
    pub judge_id: String,
    /// The opaque name of this entry for this judge (URLs, audio).
    pub alias: String,
    /// The judge's own random order.
    pub sort_key: String,
    pub state: String,
    /// Listening coverage: one character per bucket, `1` when played.
    pub listened: String,
    pub listened_permille: i32,
    pub notified_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The parts of the rendition the server streamed to this judge (same buckets).
    pub streamed: String,
    /// When the server first streamed audio to this judge.
    pub first_streamed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = scores)]
pub struct ScoreRow {
    pub assignment_id: String,
    /// JSON object: criterion key → integer.
    pub criteria: String,
    /// The weighted total (0–100) × 1000.
    pub total_milli: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ScoreRow {
    pub fn values(&self) -> BTreeMap<String, i32> {
        serde_json::from_str(&self.criteria).unwrap_or_default()
    }

    pub fn total(&self) -> f64 {
        self.total_milli as f64 / 1000.0
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = judge_comments)]
pub struct CommentRow {
    pub id: String,
    pub assignment_id: String,
    /// `panel` (the other judges and organisers) or `musician` (released with results).
    pub visibility: String,
    pub body: String,
    pub at_ms: Option<i32>,
    pub created_at: NaiveDateTime,
    /// Held back from the musician by an organiser, with the reason.
    pub held_reason: Option<String>,
    pub held_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = judge_conflicts)]
pub struct ConflictRow {
    pub competition_id: String,
    pub judge_id: String,
    pub entry_id: String,
    pub reason: String,
    pub declared_by: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = affiliations)]
pub struct AffiliationRow {
    pub user_id: String,
    pub kind: String,
    /// Folded for matching (case, spaces).
    pub value_key: String,
    pub value: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = renditions)]
pub struct RenditionRow {
    pub upload_id: String,
    pub object_key: String,
    pub size_bytes: i64,
    pub created_at: NaiveDateTime,
}

// ---------------------------------------------------------------- inputs

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CriterionInput {
    pub key: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub weight: i64,
    pub min: i64,
    pub max: i64,
}

/// A round's settings. Omitted fields keep their value (or the default on creation).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundInput {
    pub name: Option<String>,
    /// `standard` or `calibration`.
    pub kind: Option<String>,
    /// RFC 3339, or a local time in the competition's time zone.
    pub opens_at: Option<String>,
    pub closes_at: Option<String>,
    pub rubric: Option<Vec<CriterionInput>>,
    pub blind: Option<bool>,
    pub judges_per_entry: Option<i64>,
    pub advancement: Option<Advancement>,
    /// `normalised`, `mean` or `median`.
    pub ranking_basis: Option<String>,
    /// Share of a track a judge must have played before the score is saved (0–100).
    pub min_listen_percent: Option<i64>,
    /// When judges see the others' scores: `never`, `after_scoring` or `always`.
    pub others_scores: Option<String>,
    /// When musicians read the judges' feedback: `round` (once this round is decided)
    /// or `final` (with the competition's results).
    pub feedback_release: Option<String>,
    /// Remind judges this many hours before the window closes (0: never).
    pub reminder_hours: Option<i64>,
    /// Calibration rounds: the anchor entries every judge scores.
    pub anchors: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreInput {
    /// Criterion key → a whole number on that criterion's scale.
    pub criteria: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    pub body: String,
    /// `panel` (default) or `musician`.
    pub visibility: Option<String>,
    /// Pin the comment to this moment of the track, in seconds.
    pub at_secs: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConflictInput {
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListenInput {
    pub from_secs: f64,
    pub to_secs: f64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ManualAssignInput {
    pub judge_id: String,
    pub entry_id: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganiserConflictInput {
    pub judge_id: String,
    pub entry_id: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceInput {
    /// The entries that go on. Omitted: those the round's rule picks.
    pub entries: Option<Vec<String>>,
    /// Required when the choice differs from the rule; kept in the audit log.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AffiliationItem {
    /// `school`, `label`, `teacher` or `studio`.
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Affiliations {
    pub items: Vec<AffiliationItem>,
}

// ---------------------------------------------------------------- views

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoundView {
    pub id: String,
    pub competition_id: String,
    pub position: i32,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    pub rubric: Vec<Criterion>,
    pub blind: bool,
    pub judges_per_entry: i32,
    pub advancement: Advancement,
    pub ranking_basis: String,
    pub min_listen_percent: i32,
    pub others_scores: String,
    /// `round` or `final`.
    pub feedback_release: String,
    pub reminder_hours: i32,
    pub entries: usize,
    pub assignments: usize,
    pub scored: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssignResult {
    pub round: RoundView,
    /// Assignments made by this call.
    pub assigned: usize,
    /// Entries that could not get enough judges (conflicts, too small a panel).
    pub short: Vec<ShortEntry>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShortEntry {
    pub entry_id: String,
    pub missing: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PanelJudge {
    pub id: String,
    pub name: String,
    pub email: String,
    pub affiliations: Vec<AffiliationItem>,
    pub assignments: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JudgeProgress {
    pub judge_id: String,
    pub name: String,
    pub assigned: usize,
    pub scored: usize,
    /// Mean share of the assigned tracks played, percent.
    pub listened_percent: u32,
    pub conflicts: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EntryProgress {
    pub entry_id: String,
    pub code: String,
    pub title: String,
    pub musician: String,
    pub judges: usize,
    pub scored: usize,
    pub listened_percent: u32,
    pub conflicts: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Progress {
    pub round: RoundView,
    pub judges: Vec<JudgeProgress>,
    pub entries: Vec<EntryProgress>,
    /// Every assignment of the round (active, conflict or removed).
    pub assignments: Vec<AssignmentLine>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssignmentLine {
    pub alias: String,
    pub judge: String,
    pub code: String,
    pub title: String,
    /// `active`, `conflict` or `removed`.
    pub state: String,
    pub scored: bool,
    pub listened_percent: u32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RankedEntry {
    pub entry_id: String,
    pub code: String,
    pub title: String,
    pub musician: String,
    pub category: Option<String>,
    #[serde(flatten)]
    pub standing: EntryStanding,
    /// Whether the round's rule would advance it.
    pub by_rule: bool,
    /// The decision, once made.
    pub advanced: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JudgeStanding {
    pub name: String,
    #[serde(flatten)]
    pub agreement: JudgeAgreement,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Ranking {
    pub round: RoundView,
    pub basis: String,
    pub entries: Vec<RankedEntry>,
    pub judges: Vec<JudgeStanding>,
    /// Mean correlation of each judge with the rest of the panel (−1…1).
    pub agreement: Option<f64>,
}

/// A round as a judge sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JudgeRound {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub competition_title: String,
    /// The competition's title in its other languages.
    pub competition_translations: crate::i18n::content::Translations,
    /// The competition's time zone, for showing times.
    pub time_zone: String,
    pub blind: bool,
    pub status: String,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    pub scoring_open: bool,
    pub rubric: Vec<Criterion>,
    pub min_listen_percent: i32,
    pub assigned: usize,
    pub scored: usize,
}

impl JudgeRound {
    /// The competition's title in the reader's language.
    pub fn competition_title_in(&self, l: &crate::i18n::Locale) -> &str {
        self.competition_translations
            .text(&self.competition_title, *l, "title")
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueItem {
    pub alias: String,
    pub code: String,
    /// Only in rounds that are not blind.
    pub title: Option<String>,
    pub musician: Option<String>,
    pub prompt: Option<String>,
    pub scored: bool,
    pub total: Option<f64>,
    pub listened_percent: u32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Queue {
    pub round: JudgeRound,
    pub items: Vec<QueueItem>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Waveform {
    pub min: Vec<f32>,
    pub max: Vec<f32>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JudgeAudio {
    pub url: String,
    /// Whether the clean rendition is ready to play.
    pub ready: bool,
    pub duration_secs: Option<f64>,
    /// Gain that brings the track to the reference loudness without clipping.
    pub gain_db: f64,
    pub reference_lufs: f64,
    pub waveform: Option<Waveform>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommentView {
    pub id: String,
    pub visibility: String,
    pub body: String,
    pub at_secs: Option<f64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyScore {
    pub criteria: BTreeMap<String, i32>,
    pub total: f64,
    pub updated_at: DateTime<Utc>,
}

/// One entry as the assigned judge sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssignmentView {
    pub alias: String,
    pub code: String,
    pub round: JudgeRound,
    pub title: Option<String>,
    pub musician: Option<String>,
    pub description: Option<String>,
    pub prompt: Option<String>,
    pub prompt_story: Option<String>,
    pub category: Option<String>,
    pub lyrics: String,
    /// What the musician declared AI helped with (`[]`: none; `null`: not said). Shown
    /// blind or not: it says nothing of who made the entry.
    pub ai_use: Option<Vec<String>>,
    pub audio: JudgeAudio,
    pub score: Option<MyScore>,
    pub comments: Vec<CommentView>,
    pub listened_percent: u32,
    pub position: usize,
    pub of: usize,
    pub previous: Option<String>,
    pub next: Option<String>,
    /// Whether the judge may see the other judges' scores now.
    pub others_visible: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PanelScore {
    /// "Judge 1", "Judge 2"… (the panel's names are not needed to compare).
    pub judge: String,
    pub total: f64,
    pub criteria: BTreeMap<String, i32>,
    pub comments: Vec<CommentView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalibrationLine {
    pub code: String,
    pub yours: Option<f64>,
    pub panel_mean: Option<f64>,
    pub difference: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Calibration {
    pub round: JudgeRound,
    /// Complete once the judge has scored every anchor.
    pub complete: bool,
    pub lines: Vec<CalibrationLine>,
    /// Mean of your differences from the panel: below zero you score harder.
    pub offset: Option<f64>,
}

pub use crate::time::utc;

impl AssignmentView {
    /// The AI disclosure in words for a reader of `l`.
    pub fn ai_summary(&self, l: &crate::i18n::Locale) -> Option<String> {
        crate::competitions::domain::ai::describe(*l, self.ai_use.as_deref())
    }
}
