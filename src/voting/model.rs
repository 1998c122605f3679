//! Rows of the voting tables, what the API accepts and what it returns.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A round as every viewer reads it (cached), and one of its songs.
pub use super::{EntryInfo, RoundInfo};

use crate::db::schema::{
    vote_flags, vote_reviews, vote_tallies, votes, voting_round_entries, voting_rounds,
};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = voting_rounds, treat_none_as_null = true)]
pub struct VotingRoundRow {
    pub id: String,
    pub competition_id: String,
    pub title: String,
    pub opens_at: NaiveDateTime,
    pub closes_at: NaiveDateTime,
    pub votes_per_voter: i32,
    pub votes_per_entry: i32,
    pub votes_per_day: Option<i32>,
    /// `live` or `after_close`.
    pub counts_visible: String,
    pub min_listen_secs: i32,
    /// JSON list of networks (`203.0.113.0/24`) exempt from per-address limits.
    pub allowlist: String,
    pub burst_per_minute: i32,
    pub new_account_minutes: i32,
    pub pattern_min_voters: i32,
    pub audited_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// `venue`, `hold` or `count`: what happens to votes from new accounts.
    pub new_accounts: String,
    /// The title in the competition's other languages (`i18n::content::Translations`).
    pub translations: String,
}

impl VotingRoundRow {
    pub fn is_open(&self, now: NaiveDateTime) -> bool {
        self.opens_at <= now && now < self.closes_at
    }
    pub fn is_closed(&self, now: NaiveDateTime) -> bool {
        now >= self.closes_at
    }
    pub fn allowlist(&self) -> Vec<String> {
        serde_json::from_str(&self.allowlist).unwrap_or_default()
    }
    /// The title in the reader's language (falling back to the competition's own).
    pub fn title_in(&self, l: crate::i18n::Locale) -> String {
        crate::i18n::content::Translations::from_stored(&self.translations)
            .text(&self.title, l, "title")
            .to_string()
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = voting_round_entries)]
pub struct VotingEntryRow {
    pub round_id: String,
    pub entry_id: String,
    pub position: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = vote_tallies, treat_none_as_default_value = false)]
pub struct TallyRow {
    pub round_id: String,
    pub entry_id: String,
    pub counted: i64,
    pub quarantined: i64,
    pub invalidated: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = vote_flags)]
pub struct FlagRow {
    pub vote_id: i64,
    pub round_id: String,
    pub status: String,
    pub rule: Option<String>,
    pub reviewed: bool,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = votes)]
pub struct VoteRow {
    pub id: i64,
    pub round_id: String,
    pub voter_id: String,
    pub entry_id: String,
    pub cast_at: NaiveDateTime,
    pub day: String,
    pub slot: i32,
    pub entry_slot: i32,
    pub day_slot: i32,
    pub idempotency_key: String,
    pub pow_id: String,
    pub pow_cost: i32,
    pub network: String,
    pub ua_hash: String,
    pub account_age_secs: i64,
    pub initial_status: String,
    pub initial_rule: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = votes, treat_none_as_default_value = false)]
pub struct NewVote {
    pub round_id: String,
    pub voter_id: String,
    pub entry_id: String,
    pub cast_at: NaiveDateTime,
    pub day: String,
    pub slot: i32,
    pub entry_slot: i32,
    pub day_slot: i32,
    pub idempotency_key: String,
    pub pow_id: String,
    pub pow_cost: i32,
    pub network: String,
    pub ua_hash: String,
    pub account_age_secs: i64,
    pub initial_status: String,
    pub initial_rule: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = vote_reviews)]
pub struct ReviewRow {
    pub id: i64,
    pub vote_id: i64,
    pub round_id: String,
    pub action: String,
    pub rule: Option<String>,
    pub reason: String,
    pub actor_id: Option<String>,
    pub at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = vote_reviews, treat_none_as_default_value = false)]
pub struct NewReview {
    pub vote_id: i64,
    pub round_id: String,
    pub action: String,
    pub rule: Option<String>,
    pub reason: String,
    pub actor_id: Option<String>,
    pub at: NaiveDateTime,
}

/// A voting round's settings. On create, unset fields take their defaults; on update,
/// unset fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VotingRoundInput {
    pub title: Option<String>,
    /// The title in the competition's other languages: `{"zh-CN": {"title": "…"}}`.
    #[schema(value_type = Option<Object>)]
    pub translations: Option<crate::competitions::domain::TranslationsInput>,
    /// RFC 3339 (server clock).
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    /// Votes one voter may cast in the round (1–100; 20 is Eurovision's).
    pub votes_per_voter: Option<i64>,
    /// Votes one voter may give a single entry.
    pub votes_per_entry: Option<i64>,
    /// Votes one voter may cast per day (competition's time zone); 0 means no daily cap.
    pub votes_per_day: Option<i64>,
    /// `live` (running counts while voting is open) or `after_close`.
    pub counts_visible: Option<String>,
    /// Seconds a voter must listen to an entry before a vote for it counts (0: off).
    pub min_listen_secs: Option<i64>,
    /// Networks (CIDR) or addresses of a venue's shared network, exempt from the
    /// per-address and per-network limits and from the burst rule.
    pub allowlist: Option<Vec<String>>,
    /// The entries in play (only before the vote opens). On create, by default the
    /// finalists: the entries the last decided judging round advanced. Without a decided
    /// round there are no finalists and the entries must be chosen.
    pub entry_ids: Option<Vec<String>>,
    pub burst_per_minute: Option<i64>,
    /// Accounts younger than this many minutes are new (see `new_accounts`).
    pub new_account_minutes: Option<i64>,
    /// Votes from new accounts: `venue` (counted from the venue's networks, held
    /// elsewhere; the default), `hold` (always held for review) or `count`.
    pub new_accounts: Option<String>,
    pub pattern_min_voters: Option<i64>,
}

