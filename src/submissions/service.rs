//! Entries: create, edit, withdraw, read; who may see what. Uploads live in
//! `upload.rs`, the analysis job in `analysis.rs`, moderation in `moderation.rs`.

use chrono::NaiveDateTime;

use super::model::{
    AnalysisFailure, AudioView, Credits, EntryInput, EntryRow, EntryView, Flag, NamedRef, Review,
    RuleView, SampleUse, Status, UploadRow,
};
use super::store;
use crate::accounts::model::AuthUser;
use crate::audio::policy::{Outcome, Verdict};
use crate::competitions::domain::ai;
use crate::competitions::model::{CompetitionRow, Phase};
use crate::competitions::service as competitions;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::state::AppState;

/// Entries analysed before the fingerprint index existed join it (run once, when the
/// migration that made it was applied).
pub use super::duplicates::index_backlog as index_fingerprint_backlog;

const MAX_TITLE: usize = 120;
const MAX_TEXT: usize = 5_000;
const MAX_LYRICS: usize = 20_000;
const MAX_SAMPLES: usize = 50;

pub use crate::time::now;

/// Who is asking about an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Musician,
    Organiser,
}

/// Why an account cannot submit yet, as a refusal the musician can act on (the age and
/// a guardian's consent depend on the competition: [`competitions::check_eligible`]).
pub fn check_account(who: &AuthUser) -> Result<(), AppError> {
    use actix_web::http::StatusCode;
    if who.user.email_verified_at.is_none() {
        return Err(AppError::refused(
            StatusCode::FORBIDDEN,
            "entry.email_unverified",
        ));
    }
    Ok(())
}

/// Trimmed text with Unix line ends, at most `max` characters and no control characters
/// but newlines and tabs (else `code`, with `max`).
pub fn clean_text(raw: &str, max: usize, code: &'static str) -> Result<String, AppError> {
    let t = raw.trim().replace("\r\n", "\n");
    if t.chars().count() > max || t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(AppError::invalid_with(code, vec![("max", max.to_string())]));
    }
    Ok(t)
}

/// A competition's entries as its moderators see them (remix lists sources from them).
pub use super::moderation::list as entries_for_moderators;
/// The clean, loudness-matched renditions other features play: judges' (rendered
/// into their store by judging's job, with the entry's playback gain) and the public's.
pub use super::public_audio::{fetch as public_audio, gain_of, render_to_store};
/// The sections other features add to an entry's page.
pub use super::sections::{EntryPageView, EntrySection, EntrySections, Place};
pub use crate::media::is_bidi_control;

/// Text for one line (a title): [`clean_text`], and no line breaks, tabs or direction
/// marks (else `entry.title_one_line`).
pub fn clean_line(raw: &str, max: usize, code: &'static str) -> Result<String, AppError> {
    let t = clean_text(raw, max, code)?;
    if t.chars()
        .any(|c| c == '\n' || c == '\t' || is_bidi_control(c))
    {
        return Err(AppError::invalid("entry.title_one_line"));
    }
    Ok(t)
}

