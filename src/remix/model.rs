//! Rows and views of remix rounds: stem packs, their files, licence acceptances, the
//! source a remix names, remix permissions and the stem-usage check.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{
    entry_sources, licence_acceptances, remix_permissions, remix_settings, stem_checks, stem_files,
    stem_packs,
};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = remix_settings)]
pub struct RemixSettingsRow {
    pub competition_id: String,
    pub sources_required: bool,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = stem_packs, treat_none_as_null = true)]
pub struct StemPackRow {
    pub id: String,
    pub competition_id: String,
    pub prompt_id: Option<String>,
    pub source_entry_id: Option<String>,
    pub title: String,
    pub credit: String,
    pub tempo_bpm: Option<f64>,
    pub musical_key: Option<String>,
    pub licence_name: String,
    pub licence_text: String,
    pub licence_version: i32,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Title, credit and licence in the competition's other languages.
    pub translations: String,
}

impl StemPackRow {
    /// How an acceptance of this pack's licence is recorded.
    pub fn licence_tag(&self) -> String {
        format!("v{}", self.licence_version)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = stem_files, treat_none_as_null = true)]
pub struct StemFileRow {
    pub id: String,
    pub pack_id: String,
    pub kind: String,
    pub name: String,
    pub file_name: String,
    pub object_key: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub status: String,
    /// JSON `audio::Report` (stems only, without fingerprints).
    pub report: Option<String>,
    /// The code of why a stem could not be analysed.
    pub analysis_error: Option<String>,
    pub downloads: i64,
    pub created_at: NaiveDateTime,
    pub analysed_at: Option<NaiveDateTime>,
}

/// File kinds of a pack.
pub const STEM: &str = "stem";
pub const MIDI: &str = "midi";
pub const LYRICS: &str = "lyrics";
pub const KINDS: [&str; 3] = [STEM, MIDI, LYRICS];

/// A stem's analysis state (MIDI and lyrics files are `ready` at once).
pub const PENDING: &str = "pending";
pub const ANALYSED: &str = "analysed";
pub const FAILED: &str = "failed";
pub const READY: &str = "ready";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = licence_acceptances)]
pub struct AcceptanceRow {
    pub subject_id: String,
    pub user_id: String,
    pub licence: String,
    pub accepted_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = entry_sources, treat_none_as_null = true)]
pub struct SourceRow {
    pub entry_id: String,
    pub pack_id: Option<String>,
    pub source_entry_id: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = remix_permissions)]
pub struct PermissionRow {
    pub entry_id: String,
    pub allowed: bool,
    pub licence: String,
    pub downloads: i64,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = stem_checks)]
pub struct CheckRow {
    pub entry_id: String,
    /// JSON [`StemCheckView`] without the entry's own fields.
    pub result: String,
    pub checked_at: NaiveDateTime,
}

/// Licences a musician may offer their song under for remixes.
pub const LICENCES: [(&str, &str); 5] = [
    ("CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/"),
    (
        "CC-BY-SA-4.0",
        "https://creativecommons.org/licenses/by-sa/4.0/",
    ),
    (
        "CC-BY-NC-4.0",
        "https://creativecommons.org/licenses/by-nc/4.0/",
    ),
    (
        "CC-BY-NC-SA-4.0",
        "https://creativecommons.org/licenses/by-nc-sa/4.0/",
    ),
    (
        "cadenza-competitions-1",
        "Remixes for competitions on Cadenza only, with credit",
    ),
];

// ---- inputs ----

/// Whether a competition is a remix competition.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemixSettingsInput {
    /// Every entry must name its source (a stem pack, or a published entry open to remixes).
    pub sources_required: bool,
}

/// A stem pack's details. On create `title`, `licence_name` and `licence_text` are
/// needed; on update only what is present changes.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StemPackInput {
    pub title: Option<String>,
    /// The prompt the pack belongs to (else the whole competition).
    pub prompt_id: Option<String>,
    /// The published entry the stems come from (its musician is credited on every remix).
    pub source_entry_id: Option<String>,
    /// Who made the stems, as shown in credits.
    pub credit: Option<String>,
    pub tempo_bpm: Option<f64>,
    /// e.g. "A minor".
    pub musical_key: Option<String>,
    pub licence_name: Option<String>,
    /// Changing the name or the text makes a new licence version: musicians accept again.
    pub licence_text: Option<String>,
    /// `title`, `credit`, `licence_name` and `licence_text` in the competition's other
    /// languages; a changed licence translation is a new licence version too.
    #[schema(value_type = Option<Object>)]
    pub translations: Option<crate::competitions::domain::TranslationsInput>,
}

/// Accept a pack's licence: the version read (it must still be the current one).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInput {
    pub version: i32,
}

/// What a remix is made from: exactly one of the two.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceInput {
    pub stem_pack_id: Option<String>,
    pub entry_id: Option<String>,
}

impl SourceInput {
    /// The source an entry form names: `pack:<id>`, `song` with an address or id, or none.
    pub fn from_form(source: &str, song: &str) -> Option<SourceInput> {
        match source.split_once(':') {
            Some(("pack", p)) if !p.is_empty() => Some(SourceInput {
                stem_pack_id: Some(p.to_string()),
                entry_id: None,
            }),
            _ if source == "song" || !song.trim().is_empty() => Some(SourceInput {
                stem_pack_id: None,
                entry_id: Some(song_id_of(song)),
            }),
            _ => None,
        }
    }
}

/// A song named by its id or by its address (`…/songs/<id>`).
pub fn song_id_of(raw: &str) -> String {
    let t = raw.trim().trim_end_matches('/');
    t.rsplit('/').next().unwrap_or("").to_string()
}

