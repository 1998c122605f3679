//! Judging's face and its rounds: creating, changing and listing rounds with their
//! calibration anchors, the finalists, and what other features read (rounds and their
//! entries, released feedback, renditions). The organisers' other use cases are by
//! idea: `assignments`, `panel` (and reminders), `progress`, `ranking` (closing,
//! advancement, the scores CSV), `personal_data`; they are re-exported here.

use std::collections::HashSet;

use super::domain::{self, default_rubric};
use super::model::*;
use super::scoring::Basis;
use super::store;
use crate::accounts::model::AuthUser;
use crate::competitions::model::CompetitionRow;
use crate::competitions::service as competitions;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;
use crate::submissions::service as submissions;

pub const RENDER_JOB: &str = "judging.render";
pub const REMIND_JOB: &str = "judging.remind";

pub use crate::time::now;

/// What results read of judging: rounds, their entries, and released feedback.
pub use super::store::{feedback_for_entry, round_entries_of, rounds_of, rounds_of_entry};

/// The object keys of the renditions judges hear (for the sweeper).
pub use super::store::rendition_keys;

pub use super::assignments::{add_assignment, assign_round, remove_assignment};
pub use super::panel::{add_conflict, panel, remind, remove_judge};
pub use super::personal_data::{JudgingData, export_of};
pub use super::progress::progress;
pub use super::ranking::{advance, close_round, ranking, ranking_of, scores_csv};

pub(super) fn audit(
    conn: &mut DbConnection,
    who: Option<&str>,
    action: &str,
    subject: &str,
    details: serde_json::Value,
) -> Result<(), AppError> {
    crate::db::audit::record(conn, who, action, subject, &details, now())
}

/// The round `id` and its competition, if `who` runs that competition (else 404).
pub fn managed_round(
    conn: &mut DbConnection,
    who: &AuthUser,
    id: &str,
) -> Result<(CompetitionRow, RoundRow), AppError> {
    let r = store::find_round(conn, id)?.ok_or(AppError::NotFound)?;
    let c = competitions::managed(conn, who, &r.competition_id)?;
    Ok((c, r))
}

/// Run `f` in one transaction with round `id` and its competition, if `who` runs it (else 404).
pub(super) async fn with_round<T, F>(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    f: F,
) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection, &AuthUser, CompetitionRow, RoundRow) -> Result<T, AppError>
        + Send
        + 'static,
{
    let (who, id) = (who.clone(), id.to_string());
    state
        .db
        .transaction(move |conn| {
            let (c, r) = managed_round(conn, &who, &id)?;
            f(conn, &who, c, r)
        })
        .await
}

/// The finalists: the entries the last decided standard round advanced, in its order.
/// `None` while no round has been decided (there are no finalists yet).
pub fn finalists(conn: &mut DbConnection, cid: &str) -> Result<Option<Vec<String>>, AppError> {
    let last = store::rounds_of(conn, cid)?
        .into_iter()
        .filter(|r| r.kind == STANDARD && r.status == DECIDED)
        .max_by_key(|r| r.position);
    let Some(r) = last else { return Ok(None) };
    Ok(Some(
        store::round_entries_of(conn, &r.id)?
            .into_iter()
            .filter(|e| !e.anchor && e.advanced == Some(true))
            .map(|e| e.entry_id)
            .collect(),
    ))
}

pub fn round_view(conn: &mut DbConnection, r: &RoundRow) -> Result<RoundView, AppError> {
    let entries = store::round_entries_of(conn, &r.id)?.len();
    let active: Vec<AssignmentRow> = store::assignments_of_round(conn, &r.id)?
        .into_iter()
        .filter(|a| a.state == ACTIVE)
        .collect();
    let scored_ids: HashSet<String> = store::scores_of_round(conn, &r.id)?
        .into_iter()
        .map(|(s, _)| s.assignment_id)
        .collect();
    Ok(RoundView {
        id: r.id.clone(),
        competition_id: r.competition_id.clone(),
        position: r.position,
        name: r.name.clone(),
        kind: r.kind.clone(),
        status: r.status.clone(),
        opens_at: r.opens_at.map(utc),
        closes_at: r.closes_at.map(utc),
        rubric: r.rubric(),
        blind: r.blind,
        judges_per_entry: r.judges_per_entry,
        advancement: r.advancement(),
        ranking_basis: r.ranking_basis.clone(),
        min_listen_percent: r.min_listen_permille / 10,
        others_scores: r.others_scores.clone(),
        feedback_release: r.feedback_release.clone(),
        reminder_hours: r.reminder_hours,
        entries,
        scored: active.iter().filter(|a| scored_ids.contains(&a.id)).count(),
        assignments: active.len(),
    })
}

fn has_scores(conn: &mut DbConnection, round_id: &str) -> Result<bool, AppError> {
    Ok(!store::scores_of_round(conn, round_id)?.is_empty())
}

/// Put the calibration anchors in a round that has no assignments yet.
fn set_anchors(
    conn: &mut DbConnection,
    c: &CompetitionRow,
    r: &RoundRow,
    anchors: &[String],
) -> Result<(), AppError> {
    if !store::assignments_of_round(conn, &r.id)?.is_empty() {
        return Err(AppError::Conflict {
            code: "judging.round_started",
        });
    }
    let ok: HashSet<String> = submissions::judgeable_entries(conn, &c.id)?
        .into_iter()
        .map(|e| e.id)
        .collect();
    if anchors.is_empty() || anchors.len() > 20 || anchors.iter().any(|a| !ok.contains(a)) {
        return Err(AppError::invalid("judging.anchors_invalid"));
    }
    store::delete_round_entries(conn, &r.id)?;
    let mut seen = HashSet::new();
    for a in anchors.iter().filter(|a| seen.insert(a.to_string())) {
        insert_with_code(conn, &r.id, a, true)?;
    }
    Ok(())
}

