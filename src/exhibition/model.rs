//! Rows and API views of the exhibition.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::posters;

pub const COMPETITION: &str = "competition";
pub const PROMPT: &str = "prompt";
pub const ENTRY: &str = "entry";
/// A voting round: a scan opens its gallery (the live show's screen shows this one).
pub const VOTE: &str = "vote";
pub const KINDS: [&str; 4] = [COMPETITION, PROMPT, ENTRY, VOTE];

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = posters)]
pub struct PosterRow {
    /// The short code in the QR code's address (`/p/<id>`).
    pub id: String,
    pub competition_id: String,
    pub kind: String,
    pub target_id: String,
    pub lang: String,
    pub created_at: NaiveDateTime,
}

/// Scans of one poster on one day (the competition's time zone).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScanDay {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub scans: u64,
}

/// A poster: what it leads to, where its QR code and printable page are, how often it
/// was scanned.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PosterView {
    pub code: String,
    /// `competition`, `prompt`, `entry` or `vote` (a voting round).
    pub kind: String,
    pub target_id: String,
    /// What the poster shows as its title.
    pub title: String,
    /// `en` or `zh-CN`.
    pub lang: String,
    /// The address inside the QR code.
    pub scan_url: String,
    /// The printable poster.
    pub poster_url: String,
    pub qr_svg_url: String,
    pub qr_png_url: String,
    pub created_at: DateTime<Utc>,
    /// Only for the competition's organisers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scans: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scans_by_day: Option<Vec<ScanDay>>,
}