/// Apply a musician's changes to `row`, checking prompt and category belong to the competition.
fn apply(
    conn: &mut DbConnection,
    c: &CompetitionRow,
    row: &mut EntryRow,
    input: &EntryInput,
) -> Result<(), AppError> {
    if let Some(t) = &input.title {
        let t = clean_line(t, MAX_TITLE, "entry.title_invalid")?;
        if t.is_empty() {
            return Err(AppError::invalid_with(
                "entry.title_invalid",
                vec![("max", MAX_TITLE.to_string())],
            ));
        }
        row.title = t;
    }
    if let Some(p) = &input.prompt_id {
        let ok = competitions::find_prompt(conn, p)?.is_some_and(|p| p.competition_id == c.id);
        if !ok {
            return Err(AppError::invalid("entry.prompt_invalid"));
        }
        row.prompt_id = Some(p.clone());
    }
    if let Some(k) = &input.category_id {
        let ok = competitions::categories_of(conn, &c.id)?
            .iter()
            .any(|x| &x.id == k);
        if !ok {
            return Err(AppError::invalid("entry.category_invalid"));
        }
        row.category_id = Some(k.clone());
    }
    if let Some(d) = &input.description {
        row.description = clean_text(d, MAX_TEXT, "entry.text_too_long")?;
    }
    if let Some(l) = &input.lyrics {
        row.lyrics = clean_text(l, MAX_LYRICS, "entry.text_too_long")?;
    }
    if let Some(cr) = &input.credits {
        let cleaned = Credits {
            co_writers: cr
                .co_writers
                .iter()
                .map(|w| clean_text(w, 100, "entry.text_too_long"))
                .filter(|w| !matches!(w, Ok(s) if s.is_empty()))
                .collect::<Result<_, _>>()?,
            producer: clean_text(&cr.producer, 100, "entry.text_too_long")?,
            others: clean_text(&cr.others, 1_000, "entry.text_too_long")?,
        };
        if cleaned.co_writers.len() > 20 {
            return Err(AppError::invalid_with(
                "entry.text_too_long",
                vec![("max", "20".into())],
            ));
        }
        row.credits = serde_json::to_string(&cleaned).map_err(AppError::internal)?;
    }
    if let Some(samples) = &input.samples {
        if samples.len() > MAX_SAMPLES {
            return Err(AppError::invalid_with(
                "entry.text_too_long",
                vec![("max", MAX_SAMPLES.to_string())],
            ));
        }
        let cleaned: Vec<SampleUse> = samples
            .iter()
            .map(|s| {
                Ok(SampleUse {
                    description: clean_text(&s.description, 300, "entry.text_too_long")?,
                    source: clean_text(&s.source, 300, "entry.text_too_long")?,
                    licence: clean_text(&s.licence, 300, "entry.text_too_long")?,
                })
            })
            .filter(
                |s: &Result<SampleUse, AppError>| !matches!(s, Ok(s) if s.description.is_empty()),
            )
            .collect::<Result<_, AppError>>()?;
        row.samples = serde_json::to_string(&cleaned).map_err(AppError::internal)?;
    }
    if let Some(d) = input.samples_declared {
        row.samples_declared = d;
    }
    if let Some(d) = input.originality_declared {
        row.originality_declared = d;
    }
    if let Some(uses) = &input.ai_use {
        row.ai_use = Some(ai::encode(&ai::parse_uses(uses)?));
    }
    // The rules every saved entry keeps.
    if !row.originality_declared {
        return Err(AppError::invalid("entry.originality_required"));
    }
    if row.samples != "[]" && !row.samples_declared {
        return Err(AppError::invalid("entry.samples_rights_required"));
    }
    ai::check(
        ai::AiRule::of_stored(&c.ai_rule),
        ai::decode(row.ai_use.as_deref()).as_deref(),
    )?;
    Ok(())
}

/// Whether `who` may start an entry in the competition now: the account, the window,
/// the age and consent, and the number of entries allowed (what `create` checks first).
pub async fn may_enter(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
) -> Result<(), AppError> {
    check_account(who)?;
    let (who, cid) = (who.clone(), competition_id.to_string());
    let consent_age = state.settings.auth.age_of_digital_consent;
    state
        .db
        .run(move |conn| {
            let c = competitions::find(conn, &cid)?.ok_or(AppError::NotFound)?;
            competitions::check_eligible(&c, &who.user, consent_age, now())?;
            quota_left(conn, &c, &who.user.id)
        })
        .await
}

fn quota_left(conn: &mut DbConnection, c: &CompetitionRow, musician: &str) -> Result<(), AppError> {
    if store::count_active(conn, &c.id, musician)? >= c.entries_per_musician as i64 {
        return Err(AppError::invalid_with(
            "entry.quota_reached",
            vec![("limit", c.entries_per_musician.to_string())],
        ));
    }
    Ok(())
}

