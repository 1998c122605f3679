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
    vote_flags, vote_patterns, vote_reviews, vote_tallies, votes, voting_round_entries,
    voting_rounds,
};
use crate::error::AppError;

use crate::db::on_backend;

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

/// Every voting round's id, in order.
pub fn round_ids(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    Ok(voting_rounds::table
        .select(voting_rounds::id)
        .order(voting_rounds::id)
        .load(conn)?)
}

/// A round's tallies, one per entry (in entry id order): each the sum of its shards (one
/// per group-commit writer that added to it, and shard 0 for reviews and recounts).
pub fn tallies_of(conn: &mut DbConnection, round_id: &str) -> Result<Vec<TallyRow>, AppError> {
    let shards: Vec<TallyRow> = vote_tallies::table
        .filter(vote_tallies::round_id.eq(round_id))
        .select(TallyRow::as_select())
        .load(conn)?;
    Ok(fold_shards(shards))
}

/// One tally per (round, entry): the shards' counts added up.
fn fold_shards(shards: Vec<TallyRow>) -> Vec<TallyRow> {
    let mut folded: std::collections::BTreeMap<(String, String), TallyRow> = Default::default();
    for t in shards {
        match folded.entry((t.round_id.clone(), t.entry_id.clone())) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(t);
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                let f = o.get_mut();
                f.counted += t.counted;
                f.quarantined += t.quarantined;
                f.invalidated += t.invalidated;
            }
        }
    }
    folded.into_values().collect()
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

