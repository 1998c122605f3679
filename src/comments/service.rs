//! Comments: reading a song's, posting one (after the results are public, signed in by
//! email, within the rate limits and the word lists), reporting, hiding and restoring,
//! the musician's switch, the organisers' queue, and a person's comments in their data
//! export and erasure.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use super::domain;
use super::model::*;
use super::store;
use crate::accounts::model::{AuthUser, UserRow};
use crate::competitions::model::CompetitionRow;
use crate::competitions::service as competitions;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::http::ratelimit::{self, Limit};
use crate::state::AppState;
use crate::submissions::model::EntryRow;
use crate::submissions::service as submissions;
use crate::time::now;

/// Comments one account may post a minute, and one address (a venue's Wi-Fi holds many
/// listeners, so more).
pub const PER_ACCOUNT: Limit = Limit {
    name: "comment_account",
    max: 5,
    window_secs: 60,
};
pub const PER_ADDRESS: Limit = Limit {
    name: "comment_ip",
    max: 60,
    window_secs: 60,
};
/// The most comments a song's page lists.
const LIST_LIMIT: i64 = 1_000;

/// A public song with what the comment rules need.
struct Song {
    entry: EntryRow,
    competition: CompetitionRow,
    musician: Option<UserRow>,
}

/// A public song (its competition's results are out), or 404: the song's page is
/// remix's, which knows what is public.
fn song(conn: &mut DbConnection, entry_id: &str) -> Result<Song, AppError> {
    let entry = crate::remix::service::public_entry(conn, entry_id)?;
    let competition = competitions::find(conn, &entry.competition_id)?.ok_or(AppError::NotFound)?;
    let musician = crate::accounts::service::find_user(conn, &entry.musician_id)?;
    Ok(Song {
        entry,
        competition,
        musician,
    })
}

/// The song's peaks (0 to 1) at most `points` wide, from the report's waveform.
fn waveform_of(e: &EntryRow, points: usize) -> Vec<f32> {
    let Some(r) = e
        .report
        .as_deref()
        .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok())
    else {
        return Vec::new();
    };
    let peaks: Vec<f32> = r["waveform"]["max"]
        .as_array()
        .into_iter()
        .flatten()
        .zip(r["waveform"]["min"].as_array().into_iter().flatten())
        .map(|(a, b)| {
            let (a, b) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            a.abs().max(b.abs()).min(1.0) as f32
        })
        .collect();
    if peaks.len() <= points {
        return peaks;
    }
    let step = peaks.len() as f64 / points as f64;
    (0..points)
        .map(|i| {
            let (a, b) = ((i as f64 * step) as usize, ((i + 1) as f64 * step) as usize);
            peaks[a..b.min(peaks.len()).max(a + 1)]
                .iter()
                .fold(0.0f32, |m, x| m.max(*x))
        })
        .collect()
}

fn duration_of(e: &EntryRow) -> Option<f64> {
    let r: serde_json::Value = serde_json::from_str(e.report.as_deref()?).ok()?;
    r["format"]["duration_secs"].as_f64()
}

/// Whether the song takes comments, and why not.
fn switch_of(conn: &mut DbConnection, s: &Song) -> Result<(bool, Option<&'static str>), AppError> {
    let today = now().date();
    if !s
        .musician
        .as_ref()
        .is_some_and(|m| m.comments_allowed(today))
    {
        return Ok((false, Some("guardian")));
    }
    if store::settings(conn, &s.entry.id)?.is_some_and(|x| !x.enabled) {
        return Ok((false, Some("musician")));
    }
    Ok((true, None))
}

fn may_moderate(who: Option<&AuthUser>, s: &Song) -> bool {
    who.is_some_and(|w| {
        w.user.id == s.entry.musician_id || competitions::may_moderate(w, &s.competition)
    })
}

fn views(
    conn: &mut DbConnection,
    rows: Vec<CommentRow>,
    who: Option<&AuthUser>,
    moderator: bool,
    titles: &HashMap<String, String>,
) -> Result<Vec<CommentView>, AppError> {
    let ids: Vec<String> = rows.iter().map(|r| r.author_id.clone()).collect();
    let names = crate::accounts::service::display_names(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|r| CommentView {
            at_secs: r.at_ms as f64 / 1000.0,
            at: domain::clock(r.at_ms),
            mine: who.is_some_and(|w| w.user.id == r.author_id),
            hidden: r.hidden_at.is_some(),
            hidden_by: r.hidden_by.clone(),
            reports: if moderator { r.reports } else { 0 },
            author: names.get(&r.author_id).cloned().unwrap_or_default(),
            created_at: r.created_at.and_utc(),
            song_title: titles.get(&r.entry_id).cloned(),
            entry_id: r.entry_id,
            body: r.body,
            id: r.id,
        })
        .collect())
}