pub(super) fn insert_with_code(
    conn: &mut DbConnection,
    round_id: &str,
    entry_id: &str,
    anchor: bool,
) -> Result<(), AppError> {
    let taken: HashSet<String> = store::round_entries_of(conn, round_id)?
        .into_iter()
        .map(|r| r.code)
        .collect();
    let code = std::iter::repeat_with(domain::new_code)
        .find(|c| !taken.contains(c))
        .unwrap_or_else(domain::new_alias);
    store::insert_round_entry(
        conn,
        &RoundEntryRow {
            round_id: round_id.into(),
            entry_id: entry_id.into(),
            code,
            anchor,
            placement: None,
            result: None,
            advanced: None,
            decided_by: None,
            created_at: now(),
        },
    )
}

pub async fn create_round(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
    input: RoundInput,
) -> Result<RoundView, AppError> {
    competitions::with_managed(state, who, competition_id, move |conn, who, c| {
        let existing = store::rounds_of(conn, &c.id)?;
        let now = now();
        let mut row = RoundRow {
            id: uuid::Uuid::now_v7().to_string(),
            competition_id: c.id.clone(),
            position: existing.iter().map(|r| r.position).max().unwrap_or(0) + 1,
            name: String::new(),
            kind: STANDARD.into(),
            status: DRAFT.into(),
            opens_at: None,
            closes_at: None,
            rubric: serde_json::to_string(&default_rubric()).map_err(AppError::internal)?,
            blind: true,
            judges_per_entry: 3,
            advancement: r#"{"kind":"manual"}"#.into(),
            ranking_basis: Basis::Normalised.as_str().into(),
            min_listen_permille: 0,
            others_scores: "after_scoring".into(),
            feedback_release: "round".into(),
            reminder_hours: 24,
            reminded_at: None,
            closed_at: None,
            decided_at: None,
            created_at: now,
            updated_at: now,
        };
        if input.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            return Err(AppError::invalid("judging.round_name_missing"));
        }
        domain::apply_round_input(&mut row, &input, c.tz(), false)?;
        store::insert_round(conn, &row)?;
        if let Some(a) = &input.anchors {
            if !row.is_calibration() {
                return Err(AppError::invalid("judging.anchors_invalid"));
            }
            set_anchors(conn, &c, &row, a)?;
        }
        audit(
            conn,
            Some(&who.user.id),
            "round.created",
            &row.id,
            serde_json::json!({ "competition": c.id }),
        )?;
        round_view(conn, &row)
    })
    .await
}

pub async fn update_round(
    state: &AppState,
    who: &AuthUser,
    round_id: &str,
    input: RoundInput,
) -> Result<RoundView, AppError> {
    with_round(state, who, round_id, move |conn, _, c, mut r| {
        if r.status == CLOSED || r.status == DECIDED {
            return Err(AppError::Conflict {
                code: "judging.round_closed",
            });
        }
        let scored = has_scores(conn, &r.id)?;
        if input.kind.as_ref().is_some_and(|k| *k != r.kind)
            && !store::assignments_of_round(conn, &r.id)?.is_empty()
        {
            return Err(AppError::Conflict {
                code: "judging.round_started",
            });
        }
        domain::apply_round_input(&mut r, &input, c.tz(), scored)?;
        r.updated_at = now();
        store::save_round(conn, &r)?;
        if let Some(a) = &input.anchors {
            if !r.is_calibration() {
                return Err(AppError::invalid("judging.anchors_invalid"));
            }
            set_anchors(conn, &c, &r, a)?;
        }
        round_view(conn, &r)
    })
    .await
}

pub async fn list_rounds(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
) -> Result<Vec<RoundView>, AppError> {
    competitions::with_managed(state, who, competition_id, move |conn, _, c| {
        store::rounds_of(conn, &c.id)?
            .iter()
            .map(|r| round_view(conn, r))
            .collect()
    })
    .await
}

pub async fn get_round(
    state: &AppState,
    who: &AuthUser,
    round_id: &str,
) -> Result<RoundView, AppError> {
    with_round(state, who, round_id, move |conn, _, _, r| {
        round_view(conn, &r)
    })
    .await
}

pub fn comment_view(c: CommentRow) -> CommentView {
    CommentView {
        id: c.id,
        visibility: c.visibility,
        body: c.body,
        at_secs: c.at_ms.map(|m| m as f64 / 1000.0),
        created_at: utc(c.created_at),
    }
}

/// Judging rounds past their closing time and not closed yet (for the organiser's home).
pub fn count_overdue_rounds(
    conn: &mut DbConnection,
    competition_id: &str,
) -> Result<i64, AppError> {
    store::count_overdue_rounds(conn, competition_id, now())
}

/// The ids of a competition's judging rounds (for reading its audit log).
pub fn round_ids(conn: &mut DbConnection, competition_id: &str) -> Result<Vec<String>, AppError> {
    store::round_ids(conn, competition_id)
}
