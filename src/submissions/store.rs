use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{EntryRow, PENDING, PublicRenditionRow, STORED, UploadRow};
use crate::db::DbConnection;
use crate::db::schema::{entries, fingerprint_keys, public_renditions, uploads};
use crate::error::AppError;

pub fn insert_entry(conn: &mut DbConnection, row: &EntryRow) -> Result<(), AppError> {
    diesel::insert_into(entries::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_entry(conn: &mut DbConnection, id: &str) -> Result<Option<EntryRow>, AppError> {
    Ok(entries::table
        .find(id)
        .select(EntryRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn save_entry(conn: &mut DbConnection, row: &EntryRow) -> Result<(), AppError> {
    diesel::update(entries::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

/// Entries a musician has in a competition that count towards the quota.
pub fn count_active(
    conn: &mut DbConnection,
    competition_id: &str,
    musician_id: &str,
) -> Result<i64, AppError> {
    Ok(entries::table
        .filter(entries::competition_id.eq(competition_id))
        .filter(entries::musician_id.eq(musician_id))
        .filter(entries::withdrawn_at.is_null())
        .count()
        .get_result(conn)?)
}

pub fn list_by_musician(
    conn: &mut DbConnection,
    musician_id: &str,
) -> Result<Vec<EntryRow>, AppError> {
    Ok(entries::table
        .filter(entries::musician_id.eq(musician_id))
        .select(EntryRow::as_select())
        .order((entries::created_at.desc(), entries::id.desc()))
        .limit(500)
        .load(conn)?)
}

/// Filters of the moderation list; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub status: Option<String>,
    pub review: Option<String>,
    pub prompt_id: Option<String>,
    pub category_id: Option<String>,
    pub flagged: Option<bool>,
}

/// A competition's entries, oldest first.
pub fn list_for_competition(
    conn: &mut DbConnection,
    competition_id: &str,
    f: &EntryFilter,
    limit: i64,
) -> Result<Vec<EntryRow>, AppError> {
    let mut q = entries::table
        .filter(entries::competition_id.eq(competition_id))
        .select(EntryRow::as_select())
        .order((entries::created_at.asc(), entries::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some(s) = &f.status {
        q = q.filter(entries::status.eq(s.clone()));
    }
    if let Some(r) = &f.review {
        q = q.filter(entries::review.eq(r.clone()));
    }
    if let Some(p) = &f.prompt_id {
        q = q.filter(entries::prompt_id.eq(p.clone()));
    }
    if let Some(c) = &f.category_id {
        q = q.filter(entries::category_id.eq(c.clone()));
    }
    match f.flagged {
        Some(true) => q = q.filter(entries::flags.ne("[]")),
        Some(false) => q = q.filter(entries::flags.eq("[]")),
        None => {}
    }
    Ok(q.load(conn)?)
}

pub fn insert_upload(conn: &mut DbConnection, row: &UploadRow) -> Result<(), AppError> {
    diesel::insert_into(uploads::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_upload(conn: &mut DbConnection, id: &str) -> Result<Option<UploadRow>, AppError> {
    Ok(uploads::table
        .find(id)
        .select(UploadRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn save_upload(conn: &mut DbConnection, row: &UploadRow) -> Result<(), AppError> {
    diesel::update(uploads::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn delete_upload(conn: &mut DbConnection, id: &str) -> Result<(), AppError> {
    diesel::delete(uploads::table.find(id)).execute(conn)?;
    Ok(())
}

/// A stored file with these exact bytes in force on another entry that is not withdrawn.
pub fn same_bytes_elsewhere(
    conn: &mut DbConnection,
    sha256: &str,
    entry_id: &str,
) -> Result<Option<String>, AppError> {
    Ok(uploads::table
        .inner_join(entries::table)
        .filter(uploads::sha256.eq(sha256))
        .filter(uploads::state.eq(STORED))
        .filter(uploads::entry_id.ne(entry_id))
        .filter(entries::withdrawn_at.is_null())
        .filter(entries::upload_id.eq(uploads::id.nullable()))
        .select(entries::id)
        .first(conn)
        .optional()?)
}

/// Unfinished uploads started before `cutoff`.
pub fn stale_pending(
    conn: &mut DbConnection,
    cutoff: NaiveDateTime,
) -> Result<Vec<UploadRow>, AppError> {
    Ok(uploads::table
        .filter(uploads::state.eq(PENDING))
        .filter(uploads::created_at.lt(cutoff))
        .select(UploadRow::as_select())
        .limit(1000)
        .load(conn)?)
}

/// Whether `entry_id` has another unfinished upload besides `except`.
pub fn other_pending(
    conn: &mut DbConnection,
    entry_id: &str,
    except: &str,
) -> Result<bool, AppError> {
    let n: i64 = uploads::table
        .filter(uploads::entry_id.eq(entry_id))
        .filter(uploads::state.eq(PENDING))
        .filter(uploads::id.ne(except))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Every object key an upload row refers to.
pub fn upload_keys(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    Ok(uploads::table.select(uploads::object_key).load(conn)?)
}

/// Entries by id (any number; queried in chunks).
pub fn entries_by_ids(conn: &mut DbConnection, ids: &[String]) -> Result<Vec<EntryRow>, AppError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        out.extend(
            entries::table
                .filter(entries::id.eq_any(chunk))
                .select(EntryRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// Every upload of an entry (the one in force and any unfinished).
pub fn uploads_of_entry(
    conn: &mut DbConnection,
    entry_id: &str,
) -> Result<Vec<UploadRow>, AppError> {
    Ok(uploads::table
        .filter(uploads::entry_id.eq(entry_id))
        .select(UploadRow::as_select())
        .load(conn)?)
}

/// Remove the public rendition of an upload; its object key, if there was one.
pub fn delete_public_rendition(
    conn: &mut DbConnection,
    upload_id: &str,
) -> Result<Option<String>, AppError> {
    let key = find_public_rendition(conn, upload_id)?.map(|r| r.object_key);
    diesel::delete(public_renditions::table.find(upload_id)).execute(conn)?;
    Ok(key)
}

/// A musician's entries, every state.
pub fn entries_of_musician(
    conn: &mut DbConnection,
    musician_id: &str,
) -> Result<Vec<EntryRow>, AppError> {
    Ok(entries::table
        .filter(entries::musician_id.eq(musician_id))
        .select(EntryRow::as_select())
        .load(conn)?)
}

pub fn find_public_rendition(
    conn: &mut DbConnection,
    upload_id: &str,
) -> Result<Option<PublicRenditionRow>, AppError> {
    Ok(public_renditions::table
        .find(upload_id)
        .select(PublicRenditionRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_public_rendition(
    conn: &mut DbConnection,
    row: &PublicRenditionRow,
) -> Result<(), AppError> {
    diesel::insert_into(public_renditions::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn public_rendition_keys(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    Ok(public_renditions::table
        .select(public_renditions::object_key)
        .load(conn)?)
}

/// The entries (other than `entry_id`) holding each of `keys` in the duplicate index:
/// one id per shared key.
pub fn entries_sharing_keys(
    conn: &mut DbConnection,
    entry_id: &str,
    keys: &[i32],
) -> Result<Vec<String>, AppError> {
    let mut out = Vec::new();
    for chunk in keys.chunks(500) {
        out.extend(
            fingerprint_keys::table
                .filter(fingerprint_keys::key.eq_any(chunk))
                .filter(fingerprint_keys::entry_id.ne(entry_id))
                .select(fingerprint_keys::entry_id)
                .load::<String>(conn)?,
        );
    }
    Ok(out)
}

/// (id, competition, title, fingerprint) of the entries among `ids` that are analysed
/// and not withdrawn.
pub fn fingerprints_of(
    conn: &mut DbConnection,
    ids: &[String],
) -> Result<Vec<(String, String, String, String)>, AppError> {
    Ok(entries::table
        .filter(entries::id.eq_any(ids))
        .filter(entries::withdrawn_at.is_null())
        .filter(entries::fingerprint.is_not_null())
        .select((
            entries::id,
            entries::competition_id,
            entries::title,
            entries::fingerprint.assume_not_null(),
        ))
        .load(conn)?)
}

/// Replace an entry's rows in the duplicate index (none: it leaves the index).
pub fn replace_fingerprint_keys(
    conn: &mut DbConnection,
    entry_id: &str,
    keys: &[i32],
) -> Result<(), AppError> {
    diesel::delete(fingerprint_keys::table.filter(fingerprint_keys::entry_id.eq(entry_id)))
        .execute(conn)?;
    for chunk in keys.chunks(1000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|k| {
                (
                    fingerprint_keys::key.eq(*k),
                    fingerprint_keys::entry_id.eq(entry_id),
                )
            })
            .collect();
        // A batch insert is written per backend (MultiConnection has no batch insert).
        let q = diesel::insert_into(fingerprint_keys::table).values(rows);
        crate::db::on_backend!(conn, |c| q.execute(c))?;
    }
    Ok(())
}

/// (id, fingerprint) of analysed entries, not withdrawn, with no rows in the index.
pub fn unindexed_fingerprints(conn: &mut DbConnection) -> Result<Vec<(String, String)>, AppError> {
    let indexed = fingerprint_keys::table
        .select(fingerprint_keys::entry_id)
        .distinct();
    Ok(entries::table
        .filter(entries::fingerprint.is_not_null())
        .filter(entries::withdrawn_at.is_null())
        .filter(entries::id.ne_all(indexed))
        .select((entries::id, entries::fingerprint.assume_not_null()))
        .load(conn)?)
}

/// Entries of a competition that passed the audio check and wait for the organiser's review.
pub fn count_to_moderate(conn: &mut DbConnection, competition_id: &str) -> Result<i64, AppError> {
    Ok(entries::table
        .filter(entries::competition_id.eq(competition_id))
        .filter(entries::withdrawn_at.is_null())
        .filter(entries::review.eq(super::model::Review::Pending.as_str()))
        .filter(entries::status.eq_any([
            super::model::Status::Accepted.as_str(),
            super::model::Status::NeedsAttention.as_str(),
        ]))
        .count()
        .get_result(conn)?)
}

/// The ids of a competition's entries (for reading its audit log).
pub fn entry_ids(conn: &mut DbConnection, competition_id: &str) -> Result<Vec<String>, AppError> {
    Ok(entries::table
        .filter(entries::competition_id.eq(competition_id))
        .select(entries::id)
        .load(conn)?)
}
