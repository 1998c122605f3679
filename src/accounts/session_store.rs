//! Queries of sessions and refresh tokens: opening, touching and revoking sessions,
//! and the refresh tokens each one rotates through.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{RefreshRow, SessionRow};
use crate::db::DbConnection;
use crate::db::schema::{refresh_tokens, sessions, users};
use crate::error::AppError;

pub fn insert_session(conn: &mut DbConnection, s: &SessionRow) -> Result<(), AppError> {
    diesel::insert_into(sessions::table)
        .values(s)
        .execute(conn)?;
    Ok(())
}

pub fn find_session(conn: &mut DbConnection, id: &str) -> Result<Option<SessionRow>, AppError> {
    Ok(sessions::table
        .find(id)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn touch_session(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(sessions::table.find(id))
        .set(sessions::last_used_at.eq(now))
        .execute(conn)?;
    Ok(())
}

pub fn revoke_session(
    conn: &mut DbConnection,
    id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(Some(now)),
        sessions::revoke_reason.eq(Some(reason)),
    ))
    .execute(conn)?;
    Ok(())
}

/// Sessions revoked at or after `since` (the revocation watch of other processes, every
/// second). Ordered by the revocation time so that PostgreSQL's generic plan for the
/// prepared statement walks the `sessions_revoked` index: unordered, it scans the whole
/// table (the generic plan guesses a third of the rows match), about 100 ms a second at
/// 125,000 sessions during a live show.
pub fn sessions_revoked_since(
    conn: &mut DbConnection,
    since: NaiveDateTime,
) -> Result<Vec<String>, AppError> {
    Ok(sessions::table
        .filter(sessions::revoked_at.ge(since))
        .order(sessions::revoked_at)
        .select(sessions::id)
        .limit(100_000)
        .load(conn)?)
}

pub fn revoke_all_sessions(
    conn: &mut DbConnection,
    user_id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(Some(now)),
        sessions::revoke_reason.eq(Some(reason)),
    ))
    .execute(conn)?;
    diesel::update(users::table.find(user_id))
        .set(users::tokens_valid_after.eq(Some(now)))
        .execute(conn)?;
    Ok(())
}

pub fn insert_refresh(
    conn: &mut DbConnection,
    session_id: &str,
    token_hash: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find_refresh(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<Option<RefreshRow>, AppError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(RefreshRow::as_select())
        .first(conn)
        .optional()?)
}

/// Spend a refresh token. False if it had already been spent (reuse).
pub fn use_refresh(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> Result<bool, AppError> {
    let n = diesel::update(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(Some(now)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Revoke every session of the person but `keep`.
pub fn revoke_other_sessions(
    conn: &mut DbConnection,
    user_id: &str,
    keep: &str,
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::id.ne(keep))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(Some(now)),
        sessions::revoke_reason.eq(Some(reason)),
    ))
    .execute(conn)?;
    Ok(())
}

/// Sessions that have not been revoked, newest use first.
pub fn active_sessions(
    conn: &mut DbConnection,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<Vec<SessionRow>, AppError> {
    Ok(sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select(SessionRow::as_select())
        .order(sessions::last_used_at.desc())
        .load(conn)?)
}

pub fn all_sessions(conn: &mut DbConnection, user_id: &str) -> Result<Vec<SessionRow>, AppError> {
    Ok(sessions::table
        .filter(sessions::user_id.eq(user_id))
        .select(SessionRow::as_select())
        .order(sessions::created_at.desc())
        .load(conn)?)
}