/// A public song's comments as `who` may see them (the musician and the organisers also
/// see hidden ones, marked). 404 unless the song is public.
pub async fn song_comments(
    state: &AppState,
    who: Option<&AuthUser>,
    entry_id: &str,
) -> Result<SongComments, AppError> {
    let (who, id) = (who.cloned(), entry_id.to_string());
    state
        .db
        .run(move |conn| {
            let s = song(conn, &id)?;
            let (enabled, off) = switch_of(conn, &s)?;
            let moderator = may_moderate(who.as_ref(), &s);
            let rows = store::of_song(conn, &s.entry.id, moderator, LIST_LIMIT)?;
            let comments = views(conn, rows, who.as_ref(), moderator, &HashMap::new())?;
            Ok(SongComments {
                entry_id: s.entry.id.clone(),
                enabled,
                off_reason: off.map(str::to_string),
                can_post: enabled
                    && who
                        .as_ref()
                        .is_some_and(|w| w.user.email_verified_at.is_some()),
                can_moderate: moderator,
                is_owner: who
                    .as_ref()
                    .is_some_and(|w| w.user.id == s.entry.musician_id),
                duration_secs: duration_of(&s.entry),
                waveform: waveform_of(&s.entry, 240),
                comments,
            })
        })
        .await
}

/// A listener's comment on a public song: signed in with a verified email, comments on
/// for the song, within the rate limits (per account and per address), no listed words.
pub async fn post(
    state: &AppState,
    who: &AuthUser,
    entry_id: &str,
    input: &CommentInput,
    address: &str,
) -> Result<CommentView, AppError> {
    if who.user.email_verified_at.is_none() {
        return Err(AppError::refused(
            actix_web::http::StatusCode::FORBIDDEN,
            "comment.email_unverified",
        ));
    }
    {
        let id = entry_id.to_string();
        state
            .db
            .run(move |conn| crate::remix::service::public_entry(conn, &id).map(|_| ()))
            .await?;
    }
    let body = domain::parse_body(&input.body)?;
    ratelimit::check(&state.db, PER_ACCOUNT, &who.user.id).await?;
    ratelimit::check(&state.db, PER_ADDRESS, address).await?;
    let (who, id, at_secs) = (who.clone(), entry_id.to_string(), input.at_secs);
    state
        .db
        .transaction(move |conn| {
            let s = song(conn, &id)?;
            if !switch_of(conn, &s)?.0 {
                return Err(AppError::Conflict {
                    code: "comment.off",
                });
            }
            let at_ms = domain::parse_at(at_secs, duration_of(&s.entry))?;
            let row = CommentRow {
                id: uuid::Uuid::now_v7().simple().to_string(),
                entry_id: s.entry.id.clone(),
                author_id: who.user.id.clone(),
                at_ms,
                body,
                created_at: now(),
                reports: 0,
                hidden_at: None,
                hidden_by: None,
                reviewed_at: None,
            };
            store::insert(conn, &row)?;
            let moderator = may_moderate(Some(&who), &s);
            Ok(views(conn, vec![row], Some(&who), moderator, &HashMap::new())?.remove(0))
        })
        .await
}

/// A listener reports a comment (once each); enough reports hide it until an organiser
/// looks. The author cannot report their own.
pub async fn report(state: &AppState, who: &AuthUser, comment_id: &str) -> Result<(), AppError> {
    if who.user.email_verified_at.is_none() {
        return Err(AppError::refused(
            actix_web::http::StatusCode::FORBIDDEN,
            "comment.email_unverified",
        ));
    }
    let (who, id) = (who.clone(), comment_id.to_string());
    state
        .db
        .transaction(move |conn| {
            let mut c = store::find(conn, &id)?.ok_or(AppError::NotFound)?;
            if c.author_id == who.user.id {
                return Err(AppError::invalid("comment.own"));
            }
            let now = now();
            if store::add_report(conn, &c.id, &who.user.id, now)? {
                c.reports += 1;
                if c.reports >= domain::REPORTS_TO_HIDE && c.hidden_at.is_none() {
                    c.hidden_at = Some(now);
                    c.hidden_by = Some("reports".into());
                }
                c.reviewed_at = None;
                store::update(conn, &c)?;
            }
            Ok(())
        })
        .await
}

