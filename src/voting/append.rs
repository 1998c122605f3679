//! Appending a batch of votes: one statement per batch on PostgreSQL (data-modifying
//! CTEs over arrays, prepared once per connection), a transaction of four on SQLite.
//! The hot path of a live show (see `writer`).

use std::collections::HashMap;

use diesel::prelude::*;

use super::model::*;
use super::store::{insert_flags, insert_reviews, tallies_add};
use crate::db::DbConnection;
use crate::db::on_backend;
use crate::db::schema::votes;
use crate::error::AppError;

/// Append votes with everything that goes with them, atomically: the tallies (in tally
/// shard `shard`: the writer's own, so writers committing at once never wait for each
/// other's tally rows), and for a vote held when cast its flag and its review record.
/// Rows that break a uniqueness rule are skipped. Returns (id, voter, idempotency key)
/// of the rows added.
///
/// On PostgreSQL this is one statement (data-modifying CTEs over `unnest` arrays), so a
/// batch costs one round trip and one plan, prepared once per connection; outside a
/// transaction it commits by itself. On SQLite it is a (nested) transaction of four.
pub fn append_votes(
    conn: &mut DbConnection,
    rows: &[NewVote],
    shard: i32,
) -> Result<Appended, AppError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    match conn {
        DbConnection::Pg(c) => Ok(pg_append::run::<pg_append::Skipping>(
            c,
            &in_lock_order(rows),
            shard,
        )?),
        DbConnection::Sqlite(_) => conn.transaction(|conn| {
            let mut out: Vec<(i64, String, String)> = Vec::with_capacity(rows.len());
            for chunk in rows.chunks(500) {
                let got: Vec<(i64, String, String)> =
                    on_backend!(conn, |c| diesel::insert_into(votes::table)
                        .values(chunk)
                        .on_conflict_do_nothing()
                        .returning((votes::id, votes::voter_id, votes::idempotency_key))
                        .get_results(c))?;
                out.extend(got);
            }
            let ids: HashMap<(&str, &str), i64> = out
                .iter()
                .map(|(id, v, k)| ((v.as_str(), k.as_str()), *id))
                .collect();
            let mut deltas: std::collections::BTreeMap<(&str, &str), (i64, i64)> =
                Default::default();
            let mut flags = Vec::new();
            let mut reviews = Vec::new();
            for row in rows {
                let Some(&id) = ids.get(&(row.voter_id.as_str(), row.idempotency_key.as_str()))
                else {
                    continue;
                };
                let d = deltas
                    .entry((row.round_id.as_str(), row.entry_id.as_str()))
                    .or_default();
                if row.initial_status == super::domain::COUNTED {
                    d.0 += 1;
                    continue;
                }
                d.1 += 1;
                flags.push(FlagRow {
                    vote_id: id,
                    round_id: row.round_id.clone(),
                    status: super::domain::QUARANTINED.into(),
                    rule: row.initial_rule.clone(),
                    reviewed: false,
                    updated_at: row.cast_at,
                });
                reviews.push(NewReview {
                    vote_id: id,
                    round_id: row.round_id.clone(),
                    action: super::domain::QUARANTINE.into(),
                    rule: row.initial_rule.clone(),
                    reason: AUTOMATIC_REASON.into(),
                    actor_id: None,
                    at: row.cast_at,
                });
            }
            let deltas: Vec<TallyRow> = deltas
                .into_iter()
                .map(|((round, entry), (counted, quarantined))| TallyRow {
                    round_id: round.to_string(),
                    entry_id: entry.to_string(),
                    counted,
                    quarantined,
                    invalidated: 0,
                })
                .collect();
            tallies_add(conn, &deltas)?;
            insert_flags(conn, &flags)?;
            insert_reviews(conn, &reviews)?;
            Ok(out)
        }),
    }
}

/// (id, voter, idempotency key) of each row appended.
pub type Appended = Vec<(i64, String, String)>;

/// The group-commit writer's fast path: append votes that are expected to break no
/// uniqueness rule (slots numbered from memory, keys and proofs of work not seen before),
/// all or nothing. `Ok(None)`: one of them broke a rule and nothing was written — the
/// caller appends them with [`append_votes`], which skips such rows. On PostgreSQL an
/// ordinary insert costs about half what one that may skip rows does (no speculative
/// insertion into each of the five unique indexes); on SQLite both are the same.
pub fn append_new_votes(
    conn: &mut DbConnection,
    rows: &[NewVote],
    shard: i32,
) -> Result<Option<Appended>, AppError> {
    let DbConnection::Pg(c) = conn else {
        return append_votes(conn, rows, shard).map(Some);
    };
    if rows.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let sorted = in_lock_order(rows);
    // One statement commits by itself, all or nothing; more than one needs a transaction
    // to be.
    let result = if sorted.len() <= pg_append::CHUNK {
        pg_append::run::<pg_append::Strict>(c, &sorted, shard)
    } else {
        c.transaction(|c| pg_append::run::<pg_append::Strict>(c, &sorted, shard))
    };
    match result {
        Ok(out) => Ok(Some(out)),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// In one order everywhere, so two writers appending votes of the same voters take the
/// unique indexes' locks in the same order and never deadlock (which PostgreSQL would
/// only notice after `deadlock_timeout`, a second).
fn in_lock_order(rows: &[NewVote]) -> Vec<&NewVote> {
    let mut sorted: Vec<&NewVote> = rows.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.round_id, &a.voter_id, a.slot, &a.idempotency_key).cmp(&(
            &b.round_id,
            &b.voter_id,
            b.slot,
            &b.idempotency_key,
        ))
    });
    sorted
}

