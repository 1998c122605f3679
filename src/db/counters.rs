//! Shared counters for rate limits: one row per bucket and window, incremented with an
//! upsert (the statement differs in nothing but must run on the concrete connection,
//! because diesel's `on_conflict` does not compile through the multi-backend type).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamp};

use super::DbConnection;

#[derive(QueryableByName)]
struct Hits {
    #[diesel(sql_type = Integer)]
    hits: i32,
}

const UPSERT: &str = "INSERT INTO rate_counters (bucket, window_start, hits) VALUES ($1, $2, 1) \
     ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_counters.hits + 1 RETURNING hits";

/// Count one hit in `bucket` for the window starting at `window_start`; returns the
/// hits so far in that window, this one included.
pub fn hit(conn: &mut DbConnection, bucket: &str, window_start: NaiveDateTime) -> QueryResult<i32> {
    let row: Hits = match conn {
        DbConnection::Pg(c) => diesel::sql_query(UPSERT)
            .bind::<Text, _>(bucket)
            .bind::<Timestamp, _>(window_start)
            .get_result(c)?,
        DbConnection::Sqlite(c) => diesel::sql_query(UPSERT.replace("$1", "?").replace("$2", "?"))
            .bind::<Text, _>(bucket)
            .bind::<Timestamp, _>(window_start)
            .get_result(c)?,
    };
    Ok(row.hits)
}

/// Forget windows that started before `before`.
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    use super::schema::rate_counters::dsl::*;
    diesel::delete(rate_counters.filter(window_start.lt(before))).execute(conn)
}
