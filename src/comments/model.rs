//! The comment rows and what listeners, musicians and organisers are sent.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{comment_settings, song_comments};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = song_comments, treat_none_as_null = true)]
pub struct CommentRow {
    pub id: String,
    pub entry_id: String,
    pub author_id: String,
    /// Where in the song, milliseconds from the start.
    pub at_ms: i32,
    pub body: String,
    pub created_at: NaiveDateTime,
    pub reports: i32,
    pub hidden_at: Option<NaiveDateTime>,
    /// `musician`, `organiser` or `reports` (hidden by listeners' reports, for review).
    pub hidden_by: Option<String>,
    /// When an organiser last decided on it (kept hidden or restored).
    pub reviewed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = comment_settings)]
pub struct SettingsRow {
    pub entry_id: String,
    pub enabled: bool,
    pub updated_at: NaiveDateTime,
}

/// A comment as a page or the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommentView {
    pub id: String,
    /// Seconds from the start of the song.
    pub at_secs: f64,
    /// The moment as a clock: `0:42`.
    pub at: String,
    pub body: String,
    /// The listener's stage name.
    pub author: String,
    pub created_at: DateTime<Utc>,
    /// Written by the reader.
    pub mine: bool,
    /// Hidden (only the musician and the organisers see hidden comments).
    pub hidden: bool,
    /// `musician`, `organiser` or `reports`, when hidden.
    pub hidden_by: Option<String>,
    /// Reports so far (the musician and the organisers only; 0 for others).
    pub reports: i32,
    /// The song (in the organisers' queue).
    pub song_title: Option<String>,
    pub entry_id: String,
}

/// A song's comments as the reader may see and use them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SongComments {
    pub entry_id: String,
    /// Whether the song takes comments now.
    pub enabled: bool,
    /// Why not: `musician` (switched off), `guardian` (a minor's song, not allowed by a
    /// guardian).
    pub off_reason: Option<String>,
    /// Whether the reader may post (signed in with a verified email, comments on).
    pub can_post: bool,
    /// Whether the reader may hide and restore (the musician, the organisers).
    pub can_moderate: bool,
    /// Whether the reader is the song's musician (the switch is theirs).
    pub is_owner: bool,
    pub duration_secs: Option<f64>,
    /// The song's loudest moments, left to right (0 to 1), for the lane's waveform.
    pub waveform: Vec<f32>,
    pub comments: Vec<CommentView>,
}

/// A listener's comment.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    /// Where in the song, seconds from the start.
    pub at_secs: f64,
    /// 1 to 140 characters.
    pub body: String,
}

/// The musician's switch for a song.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchInput {
    pub enabled: bool,
}
