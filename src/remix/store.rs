//! Queries of the remix tables.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::*;
use crate::db::DbConnection;
use crate::db::schema::{
    audio_landmarks, entry_sources, licence_acceptances, remix_permissions, remix_settings,
    stem_checks, stem_files, stem_packs,
};
use crate::error::AppError;

pub fn settings(conn: &mut DbConnection, cid: &str) -> Result<Option<RemixSettingsRow>, AppError> {
    Ok(remix_settings::table
        .find(cid)
        .select(RemixSettingsRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn put_settings(conn: &mut DbConnection, row: &RemixSettingsRow) -> Result<(), AppError> {
    let n = diesel::update(remix_settings::table.find(&row.competition_id))
        .set(row)
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(remix_settings::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn insert_pack(conn: &mut DbConnection, row: &StemPackRow) -> Result<(), AppError> {
    diesel::insert_into(stem_packs::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn save_pack(conn: &mut DbConnection, row: &StemPackRow) -> Result<(), AppError> {
    diesel::update(stem_packs::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_pack(conn: &mut DbConnection, id: &str) -> Result<Option<StemPackRow>, AppError> {
    Ok(stem_packs::table
        .find(id)
        .select(StemPackRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn packs_of(conn: &mut DbConnection, cid: &str) -> Result<Vec<StemPackRow>, AppError> {
    Ok(stem_packs::table
        .filter(stem_packs::competition_id.eq(cid))
        .order(stem_packs::created_at.asc())
        .select(StemPackRow::as_select())
        .load(conn)?)
}

pub fn insert_file(conn: &mut DbConnection, row: &StemFileRow) -> Result<(), AppError> {
    diesel::insert_into(stem_files::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn save_file(conn: &mut DbConnection, row: &StemFileRow) -> Result<(), AppError> {
    diesel::update(stem_files::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_file(conn: &mut DbConnection, id: &str) -> Result<Option<StemFileRow>, AppError> {
    Ok(stem_files::table
        .find(id)
        .select(StemFileRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn delete_file(conn: &mut DbConnection, id: &str) -> Result<(), AppError> {
    diesel::delete(stem_files::table.find(id)).execute(conn)?;
    diesel::delete(audio_landmarks::table.find(id)).execute(conn)?;
    Ok(())
}

pub fn files_of(conn: &mut DbConnection, pack: &str) -> Result<Vec<StemFileRow>, AppError> {
    Ok(stem_files::table
        .filter(stem_files::pack_id.eq(pack))
        .order((stem_files::kind.desc(), stem_files::created_at.asc()))
        .select(StemFileRow::as_select())
        .load(conn)?)
}

/// Every object key the pack files hold (for the sweeper's orphan check).
pub fn file_keys(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    Ok(stem_files::table
        .select(stem_files::object_key)
        .load(conn)?)
}

pub fn count_download(conn: &mut DbConnection, file: &str) -> Result<(), AppError> {
    diesel::update(stem_files::table.find(file))
        .set(stem_files::downloads.eq(stem_files::downloads + 1))
        .execute(conn)?;
    Ok(())
}

pub fn count_song_download(conn: &mut DbConnection, entry: &str) -> Result<(), AppError> {
    diesel::update(remix_permissions::table.find(entry))
        .set(remix_permissions::downloads.eq(remix_permissions::downloads + 1))
        .execute(conn)?;
    Ok(())
}

pub fn put_landmarks(
    conn: &mut DbConnection,
    owner: &str,
    data: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::delete(audio_landmarks::table.find(owner)).execute(conn)?;
    diesel::insert_into(audio_landmarks::table)
        .values((
            audio_landmarks::owner_id.eq(owner),
            audio_landmarks::data.eq(data),
            audio_landmarks::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete_landmarks(conn: &mut DbConnection, owner: &str) -> Result<(), AppError> {
    diesel::delete(audio_landmarks::table.find(owner)).execute(conn)?;
    Ok(())
}

pub fn landmarks(conn: &mut DbConnection, owner: &str) -> Result<Option<String>, AppError> {
    Ok(audio_landmarks::table
        .find(owner)
        .select(audio_landmarks::data)
        .first(conn)
        .optional()?)
}

pub fn has_accepted(
    conn: &mut DbConnection,
    subject: &str,
    user: &str,
    licence: &str,
) -> Result<bool, AppError> {
    Ok(licence_acceptances::table
        .find((subject, user, licence))
        .select(licence_acceptances::accepted_at)
        .first::<NaiveDateTime>(conn)
        .optional()?
        .is_some())
}

/// Record an acceptance once (accepting again changes nothing).
pub fn accept(conn: &mut DbConnection, row: &AcceptanceRow) -> Result<(), AppError> {
    if has_accepted(conn, &row.subject_id, &row.user_id, &row.licence)? {
        return Ok(());
    }
    diesel::insert_into(licence_acceptances::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Every licence `user` accepted, oldest first (for the account export).
pub fn acceptances_of_user(
    conn: &mut DbConnection,
    user: &str,
) -> Result<Vec<AcceptanceRow>, AppError> {
    Ok(licence_acceptances::table
        .filter(licence_acceptances::user_id.eq(user))
        .order(licence_acceptances::accepted_at.asc())
        .select(AcceptanceRow::as_select())
        .load(conn)?)
}

pub fn acceptances(conn: &mut DbConnection, subject: &str, licence: &str) -> Result<i64, AppError> {
    Ok(licence_acceptances::table
        .filter(licence_acceptances::subject_id.eq(subject))
        .filter(licence_acceptances::licence.eq(licence))
        .count()
        .get_result(conn)?)
}

pub fn source_of(conn: &mut DbConnection, entry: &str) -> Result<Option<SourceRow>, AppError> {
    Ok(entry_sources::table
        .find(entry)
        .select(SourceRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn put_source(conn: &mut DbConnection, row: &SourceRow) -> Result<(), AppError> {
    diesel::delete(entry_sources::table.find(&row.entry_id)).execute(conn)?;
    diesel::insert_into(entry_sources::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn delete_source(conn: &mut DbConnection, entry: &str) -> Result<(), AppError> {
    diesel::delete(entry_sources::table.find(entry)).execute(conn)?;
    diesel::delete(stem_checks::table.find(entry)).execute(conn)?;
    Ok(())
}

/// Entries naming `entry` as their source.
pub fn remixes_of(conn: &mut DbConnection, entry: &str) -> Result<Vec<String>, AppError> {
    Ok(entry_sources::table
        .filter(entry_sources::source_entry_id.eq(entry))
        .order(entry_sources::created_at.asc())
        .select(entry_sources::entry_id)
        .load(conn)?)
}

/// Entries naming `pack` as their source.
pub fn remixes_of_pack(conn: &mut DbConnection, pack: &str) -> Result<Vec<String>, AppError> {
    Ok(entry_sources::table
        .filter(entry_sources::pack_id.eq(pack))
        .order(entry_sources::created_at.asc())
        .select(entry_sources::entry_id)
        .load(conn)?)
}

/// Packs made from `entry`'s stems.
pub fn packs_from_entry(conn: &mut DbConnection, entry: &str) -> Result<Vec<String>, AppError> {
    Ok(stem_packs::table
        .filter(stem_packs::source_entry_id.eq(entry))
        .select(stem_packs::id)
        .load(conn)?)
}

pub fn permission(conn: &mut DbConnection, entry: &str) -> Result<Option<PermissionRow>, AppError> {
    Ok(remix_permissions::table
        .find(entry)
        .select(PermissionRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn put_permission(conn: &mut DbConnection, row: &PermissionRow) -> Result<(), AppError> {
    let n = diesel::update(remix_permissions::table.find(&row.entry_id))
        .set((
            remix_permissions::allowed.eq(row.allowed),
            remix_permissions::licence.eq(&row.licence),
            remix_permissions::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(remix_permissions::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn check_of(conn: &mut DbConnection, entry: &str) -> Result<Option<CheckRow>, AppError> {
    Ok(stem_checks::table
        .find(entry)
        .select(CheckRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn put_check(conn: &mut DbConnection, row: &CheckRow) -> Result<(), AppError> {
    diesel::delete(stem_checks::table.find(&row.entry_id)).execute(conn)?;
    diesel::insert_into(stem_checks::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}
