//! The album's rows and what its pages and API are sent.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{album_consents, album_tracks, albums};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = albums, treat_none_as_null = true)]
pub struct AlbumRow {
    pub competition_id: String,
    pub title: String,
    pub artist: String,
    pub year: i32,
    pub description: String,
    pub cover_key: Option<String>,
    pub terms: String,
    /// Grows whenever the terms change: agreements to an older version no longer count.
    pub terms_version: i32,
    pub target_lufs: f64,
    pub public_download: bool,
    pub published_at: Option<NaiveDateTime>,
    /// `none`, `preparing`, `ready` or `failed`.
    pub release_state: String,
    /// The digest of what the ready release was made from ([`super::domain::digest`]).
    pub release_of: Option<String>,
    /// The ZIP of the release files.
    pub release_key: Option<String>,
    pub release_size: Option<i64>,
    pub release_error: Option<String>,
    pub downloads: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = album_tracks, treat_none_as_null = true)]
pub struct TrackRow {
    pub competition_id: String,
    pub entry_id: String,
    pub position: i32,
    pub artist: String,
    /// JSON list of names.
    pub composers: String,
    pub producer: String,
    pub lyrics: String,
    /// JSON [`TrackRelease`]: the release files made for it.
    pub release: Option<String>,
}

impl TrackRow {
    pub fn composer_list(&self) -> Vec<String> {
        serde_json::from_str(&self.composers).unwrap_or_default()
    }
    pub fn release_files(&self) -> Option<TrackRelease> {
        self.release
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
    }
}

#[derive(Debug, Clone, Default, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = album_consents, treat_none_as_null = true)]
pub struct ConsentRow {
    pub competition_id: String,
    pub entry_id: String,
    pub musician_terms: Option<i32>,
    pub musician_agreed_at: Option<NaiveDateTime>,
    pub guardian_terms: Option<i32>,
    pub guardian_agreed_at: Option<NaiveDateTime>,
    pub guardian_name: Option<String>,
    pub guardian_email: Option<String>,
    pub guardian_token_hash: Option<String>,
}

/// One release file as made and measured.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ReleaseFile {
    pub key: String,
    pub size_bytes: u64,
    /// Integrated loudness the engine measured on the encoded file.
    pub integrated_lufs: Option<f64>,
    /// True peak measured on the encoded file.
    pub true_peak_dbtp: Option<f64>,
}

/// A track's release files.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct TrackRelease {
    /// The digest of what they were made from (audio, tags, cover, target).
    pub of: String,
    pub gain_db: f64,
    /// Brought only as far as the peak ceiling allows (below the target).
    pub peak_limited: bool,
    pub duration_secs: f64,
    pub flac: ReleaseFile,
    pub mp3: ReleaseFile,
}

/// Where a track's agreement stands.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Agreement {
    /// Agreed (and, for a minor, a guardian too): the track is included.
    Agreed,
    /// The musician has not agreed to the current terms.
    WaitingForMusician,
    /// The musician agreed; a guardian's agreement is still missing.
    WaitingForGuardian,
}

/// The organiser's settings of an album (every field optional: what is absent stays).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlbumInput {
    pub title: Option<String>,
    /// Who the album is by (e.g. the competition or "Various artists").
    pub artist: Option<String>,
    pub year: Option<i32>,
    pub description: Option<String>,
    /// The release terms every musician agrees to; changing them asks everyone again.
    pub terms: Option<String>,
    /// Integrated loudness of the release files, LUFS (−23 to −9; default −14).
    pub target_lufs: Option<f64>,
    /// Whether the public may download the ZIP too (the organiser always may).
    pub public_download: Option<bool>,
    /// The tracks in order; absent keeps the list.
    pub tracks: Option<Vec<TrackInput>>,
}

/// One track's credits as the organiser sets them (defaults from the entry).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackInput {
    pub entry_id: String,
    /// The stage name(s) credited as the artist.
    pub artist: Option<String>,
    pub composers: Option<Vec<String>>,
    pub producer: Option<String>,
    pub lyrics: Option<String>,
}

/// A musician's (or guardian's) agreement to the terms they read.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgreeInput {
    /// The version of the terms read (a change since then is refused).
    pub terms_version: i32,
    /// A minor's guardian's email, where the account has none (they are asked next).
    pub guardian_email: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardianAgreeInput {
    pub token: String,
    pub terms_version: i32,
    /// The guardian's name, kept with the agreement.
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishInput {
    pub published: bool,
}

/// One track of the album as the organiser sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrackView {
    pub entry_id: String,
    pub number: usize,
    pub title: String,
    pub artist: String,
    pub composers: Vec<String>,
    pub producer: String,
    pub lyrics: String,
    pub agreement: Agreement,
    pub minor: bool,
    /// The release files, when made from what the track is now.
    pub release: Option<TrackRelease>,
    /// Release files were made but from something else (credits, audio, terms…).
    pub release_stale: bool,
    /// The place in the final results.
    pub place: Option<usize>,
}

/// An entry of the results not (or not yet) on the album.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Candidate {
    pub entry_id: String,
    pub title: String,
    pub musician: String,
    pub place: Option<usize>,
}

/// The album as its organiser sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlbumView {
    pub competition_id: String,
    pub competition_slug: String,
    pub title: String,
    pub artist: String,
    pub year: i32,
    pub description: String,
    pub cover_url: Option<String>,
    pub terms: String,
    pub terms_version: i32,
    pub target_lufs: f64,
    pub ceiling_dbtp: f64,
    pub public_download: bool,
    pub published_at: Option<DateTime<Utc>>,
    pub tracks: Vec<TrackView>,
    pub candidates: Vec<Candidate>,
    /// Tracks still waiting for an agreement.
    pub waiting: usize,
    pub release_state: String,
    /// The release files are made from the album as it is now.
    pub release_fresh: bool,
    pub release_error: Option<String>,
    pub release_size: Option<i64>,
    pub downloads: i64,
    pub public_url: String,
}

/// One track of the public album.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicTrack {
    pub entry_id: String,
    pub number: usize,
    pub title: String,
    pub artist: String,
    pub composers: Vec<String>,
    pub producer: String,
    pub lyrics: String,
    /// The MP3 release file, for the player.
    pub audio_url: String,
    pub duration_secs: f64,
    pub integrated_lufs: Option<f64>,
    pub peak_limited: bool,
    pub song_url: String,
    /// The prompt (painting) that inspired it.
    pub prompt_title: Option<String>,
    pub prompt_image_url: Option<String>,
    pub ai_use: Option<Vec<String>>,
}

/// The album for everyone.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicAlbum {
    pub competition_id: String,
    pub competition_slug: String,
    pub competition_title: String,
    pub title: String,
    pub artist: String,
    pub year: i32,
    pub description: String,
    pub cover_url: Option<String>,
    pub target_lufs: f64,
    pub tracks: Vec<PublicTrack>,
    /// Whether this reader may download the ZIP.
    pub downloadable: bool,
}

/// What a musician reads before agreeing: the terms and their tracks on the album.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TermsView {
    pub competition_id: String,
    pub album_title: String,
    pub terms: String,
    pub terms_version: i32,
    pub tracks: Vec<String>,
    pub agreement: Option<Agreement>,
    pub minor: bool,
    /// Whether a guardian email is known (else the musician is asked for one).
    pub guardian_email_known: bool,
}

/// A short-lived signed link to the album's ZIP.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DownloadLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}