pub async fn create(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
    input: EntryInput,
    locale: Locale,
) -> Result<EntryView, AppError> {
    check_account(who)?;
    let (who, cid) = (who.clone(), competition_id.to_string());
    let consent_age = state.settings.auth.age_of_digital_consent;
    state
        .db
        .transaction(move |conn| {
            let now = now();
            let c = competitions::find(conn, &cid)?.ok_or(AppError::NotFound)?;
            competitions::check_eligible(&c, &who.user, consent_age, now)?;
            crate::accounts::service::lock_user(conn, &who.user.id)?;
            quota_left(conn, &c, &who.user.id)?;
            let mut row = EntryRow {
                id: uuid::Uuid::now_v7().simple().to_string(),
                competition_id: c.id.clone(),
                musician_id: who.user.id.clone(),
                prompt_id: None,
                category_id: None,
                title: String::new(),
                description: String::new(),
                lyrics: String::new(),
                credits: "{}".into(),
                samples: "[]".into(),
                samples_declared: false,
                originality_declared: false,
                status: Status::Draft.as_str().into(),
                review: Review::Pending.as_str().into(),
                review_reason: None,
                upload_id: None,
                report: None,
                verdict: None,
                analysis_error: None,
                fingerprint: None,
                flags: "[]".into(),
                created_at: now,
                updated_at: now,
                analysed_at: None,
                withdrawn_at: None,
                ai_use: None,
            };
            if input.title.is_none() {
                return Err(AppError::invalid_with(
                    "entry.title_invalid",
                    vec![("max", MAX_TITLE.to_string())],
                ));
            }
            apply(conn, &c, &mut row, &input)?;
            let source = crate::remix::service::resolve_source(
                conn,
                &c,
                &row.musician_id,
                input.remix_of.as_ref(),
            )?;
            if row.prompt_id.is_none() && !competitions::prompts_of(conn, &c.id)?.is_empty() {
                return Err(AppError::invalid("entry.prompt_required"));
            }
            if row.category_id.is_none() && !competitions::categories_of(conn, &c.id)?.is_empty() {
                return Err(AppError::invalid("entry.category_required"));
            }
            store::insert_entry(conn, &row)?;
            if let Some(s) = source {
                crate::remix::service::record_source(conn, &row.id, s)?;
            }
            view(conn, &row, Viewer::Musician, locale)
        })
        .await
}

/// Whether the musician may still change an entry.
pub fn editable(c: &CompetitionRow, e: &EntryRow, now: NaiveDateTime) -> bool {
    c.phase(now) == Phase::Open
        && e.withdrawn_at.is_none()
        && e.review != Review::Disqualified.as_str()
}

/// The entry `id` if `who` is its musician and may still change it.
pub fn own_editable(
    conn: &mut DbConnection,
    who: &AuthUser,
    id: &str,
) -> Result<(EntryRow, CompetitionRow), AppError> {
    let e = store::find_entry(conn, id)?.ok_or(AppError::NotFound)?;
    if e.musician_id != who.user.id {
        return Err(AppError::NotFound);
    }
    let c = competitions::find(conn, &e.competition_id)?.ok_or(AppError::NotFound)?;
    let now = now();
    if e.withdrawn_at.is_some() {
        return Err(AppError::invalid("entry.withdrawn"));
    }
    if e.review == Review::Disqualified.as_str() {
        return Err(AppError::invalid("entry.disqualified"));
    }
    match c.phase(now) {
        Phase::Open => Ok((e, c)),
        Phase::Upcoming => Err(AppError::invalid("entry.window_not_open")),
        Phase::Closed => Err(AppError::invalid("entry.window_closed")),
    }
}

pub async fn update(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    input: EntryInput,
    locale: Locale,
) -> Result<EntryView, AppError> {
    let (who, id) = (who.clone(), id.to_string());
    state
        .db
        .transaction(move |conn| {
            let (mut e, c) = own_editable(conn, &who, &id)?;
            apply(conn, &c, &mut e, &input)?;
            if let Some(src) = &input.remix_of {
                match crate::remix::service::resolve_source(conn, &c, &e.musician_id, Some(src))? {
                    Some(s) => crate::remix::service::record_source(conn, &e.id, s)?,
                    None => crate::remix::service::clear_source(conn, &c, &e.id)?,
                }
            }
            e.updated_at = now();
            store::save_entry(conn, &e)?;
            view(conn, &e, Viewer::Musician, locale)
        })
        .await
}

pub async fn withdraw(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    locale: Locale,
) -> Result<EntryView, AppError> {
    let (who, id) = (who.clone(), id.to_string());
    state
        .db
        .transaction(move |conn| {
            let e = store::find_entry(conn, &id)?.ok_or(AppError::NotFound)?;
            if e.musician_id != who.user.id {
                return Err(AppError::NotFound);
            }
            if e.withdrawn_at.is_some() {
                return view(conn, &e, Viewer::Musician, locale);
            }
            let (mut e, _) = own_editable(conn, &who, &id)?;
            let now = now();
            e.withdrawn_at = Some(now);
            e.status = Status::Withdrawn.as_str().into();
            e.updated_at = now;
            store::save_entry(conn, &e)?;
            crate::db::audit::record(
                conn,
                Some(&who.user.id),
                "entry.withdrawn",
                &e.id,
                &serde_json::json!({}),
                now,
            )?;
            view(conn, &e, Viewer::Musician, locale)
        })
        .await
}

