//! The statements that must differ between PostgreSQL and SQLite, behind one small
//! set of functions. Everything else goes through the portable diesel DSL.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};

use super::DbConnection;
use super::schema::jobs;

/// The lane of analyses whose header says they are expensive: at most
/// `jobs.heavy_concurrency` run at once, so ordinary jobs always find a worker.
pub const HEAVY_LANE: &str = "heavy";

/// Atomically lease the next runnable job (due and queued, or running with an
/// expired lease) and return its id. Jobs outside a lane come first; a `heavy` job
/// is taken only while fewer than `heavy_limit` heavy jobs run; a job with a
/// concurrency key is taken only while no other job with that key runs (one
/// musician's analyses run one at a time).
///
/// PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED` then `UPDATE` in one transaction,
/// so concurrent workers never wait on each other or take the same job (two workers
/// claiming at the same instant may each start one job of the same key).
/// SQLite: one `UPDATE … WHERE id = (SELECT …) RETURNING id`; SQLite runs a write
/// statement under the database write lock, so it is atomic.
pub fn claim_job_id(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    worker: &str,
    heavy_limit: i64,
) -> QueryResult<Option<i64>> {
    if let Some(id) = claim_in(conn, now, lease_until, worker, None)? {
        return Ok(Some(id));
    }
    if heavy_limit > 0 {
        return claim_in(conn, now, lease_until, worker, Some(heavy_limit));
    }
    Ok(None)
}

/// One claim: outside any lane (`heavy_limit` None) or in the heavy lane.
fn claim_in(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    worker: &str,
    heavy_limit: Option<i64>,
) -> QueryResult<Option<i64>> {
    let lane = if heavy_limit.is_some() {
        "j.lane = 'heavy' AND (SELECT COUNT(*) FROM jobs h WHERE h.lane = 'heavy' \
           AND h.status = 'running' AND h.locked_until >= $3 AND h.id <> j.id) < $4"
    } else {
        "j.lane IS NULL AND CAST($4 AS BIGINT) >= 0"
    };
    let pick = format!(
        "SELECT j.id FROM jobs j \
         WHERE ((j.status = 'queued' AND j.run_at <= $1) OR (j.status = 'running' AND j.locked_until < $2)) \
           AND {lane} \
           AND (j.concurrency_key IS NULL OR NOT EXISTS (SELECT 1 FROM jobs r \
                WHERE r.concurrency_key = j.concurrency_key AND r.status = 'running' \
                  AND r.locked_until >= $3 AND r.id <> j.id)) \
         ORDER BY j.run_at, j.id LIMIT 1"
    );
    let limit = heavy_limit.unwrap_or(0);
    match conn {
        DbConnection::Pg(c) => c.transaction(|c| {
            let row: Option<ClaimedId> =
                diesel::sql_query(format!("{pick} FOR UPDATE OF j SKIP LOCKED"))
                    .bind::<Timestamp, _>(now)
                    .bind::<Timestamp, _>(now)
                    .bind::<Timestamp, _>(now)
                    .bind::<BigInt, _>(limit)
                    .get_result(c)
                    .optional()?;
            let Some(id) = row.map(|r| r.id) else {
                return Ok(None);
            };
            diesel::update(jobs::table.find(id))
                .set((
                    jobs::status.eq("running"),
                    jobs::locked_by.eq(worker),
                    jobs::locked_until.eq(lease_until),
                    jobs::attempts.eq(jobs::attempts + 1),
                    jobs::updated_at.eq(now),
                ))
                .execute(c)?;
            Ok(Some(id))
        }),
        DbConnection::Sqlite(c) => {
            // SQLite reads `$5` as a named parameter (numbered by first appearance):
            // plain `?` placeholders instead, bound in the order they appear.
            let sql = format!(
                "UPDATE jobs SET status = 'running', locked_by = $5, locked_until = $6, \
                 attempts = attempts + 1, updated_at = $7 \
                 WHERE id = ({pick}) RETURNING id"
            );
            let mut text = String::with_capacity(sql.len());
            let mut order = Vec::new();
            let mut chars = sql.chars().peekable();
            while let Some(ch) = chars.next() {
                match (ch, chars.peek().copied()) {
                    ('$', Some(d)) if d.is_ascii_digit() => {
                        order.push(d);
                        chars.next();
                        text.push('?');
                    }
                    _ => text.push(ch),
                }
            }
            let mut q = diesel::sql_query(text).into_boxed::<diesel::sqlite::Sqlite>();
            for n in order {
                q = match n {
                    '4' => q.bind::<BigInt, _>(limit),
                    '5' => q.bind::<Text, _>(worker.to_string()),
                    '6' => q.bind::<Timestamp, _>(lease_until),
                    _ => q.bind::<Timestamp, _>(now),
                };
            }
            let row: Option<ClaimedId> = q.get_result(c).optional()?;
            Ok(row.map(|r| r.id))
        }
    }
}

