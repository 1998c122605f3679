//! Queries of the judging tables.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{
    ACTIVE, AffiliationRow, AssignmentRow, CommentRow, ConflictRow, OPEN, RenditionRow,
    RoundEntryRow, RoundRow, ScoreRow,
};
use crate::db::DbConnection;
use crate::db::schema::{
    affiliations, assignments, judge_comments, judge_conflicts, renditions, round_entries, rounds,
    scores,
};
use crate::error::AppError;

pub fn insert_round(conn: &mut DbConnection, row: &RoundRow) -> Result<(), AppError> {
    diesel::insert_into(rounds::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn save_round(conn: &mut DbConnection, row: &RoundRow) -> Result<(), AppError> {
    diesel::update(rounds::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_round(conn: &mut DbConnection, id: &str) -> Result<Option<RoundRow>, AppError> {
    Ok(rounds::table
        .find(id)
        .select(RoundRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn rounds_of(conn: &mut DbConnection, competition_id: &str) -> Result<Vec<RoundRow>, AppError> {
    Ok(rounds::table
        .filter(rounds::competition_id.eq(competition_id))
        .select(RoundRow::as_select())
        .order((rounds::position.asc(), rounds::created_at.asc()))
        .load(conn)?)
}

/// Open rounds whose reminder has not gone out yet.
pub fn rounds_to_remind(conn: &mut DbConnection) -> Result<Vec<RoundRow>, AppError> {
    Ok(rounds::table
        .filter(rounds::status.eq(OPEN))
        .filter(rounds::reminded_at.is_null())
        .filter(rounds::closes_at.is_not_null())
        .filter(rounds::reminder_hours.gt(0))
        .select(RoundRow::as_select())
        .load(conn)?)
}

pub fn round_entries_of(
    conn: &mut DbConnection,
    round_id: &str,
) -> Result<Vec<RoundEntryRow>, AppError> {
    Ok(round_entries::table
        .filter(round_entries::round_id.eq(round_id))
        .select(RoundEntryRow::as_select())
        .order(round_entries::code.asc())
        .load(conn)?)
}

/// Every round an entry is in.
pub fn rounds_of_entry(
    conn: &mut DbConnection,
    entry_id: &str,
) -> Result<Vec<RoundEntryRow>, AppError> {
    Ok(round_entries::table
        .filter(round_entries::entry_id.eq(entry_id))
        .select(RoundEntryRow::as_select())
        .load(conn)?)
}

pub fn insert_round_entry(conn: &mut DbConnection, row: &RoundEntryRow) -> Result<(), AppError> {
    diesel::insert_into(round_entries::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn save_round_entry(conn: &mut DbConnection, row: &RoundEntryRow) -> Result<(), AppError> {
    diesel::update(round_entries::table.find((&row.round_id, &row.entry_id)))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn delete_round_entries(conn: &mut DbConnection, round_id: &str) -> Result<(), AppError> {
    diesel::delete(round_entries::table.filter(round_entries::round_id.eq(round_id)))
        .execute(conn)?;
    Ok(())
}

pub fn assignments_of_round(
    conn: &mut DbConnection,
    round_id: &str,
) -> Result<Vec<AssignmentRow>, AppError> {
    Ok(assignments::table
        .filter(assignments::round_id.eq(round_id))
        .select(AssignmentRow::as_select())
        .order(assignments::created_at.asc())
        .load(conn)?)
}

/// A judge's active assignments in every round of every competition.
pub fn assignments_of_judge(
    conn: &mut DbConnection,
    judge_id: &str,
) -> Result<Vec<AssignmentRow>, AppError> {
    Ok(assignments::table
        .filter(assignments::judge_id.eq(judge_id))
        .filter(assignments::state.eq(ACTIVE))
        .select(AssignmentRow::as_select())
        .order((assignments::round_id.asc(), assignments::sort_key.asc()))
        .load(conn)?)
}

/// Every assignment a judge ever had, whatever became of it (their data export).
pub fn all_assignments_of_judge(
    conn: &mut DbConnection,
    judge_id: &str,
) -> Result<Vec<AssignmentRow>, AppError> {
    Ok(assignments::table
        .filter(assignments::judge_id.eq(judge_id))
        .select(AssignmentRow::as_select())
        .order((assignments::round_id.asc(), assignments::created_at.asc()))
        .load(conn)?)
}

pub fn find_assignment_by_alias(
    conn: &mut DbConnection,
    alias: &str,
) -> Result<Option<AssignmentRow>, AppError> {
    Ok(assignments::table
        .filter(assignments::alias.eq(alias))
        .select(AssignmentRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_assignment_by_id(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Option<AssignmentRow>, AppError> {
    Ok(assignments::table
        .find(id)
        .select(AssignmentRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_assignment(
    conn: &mut DbConnection,
    round_id: &str,
    entry_id: &str,
    judge_id: &str,
) -> Result<Option<AssignmentRow>, AppError> {
    Ok(assignments::table
        .filter(assignments::round_id.eq(round_id))
        .filter(assignments::entry_id.eq(entry_id))
        .filter(assignments::judge_id.eq(judge_id))
        .select(AssignmentRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_assignment(conn: &mut DbConnection, row: &AssignmentRow) -> Result<(), AppError> {
    diesel::insert_into(assignments::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn save_assignment(conn: &mut DbConnection, row: &AssignmentRow) -> Result<(), AppError> {
    diesel::update(assignments::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

/// The scores of a round's assignments (any state), with their assignment.
pub fn scores_of_round(
    conn: &mut DbConnection,
    round_id: &str,
) -> Result<Vec<(ScoreRow, AssignmentRow)>, AppError> {
    Ok(scores::table
        .inner_join(assignments::table)
        .filter(assignments::round_id.eq(round_id))
        .select((ScoreRow::as_select(), AssignmentRow::as_select()))
        .order(assignments::created_at.asc())
        .load(conn)?)
}

pub fn find_score(
    conn: &mut DbConnection,
    assignment_id: &str,
) -> Result<Option<ScoreRow>, AppError> {
    Ok(scores::table
        .find(assignment_id)
        .select(ScoreRow::as_select())
        .first(conn)
        .optional()?)
}

/// Insert or replace a judge's score (the two databases' upserts differ, so: look, then write).
pub fn put_score(conn: &mut DbConnection, row: &ScoreRow) -> Result<(), AppError> {
    let updated = diesel::update(scores::table.find(&row.assignment_id))
        .set((
            scores::criteria.eq(&row.criteria),
            scores::total_milli.eq(row.total_milli),
            scores::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(scores::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn insert_comment(conn: &mut DbConnection, row: &CommentRow) -> Result<(), AppError> {
    diesel::insert_into(judge_comments::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn comments_of(
    conn: &mut DbConnection,
    assignment_ids: &[String],
) -> Result<Vec<CommentRow>, AppError> {
    Ok(judge_comments::table
        .filter(judge_comments::assignment_id.eq_any(assignment_ids))
        .select(CommentRow::as_select())
        .order((judge_comments::created_at.asc(), judge_comments::id.asc()))
        .load(conn)?)
}

/// Feedback the musician may read on an entry, from the rounds in `rounds`: comments
/// for the musician, not held back, by judges still active on it (not removed, no
/// conflict declared on the assignment or on the entry).
pub fn feedback_for_entry(
    conn: &mut DbConnection,
    entry_id: &str,
    rounds: &[String],
) -> Result<Vec<CommentRow>, AppError> {
    if rounds.is_empty() {
        return Ok(Vec::new());
    }
    let conflicted: Vec<String> = judge_conflicts::table
        .filter(judge_conflicts::entry_id.eq(entry_id))
        .select(judge_conflicts::judge_id)
        .load(conn)?;
    Ok(judge_comments::table
        .inner_join(assignments::table)
        .filter(assignments::entry_id.eq(entry_id))
        .filter(assignments::round_id.eq_any(rounds))
        .filter(assignments::state.eq(ACTIVE))
        .filter(assignments::judge_id.ne_all(conflicted))
        .filter(judge_comments::visibility.eq("musician"))
        .filter(judge_comments::held_at.is_null())
        .select(CommentRow::as_select())
        .order((judge_comments::created_at.asc(), judge_comments::id.asc()))
        .load(conn)?)
}

/// Every comment for musicians in a competition, with the assignment it belongs to
/// (for the organisers' feedback review).
pub fn musician_comments_of(
    conn: &mut DbConnection,
    competition_id: &str,
) -> Result<Vec<(CommentRow, AssignmentRow)>, AppError> {
    Ok(judge_comments::table
        .inner_join(assignments::table.inner_join(rounds::table))
        .filter(rounds::competition_id.eq(competition_id))
        .filter(judge_comments::visibility.eq("musician"))
        .select((CommentRow::as_select(), AssignmentRow::as_select()))
        .order((judge_comments::created_at.asc(), judge_comments::id.asc()))
        .load(conn)?)
}

pub fn find_comment(conn: &mut DbConnection, id: &str) -> Result<Option<CommentRow>, AppError> {
    Ok(judge_comments::table
        .find(id)
        .select(CommentRow::as_select())
        .first(conn)
        .optional()?)
}

/// Hold a comment back from the musician (with the reason), or release it (`None`).
pub fn set_comment_hold(
    conn: &mut DbConnection,
    id: &str,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(judge_comments::table.find(id))
        .set((
            judge_comments::held_reason.eq(reason),
            judge_comments::held_at.eq(reason.map(|_| now)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn conflicts_of(
    conn: &mut DbConnection,
    competition_id: &str,
) -> Result<Vec<ConflictRow>, AppError> {
    Ok(judge_conflicts::table
        .filter(judge_conflicts::competition_id.eq(competition_id))
        .select(ConflictRow::as_select())
        .load(conn)?)
}

/// Record a conflict once; a second declaration changes nothing.
pub fn add_conflict(conn: &mut DbConnection, row: &ConflictRow) -> Result<(), AppError> {
    let exists: i64 = judge_conflicts::table
        .filter(judge_conflicts::judge_id.eq(&row.judge_id))
        .filter(judge_conflicts::entry_id.eq(&row.entry_id))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(judge_conflicts::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn affiliations_of(
    conn: &mut DbConnection,
    user_ids: &[String],
) -> Result<Vec<AffiliationRow>, AppError> {
    Ok(affiliations::table
        .filter(affiliations::user_id.eq_any(user_ids))
        .select(AffiliationRow::as_select())
        .order((affiliations::kind.asc(), affiliations::value.asc()))
        .load(conn)?)
}

pub fn replace_affiliations(
    conn: &mut DbConnection,
    user_id: &str,
    rows: &[AffiliationRow],
) -> Result<(), AppError> {
    diesel::delete(affiliations::table.filter(affiliations::user_id.eq(user_id))).execute(conn)?;
    for r in rows {
        diesel::insert_into(affiliations::table)
            .values(r)
            .execute(conn)?;
    }
    Ok(())
}

pub fn find_rendition(
    conn: &mut DbConnection,
    upload_id: &str,
) -> Result<Option<RenditionRow>, AppError> {
    Ok(renditions::table
        .find(upload_id)
        .select(RenditionRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_rendition(conn: &mut DbConnection, row: &RenditionRow) -> Result<(), AppError> {
    diesel::insert_into(renditions::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Remove the judges' rendition of an upload; its object key, if there was one.
pub fn delete_rendition(
    conn: &mut DbConnection,
    upload_id: &str,
) -> Result<Option<String>, AppError> {
    let key = find_rendition(conn, upload_id)?.map(|r| r.object_key);
    diesel::delete(renditions::table.find(upload_id)).execute(conn)?;
    Ok(key)
}

pub fn rendition_keys(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    Ok(renditions::table
        .select(renditions::object_key)
        .load(conn)?)
}

/// Judging rounds of a competition still open after their closing time.
pub fn count_overdue_rounds(
    conn: &mut DbConnection,
    competition_id: &str,
    now: NaiveDateTime,
) -> Result<i64, AppError> {
    Ok(rounds::table
        .filter(rounds::competition_id.eq(competition_id))
        .filter(rounds::status.eq(super::model::OPEN))
        .filter(rounds::closes_at.le(now))
        .count()
        .get_result(conn)?)
}

/// The ids of a competition's judging rounds.
pub fn round_ids(conn: &mut DbConnection, competition_id: &str) -> Result<Vec<String>, AppError> {
    Ok(rounds::table
        .filter(rounds::competition_id.eq(competition_id))
        .select(rounds::id)
        .load(conn)?)
}