/// A guardian withdrew consent: withdraw `user`'s entries in competitions that need it
/// at their age (out of judging and public votes, like a musician's own withdrawal).
/// Returns the entries withdrawn.
pub fn withdraw_without_consent(
    conn: &mut DbConnection,
    user: &crate::accounts::model::UserRow,
    default_consent_age: u32,
    now: NaiveDateTime,
) -> Result<Vec<String>, AppError> {
    let mut out = Vec::new();
    for mut e in store::entries_of_musician(conn, &user.id)? {
        if e.withdrawn_at.is_some() {
            continue;
        }
        let Some(c) = competitions::find(conn, &e.competition_id)? else {
            continue;
        };
        let age = c.consent_age_or(default_consent_age);
        if crate::accounts::domain::consent_check(user, age, now.date()).is_ok() {
            continue;
        }
        e.withdrawn_at = Some(now);
        e.status = Status::Withdrawn.as_str().into();
        e.updated_at = now;
        store::save_entry(conn, &e)?;
        out.push(e.id);
    }
    Ok(out)
}

/// How `who` relates to entry `e`: its musician, the competition's organiser, or nobody (404).
pub fn viewer_of(
    conn: &mut DbConnection,
    who: &AuthUser,
    e: &EntryRow,
) -> Result<Viewer, AppError> {
    if e.musician_id == who.user.id {
        return Ok(Viewer::Musician);
    }
    let c = competitions::find(conn, &e.competition_id)?.ok_or(AppError::NotFound)?;
    if competitions::may_moderate(who, &c) {
        return Ok(Viewer::Organiser);
    }
    Err(AppError::NotFound)
}

pub async fn get(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    locale: Locale,
) -> Result<EntryView, AppError> {
    let (who, id) = (who.clone(), id.to_string());
    state
        .db
        .run(move |conn| {
            let e = store::find_entry(conn, &id)?.ok_or(AppError::NotFound)?;
            let v = viewer_of(conn, &who, &e)?;
            view(conn, &e, v, locale)
        })
        .await
}

pub async fn list_mine(
    state: &AppState,
    who: &AuthUser,
    locale: Locale,
) -> Result<Vec<EntryView>, AppError> {
    let id = who.user.id.clone();
    state
        .db
        .run(move |conn| {
            let rows = store::list_by_musician(conn, &id)?;
            rows.iter()
                .map(|e| view(conn, e, Viewer::Musician, locale))
                .collect()
        })
        .await
}

/// The entry as `viewer` sees it, texts in `locale`.
pub fn view(
    conn: &mut DbConnection,
    e: &EntryRow,
    viewer: Viewer,
    locale: Locale,
) -> Result<EntryView, AppError> {
    let c = competitions::find(conn, &e.competition_id)?.ok_or(AppError::NotFound)?;
    let prompt = match &e.prompt_id {
        Some(p) => competitions::find_prompt(conn, p)?.map(|p| NamedRef {
            name: p.title_in(locale),
            id: p.id,
        }),
        None => None,
    };
    let category = match &e.category_id {
        Some(k) => competitions::categories_of(conn, &c.id)?
            .into_iter()
            .find(|x| &x.id == k)
            .map(|x| NamedRef {
                name: x.name_in(locale),
                id: x.id,
            }),
        None => None,
    };
    let audio = match &e.upload_id {
        Some(u) => store::find_upload(conn, u)?.map(|u| AudioView {
            file_name: u.original_name,
            size_bytes: u.size_bytes.unwrap_or(0),
            sha256: u.sha256.unwrap_or_default(),
            uploaded_at: u.stored_at.map(|t| t.and_utc()),
            url: format!("/api/v1/entries/{}/audio", e.id),
        }),
        None => None,
    };
    let musician = if viewer == Viewer::Organiser {
        crate::accounts::service::find_user(conn, &e.musician_id)?.map(|u| u.display_name)
    } else {
        None
    };
    let verdict: Option<Verdict> = e
        .verdict
        .as_deref()
        .and_then(|v| serde_json::from_str(v).ok());
    let rules = verdict
        .map(|v| {
            v.rules
                .iter()
                .map(|r| RuleView {
                    rule: r.rule.clone(),
                    outcome: match r.outcome {
                        Outcome::Pass => "pass",
                        Outcome::Warn => "warn",
                        Outcome::Reject => "reject",
                    }
                    .into(),
                    code: r.code.clone(),
                    measured: r.measured.clone(),
                    limit: r.limit.clone(),
                    message: r.message(locale),
                })
                .collect()
        })
        .unwrap_or_default();
    let failure: Option<AnalysisFailure> = e
        .analysis_error
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok());
    Ok(EntryView {
        id: e.id.clone(),
        competition_id: c.id.clone(),
        competition_slug: c.slug.clone(),
        competition_title: c.title_in(locale),
        title: e.title.clone(),
        prompt,
        category,
        description: e.description.clone(),
        lyrics: e.lyrics.clone(),
        credits: serde_json::from_str(&e.credits).unwrap_or_default(),
        samples: serde_json::from_str(&e.samples).unwrap_or_default(),
        samples_declared: e.samples_declared,
        originality_declared: e.originality_declared,
        ai_use: ai::AiDisclosure::of(locale, e.ai_use.as_deref()),
        status: Status::parse(&e.status).unwrap_or(Status::Draft),
        review: Review::parse(&e.review).unwrap_or(Review::Pending),
        review_reason: e.review_reason.clone(),
        audio,
        report: e
            .report
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok()),
        rules,
        analysis_error: failure.as_ref().map(|f| match locale {
            Locale::ZhCn => f.zh_cn.clone(),
            _ => f.en.clone(),
        }),
        analysis_error_code: failure.map(|f| f.code),
        flags: if viewer == Viewer::Organiser {
            serde_json::from_str::<Vec<Flag>>(&e.flags).unwrap_or_default()
        } else {
            Vec::new()
        },
        editable: editable(&c, e, now()),
        created_at: e.created_at.and_utc(),
        updated_at: e.updated_at.and_utc(),
        analysed_at: e.analysed_at.map(|t| t.and_utc()),
        musician,
        remix_of: crate::remix::service::source_view(conn, &e.id)?,
    })
}