/// Add to several tallies with one statement (the rows must name distinct entries), in
/// shard 0.
pub fn tallies_add(conn: &mut DbConnection, rows: &[TallyRow]) -> Result<(), AppError> {
    use vote_tallies::dsl as t;
    if rows.is_empty() {
        return Ok(());
    }
    on_backend!(conn, |c| diesel::insert_into(t::vote_tallies)
        .values(rows)
        .on_conflict((t::round_id, t::entry_id, t::shard))
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

pub use super::append::{append_new_votes, append_votes};

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

/// Every vote a person cast, in every round (their data export).
pub fn all_votes_of(conn: &mut DbConnection, voter: &str) -> Result<Vec<VoteRow>, AppError> {
    Ok(votes::table
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

/// Insert or replace the status records of votes: 500 to a statement on PostgreSQL; one
/// at a time on SQLite (diesel has no multi-row upsert there, and SQLite statements in one
/// transaction are cheap).
pub fn put_flags(conn: &mut DbConnection, rows: &[FlagRow]) -> Result<(), AppError> {
    use vote_flags::dsl as t;
    let set = || {
        (
            t::status.eq(excluded(t::status)),
            t::rule.eq(excluded(t::rule)),
            t::reviewed.eq(excluded(t::reviewed)),
            t::updated_at.eq(excluded(t::updated_at)),
        )
    };
    match conn {
        DbConnection::Pg(c) => {
            for chunk in rows.chunks(500) {
                diesel::insert_into(t::vote_flags)
                    .values(chunk)
                    .on_conflict(t::vote_id)
                    .do_update()
                    .set(set())
                    .execute(c)?;
            }
        }
        DbConnection::Sqlite(c) => {
            for f in rows {
                diesel::insert_into(t::vote_flags)
                    .values(f)
                    .on_conflict(t::vote_id)
                    .do_update()
                    .set(set())
                    .execute(c)?;
            }
        }
    }
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

/// An id below every vote cast at or after `at` (of any round), found by bisection over
/// ids up to `hi`: ids follow cast times, to within a vote's wait for the writer.
pub fn id_before_cast(
    conn: &mut DbConnection,
    at: NaiveDateTime,
    hi: i64,
) -> Result<i64, AppError> {
    let (mut lo, mut hi) = (0i64, hi);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let next: Option<NaiveDateTime> = votes::table
            .filter(votes::id.ge(mid))
            .order(votes::id.asc())
            .select(votes::cast_at)
            .first(conn)
            .optional()?;
        match next {
            Some(t) if t < at => lo = mid,
            _ => hi = mid,
        }
    }
    Ok(lo)
}

/// (id, cast time, network) of a round's votes with ids in `(after, to]`, in id order.
pub fn network_times(
    conn: &mut DbConnection,
    round: &str,
    after: i64,
    to: i64,
    networks: &[&str],
    limit: i64,
) -> Result<Vec<(i64, NaiveDateTime, String)>, AppError> {
    Ok(votes::table
        .filter(votes::round_id.eq(round))
        .filter(votes::id.gt(after))
        .filter(votes::id.le(to))
        .filter(votes::network.eq_any(networks))
        .order(votes::id.asc())
        .limit(limit)
        .select((votes::id, votes::cast_at, votes::network))
        .load(conn)?)
}

/// Every vote of these voters in a round (through the per-voter unique index).
pub fn votes_of_voters(
    conn: &mut DbConnection,
    round: &str,
    voters: &[String],
) -> Result<Vec<VoteRow>, AppError> {
    let mut out = Vec::new();
    for chunk in voters.chunks(500) {
        out.extend(
            votes::table
                .filter(votes::round_id.eq(round))
                .filter(votes::voter_id.eq_any(chunk))
                .select(VoteRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// The status records of these votes.
pub fn flags_among(
    conn: &mut DbConnection,
    round: &str,
    ids: &[i64],
) -> Result<HashMap<i64, FlagRow>, AppError> {
    // By ranges of ids, not `vote_id IN (…)`: at the start of a live show the status
    // table's statistics say it is empty, and PostgreSQL then scans it comparing every row
    // with every listed id (the audit slowed down quadratically as quarantines piled up
    // within one run). A range is cheap whatever the plan.
    let mut sorted: Vec<i64> = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let wanted: std::collections::HashSet<i64> = sorted.iter().copied().collect();
    let mut out = HashMap::new();
    let mut start = 0;
    while start < sorted.len() {
        // A run of ids without a gap of more than 10,000 votes.
        let mut end = start + 1;
        while end < sorted.len() && sorted[end] - sorted[end - 1] <= 10_000 {
            end += 1;
        }
        for f in vote_flags::table
            .filter(vote_flags::round_id.eq(round))
            .filter(vote_flags::vote_id.ge(sorted[start]))
            .filter(vote_flags::vote_id.le(sorted[end - 1]))
            .select(FlagRow::as_select())
            .load(conn)?
        {
            if wanted.contains(&f.vote_id) {
                out.insert(f.vote_id, f);
            }
        }
        start = end;
    }
    Ok(out)
}

/// How far into the round's log the audit has looked.
pub fn audited_through(conn: &mut DbConnection, round: &str) -> Result<i64, AppError> {
    Ok(voting_rounds::table
        .find(round)
        .select(voting_rounds::audited_through)
        .first(conn)?)
}

/// Move the audit's mark from `from` to `to`; false if another auditor moved it first.
pub fn advance_audit(
    conn: &mut DbConnection,
    round: &str,
    from: i64,
    to: i64,
    at: NaiveDateTime,
) -> Result<bool, AppError> {
    let n = diesel::update(
        voting_rounds::table
            .filter(voting_rounds::id.eq(round))
            .filter(voting_rounds::audited_through.eq(from)),
    )
    .set((
        voting_rounds::audited_through.eq(to),
        voting_rounds::audited_at.eq(Some(at)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Start the audit of a round over from the first vote (its rules changed).
pub fn restart_audit(conn: &mut DbConnection, round: &str) -> Result<(), AppError> {
    diesel::update(voting_rounds::table.find(round))
        .set(voting_rounds::audited_through.eq(0i64))
        .execute(conn)?;
    diesel::delete(vote_patterns::table.filter(vote_patterns::round_id.eq(round))).execute(conn)?;
    Ok(())
}

/// Record these voters' current patterns (`None`: fewer than three votes).
pub fn set_patterns(
    conn: &mut DbConnection,
    round: &str,
    patterns: &[(String, Option<String>)],
) -> Result<(), AppError> {
    for chunk in patterns.chunks(500) {
        let voters: Vec<&str> = chunk.iter().map(|(v, _)| v.as_str()).collect();
        diesel::delete(
            vote_patterns::table
                .filter(vote_patterns::round_id.eq(round))
                .filter(vote_patterns::voter_id.eq_any(&voters)),
        )
        .execute(conn)?;
        let rows: Vec<_> = chunk
            .iter()
            .filter_map(|(v, p)| {
                p.as_ref().map(|p| {
                    (
                        vote_patterns::round_id.eq(round),
                        vote_patterns::voter_id.eq(v.as_str()),
                        vote_patterns::pattern.eq(p.as_str()),
                    )
                })
            })
            .collect();
        if !rows.is_empty() {
            on_backend!(conn, |c| diesel::insert_into(vote_patterns::table)
                .values(&rows)
                .execute(c))?;
        }
    }
    Ok(())
}

/// These voters' recorded patterns.
pub fn patterns_of(
    conn: &mut DbConnection,
    round: &str,
    voters: &[String],
) -> Result<HashMap<String, String>, AppError> {
    let mut out = HashMap::new();
    for chunk in voters.chunks(500) {
        out.extend(
            vote_patterns::table
                .filter(vote_patterns::round_id.eq(round))
                .filter(vote_patterns::voter_id.eq_any(chunk))
                .select((vote_patterns::voter_id, vote_patterns::pattern))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(out)
}

/// The voters who share each of these patterns.
pub fn voters_with_patterns(
    conn: &mut DbConnection,
    round: &str,
    patterns: &[String],
) -> Result<HashMap<String, Vec<String>>, AppError> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for chunk in patterns.chunks(500) {
        for (voter, pattern) in vote_patterns::table
            .filter(vote_patterns::round_id.eq(round))
            .filter(vote_patterns::pattern.eq_any(chunk))
            .select((vote_patterns::voter_id, vote_patterns::pattern))
            .load::<(String, String)>(conn)?
        {
            out.entry(pattern).or_default().push(voter);
        }
    }
    Ok(out)
}

/// Held votes nobody has reviewed yet, in a competition's voting rounds.
pub fn count_held(conn: &mut DbConnection, competition_id: &str) -> Result<i64, AppError> {
    Ok(vote_flags::table
        .inner_join(voting_rounds::table.on(voting_rounds::id.eq(vote_flags::round_id)))
        .filter(voting_rounds::competition_id.eq(competition_id))
        .filter(vote_flags::status.eq(super::domain::QUARANTINED))
        .filter(vote_flags::reviewed.eq(false))
        .count()
        .get_result(conn)?)
}

/// The ids of a competition's voting rounds.
pub fn round_ids_of(
    conn: &mut DbConnection,
    competition_id: &str,
) -> Result<Vec<String>, AppError> {
    Ok(voting_rounds::table
        .filter(voting_rounds::competition_id.eq(competition_id))
        .select(voting_rounds::id)
        .load(conn)?)
}