/// The reason recorded for a vote held by a rule as it was cast.
pub const AUTOMATIC_REASON: &str = "automatic, when cast";

/// PostgreSQL's one-statement append. Written as a query fragment of its own (not
/// `sql_query`, which diesel never caches) so the statement is prepared once per
/// connection, whatever the batch's size.
mod pg_append {
    use std::sync::LazyLock;

    use chrono::NaiveDateTime;
    use diesel::pg::{Pg, PgConnection};
    use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
    use diesel::sql_types::{Array, BigInt, Int4, Int8, Nullable, Text, Timestamp};
    use diesel::{QueryResult, RunQueryDsl};

    use super::super::domain::{COUNTED, QUARANTINE, QUARANTINED};
    use super::super::model::NewVote;

    /// The statement, cut where its seventeen parameters go (sixteen arrays and the
    /// tally shard). `conflicts`: the text
    /// that says what a row breaking a uniqueness rule does.
    fn parts(conflicts: &str) -> Vec<String> {
        let sql = format!(
            "WITH ins AS ( \
               INSERT INTO votes (round_id, voter_id, entry_id, cast_at, day, slot, entry_slot, \
                 day_slot, idempotency_key, pow_id, pow_cost, network, ua_hash, account_age_secs, \
                 initial_status, initial_rule) \
               SELECT r, v, e, c, d, s, es, ds, k, p, pc, n, u, a, st, ru \
               FROM unnest(?::text[], ?::text[], ?::text[], ?::timestamp[], ?::text[], \
                 ?::int4[], ?::int4[], ?::int4[], ?::text[], ?::text[], ?::int4[], ?::text[], \
                 ?::text[], ?::int8[], ?::text[], ?::text[]) WITH ORDINALITY \
                 AS x (r, v, e, c, d, s, es, ds, k, p, pc, n, u, a, st, ru, i) \
               ORDER BY i \
               {conflicts} \
               RETURNING id, round_id, voter_id, entry_id, idempotency_key, cast_at, \
                 initial_status, initial_rule), \
             tallies AS ( \
               INSERT INTO vote_tallies (round_id, entry_id, shard, counted, quarantined, \
                 invalidated) \
               SELECT round_id, entry_id, ?::int4, \
                 count(*) FILTER (WHERE initial_status = '{COUNTED}'), \
                 count(*) FILTER (WHERE initial_status <> '{COUNTED}'), 0 \
               FROM ins GROUP BY round_id, entry_id ORDER BY round_id, entry_id \
               ON CONFLICT (round_id, entry_id, shard) DO UPDATE SET \
                 counted = vote_tallies.counted + excluded.counted, \
                 quarantined = vote_tallies.quarantined + excluded.quarantined), \
             flags AS ( \
               INSERT INTO vote_flags (vote_id, round_id, status, rule, reviewed, updated_at) \
               SELECT id, round_id, '{QUARANTINED}', initial_rule, FALSE, cast_at \
               FROM ins WHERE initial_status <> '{COUNTED}'), \
             reviews AS ( \
               INSERT INTO vote_reviews (vote_id, round_id, action, rule, reason, actor_id, at) \
               SELECT id, round_id, '{QUARANTINE}', initial_rule, '{reason}', NULL, cast_at \
               FROM ins WHERE initial_status <> '{COUNTED}' ORDER BY id) \
             SELECT id, voter_id, idempotency_key FROM ins",
            reason = super::AUTOMATIC_REASON,
        );
        sql.split('?').map(str::to_string).collect()
    }

    /// Rows that break a uniqueness rule are skipped (every unique index is an arbiter:
    /// PostgreSQL checks each before inserting, a speculative insertion per row).
    pub struct Skipping;
    /// A row that breaks a uniqueness rule fails the statement, and nothing is written:
    /// an ordinary insert, about half the cost per row of `Skipping`'s.
    pub struct Strict;