/// Entries that may be judged: analysed and in (accepted or needing attention), not
/// disqualified and not withdrawn. For the judging feature.
pub fn judgeable_entries(
    conn: &mut DbConnection,
    competition_id: &str,
) -> Result<Vec<EntryRow>, AppError> {
    let all = store::list_for_competition(conn, competition_id, &Default::default(), 1_000_000)?;
    Ok(all
        .into_iter()
        .filter(|e| {
            matches!(e.status.as_str(), "accepted" | "needs_attention")
                && e.review != "disqualified"
                && e.withdrawn_at.is_none()
                && e.upload_id.is_some()
        })
        .collect())
}

pub fn find_entry(conn: &mut DbConnection, id: &str) -> Result<Option<EntryRow>, AppError> {
    store::find_entry(conn, id)
}

pub fn find_upload(conn: &mut DbConnection, id: &str) -> Result<Option<UploadRow>, AppError> {
    store::find_upload(conn, id)
}

pub fn entries_of_musician(
    conn: &mut DbConnection,
    musician_id: &str,
) -> Result<Vec<EntryRow>, AppError> {
    store::list_by_musician(conn, musician_id)
}

/// Entries by id, keyed by id (for the judging feature's lists).
/// Queue the clean public renditions of these entries' audio (see `public_audio`).
pub fn request_public_audio(
    conn: &mut DbConnection,
    ids: &[String],
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let rows: Vec<EntryRow> = store::entries_by_ids(conn, ids)?;
    super::public_audio::request(conn, &rows, now)
}

pub fn find_entries(
    conn: &mut DbConnection,
    ids: &[String],
) -> Result<std::collections::HashMap<String, EntryRow>, AppError> {
    Ok(store::entries_by_ids(conn, ids)?
        .into_iter()
        .map(|e| (e.id.clone(), e))
        .collect())
}

