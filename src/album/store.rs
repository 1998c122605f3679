//! Queries of the album tables.

use diesel::prelude::*;

use super::model::{AlbumRow, ConsentRow, TrackRow};
use crate::db::DbConnection;
use crate::db::schema::{album_consents, album_tracks, albums};
use crate::error::AppError;

pub fn find(conn: &mut DbConnection, competition: &str) -> Result<Option<AlbumRow>, AppError> {
    Ok(albums::table
        .find(competition)
        .select(AlbumRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConnection, row: &AlbumRow) -> Result<(), AppError> {
    diesel::insert_into(albums::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn save(conn: &mut DbConnection, row: &AlbumRow) -> Result<(), AppError> {
    diesel::update(albums::table.find(&row.competition_id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

/// The album's tracks in order.
pub fn tracks(conn: &mut DbConnection, competition: &str) -> Result<Vec<TrackRow>, AppError> {
    Ok(album_tracks::table
        .filter(album_tracks::competition_id.eq(competition))
        .order(album_tracks::position.asc())
        .select(TrackRow::as_select())
        .load(conn)?)
}

/// Replace the album's track list.
pub fn replace_tracks(
    conn: &mut DbConnection,
    competition: &str,
    rows: &[TrackRow],
) -> Result<(), AppError> {
    diesel::delete(album_tracks::table.filter(album_tracks::competition_id.eq(competition)))
        .execute(conn)?;
    for r in rows {
        diesel::insert_into(album_tracks::table)
            .values(r)
            .execute(conn)?;
    }
    Ok(())
}

pub fn save_track(conn: &mut DbConnection, row: &TrackRow) -> Result<(), AppError> {
    diesel::update(album_tracks::table.find((&row.competition_id, &row.entry_id)))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn consents(conn: &mut DbConnection, competition: &str) -> Result<Vec<ConsentRow>, AppError> {
    Ok(album_consents::table
        .filter(album_consents::competition_id.eq(competition))
        .select(ConsentRow::as_select())
        .load(conn)?)
}

pub fn find_consent(
    conn: &mut DbConnection,
    competition: &str,
    entry: &str,
) -> Result<Option<ConsentRow>, AppError> {
    Ok(album_consents::table
        .find((competition, entry))
        .select(ConsentRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn consent_by_token(
    conn: &mut DbConnection,
    hash: &str,
) -> Result<Option<ConsentRow>, AppError> {
    Ok(album_consents::table
        .filter(album_consents::guardian_token_hash.eq(hash))
        .select(ConsentRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn save_consent(conn: &mut DbConnection, row: &ConsentRow) -> Result<(), AppError> {
    let n = diesel::update(album_consents::table.find((&row.competition_id, &row.entry_id)))
        .set(row)
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(album_consents::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Agreements about these entries (a musician's data export).
pub fn consents_of_entries(
    conn: &mut DbConnection,
    entries: &[String],
) -> Result<Vec<ConsentRow>, AppError> {
    Ok(album_consents::table
        .filter(album_consents::entry_id.eq_any(entries))
        .select(ConsentRow::as_select())
        .load(conn)?)
}

pub fn count_download(conn: &mut DbConnection, competition: &str) -> Result<(), AppError> {
    diesel::update(albums::table.find(competition))
        .set(albums::downloads.eq(albums::downloads + 1))
        .execute(conn)?;
    Ok(())
}

/// Every object key the album rows refer to: covers, ZIPs and release files.
pub fn keys(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    let mut keys: Vec<String> = Vec::new();
    let albums: Vec<(Option<String>, Option<String>)> = albums::table
        .select((albums::cover_key, albums::release_key))
        .load(conn)?;
    for (c, r) in albums {
        keys.extend(c);
        keys.extend(r);
    }
    let releases: Vec<Option<String>> = album_tracks::table
        .select(album_tracks::release)
        .load(conn)?;
    for r in releases.into_iter().flatten() {
        if let Ok(t) = serde_json::from_str::<super::model::TrackRelease>(&r) {
            keys.push(t.flac.key);
            keys.push(t.mp3.key);
        }
    }
    Ok(keys)
}

/// Forget the agreements about these entries (an erased account's songs).
pub fn delete_consents_of_entries(
    conn: &mut DbConnection,
    entries: &[String],
) -> Result<(), AppError> {
    diesel::delete(album_consents::table.filter(album_consents::entry_id.eq_any(entries)))
        .execute(conn)?;
    Ok(())
}
