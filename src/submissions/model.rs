use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{entries, uploads};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = entries, treat_none_as_null = true)]
pub struct EntryRow {
    pub id: String,
    pub competition_id: String,
    pub musician_id: String,
    pub prompt_id: Option<String>,
    pub category_id: Option<String>,
    pub title: String,
    pub description: String,
    pub lyrics: String,
    /// JSON [`Credits`].
    pub credits: String,
    /// JSON list of [`SampleUse`].
    pub samples: String,
    pub samples_declared: bool,
    pub originality_declared: bool,
    pub status: String,
    pub review: String,
    pub review_reason: Option<String>,
    /// The stored upload now in force.
    pub upload_id: Option<String>,
    /// JSON `audio::Report`.
    pub report: Option<String>,
    /// JSON `audio::policy::Verdict`.
    pub verdict: Option<String>,
    /// JSON [`AnalysisFailure`].
    pub analysis_error: Option<String>,
    /// Base64 chromaprint sub-fingerprints, for duplicate checks.
    pub fingerprint: Option<String>,
    /// JSON list of [`Flag`].
    pub flags: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub analysed_at: Option<NaiveDateTime>,
    pub withdrawn_at: Option<NaiveDateTime>,
    /// What AI was used for: NULL not answered, empty none, else uses comma-separated
    /// (`crate::competitions::ai`).
    pub ai_use: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = uploads, treat_none_as_null = true)]
pub struct UploadRow {
    pub id: String,
    pub entry_id: String,
    pub object_key: String,
    /// `pending` until the bytes are stored and checked, then `stored`.
    pub state: String,
    pub size_bytes: Option<i64>,
    pub sha256: Option<String>,
    /// The file name the musician's device gave, sanitised; shown, never used as a key.
    pub original_name: String,
    pub content_type: String,
    pub created_at: NaiveDateTime,
    pub stored_at: Option<NaiveDateTime>,
}

/// A clean, loudness-matched copy of an upload's audio for anonymous listeners.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::public_renditions)]
pub struct PublicRenditionRow {
    pub upload_id: String,
    pub object_key: String,
    pub size_bytes: i64,
    /// The gain applied, hundredths of a dB.
    pub gain_cdb: i32,
    pub created_at: NaiveDateTime,
}

pub const PENDING: &str = "pending";
pub const STORED: &str = "stored";

/// Where an entry stands in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Details saved, no audio yet.
    Draft,
    /// Audio is arriving.
    Uploading,
    /// Audio stored; analysis queued.
    Uploaded,
    Analysing,
    /// Every rule passed.
    Accepted,
    /// Warnings the musician should look at; the entry stays in.
    NeedsAttention,
    /// A rule that rejects was broken, or the file could not be read.
    Rejected,
    Withdrawn,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Uploading => "uploading",
            Status::Uploaded => "uploaded",
            Status::Analysing => "analysing",
            Status::Accepted => "accepted",
            Status::NeedsAttention => "needs_attention",
            Status::Rejected => "rejected",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "draft" => Status::Draft,
            "uploading" => Status::Uploading,
            "uploaded" => Status::Uploaded,
            "analysing" => Status::Analysing,
            "accepted" => Status::Accepted,
            "needs_attention" => Status::NeedsAttention,
            "rejected" => Status::Rejected,
            "withdrawn" => Status::Withdrawn,
            _ => return None,
        })
    }

    /// Still waiting for the engine (the page keeps polling).
    pub fn in_progress(self) -> bool {
        matches!(
            self,
            Status::Uploading | Status::Uploaded | Status::Analysing
        )
    }
}

/// The organiser's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Review {
    Pending,
    Accepted,
    ChangesRequested,
    Disqualified,
}

