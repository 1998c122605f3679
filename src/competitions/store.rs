use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{CompetitionRow, PUBLISHED};
use crate::db::DbConnection;
use crate::db::schema::competitions;
use crate::error::AppError;

/// Published competitions, newest first, after the `(published_at, id)` cursor.
pub fn list_published(
    conn: &mut DbConnection,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<CompetitionRow>, AppError> {
    let mut q = competitions::table
        .filter(competitions::status.eq(PUBLISHED))
        .filter(competitions::published_at.is_not_null())
        .select(CompetitionRow::as_select())
        .order((competitions::published_at.desc(), competitions::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some((at, id)) = after {
        q = q.filter(
            competitions::published_at
                .lt(at)
                .or(competitions::published_at
                    .eq(at)
                    .and(competitions::id.lt(id))),
        );
    }
    Ok(q.load(conn)?)
}

pub fn insert(conn: &mut DbConnection, row: &CompetitionRow) -> Result<(), AppError> {
    diesel::insert_into(competitions::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<CompetitionRow>, AppError> {
    Ok(competitions::table
        .find(id)
        .select(CompetitionRow::as_select())
        .first(conn)
        .optional()?)
}
