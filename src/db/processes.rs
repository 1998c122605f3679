//! The `server_processes` table: one row per running `serve` or `worker` process,
//! renewed by its heartbeat (`crate::processes`).

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConnection;
use crate::db::schema::server_processes;
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Insertable, Selectable, Serialize)]
#[diesel(table_name = server_processes)]
pub struct ProcessRow {
    pub id: String,
    pub kind: String,
    pub host: String,
    pub pid: i32,
    pub version: String,
    pub started_at: NaiveDateTime,
    pub seen_at: NaiveDateTime,
}

use crate::time::now;

/// Renew `row`'s `seen_at` (inserting it the first time).
pub fn beat(conn: &mut DbConnection, row: &ProcessRow) -> Result<(), AppError> {
    let t = now();
    let updated = diesel::update(server_processes::table.find(&row.id))
        .set(server_processes::seen_at.eq(t))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(server_processes::table)
            .values(ProcessRow {
                seen_at: t,
                ..row.clone()
            })
            .execute(conn)?;
    }
    Ok(())
}

/// Processes of `kind` seen within `live_for`.
pub fn live(
    conn: &mut DbConnection,
    kind: Option<&str>,
    live_for: Duration,
) -> Result<Vec<ProcessRow>, AppError> {
    let since = now() - chrono::Duration::from_std(live_for).unwrap_or_default();
    let mut q = server_processes::table
        .filter(server_processes::seen_at.ge(since))
        .order(server_processes::started_at)
        .select(ProcessRow::as_select())
        .into_boxed();
    if let Some(k) = kind {
        q = q.filter(server_processes::kind.eq(k.to_string()));
    }
    Ok(q.load(conn)?)
}

/// Remove the rows of processes not seen since `before`.
pub fn forget_older_than(
    conn: &mut DbConnection,
    before: NaiveDateTime,
) -> Result<usize, AppError> {
    Ok(
        diesel::delete(server_processes::table.filter(server_processes::seen_at.lt(before)))
            .execute(conn)?,
    )
}

/// Remove one process's row (it is stopping).
pub fn remove(conn: &mut DbConnection, id: &str) -> Result<usize, AppError> {
    Ok(diesel::delete(server_processes::table.find(id)).execute(conn)?)
}