/// A musician's account is erased: each of their entries is withdrawn (it leaves every
/// public surface and its votes are set aside) and anonymised — title, description,
/// lyrics, credits, samples, fingerprint and report cleared; its audio, renditions and
/// landmarks removed. The entry row stays, so rounds, scores and results that counted
/// it stay honest. Returns the object keys to delete once the transaction commits.
pub fn erase_musician(
    conn: &mut DbConnection,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<Vec<String>, AppError> {
    let mut keys = Vec::new();
    for mut e in store::entries_of_musician(conn, user_id)? {
        e.upload_id = None;
        store::save_entry(conn, &e)?;
        for u in store::uploads_of_entry(conn, &e.id)? {
            keys.extend(store::delete_public_rendition(conn, &u.id)?);
            store::delete_upload(conn, &u.id)?;
            keys.push(u.object_key);
        }
        super::duplicates::unindex(conn, &e.id)?;
        crate::remix::service::forget_landmarks(conn, &e.id)?;
        e.title = String::new();
        e.description = String::new();
        e.lyrics = String::new();
        e.credits = String::new();
        e.samples = "[]".into();
        e.fingerprint = None;
        e.flags = "[]".into();
        e.report = None;
        e.verdict = None;
        e.analysis_error = None;
        e.withdrawn_at = e.withdrawn_at.or(Some(now));
        e.status = Status::Withdrawn.as_str().into();
        e.updated_at = now;
        store::save_entry(conn, &e)?;
    }
    Ok(keys)
}

/// The person's entries for their data export: every text, the report and decision,
/// and where in the archive each stored audio file goes (`audio/…`, object key).
pub fn export_of(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<(serde_json::Value, Vec<(String, String)>), AppError> {
    let mut files = Vec::new();
    let mut out = Vec::new();
    for e in store::entries_of_musician(conn, user_id)? {
        let c = competitions::find(conn, &e.competition_id)?;
        let mut audio = Vec::new();
        for u in store::uploads_of_entry(conn, &e.id)? {
            if u.stored_at.is_none() {
                continue;
            }
            let path = format!(
                "audio/{}-{}",
                &u.id[u.id.len().saturating_sub(8)..],
                u.original_name
            );
            audio.push(serde_json::json!({
                "file": path, "original_name": u.original_name, "bytes": u.size_bytes,
                "sha256": u.sha256, "uploaded_at": u.created_at.and_utc().to_rfc3339(),
                "current": e.upload_id.as_deref() == Some(u.id.as_str()),
            }));
            files.push((path, u.object_key));
        }
        let json = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap_or_default();
        out.push(serde_json::json!({
            "id": e.id, "competition": c.map(|c| c.title), "title": e.title,
            "description": e.description, "lyrics": e.lyrics, "credits": json(&e.credits),
            "samples": json(&e.samples), "originality_declared": e.originality_declared,
            "ai_use": ai::decode(e.ai_use.as_deref()),
            "status": e.status, "organisers_decision": e.review, "decision_reason": e.review_reason,
            "report": e.report.as_deref().map(json), "created_at": e.created_at.and_utc().to_rfc3339(),
            "withdrawn_at": e.withdrawn_at.map(|t| t.and_utc().to_rfc3339()),
            "audio": audio,
        }));
    }
    Ok((serde_json::Value::Array(out), files))
}

/// The ids of every upload of `user_id`'s entries.
pub fn uploads_of_musician(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Vec<String>, AppError> {
    let mut out = Vec::new();
    for e in store::entries_of_musician(conn, user_id)? {
        out.extend(
            store::uploads_of_entry(conn, &e.id)?
                .into_iter()
                .map(|u| u.id),
        );
    }
    Ok(out)
}

/// Submissions' part of a person's data: their entries and audio files in the export;
/// erasure withdraws and anonymises them; a withdrawn guardian consent withdraws the
/// entries that needed it.
pub struct EntryData;

impl crate::accounts::service::PersonalData for EntryData {
    fn export(
        &self,
        conn: &mut DbConnection,
        user_id: &str,
        out: &mut serde_json::Map<String, serde_json::Value>,
    ) -> Result<Vec<(String, String)>, AppError> {
        let (entries, files) = export_of(conn, user_id)?;
        out.insert("entries".into(), entries);
        Ok(files)
    }

    fn erase(
        &self,
        conn: &mut DbConnection,
        user_id: &str,
        now: NaiveDateTime,
    ) -> Result<Vec<String>, AppError> {
        erase_musician(conn, user_id, now)
    }

    fn consent_withdrawn(
        &self,
        conn: &mut DbConnection,
        user: &crate::accounts::model::UserRow,
        default_consent_age: u32,
        now: NaiveDateTime,
    ) -> Result<Vec<String>, AppError> {
        withdraw_without_consent(conn, user, default_consent_age, now)
    }
}

/// Entries waiting for the organiser's review (for the organiser's home).
pub fn count_to_moderate(conn: &mut DbConnection, competition_id: &str) -> Result<i64, AppError> {
    store::count_to_moderate(conn, competition_id)
}

/// The ids of a competition's entries (for reading its audit log).
pub fn entry_ids(conn: &mut DbConnection, competition_id: &str) -> Result<Vec<String>, AppError> {
    store::entry_ids(conn, competition_id)
}
