//! Queries of the voting tables. The few statements diesel cannot run through the
//! multi-backend connection (upserts, `ON CONFLICT DO NOTHING … RETURNING`) are written
//! once and run on the concrete connection by [`on_backend!`].

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::upsert::excluded;

use super::model::*;
use crate::db::DbConnection;
use crate::db::schema::{
    vote_flags, vote_reviews, vote_tallies, votes, voting_round_entries, voting_rounds,
};
use crate::error::AppError;

/// Run the same diesel expression on whichever concrete connection this is.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            DbConnection::Pg($c) => $body,
            DbConnection::Sqlite($c) => $body,
        }
    };
}

pub fn find_round(conn: &mut DbConnection, id: &str) -> Result<Option<VotingRoundRow>, AppError> {
    Ok(voting_rounds::table
        .find(id)
        .select(VotingRoundRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn rounds_of(
    conn: &mut DbConnection,
    competition_id: &str,
) -> Result<Vec<VotingRoundRow>, AppError> {
    Ok(voting_rounds::table
        .filter(voting_rounds::competition_id.eq(competition_id))
        .order((voting_rounds::opens_at.asc(), voting_rounds::id.asc()))
        .select(VotingRoundRow::as_select())
        .load(conn)?)
}

pub fn insert_round(conn: &mut DbConnection, r: &VotingRoundRow) -> Result<(), AppError> {
    diesel::insert_into(voting_rounds::table)
        .values(r)
        .execute(conn)?;
    Ok(())
}

pub fn update_round(conn: &mut DbConnection, r: &VotingRoundRow) -> Result<(), AppError> {
    diesel::update(voting_rounds::table.find(&r.id))
        .set(r)
        .execute(conn)?;
    Ok(())
}

pub fn entries_of(
    conn: &mut DbConnection,
    round_id: &str,
) -> Result<Vec<VotingEntryRow>, AppError> {
    Ok(voting_round_entries::table
        .filter(voting_round_entries::round_id.eq(round_id))
        .order(voting_round_entries::position.asc())
        .select(VotingEntryRow::as_select())
        .load(conn)?)
}

pub fn set_entries(
    conn: &mut DbConnection,
    round_id: &str,
    ids: &[String],
) -> Result<(), AppError> {
    diesel::delete(voting_round_entries::table.filter(voting_round_entries::round_id.eq(round_id)))
        .execute(conn)?;
    let rows: Vec<VotingEntryRow> = ids
        .iter()
        .enumerate()
        .map(|(i, e)| VotingEntryRow {
            round_id: round_id.to_string(),
            entry_id: e.clone(),
            position: i as i32,
        })
        .collect();
    for chunk in rows.chunks(500) {
        on_backend!(conn, |c| diesel::insert_into(voting_round_entries::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

pub fn has_votes(conn: &mut DbConnection, round_id: &str) -> Result<bool, AppError> {
    Ok(votes::table
        .filter(votes::round_id.eq(round_id))
        .select(votes::id)
        .first::<i64>(conn)
        .optional()?
        .is_some())
}

pub fn tallies_of(conn: &mut DbConnection, round_id: &str) -> Result<Vec<TallyRow>, AppError> {
    Ok(vote_tallies::table
        .filter(vote_tallies::round_id.eq(round_id))
        .select(TallyRow::as_select())
        .load(conn)?)
}

/// Add to an entry's tally (deltas may be negative when a review moves votes).
pub fn tally_add(
    conn: &mut DbConnection,
    round: &str,
    entry: &str,
    counted: i64,
    quarantined: i64,
    invalidated: i64,
) -> Result<(), AppError> {
    tallies_add(
        conn,
        &[TallyRow {
            round_id: round.to_string(),
            entry_id: entry.to_string(),
            counted,
            quarantined,
            invalidated,
        }],
    )
}

/// Add to several tallies with one statement (the rows must name distinct entries).
pub fn tallies_add(conn: &mut DbConnection, rows: &[TallyRow]) -> Result<(), AppError> {
    use vote_tallies::dsl as t;
    if rows.is_empty() {
        return Ok(());
    }
    on_backend!(conn, |c| diesel::insert_into(t::vote_tallies)
        .values(rows)
        .on_conflict((t::round_id, t::entry_id))
        .do_update()
        .set((
            t::counted.eq(t::counted + excluded(t::counted)),
            t::quarantined.eq(t::quarantined + excluded(t::quarantined)),
            t::invalidated.eq(t::invalidated + excluded(t::invalidated)),
        ))
        .execute(c))?;
    Ok(())
}

/// Replace a round's tallies (after a recomputation).
pub fn replace_tallies(
    conn: &mut DbConnection,
    round: &str,
    rows: &[TallyRow],
) -> Result<(), AppError> {
    diesel::delete(vote_tallies::table.filter(vote_tallies::round_id.eq(round))).execute(conn)?;
    for chunk in rows.chunks(500) {
        on_backend!(conn, |c| diesel::insert_into(vote_tallies::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Insert votes, skipping any that break a uniqueness rule; the ids of those inserted,
/// with their voter and idempotency key.
pub fn insert_votes(
    conn: &mut DbConnection,
    rows: &[NewVote],
) -> Result<Vec<(i64, String, String)>, AppError> {
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(500) {
        let got: Vec<(i64, String, String)> =
            on_backend!(conn, |c| diesel::insert_into(votes::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .returning((votes::id, votes::voter_id, votes::idempotency_key))
                .get_results(c))?;
        out.extend(got);
    }
    Ok(out)
}

/// Votes already recorded under any of these idempotency keys of these voters.
pub fn votes_by_keys(
    conn: &mut DbConnection,
    voters: &[String],
    keys: &[String],
) -> Result<Vec<VoteRow>, AppError> {
    Ok(votes::table
        .filter(votes::voter_id.eq_any(voters))
        .filter(votes::idempotency_key.eq_any(keys))
        .select(VoteRow::as_select())
        .load(conn)?)
}

pub fn spent_pow_ids(conn: &mut DbConnection, ids: &[String]) -> Result<Vec<String>, AppError> {
    Ok(votes::table
        .filter(votes::pow_id.eq_any(ids))
        .select(votes::pow_id)
        .load(conn)?)
}

/// Per voter: (entry, day, votes) in a round.
pub fn usage(
    conn: &mut DbConnection,
    round: &str,
    voters: &[String],
) -> Result<Vec<(String, String, String, i64)>, AppError> {
    Ok(votes::table
        .filter(votes::round_id.eq(round))
        .filter(votes::voter_id.eq_any(voters))
        .group_by((votes::voter_id, votes::entry_id, votes::day))
        .select((votes::voter_id, votes::entry_id, votes::day, count_star()))
        .load(conn)?)
}

pub fn votes_of_round(
    conn: &mut DbConnection,
    round: &str,
    after_id: i64,
    limit: i64,
) -> Result<Vec<VoteRow>, AppError> {
    Ok(votes::table
        .filter(votes::round_id.eq(round))
        .filter(votes::id.gt(after_id))
        .order(votes::id.asc())
        .limit(limit)
        .select(VoteRow::as_select())
        .load(conn)?)
}

pub fn votes_by_ids(
    conn: &mut DbConnection,
    round: &str,
    ids: &[i64],
) -> Result<Vec<VoteRow>, AppError> {
    Ok(votes::table
        .filter(votes::round_id.eq(round))
        .filter(votes::id.eq_any(ids))
        .select(VoteRow::as_select())
        .load(conn)?)
}

pub fn votes_of_voter(
    conn: &mut DbConnection,
    round: &str,
    voter: &str,
) -> Result<Vec<VoteRow>, AppError> {
    Ok(votes::table
        .filter(votes::round_id.eq(round))
        .filter(votes::voter_id.eq(voter))
        .order(votes::id.asc())
        .select(VoteRow::as_select())
        .load(conn)?)
}

pub fn flags_of(conn: &mut DbConnection, round: &str) -> Result<HashMap<i64, FlagRow>, AppError> {
    Ok(vote_flags::table
        .filter(vote_flags::round_id.eq(round))
        .select(FlagRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|f| (f.vote_id, f))
        .collect())
}

pub fn flags_by_status(
    conn: &mut DbConnection,
    round: &str,
    status: &str,
) -> Result<Vec<FlagRow>, AppError> {
    Ok(vote_flags::table
        .filter(vote_flags::round_id.eq(round))
        .filter(vote_flags::status.eq(status))
        .order(vote_flags::vote_id.asc())
        .select(FlagRow::as_select())
        .load(conn)?)
}

pub fn put_flag(conn: &mut DbConnection, f: &FlagRow) -> Result<(), AppError> {
    use vote_flags::dsl as t;
    on_backend!(conn, |c| diesel::insert_into(t::vote_flags)
        .values(f)
        .on_conflict(t::vote_id)
        .do_update()
        .set((
            t::status.eq(excluded(t::status)),
            t::rule.eq(excluded(t::rule)),
            t::reviewed.eq(excluded(t::reviewed)),
            t::updated_at.eq(excluded(t::updated_at)),
        ))
        .execute(c))?;
    Ok(())
}

pub fn insert_flags(conn: &mut DbConnection, rows: &[FlagRow]) -> Result<(), AppError> {
    for chunk in rows.chunks(500) {
        on_backend!(conn, |c| diesel::insert_into(vote_flags::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

pub fn delete_flags(conn: &mut DbConnection, round: &str) -> Result<(), AppError> {
    diesel::delete(vote_flags::table.filter(vote_flags::round_id.eq(round))).execute(conn)?;
    Ok(())
}

pub fn insert_reviews(conn: &mut DbConnection, rows: &[NewReview]) -> Result<(), AppError> {
    for chunk in rows.chunks(500) {
        on_backend!(conn, |c| diesel::insert_into(vote_reviews::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

pub fn reviews_of(conn: &mut DbConnection, round: &str) -> Result<Vec<ReviewRow>, AppError> {
    Ok(vote_reviews::table
        .filter(vote_reviews::round_id.eq(round))
        .order(vote_reviews::id.asc())
        .select(ReviewRow::as_select())
        .load(conn)?)
}

pub fn mark_audited(
    conn: &mut DbConnection,
    round: &str,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(voting_rounds::table.find(round))
        .set(voting_rounds::audited_at.eq(Some(at)))
        .execute(conn)?;
    Ok(())
}

/// Rounds whose window is open or closed within the last day (for the periodic audit).
pub fn rounds_to_audit(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> Result<Vec<VotingRoundRow>, AppError> {
    Ok(voting_rounds::table
        .filter(voting_rounds::opens_at.le(now))
        .filter(voting_rounds::closes_at.gt(now - chrono::Duration::days(1)))
        .select(VotingRoundRow::as_select())
        .load(conn)?)
}
