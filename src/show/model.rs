//! The show's row and what the presenter screen and the show control are sent.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::shows;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = shows)]
pub struct ShowRow {
    pub round_id: String,
    /// 0: not revealing; 1 … steps: how far the reveal has gone.
    pub reveal_step: i32,
    /// JSON list of [`super::domain::Finalist`]: the results as computed when the reveal began.
    pub standings: String,
    pub updated_at: NaiveDateTime,
}

/// One song on the presenter screen while the vote runs.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ShowLine {
    pub entry_id: String,
    pub title: String,
    pub musician: String,
    /// Counted votes; `null` while the counts are hidden.
    pub votes: Option<u64>,
    /// Share of the leader's votes (0 to 1), for the bar; `null` while hidden.
    pub share: Option<f64>,
}

/// One song during the reveal: what has been revealed of it so far.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RevealLine {
    pub entry_id: String,
    pub title: String,
    pub musician: String,
    /// The jury's points, once revealed.
    pub jury: Option<f64>,
    /// The public's points, once revealed.
    pub public: Option<f64>,
    /// What has been revealed, added up.
    pub total: f64,
    /// The final place, at the last step.
    pub place: Option<usize>,
}

/// How far the reveal has gone.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct RevealView {
    pub step: u32,
    pub steps: u32,
    /// `jury`, `public` or `final`.
    pub stage: String,
    /// The song the last step revealed (the winner at the final step).
    pub current: Option<String>,
    /// Every song, highest revealed total first (by place at the final step).
    pub lines: Vec<RevealLine>,
    /// What the next press reveals: `jury`, `public`, `final`, or `null` when done.
    pub next: Option<String>,
}

/// The presenter screen's state: the same for every viewer.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ShowView {
    pub round_id: String,
    pub title: String,
    pub competition_title: String,
    pub competition_slug: String,
    /// `upcoming`, `open` or `closed`.
    pub state: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub counts_visible: bool,
    /// Votes counted so far (shown even while the per-song counts are hidden).
    pub total_votes: u64,
    pub lines: Vec<ShowLine>,
    /// The reveal, once the organiser has begun it.
    pub reveal: Option<RevealView>,
}

/// A press on the show control.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealInput {
    /// `next` (reveal one more step; the first press begins the reveal), `back` (one
    /// step back) or `restart` (hide everything again, read the results afresh).
    pub action: String,
}