    pub trait Mode: 'static {
        fn parts() -> &'static [String];
    }
    impl Mode for Skipping {
        fn parts() -> &'static [String] {
            static P: LazyLock<Vec<String>> = LazyLock::new(|| parts("ON CONFLICT DO NOTHING"));
            &P
        }
    }
    impl Mode for Strict {
        fn parts() -> &'static [String] {
            static P: LazyLock<Vec<String>> = LazyLock::new(|| parts(""));
            &P
        }
    }

    /// Rows per statement.
    pub const CHUNK: usize = 5000;

    /// Append `rows` (in lock order) with statements of mode `M`, `CHUNK` rows each.
    pub fn run<M: Mode>(
        c: &mut PgConnection,
        rows: &[&NewVote],
        shard: i32,
    ) -> QueryResult<super::Appended> {
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(CHUNK) {
            out.extend(AppendVotes::<M>::new(chunk, shard).load::<(i64, String, String)>(c)?);
        }
        Ok(out)
    }

    pub struct AppendVotes<M> {
        mode: std::marker::PhantomData<M>,
        round: Vec<String>,
        voter: Vec<String>,
        entry: Vec<String>,
        cast_at: Vec<NaiveDateTime>,
        day: Vec<String>,
        slot: Vec<i32>,
        entry_slot: Vec<i32>,
        day_slot: Vec<i32>,
        key: Vec<String>,
        pow_id: Vec<String>,
        pow_cost: Vec<i32>,
        network: Vec<String>,
        ua_hash: Vec<String>,
        age: Vec<i64>,
        status: Vec<String>,
        rule: Vec<Option<String>>,
        shard: i32,
    }

    impl<M> AppendVotes<M> {
        pub fn new(rows: &[&NewVote], shard: i32) -> AppendVotes<M> {
            macro_rules! col {
                ($f:ident) => {
                    rows.iter().map(|r| r.$f.clone()).collect()
                };
            }
            AppendVotes {
                mode: std::marker::PhantomData,
                round: col!(round_id),
                voter: col!(voter_id),
                entry: col!(entry_id),
                cast_at: col!(cast_at),
                day: col!(day),
                slot: col!(slot),
                entry_slot: col!(entry_slot),
                day_slot: col!(day_slot),
                key: col!(idempotency_key),
                pow_id: col!(pow_id),
                pow_cost: col!(pow_cost),
                network: col!(network),
                ua_hash: col!(ua_hash),
                age: col!(account_age_secs),
                status: col!(initial_status),
                rule: col!(initial_rule),
                shard,
            }
        }
    }

    // One prepared statement per mode (the static query id is the type).
    impl<M: Mode> QueryId for AppendVotes<M> {
        type QueryId = AppendVotes<M>;
        const HAS_STATIC_QUERY_ID: bool = true;
    }

    impl<M: Mode> Query for AppendVotes<M> {
        type SqlType = (BigInt, Text, Text);
    }

    impl<M: Mode> QueryFragment<Pg> for AppendVotes<M> {
        fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
            let p = M::parts();
            out.push_sql(&p[0]);
            out.push_bind_param::<Array<Text>, _>(&self.round)?;
            out.push_sql(&p[1]);
            out.push_bind_param::<Array<Text>, _>(&self.voter)?;
            out.push_sql(&p[2]);
            out.push_bind_param::<Array<Text>, _>(&self.entry)?;
            out.push_sql(&p[3]);
            out.push_bind_param::<Array<Timestamp>, _>(&self.cast_at)?;
            out.push_sql(&p[4]);
            out.push_bind_param::<Array<Text>, _>(&self.day)?;
            out.push_sql(&p[5]);
            out.push_bind_param::<Array<Int4>, _>(&self.slot)?;
            out.push_sql(&p[6]);
            out.push_bind_param::<Array<Int4>, _>(&self.entry_slot)?;
            out.push_sql(&p[7]);
            out.push_bind_param::<Array<Int4>, _>(&self.day_slot)?;
            out.push_sql(&p[8]);
            out.push_bind_param::<Array<Text>, _>(&self.key)?;
            out.push_sql(&p[9]);
            out.push_bind_param::<Array<Text>, _>(&self.pow_id)?;
            out.push_sql(&p[10]);
            out.push_bind_param::<Array<Int4>, _>(&self.pow_cost)?;
            out.push_sql(&p[11]);
            out.push_bind_param::<Array<Text>, _>(&self.network)?;
            out.push_sql(&p[12]);
            out.push_bind_param::<Array<Text>, _>(&self.ua_hash)?;
            out.push_sql(&p[13]);
            out.push_bind_param::<Array<Int8>, _>(&self.age)?;
            out.push_sql(&p[14]);
            out.push_bind_param::<Array<Text>, _>(&self.status)?;
            out.push_sql(&p[15]);
            out.push_bind_param::<Array<Nullable<Text>>, _>(&self.rule)?;
            out.push_sql(&p[16]);
            out.push_bind_param::<Int4, _>(&self.shard)?;
            out.push_sql(&p[17]);
            Ok(())
        }
    }

    impl<M: Mode> RunQueryDsl<PgConnection> for AppendVotes<M> {}

    #[cfg(test)]
    mod tests {
        use super::Mode;

        #[test]
        fn the_statement_has_seventeen_parameters() {
            assert_eq!(super::Skipping::parts().len(), 18);
            assert_eq!(super::Strict::parts().len(), 18);
            assert!(
                super::Skipping::parts()
                    .concat()
                    .contains("ON CONFLICT DO NOTHING")
            );
            assert!(
                !super::Strict::parts()
                    .concat()
                    .contains("ON CONFLICT DO NOTHING")
            );
        }
    }
}
