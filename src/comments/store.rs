//! Queries of the comment tables.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{CommentRow, SettingsRow};
use crate::db::DbConnection;
use crate::db::schema::{comment_reports, comment_settings, song_comments};
use crate::error::AppError;

pub fn insert(conn: &mut DbConnection, row: &CommentRow) -> Result<(), AppError> {
    diesel::insert_into(song_comments::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<CommentRow>, AppError> {
    Ok(song_comments::table
        .find(id)
        .select(CommentRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn update(conn: &mut DbConnection, row: &CommentRow) -> Result<(), AppError> {
    diesel::update(song_comments::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

/// A song's comments in song order (hidden ones too when `with_hidden`).
pub fn of_song(
    conn: &mut DbConnection,
    entry: &str,
    with_hidden: bool,
    limit: i64,
) -> Result<Vec<CommentRow>, AppError> {
    let mut q = song_comments::table
        .filter(song_comments::entry_id.eq(entry))
        .into_boxed();
    if !with_hidden {
        q = q.filter(song_comments::hidden_at.is_null());
    }
    Ok(
        q.order((song_comments::at_ms.asc(), song_comments::created_at.asc()))
            .limit(limit)
            .select(CommentRow::as_select())
            .load(conn)?,
    )
}

/// Comments on these songs that wait for an organiser: reported or hidden, not yet
/// reviewed since.
pub fn waiting(conn: &mut DbConnection, entries: &[String]) -> Result<Vec<CommentRow>, AppError> {
    Ok(song_comments::table
        .filter(song_comments::entry_id.eq_any(entries))
        .filter(
            song_comments::reports
                .gt(0)
                .or(song_comments::hidden_at.is_not_null()),
        )
        .filter(song_comments::reviewed_at.is_null())
        .order(song_comments::created_at.asc())
        .limit(500)
        .select(CommentRow::as_select())
        .load(conn)?)
}

/// Record `reporter`'s report of a comment; false when they had reported it already.
pub fn add_report(
    conn: &mut DbConnection,
    comment: &str,
    reporter: &str,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let n = crate::db::on_backend!(conn, |c| diesel::insert_into(comment_reports::table)
        .values((
            comment_reports::comment_id.eq(comment),
            comment_reports::reporter_id.eq(reporter),
            comment_reports::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(n > 0)
}

pub fn settings(conn: &mut DbConnection, entry: &str) -> Result<Option<SettingsRow>, AppError> {
    Ok(comment_settings::table
        .find(entry)
        .select(SettingsRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn save_settings(conn: &mut DbConnection, row: &SettingsRow) -> Result<(), AppError> {
    let n = diesel::update(comment_settings::table.find(&row.entry_id))
        .set(row)
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(comment_settings::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Everything `author` wrote (their data export).
pub fn of_author(conn: &mut DbConnection, author: &str) -> Result<Vec<CommentRow>, AppError> {
    Ok(song_comments::table
        .filter(song_comments::author_id.eq(author))
        .order(song_comments::created_at.asc())
        .select(CommentRow::as_select())
        .load(conn)?)
}

/// Remove what `author` wrote and reported (erasure).
pub fn delete_author(conn: &mut DbConnection, author: &str) -> Result<(), AppError> {
    diesel::delete(song_comments::table.filter(song_comments::author_id.eq(author)))
        .execute(conn)?;
    diesel::delete(comment_reports::table.filter(comment_reports::reporter_id.eq(author)))
        .execute(conn)?;
    Ok(())
}