#[derive(QueryableByName)]
struct ClaimedId {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct ColumnInfo {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Integer)]
    not_null: i32,
    #[diesel(sql_type = Text)]
    data_type: String,
}

fn type_class(raw: &str) -> String {
    let t = raw.to_ascii_lowercase();
    if t.contains("int") || t.contains("serial") {
        "integer".into()
    } else if t.contains("char") || t == "text" {
        "text".into()
    } else if t.starts_with("timestamp") || t == "datetime" {
        "timestamp".into()
    } else if t.starts_with("bool") {
        "boolean".into()
    } else if t.contains("double") || t.contains("real") || t.contains("float") {
        "float".into()
    } else {
        t
    }
}

/// `(table, column, nullable, type class)` for every column of our tables, sorted.
pub fn describe_schema(
    conn: &mut DbConnection,
) -> anyhow::Result<Vec<(String, String, bool, String)>> {
    let rows: Vec<ColumnInfo> = match conn {
        DbConnection::Pg(c) => diesel::sql_query(
            "SELECT table_name::text AS table_name, column_name::text AS column_name, \
             CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END AS not_null, \
             data_type::text AS data_type \
             FROM information_schema.columns WHERE table_schema = current_schema()",
        )
        .load(c)?,
        DbConnection::Sqlite(c) => diesel::sql_query(
            "SELECT m.name AS table_name, p.name AS column_name, \
             CASE WHEN p.\"notnull\" = 1 OR p.pk > 0 THEN 1 ELSE 0 END AS not_null, \
             p.type AS data_type \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
        )
        .load(c)?,
    };
    let mut out: Vec<_> = rows
        .into_iter()
        .filter(|r| !r.table_name.starts_with("__diesel"))
        .map(|r| {
            (
                r.table_name,
                r.column_name,
                r.not_null == 0,
                type_class(&r.data_type),
            )
        })
        .collect();
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::type_class;

    #[test]
    fn the_claim_takes_queued_jobs_on_sqlite() {
        use diesel::Connection;
        let mut conn = super::DbConnection::establish(":memory:").unwrap();
        super::super::run_migrations(&mut conn).unwrap();
        let now = chrono::Utc::now().naive_utc();
        let id =
            crate::jobs::store::enqueue(&mut conn, "x", &serde_json::json!({}), now, None).unwrap();
        let later = now + chrono::Duration::seconds(1);
        let got = super::claim_job_id(
            &mut conn,
            later,
            later + chrono::Duration::minutes(5),
            "w",
            1,
        )
        .unwrap();
        assert_eq!(got, Some(id));
    }

    #[test]
    fn type_classes_fold_backend_spellings() {
        assert_eq!(type_class("bigint"), "integer");
        assert_eq!(type_class("INTEGER"), "integer");
        assert_eq!(type_class("timestamp without time zone"), "timestamp");
        assert_eq!(type_class("TIMESTAMP"), "timestamp");
        assert_eq!(type_class("character varying"), "text");
        assert_eq!(type_class("TEXT"), "text");
        assert_eq!(type_class("boolean"), "boolean");
    }
}