impl Review {
    pub fn as_str(self) -> &'static str {
        match self {
            Review::Pending => "pending",
            Review::Accepted => "accepted",
            Review::ChangesRequested => "changes_requested",
            Review::Disqualified => "disqualified",
        }
    }

    pub fn parse(s: &str) -> Option<Review> {
        Some(match s {
            "pending" => Review::Pending,
            "accepted" => Review::Accepted,
            "changes_requested" => Review::ChangesRequested,
            "disqualified" => Review::Disqualified,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Credits {
    pub co_writers: Vec<String>,
    pub producer: String,
    /// Performers, mixing, mastering… as free text.
    pub others: String,
}

/// A sample used in the track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SampleUse {
    /// What it is (e.g. "drum loop").
    pub description: String,
    /// Where it is from (pack, record, URL).
    #[serde(default)]
    pub source: String,
    /// The licence or permission (e.g. "royalty-free pack licence").
    #[serde(default)]
    pub licence: String,
}

/// Something the organiser should look at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Flag {
    /// `duplicate_audio`: the fingerprint matches another entry.
    pub kind: String,
    pub other_entry_id: String,
    pub other_title: String,
    pub other_competition_id: String,
    /// Matching stretches: this entry's start, the other's start, length (seconds).
    pub ranges: Vec<MatchRange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MatchRange {
    pub start_secs: f64,
    pub other_start_secs: f64,
    pub length_secs: f64,
}

/// Why the engine could not analyse a file, in both languages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AnalysisFailure {
    pub code: String,
    pub en: String,
    #[serde(rename = "zh-CN")]
    pub zh_cn: String,
}

/// The details a musician sends for an entry. On create `title` is needed; on update
/// only what is present changes.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryInput {
    pub title: Option<String>,
    pub prompt_id: Option<String>,
    pub category_id: Option<String>,
    pub description: Option<String>,
    pub lyrics: Option<String>,
    pub credits: Option<Credits>,
    pub samples: Option<Vec<SampleUse>>,
    /// "I have the rights to every sample listed" (needed when samples are listed).
    pub samples_declared: Option<bool>,
    /// "This is my original work" (needed).
    pub originality_declared: Option<bool>,
    /// What AI helped with: any of `lyrics`, `melody`, `arrangement`, `vocals`, `mixing`,
    /// `full`; `[]` says no AI was used. Needed where the competition's rule is
    /// `disclose`; any use is refused where it is `forbidden`.
    pub ai_use: Option<Vec<String>>,
    /// What a remix is made from: a stem pack of this competition or a published song
    /// open to remixes (needed in a remix competition).
    pub remix_of: Option<crate::remix::model::SourceInput>,
}

/// The uploaded audio of an entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AudioView {
    pub file_name: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_at: Option<DateTime<Utc>>,
    /// Streams the audio (Range requests supported) for those allowed to hear it.
    pub url: String,
}

/// One rule's verdict, with its message in the reader's language.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleView {
    pub rule: String,
    /// `pass`, `warn` or `reject`.
    pub outcome: String,
    pub code: String,
    pub measured: String,
    pub limit: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NamedRef {
    pub id: String,
    pub name: String,
}

/// An entry as its musician (or the competition's organiser) sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EntryView {
    pub id: String,
    pub competition_id: String,
    pub competition_slug: String,
    pub competition_title: String,
    pub title: String,
    pub prompt: Option<NamedRef>,
    pub category: Option<NamedRef>,
    pub description: String,
    pub lyrics: String,
    pub credits: Credits,
    pub samples: Vec<SampleUse>,
    pub samples_declared: bool,
    pub originality_declared: bool,
    /// What AI helped with, as the musician declared it (`null`: not said).
    pub ai_use: Option<crate::competitions::domain::ai::AiDisclosure>,
    pub status: Status,
    pub review: Review,
    pub review_reason: Option<String>,
    pub audio: Option<AudioView>,
    /// The technical report (schema `cadenza.audio-report/1`), once analysed.
    #[schema(value_type = Option<Object>)]
    pub report: Option<serde_json::Value>,
    /// Each rule's verdict, once analysed.
    pub rules: Vec<RuleView>,
    /// Why the file could not be analysed, if it could not.
    pub analysis_error: Option<String>,
    pub analysis_error_code: Option<String>,
    /// Only the organiser sees flags.
    pub flags: Vec<Flag>,
    /// Whether the musician may still change it (window open, not withdrawn or disqualified).
    pub editable: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub analysed_at: Option<DateTime<Utc>>,
    /// The musician's stage name (organisers only).
    pub musician: Option<String>,
    /// What this remix is made from (none for an original song).
    pub remix_of: Option<crate::remix::model::SourceView>,
}

/// A page of entries for moderation.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryList {
    pub items: Vec<EntryView>,
}

/// Where to PUT the bytes for a direct-to-S3 upload.
#[derive(Debug, Serialize, ToSchema)]
pub struct PresignedUpload {
    pub upload_id: String,
    pub url: String,
    pub method: String,
    pub expires_at: DateTime<Utc>,
    pub max_bytes: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresignInput {
    pub file_name: String,
    pub size_bytes: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteInput {
    pub upload_id: String,
}

/// What the organiser decides about an entry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// `accept`, `request_changes` or `disqualify`.
    pub action: String,
    /// Needed for `request_changes` and `disqualify`; the musician reads it.
    #[serde(default)]
    pub reason: String,
}

/// A value of a report's JSON by path, e.g. `["loudness", "integrated_lufs"]`.
pub fn report_value<'a>(r: &'a serde_json::Value, path: &[&str]) -> Option<&'a serde_json::Value> {
    path.iter().try_fold(r, |cur, p| cur.get(*p))
}
