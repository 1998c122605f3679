//! The audit log writer: one row per thing that happened (who, what, to what, details as
//! JSON, when). Every feature writes it in the transaction of the change it records, so
//! the log never says something happened that was rolled back. The audit feature reads
//! it (search, CSV); accounts exports and erases a person's lines.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::audit_log;
use crate::error::AppError;

/// Record `action` on `subject` by `actor_id` (`None`: the system).
pub fn record(
    conn: &mut DbConnection,
    actor_id: Option<&str>,
    action: &str,
    subject: &str,
    details: &serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(now),
            audit_log::actor_id.eq(actor_id),
            audit_log::action.eq(action),
            audit_log::subject.eq(subject),
            audit_log::details.eq(details.to_string()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether `action` was ever recorded on `subject` (a marker that makes a job run once).
pub fn has(conn: &mut DbConnection, subject: &str, action: &str) -> Result<bool, AppError> {
    let n: i64 = audit_log::table
        .filter(audit_log::subject.eq(subject))
        .filter(audit_log::action.eq(action))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}
