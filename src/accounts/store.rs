//! Queries of the account tables: people, one-time tokens, guardian consent, sign-in
//! throttling, profiles and erasure. Sessions are `session_store`, roles and
//! invitations `role_store` (both re-exported here).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{NewToken, NewUser, TokenPurpose, TokenRow, UserRow};
use crate::db::DbConnection;
use crate::db::schema::{account_tokens, audit_log, refresh_tokens, sessions, user_roles, users};
use crate::error::AppError;

pub use super::role_store::*;
pub use super::session_store::*;

pub fn find_user_by_email(
    conn: &mut DbConnection,
    email: &str,
) -> Result<Option<UserRow>, AppError> {
    Ok(users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_user(conn: &mut DbConnection, id: &str) -> Result<Option<UserRow>, AppError> {
    Ok(users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_user(conn: &mut DbConnection, user: &NewUser) -> Result<(), AppError> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(conn)?;
    Ok(())
}

pub fn insert_token(
    conn: &mut DbConnection,
    user_id: &str,
    purpose: TokenPurpose,
    token_hash: &str,
    expires_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::insert_into(account_tokens::table)
        .values(NewToken {
            user_id,
            purpose: purpose.as_str(),
            token_hash,
            expires_at,
            created_at: now,
        })
        .execute(conn)?;
    Ok(())
}

/// An unused, unexpired token of `purpose` with this hash.
pub fn find_live_token(
    conn: &mut DbConnection,
    purpose: TokenPurpose,
    token_hash: &str,
    now: NaiveDateTime,
) -> Result<Option<TokenRow>, AppError> {
    Ok(account_tokens::table
        .filter(account_tokens::token_hash.eq(token_hash))
        .filter(account_tokens::purpose.eq(purpose.as_str()))
        .filter(account_tokens::used_at.is_null())
        .filter(account_tokens::expires_at.gt(now))
        .select(TokenRow::as_select())
        .first(conn)
        .optional()?)
}

/// Spend a token. False if it was spent meanwhile (a concurrent use).
pub fn use_token(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> Result<bool, AppError> {
    let n = diesel::update(
        account_tokens::table
            .find(id)
            .filter(account_tokens::used_at.is_null()),
    )
    .set(account_tokens::used_at.eq(Some(now)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Spend every other live token of `purpose` for the person (a newer link replaces older ones).
pub fn retire_tokens(
    conn: &mut DbConnection,
    user_id: &str,
    purpose: TokenPurpose,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(
        account_tokens::table
            .filter(account_tokens::user_id.eq(user_id))
            .filter(account_tokens::purpose.eq(purpose.as_str()))
            .filter(account_tokens::used_at.is_null()),
    )
    .set(account_tokens::used_at.eq(Some(now)))
    .execute(conn)?;
    Ok(())
}

pub fn set_password_hash(
    conn: &mut DbConnection,
    user_id: &str,
    hash: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(Some(hash)),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn insert_token_with_data(
    conn: &mut DbConnection,
    user_id: &str,
    purpose: TokenPurpose,
    token_hash: &str,
    expires_at: NaiveDateTime,
    now: NaiveDateTime,
    data: &serde_json::Value,
) -> Result<(), AppError> {
    insert_token(conn, user_id, purpose, token_hash, expires_at, now)?;
    diesel::update(account_tokens::table.filter(account_tokens::token_hash.eq(token_hash)))
        .set(account_tokens::data.eq(data.to_string()))
        .execute(conn)?;
    Ok(())
}

pub fn mark_email_verified(
    conn: &mut DbConnection,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(
        users::table
            .find(user_id)
            .filter(users::email_verified_at.is_null()),
    )
    .set((
        users::email_verified_at.eq(Some(now)),
        users::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

pub fn record_guardian_consent(
    conn: &mut DbConnection,
    user_id: &str,
    by: &str,
    method: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set((
            users::guardian_consent_at.eq(Some(now)),
            users::guardian_consent_by.eq(Some(by)),
            users::guardian_consent_method.eq(Some(method)),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A guardian withdrew consent: it no longer counts, and when is kept for the teen.
pub fn set_guardian_allows_comments(
    conn: &mut DbConnection,
    user_id: &str,
    allow: bool,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set((
            users::guardian_allows_comments.eq(allow),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn withdraw_guardian_consent(
    conn: &mut DbConnection,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set((
            users::guardian_consent_at.eq(None::<NaiveDateTime>),
            users::guardian_consent_by.eq(None::<String>),
            users::guardian_consent_method.eq(None::<String>),
            users::guardian_withdrawn_at.eq(Some(now)),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The guardian the consent request goes to (a new address forgets a withdrawal).
pub fn set_guardian_email(
    conn: &mut DbConnection,
    user_id: &str,
    email: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set((
            users::guardian_email.eq(Some(email)),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A date of birth for an account that had none (a voter's or a judge's).
pub fn set_birth_date(
    conn: &mut DbConnection,
    user_id: &str,
    date: &str,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let n = diesel::update(
        users::table
            .find(user_id)
            .filter(users::date_of_birth.is_null()),
    )
    .set((
        users::date_of_birth.eq(Some(date)),
        users::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// When the newest token of `purpose` was issued to the person.
pub fn last_token_at(
    conn: &mut DbConnection,
    user_id: &str,
    purpose: TokenPurpose,
) -> Result<Option<NaiveDateTime>, AppError> {
    Ok(account_tokens::table
        .filter(account_tokens::user_id.eq(user_id))
        .filter(account_tokens::purpose.eq(purpose.as_str()))
        .select(diesel::dsl::max(account_tokens::created_at))
        .first(conn)?)
}

/// Record a failed sign-in: one more failure, the next allowed try, and whether only a
/// password reset lets the account in now.
pub fn record_failed_login(
    conn: &mut DbConnection,
    user_id: &str,
    throttle_until: Option<NaiveDateTime>,
    block: bool,
) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set((
            users::failed_logins.eq(users::failed_logins + 1),
            users::throttled_until.eq(throttle_until),
            users::login_blocked.eq(block),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn reset_failed_logins(conn: &mut DbConnection, user_id: &str) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set((
            users::failed_logins.eq(0),
            users::throttled_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

pub use crate::db::audit::record as audit;

pub fn unblock_login(conn: &mut DbConnection, user_id: &str) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set((
            users::failed_logins.eq(0),
            users::throttled_until.eq(None::<NaiveDateTime>),
            users::login_blocked.eq(false),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_email(
    conn: &mut DbConnection,
    user_id: &str,
    email: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set((
            users::email.eq(email),
            users::email_verified_at.eq(Some(now)),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_display_name(
    conn: &mut DbConnection,
    user_id: &str,
    name: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set((users::display_name.eq(name), users::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

pub fn update_profile(
    conn: &mut DbConnection,
    user_id: &str,
    stage_name: &str,
    bio: &str,
    links: &str,
    locale: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set((
            users::display_name.eq(stage_name),
            users::bio.eq(bio),
            users::links.eq(links),
            users::locale.eq(locale),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_avatar_key(
    conn: &mut DbConnection,
    user_id: &str,
    key: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set((users::avatar_key.eq(key), users::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Audit entries about or by a person: `(at, action)`.
pub fn audit_of(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Vec<(NaiveDateTime, String)>, AppError> {
    Ok(audit_log::table
        .filter(
            audit_log::actor_id
                .eq(user_id)
                .or(audit_log::subject.eq(user_id)),
        )
        .select((audit_log::at, audit_log::action))
        .order(audit_log::at)
        .load(conn)?)
}

/// Erase a person. What identifies them goes: their sessions, refresh tokens, one-time
/// tokens, roles, affiliations and idempotency keys; the account row becomes an
/// anonymous tombstone (no email, name, password, birth date, guardian, profile or
/// picture; `erased_at` set), so that a former judge's scores and a former musician's
/// withdrawn entries keep rounds and results honest. Audit entries stay but lose the
/// link to them.
pub fn erase_user(
    conn: &mut DbConnection,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    use crate::db::schema::{affiliations, idempotency_keys};
    diesel::update(audit_log::table.filter(audit_log::actor_id.eq(user_id)))
        .set(audit_log::actor_id.eq(None::<String>))
        .execute(conn)?;
    diesel::update(audit_log::table.filter(audit_log::subject.eq(user_id)))
        .set(audit_log::subject.eq("erased"))
        .execute(conn)?;
    let theirs: Vec<String> = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .select(sessions::id)
        .load(conn)?;
    for chunk in theirs.chunks(500) {
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::session_id.eq_any(chunk)))
            .execute(conn)?;
    }
    // Revoked rather than deleted: other processes see the revocation within a second.
    diesel::update(sessions::table.filter(sessions::user_id.eq(user_id)))
        .filter(sessions::revoked_at.is_null())
        .set(sessions::revoked_at.eq(Some(now)))
        .execute(conn)?;
    diesel::delete(account_tokens::table.filter(account_tokens::user_id.eq(user_id)))
        .execute(conn)?;
    diesel::delete(user_roles::table.filter(user_roles::user_id.eq(user_id))).execute(conn)?;
    diesel::delete(affiliations::table.filter(affiliations::user_id.eq(user_id))).execute(conn)?;
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::user_id.eq(user_id)))
        .execute(conn)?;
    diesel::update(users::table.find(user_id))
        .set((
            users::email.eq(format!("erased-{user_id}@erased.invalid")),
            users::display_name.eq(""),
            users::password_hash.eq(None::<String>),
            users::date_of_birth.eq(None::<String>),
            users::country.eq(""),
            users::bio.eq(""),
            users::links.eq("[]"),
            users::avatar_key.eq(None::<String>),
            users::email_verified_at.eq(None::<NaiveDateTime>),
            users::guardian_email.eq(None::<String>),
            users::guardian_consent_at.eq(None::<NaiveDateTime>),
            users::guardian_consent_by.eq(None::<String>),
            users::guardian_consent_method.eq(None::<String>),
            users::guardian_withdrawn_at.eq(None::<NaiveDateTime>),
            users::login_blocked.eq(true),
            users::tokens_valid_after.eq(Some(now)),
            users::erased_at.eq(Some(now)),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Which of these accounts have been erased (`erased_at` set).
pub fn erased_among(
    conn: &mut DbConnection,
    ids: &[String],
) -> Result<std::collections::HashSet<String>, AppError> {
    let mut out = std::collections::HashSet::new();
    for chunk in ids.chunks(500) {
        out.extend(
            users::table
                .filter(users::id.eq_any(chunk))
                .filter(users::erased_at.is_not_null())
                .select(users::id)
                .load::<String>(conn)?,
        );
    }
    Ok(out)
}

/// Hold `user_id`'s row until the transaction ends (a write lock on both databases),
/// so that checks like quotas cannot race with a parallel request of the same person.
pub fn lock_user(conn: &mut DbConnection, user_id: &str) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set(users::id.eq(user_id))
        .execute(conn)?;
    Ok(())
}

/// Every avatar object key in use (for the orphan sweeper).
pub fn avatar_keys(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    Ok(users::table
        .filter(users::avatar_key.is_not_null())
        .select(users::avatar_key.assume_not_null())
        .load(conn)?)
}

/// Users by id (any number; queried in chunks).
pub fn users_by_ids(conn: &mut DbConnection, ids: &[String]) -> Result<Vec<UserRow>, AppError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        out.extend(
            users::table
                .filter(users::id.eq_any(chunk))
                .select(UserRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// People whose name or email contains `q` (case-insensitive on both databases for
/// ASCII), newest first, after the cursor `before` (created_at, id).
pub fn search_users(
    conn: &mut DbConnection,
    q: &str,
    before: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<UserRow>, AppError> {
    let mut query = users::table
        .filter(users::erased_at.is_null())
        .select(UserRow::as_select())
        .order((users::created_at.desc(), users::id.desc()))
        .limit(limit)
        .into_boxed();
    let q = q.trim().to_lowercase();
    if !q.is_empty() {
        let pattern = format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        query = query.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("(LOWER(email) LIKE ")
                .bind::<diesel::sql_types::Text, _>(pattern.clone())
                .sql(" ESCAPE '\\' OR LOWER(display_name) LIKE ")
                .bind::<diesel::sql_types::Text, _>(pattern)
                .sql(" ESCAPE '\\')"),
        );
    }
    if let Some((t, id)) = before {
        query = query.filter(
            users::created_at
                .lt(t)
                .or(users::created_at.eq(t).and(users::id.lt(id))),
        );
    }
    Ok(query.load(conn)?)
}

/// Block or unblock an account.
pub fn set_blocked(
    conn: &mut DbConnection,
    user_id: &str,
    blocked: Option<(NaiveDateTime, &str)>,
) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set((
            users::blocked_at.eq(blocked.map(|b| b.0)),
            users::blocked_reason.eq(blocked.map(|b| b.1.to_string())),
        ))
        .execute(conn)?;
    Ok(())
}
