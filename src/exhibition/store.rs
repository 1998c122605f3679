//! Queries of the exhibition tables.

use diesel::prelude::*;

use super::model::PosterRow;
use crate::db::DbConnection;
use crate::db::schema::{poster_scans, posters};
use crate::error::AppError;

pub fn find(conn: &mut DbConnection, code: &str) -> Result<Option<PosterRow>, AppError> {
    Ok(posters::table
        .find(code)
        .select(PosterRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_target(
    conn: &mut DbConnection,
    kind: &str,
    target: &str,
    lang: &str,
) -> Result<Option<PosterRow>, AppError> {
    Ok(posters::table
        .filter(posters::kind.eq(kind))
        .filter(posters::target_id.eq(target))
        .filter(posters::lang.eq(lang))
        .select(PosterRow::as_select())
        .first(conn)
        .optional()?)
}

/// Insert unless the target already has a poster in that language (two first views at
/// once make one poster).
pub fn insert_if_absent(conn: &mut DbConnection, row: &PosterRow) -> Result<(), AppError> {
    crate::db::on_backend!(conn, |c| diesel::insert_into(posters::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(())
}

pub fn of_competition(
    conn: &mut DbConnection,
    competition: &str,
) -> Result<Vec<PosterRow>, AppError> {
    Ok(posters::table
        .filter(posters::competition_id.eq(competition))
        .order((posters::kind.asc(), posters::created_at.asc()))
        .select(PosterRow::as_select())
        .load(conn)?)
}

/// One more scan of `poster` on `day`.
pub fn count_scan(conn: &mut DbConnection, poster: &str, day: &str) -> Result<(), AppError> {
    crate::db::on_backend!(conn, |c| diesel::insert_into(poster_scans::table)
        .values((
            poster_scans::poster_id.eq(poster),
            poster_scans::day.eq(day),
            poster_scans::scans.eq(1i64),
        ))
        .on_conflict((poster_scans::poster_id, poster_scans::day))
        .do_update()
        .set(poster_scans::scans.eq(poster_scans::scans + 1i64))
        .execute(c))?;
    Ok(())
}

/// Scans per (poster, day) of a competition's posters.
pub fn scans_of(
    conn: &mut DbConnection,
    competition: &str,
) -> Result<Vec<(String, String, i64)>, AppError> {
    Ok(poster_scans::table
        .inner_join(posters::table)
        .filter(posters::competition_id.eq(competition))
        .order((poster_scans::poster_id.asc(), poster_scans::day.asc()))
        .select((
            poster_scans::poster_id,
            poster_scans::day,
            poster_scans::scans,
        ))
        .load(conn)?)
}
