//! Queries of the results table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::ResultsRow;
use crate::db::DbConnection;
use crate::db::schema::results;
use crate::error::AppError;

pub fn find_results(
    conn: &mut DbConnection,
    competition_id: &str,
) -> Result<Option<ResultsRow>, AppError> {
    Ok(results::table
        .find(competition_id)
        .select(ResultsRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn put_results(conn: &mut DbConnection, row: &ResultsRow) -> Result<(), AppError> {
    let updated = diesel::update(results::table.find(&row.competition_id))
        .set(row)
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(results::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Results whose publication time has come, for the musicians' view.
pub fn published_results(
    conn: &mut DbConnection,
    competition_ids: &[String],
    now: NaiveDateTime,
) -> Result<Vec<ResultsRow>, AppError> {
    Ok(results::table
        .filter(results::competition_id.eq_any(competition_ids))
        .filter(results::publish_at.le(now))
        .select(ResultsRow::as_select())
        .load(conn)?)
}
