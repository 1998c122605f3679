//! The statements that must differ between PostgreSQL and SQLite, behind one small
//! set of functions. Everything else goes through the portable diesel DSL.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};

use super::DbConnection;
use super::schema::jobs;

/// Atomically lease the next runnable job (due and queued, or running with an
/// expired lease) and return its id.
///
/// PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED` then `UPDATE` in one transaction,
/// so concurrent workers never wait on each other or take the same job.
/// SQLite: one `UPDATE … WHERE id = (SELECT …) RETURNING id`; SQLite runs a write
/// statement under the database write lock, so it is atomic.
pub fn claim_job_id(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    worker: &str,
) -> QueryResult<Option<i64>> {
    let claimable = jobs::status
        .eq("queued")
        .and(jobs::run_at.le(now))
        .or(jobs::status.eq("running").and(jobs::locked_until.lt(now)));
    match conn {
        DbConnection::Pg(c) => c.transaction(|c| {
            let id: Option<i64> = jobs::table
                .select(jobs::id)
                .filter(claimable)
                .order((jobs::run_at.asc(), jobs::id.asc()))
                .limit(1)
                .for_update()
                .skip_locked()
                .first(c)
                .optional()?;
            let Some(id) = id else { return Ok(None) };
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
            let row: Option<ClaimedId> = diesel::sql_query(
                "UPDATE jobs SET status = 'running', locked_by = ?, locked_until = ?, \
                 attempts = attempts + 1, updated_at = ? \
                 WHERE id = (SELECT id FROM jobs \
                   WHERE (status = 'queued' AND run_at <= ?) OR (status = 'running' AND locked_until < ?) \
                   ORDER BY run_at, id LIMIT 1) \
                 RETURNING id",
            )
            .bind::<Text, _>(worker)
            .bind::<Timestamp, _>(lease_until)
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(now)
            .get_result(c)
            .optional()?;
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