/// The musician or an organiser hides a comment (`hide`), or shows it again
/// (`!hide`). An organiser's decision clears it from the queue. Audited.
pub async fn moderate(
    state: &AppState,
    who: &AuthUser,
    comment_id: &str,
    hide: bool,
) -> Result<CommentView, AppError> {
    let (who, id) = (who.clone(), comment_id.to_string());
    state
        .db
        .transaction(move |conn| {
            let mut c = store::find(conn, &id)?.ok_or(AppError::NotFound)?;
            let s = song(conn, &c.entry_id)?;
            if !may_moderate(Some(&who), &s) {
                return Err(AppError::NotFound);
            }
            let organiser = competitions::may_moderate(&who, &s.competition);
            let now = now();
            if hide {
                c.hidden_at = Some(now);
                c.hidden_by = Some(if organiser { "organiser" } else { "musician" }.into());
            } else {
                c.hidden_at = None;
                c.hidden_by = None;
            }
            if organiser {
                c.reviewed_at = Some(now);
            }
            store::update(conn, &c)?;
            crate::db::audit::record(
                conn,
                Some(&who.user.id),
                if hide {
                    "comment.hidden"
                } else {
                    "comment.restored"
                },
                &c.id,
                &serde_json::json!({ "entry": c.entry_id }),
                now,
            )?;
            Ok(views(conn, vec![c], Some(&who), true, &HashMap::new())?.remove(0))
        })
        .await
}

/// The musician switches comments on or off for their song. A minor's song takes
/// comments only once a guardian allowed them.
pub async fn switch(
    state: &AppState,
    who: &AuthUser,
    entry_id: &str,
    enabled: bool,
) -> Result<(), AppError> {
    let (who, id) = (who.clone(), entry_id.to_string());
    state
        .db
        .transaction(move |conn| {
            let s = song(conn, &id)?;
            if s.entry.musician_id != who.user.id {
                return Err(AppError::NotFound);
            }
            let today = now().date();
            if enabled && !who.user.comments_allowed(today) {
                return Err(AppError::Conflict {
                    code: "comment.guardian_needed",
                });
            }
            store::save_settings(
                conn,
                &SettingsRow {
                    entry_id: s.entry.id.clone(),
                    enabled,
                    updated_at: now(),
                },
            )
        })
        .await
}

/// Comments waiting for a competition's organisers: reported or hidden, not reviewed.
pub async fn queue(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
) -> Result<Vec<CommentView>, AppError> {
    let (who, cid) = (who.clone(), competition_id.to_string());
    state
        .db
        .run(move |conn| {
            let c = competitions::find(conn, &cid)?.ok_or(AppError::NotFound)?;
            if !competitions::may_moderate(&who, &c) {
                return Err(AppError::NotFound);
            }
            let ids = submissions::entry_ids(conn, &c.id)?;
            let titles: HashMap<String, String> = submissions::find_entries(conn, &ids)?
                .into_iter()
                .map(|(id, e)| (id, e.title))
                .collect();
            let rows = store::waiting(conn, &ids)?;
            views(conn, rows, Some(&who), true, &titles)
        })
        .await
}

/// Comments' part of a person's data: what they wrote in the export; erasure removes it.
pub struct CommentData;

impl crate::accounts::service::PersonalData for CommentData {
    fn export(
        &self,
        conn: &mut DbConnection,
        user_id: &str,
        out: &mut serde_json::Map<String, serde_json::Value>,
    ) -> Result<Vec<(String, String)>, AppError> {
        let rows = store::of_author(conn, user_id)?;
        out.insert(
            "song_comments".into(),
            serde_json::Value::Array(
                rows.into_iter()
                    .map(|r| {
                        serde_json::json!({
                            "song": r.entry_id, "at": domain::clock(r.at_ms), "text": r.body,
                            "written_at": r.created_at.and_utc().to_rfc3339(),
                            "hidden": r.hidden_at.is_some(),
                        })
                    })
                    .collect(),
            ),
        );
        Ok(Vec::new())
    }

    fn erase(
        &self,
        conn: &mut DbConnection,
        user_id: &str,
        _now: NaiveDateTime,
    ) -> Result<Vec<String>, AppError> {
        store::delete_author(conn, user_id)?;
        Ok(Vec::new())
    }
}