/// Songs put into or taken out of a vote before it opens, with the reason (kept in
/// the audit log).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntriesChange {
    #[serde(default)]
    pub add: Vec<String>,
    #[serde(default)]
    pub remove: Vec<String>,
    pub reason: String,
}

/// A song in a vote, or one that could be put in, as the organiser sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VotingEntryItem {
    pub entry_id: String,
    pub title: String,
    pub musician: String,
    pub category: Option<String>,
    /// Whether the last decided judging round advanced it.
    pub finalist: bool,
}

/// The songs of a vote for its organiser: those in play, and the others that could be.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VotingEntries {
    pub round_id: String,
    /// True once the vote has opened: the songs can no longer change.
    pub locked: bool,
    pub entries: Vec<VotingEntryItem>,
    pub candidates: Vec<VotingEntryItem>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VotingRoundView {
    pub id: String,
    pub competition_id: String,
    pub competition_slug: String,
    pub title: String,
    /// The title in the competition's other languages.
    pub translations: crate::i18n::content::Translations,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// `upcoming`, `open` or `closed` (server clock).
    pub state: String,
    pub votes_per_voter: i32,
    pub votes_per_entry: i32,
    pub votes_per_day: Option<i32>,
    pub counts_visible: String,
    pub min_listen_secs: i32,
    /// Only for the organiser.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowlist: Option<Vec<String>>,
    pub burst_per_minute: i32,
    pub new_account_minutes: i32,
    pub new_accounts: String,
    pub pattern_min_voters: i32,
    pub entries: usize,
    pub server_time: DateTime<Utc>,
}

/// An entry in the gallery, in the viewer's own order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GalleryEntry {
    pub entry_id: String,
    pub title: String,
    pub musician: String,
    pub category: Option<String>,
    pub category_id: Option<String>,
    pub description: String,
    /// Votes the viewer has given it.
    pub my_votes: u32,
    pub audio_url: String,
    pub share_url: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Gallery {
    pub round: VotingRoundView,
    pub entries: Vec<GalleryEntry>,
    pub me: Option<MyVoting>,
}

/// What a signed-in voter has left.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyVoting {
    pub can_vote: bool,
    /// Why not, as an error code (`vote.email_unverified`, …).
    pub reason: Option<String>,
    pub used: u32,
    pub remaining: u32,
    pub used_today: u32,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteInput {
    pub entry_id: String,
    /// The solved proof of work: base64 of the ALTCHA payload (`{challenge, solution}`).
    pub pow: String,
    /// From `POST …/listens`, when the round asks for listening first.
    pub listen_ticket: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VoteReceipt {
    pub vote_id: i64,
    pub round_id: String,
    pub entry_id: String,
    /// `counted`, or `quarantined` (held for review: it may still count).
    pub status: String,
    pub cast_at: DateTime<Utc>,
    pub remaining: u32,
    /// True when this answers a retry of a vote already recorded.
    pub replayed: bool,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListenInput {
    pub entry_id: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListenTicket {
    pub ticket: String,
    pub started_at: DateTime<Utc>,
    /// When a vote for this entry may count.
    pub counts_from: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoardLine {
    pub rank: u32,
    pub entry_id: String,
    pub title: String,
    pub musician: String,
    pub category_id: Option<String>,
    pub category: Option<String>,
    pub votes: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Leaderboard {
    pub round_id: String,
    pub title: String,
    pub state: String,
    /// False while counts are hidden until the close: then `lines` lists the entries
    /// without counts, by title.
    pub counts_visible: bool,
    pub category_id: Option<String>,
    pub total_votes: u64,
    pub lines: Vec<BoardLine>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntegritySummary {
    pub round_id: String,
    pub closed: bool,
    pub votes_cast: u64,
    pub counted: u64,
    pub quarantined: u64,
    pub invalidated: u64,
    /// Votes not counted (quarantined or invalidated), by the rule that holds them.
    pub by_rule: BTreeMap<String, u64>,
    /// Counted votes for songs that have left the vote since: kept in the log and the
    /// tally hash, left off the leaderboard (whose total is `counted − set_aside`).
    pub set_aside: u64,
    /// `set_aside` by reason: `withdrawn`, `disqualified` or `erased`.
    pub set_aside_by_reason: BTreeMap<String, u64>,
    /// SHA-256 of the tally text (`entry_id,count` lines, sorted); recompute it from the
    /// exported log (docs/voting.md).
    pub tally_hash: String,
    pub log_url: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewItem {
    pub vote_id: i64,
    pub entry_id: String,
    pub entry_title: String,
    pub voter: String,
    pub voter_email: String,
    pub cast_at: DateTime<Utc>,
    pub network: String,
    pub ua_hash: String,
    pub account_age_secs: i64,
    pub status: String,
    pub rule: Option<String>,
}

/// Either `vote_ids`, or `rule`: every vote held for review by that rule.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ReviewInput {
    #[serde(default)]
    pub vote_ids: Vec<i64>,
    /// Instead of ids: every held (quarantined) vote that this rule holds.
    #[serde(default)]
    pub rule: Option<String>,
    /// `restore`, `invalidate` or `quarantine`.
    pub action: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewOutcome {
    pub changed: usize,
    pub integrity: IntegritySummary,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditOutcome {
    /// Votes newly held by the rules.
    pub quarantined: usize,
    pub integrity: IntegritySummary,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecomputeOutcome {
    /// Whether the maintained tallies already equalled the recomputed ones.
    pub matched: bool,
    pub tally_hash: String,
    pub counted: u64,
}

pub use crate::time::utc;
