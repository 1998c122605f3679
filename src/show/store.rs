//! Queries of the `shows` table.

use diesel::prelude::*;

use super::model::ShowRow;
use crate::db::DbConnection;
use crate::db::schema::shows;
use crate::error::AppError;

pub fn find(conn: &mut DbConnection, round: &str) -> Result<Option<ShowRow>, AppError> {
    Ok(shows::table
        .find(round)
        .select(ShowRow::as_select())
        .first(conn)
        .optional()?)
}

/// Keep `row` as the round's show (the first press makes it).
pub fn save(conn: &mut DbConnection, row: &ShowRow) -> Result<(), AppError> {
    let n = diesel::update(shows::table.find(&row.round_id))
        .set(row)
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(shows::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}