/// Whether others may remix an entry, and under which licence.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionInput {
    pub allowed: bool,
    /// One of `CC-BY-4.0`, `CC-BY-SA-4.0`, `CC-BY-NC-4.0`, `CC-BY-NC-SA-4.0`,
    /// `cadenza-competitions-1`; needed when `allowed`.
    #[serde(default)]
    pub licence: Option<String>,
}

// ---- views ----

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RemixSettingsView {
    pub competition_id: String,
    pub sources_required: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StemFileView {
    pub id: String,
    /// `stem`, `midi` or `lyrics`.
    pub kind: String,
    pub name: String,
    pub file_name: String,
    pub size_bytes: i64,
    /// `pending`, `analysed` or `failed` for stems; `ready` for the others.
    pub status: String,
    pub duration_secs: Option<f64>,
    pub integrated_lufs: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
    pub sample_rate: Option<u32>,
    /// Why a stem could not be analysed.
    pub analysis_error: Option<String>,
    /// Times it was downloaded (organisers only).
    pub downloads: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SongRef {
    pub id: String,
    pub title: String,
    pub musician: String,
    pub competition_title: String,
    pub competition_slug: String,
    /// The song's public page, when it is public.
    pub url: Option<String>,
    /// What the musician declared AI helped with (`[]`: none; `null`: not said).
    pub ai_use: Option<Vec<String>>,
}

impl SongRef {
    /// The AI disclosure in words for a reader of `l`.
    pub fn ai_summary(&self, l: &crate::i18n::Locale) -> Option<String> {
        crate::competitions::domain::ai::describe(*l, self.ai_use.as_deref())
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StemPackView {
    pub id: String,
    pub competition_id: String,
    pub competition_slug: String,
    pub competition_title: String,
    pub prompt_id: Option<String>,
    pub title: String,
    pub credit: String,
    pub tempo_bpm: Option<f64>,
    pub musical_key: Option<String>,
    pub source_entry: Option<SongRef>,
    pub licence_name: String,
    pub licence_text: String,
    pub licence_version: i32,
    /// The pack's text in the competition's other languages.
    pub translations: crate::i18n::content::Translations,
    /// Whether the reader accepted the current licence (false when signed out).
    pub licence_accepted: bool,
    pub files: Vec<StemFileView>,
    /// Musicians who accepted the current licence (organisers only).
    pub acceptances: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl StemPackView {
    /// The pack for a reader of `l`: its text in their language where the organiser gave it.
    pub fn localised(mut self, l: crate::i18n::Locale) -> StemPackView {
        let tr = &self.translations;
        for (field, value) in [
            ("title", &mut self.title),
            ("credit", &mut self.credit),
            ("licence_name", &mut self.licence_name),
            ("licence_text", &mut self.licence_text),
        ] {
            if let Some(t) = tr.get(l, field) {
                *value = t.to_string();
            }
        }
        self
    }
}

/// A short-lived signed download link.
#[derive(Debug, Serialize, ToSchema)]
pub struct DownloadLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PermissionView {
    pub entry_id: String,
    pub allowed: bool,
    pub licence: Option<String>,
    pub licence_url: Option<String>,
    /// Times the song was downloaded for remixing (its musician only).
    pub downloads: Option<i64>,
}

/// What a remix names as its source.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceView {
    /// `stem_pack` or `entry`; `removed` when the source is no longer on Cadenza.
    pub kind: String,
    pub stem_pack: Option<PackRef>,
    pub entry: Option<SongRef>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PackRef {
    pub id: String,
    pub title: String,
    pub credit: String,
    pub competition_title: String,
    pub competition_slug: String,
}

/// A song's place in the remix tree.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineageNode {
    pub song: SongRef,
    pub remix_licence: Option<String>,
    #[schema(no_recursion)]
    pub remixed_by: Vec<LineageNode>,
}

/// Someone credited on a remix because their work is in it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Credit {
    /// `original` (the song or stems at the root), `remix` (a remix in between) or `stems`.
    pub role: String,
    pub name: String,
    /// What of theirs is in it.
    pub work: String,
    pub entry_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineageView {
    pub entry_id: String,
    /// The direct source (none for an original song).
    pub remix_of: Option<SourceView>,
    /// From the direct source up to the original.
    pub ancestors: Vec<SourceView>,
    /// Public remixes of this song, and theirs, as a tree.
    pub remixed_by: Vec<LineageNode>,
    /// Everyone whose work this song builds on, the original first.
    pub credits: Vec<Credit>,
    pub permission: Option<PermissionView>,
}

/// One stem heard in a remix, and where.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StemUseView {
    pub stem_id: String,
    pub name: String,
    pub detected: bool,
    pub ranges: Vec<UseRange>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UseRange {
    /// Where in the remix, seconds.
    pub start_secs: f64,
    pub end_secs: f64,
    /// Where in the stem that stretch begins, seconds.
    pub stem_start_secs: f64,
    /// Landmarks that agree (more is surer).
    pub matches: usize,
}

/// The stem-usage check of a remix (organisers): a flag for a person to look at, never
/// a rejection.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StemCheckView {
    pub entry_id: String,
    /// `done`; `waiting` (the remix or its stems are not analysed yet); `no_stems` (the
    /// source has no analysed stems: a published entry is compared as one stem).
    pub status: String,
    pub checked_at: Option<DateTime<Utc>>,
    pub stems: Vec<StemUseView>,
    /// True when the check ran and found none of the source's stems: look at it.
    pub none_detected: bool,
}
