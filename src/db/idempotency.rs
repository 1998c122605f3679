//! Idempotency keys (draft-ietf-httpapi-idempotency-key-header): a retried request
//! with the same key gets the first answer again instead of a second effect. A key
//! reused for a different request is refused; one still being processed answers 409.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};

use super::DbConnection;
use super::schema::idempotency_keys as k;
use crate::error::AppError;

/// What to do with a request that carries a key.
#[derive(Debug, PartialEq, Eq)]
pub enum Begin {
    /// First time (or a stale, abandoned attempt): go ahead, then `finish` or `abandon`.
    Started,
    /// Done before: answer this again.
    Replay { status: u16, body: String },
    /// The same key is being processed right now.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

/// Longest a key may stay "in progress" before a retry may take it over.
pub const STALE_AFTER_SECS: i64 = 3600;

/// The key as sent: 1–255 visible ASCII characters.
pub fn parse_key(raw: Option<&str>) -> Result<String, AppError> {
    let key = raw.map(str::trim).unwrap_or("");
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::refused(
            actix_web::http::StatusCode::BAD_REQUEST,
            "idempotency.key_required",
        ));
    }
    Ok(key.to_string())
}

pub fn begin(
    conn: &mut DbConnection,
    user_id: &str,
    key: &str,
    fingerprint: &str,
    now: NaiveDateTime,
    ttl_secs: i64,
) -> Result<Begin, AppError> {
    // Forget this key if it has expired, so it can be used afresh.
    diesel::delete(
        k::table
            .filter(k::user_id.eq(user_id))
            .filter(k::key.eq(key))
            .filter(k::created_at.lt(now - Duration::seconds(ttl_secs))),
    )
    .execute(conn)?;
    let inserted = diesel::insert_into(k::table)
        .values((
            k::user_id.eq(user_id),
            k::key.eq(key),
            k::fingerprint.eq(fingerprint),
            k::created_at.eq(now),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => return Ok(Begin::Started),
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {}
        Err(e) => return Err(e.into()),
    }
    let (fp, status, body, created): (String, Option<i32>, Option<String>, NaiveDateTime) =
        k::table
            .filter(k::user_id.eq(user_id))
            .filter(k::key.eq(key))
            .select((k::fingerprint, k::status_code, k::response, k::created_at))
            .first(conn)?;
    if fp != fingerprint {
        return Ok(Begin::Mismatch);
    }
    match (status, body) {
        (Some(s), Some(b)) => Ok(Begin::Replay {
            status: s as u16,
            body: b,
        }),
        _ if created < now - Duration::seconds(STALE_AFTER_SECS) => {
            let taken = diesel::update(
                k::table
                    .filter(k::user_id.eq(user_id))
                    .filter(k::key.eq(key))
                    .filter(k::created_at.eq(created)),
            )
            .set(k::created_at.eq(now))
            .execute(conn)?;
            Ok(if taken == 1 {
                Begin::Started
            } else {
                Begin::InProgress
            })
        }
        _ => Ok(Begin::InProgress),
    }
}

/// Remember the answer (in the same transaction as the effect).
pub fn finish(
    conn: &mut DbConnection,
    user_id: &str,
    key: &str,
    status: u16,
    body: &str,
) -> Result<(), AppError> {
    diesel::update(
        k::table
            .filter(k::user_id.eq(user_id))
            .filter(k::key.eq(key)),
    )
    .set((
        k::status_code.eq(Some(status as i32)),
        k::response.eq(Some(body)),
    ))
    .execute(conn)?;
    Ok(())
}

/// The request failed: forget the key so that a retry runs again.
pub fn abandon(conn: &mut DbConnection, user_id: &str, key: &str) -> Result<(), AppError> {
    diesel::delete(
        k::table
            .filter(k::user_id.eq(user_id))
            .filter(k::key.eq(key)),
    )
    .execute(conn)?;
    Ok(())
}

/// Drop keys older than `cutoff`; returns how many.
pub fn purge(conn: &mut DbConnection, cutoff: NaiveDateTime) -> Result<usize, AppError> {
    Ok(diesel::delete(k::table.filter(k::created_at.lt(cutoff))).execute(conn)?)
}
