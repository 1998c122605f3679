use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{
    InvitationRow, NewRole, NewToken, NewUser, RefreshRow, Role, SessionRow, TokenPurpose,
    TokenRow, UserRow,
};
use crate::db::DbConnection;
use crate::db::schema::{
    account_tokens, audit_log, invitations, refresh_tokens, sessions, user_roles, users,
};
use crate::error::AppError;

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

/// Site-wide roles of a person.
pub fn site_roles(conn: &mut DbConnection, user_id: &str) -> Result<Vec<String>, AppError> {
    Ok(user_roles::table
        .filter(user_roles::user_id.eq(user_id))
        .filter(user_roles::competition_id.is_null())
        .select(user_roles::role)
        .order(user_roles::role)
        .load(conn)?)
}

/// Grant a site-wide role; granting one already held changes nothing.
pub fn grant_site_role(
    conn: &mut DbConnection,
    user_id: &str,
    role: Role,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    grant_role(conn, user_id, role, None, now)
}

/// Grant `role`, site-wide (`None`) or for one competition, unless already held.
fn grant_role(
    conn: &mut DbConnection,
    user_id: &str,
    role: Role,
    competition_id: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let mut held = user_roles::table
        .filter(user_roles::user_id.eq(user_id))
        .filter(user_roles::role.eq(role.as_str()))
        .into_boxed();
    held = match competition_id {
        Some(c) => held.filter(user_roles::competition_id.eq(c)),
        None => held.filter(user_roles::competition_id.is_null()),
    };
    let held: i64 = held.count().get_result(conn)?;
    if held == 0 {
        diesel::insert_into(user_roles::table)
            .values(NewRole {
                user_id,
                role: role.as_str(),
                competition_id,
                created_at: now,
            })
            .execute(conn)?;
    }
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

/// Sessions revoked at or after `since` (the revocation watch of other processes).
pub fn sessions_revoked_since(
    conn: &mut DbConnection,
    since: NaiveDateTime,
) -> Result<Vec<String>, AppError> {
    Ok(sessions::table
        .filter(sessions::revoked_at.ge(since))
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

pub fn audit(
    conn: &mut DbConnection,
    actor_id: Option<&str>,
    action: &str,
    subject: &str,
    details: &serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(now),
            audit_log::actor_id.eq(actor_id),
            audit_log::action.eq(action),
            audit_log::subject.eq(subject),
            audit_log::details.eq(details.to_string()),
        ))
        .execute(conn)?;
    Ok(())
}

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

pub fn roles_with_scope(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Vec<(String, Option<String>)>, AppError> {
    Ok(user_roles::table
        .filter(user_roles::user_id.eq(user_id))
        .select((user_roles::role, user_roles::competition_id))
        .order(user_roles::role)
        .load(conn)?)
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

/// Grant a role for one competition; granting one already held changes nothing.
pub fn grant_competition_role(
    conn: &mut DbConnection,
    user_id: &str,
    role: Role,
    competition_id: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    grant_role(conn, user_id, role, Some(competition_id), now)
}

/// Every role the person holds: (role, competition — `None` for a site-wide role).
pub fn all_roles(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Vec<(String, Option<String>)>, AppError> {
    Ok(user_roles::table
        .filter(user_roles::user_id.eq(user_id))
        .select((user_roles::role, user_roles::competition_id))
        .load(conn)?)
}

/// Grant a competition role by its stored name (`judge`, `organiser`, `moderator`).
pub fn grant_competition_role_named(
    conn: &mut DbConnection,
    user_id: &str,
    role: &str,
    competition_id: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let held: i64 = user_roles::table
        .filter(user_roles::user_id.eq(user_id))
        .filter(user_roles::role.eq(role))
        .filter(user_roles::competition_id.eq(competition_id))
        .count()
        .get_result(conn)?;
    if held == 0 {
        diesel::insert_into(user_roles::table)
            .values(NewRole {
                user_id,
                role,
                competition_id: Some(competition_id),
                created_at: now,
            })
            .execute(conn)?;
    }
    Ok(())
}

/// Take a competition role away; whether it was held.
pub fn revoke_competition_role_named(
    conn: &mut DbConnection,
    user_id: &str,
    role: &str,
    competition_id: &str,
) -> Result<bool, AppError> {
    let n = diesel::delete(
        user_roles::table
            .filter(user_roles::user_id.eq(user_id))
            .filter(user_roles::role.eq(role))
            .filter(user_roles::competition_id.eq(competition_id)),
    )
    .execute(conn)?;
    Ok(n > 0)
}

/// Take a site-wide role away; whether it was held.
pub fn revoke_site_role(
    conn: &mut DbConnection,
    user_id: &str,
    role: &str,
) -> Result<bool, AppError> {
    let n = diesel::delete(
        user_roles::table
            .filter(user_roles::user_id.eq(user_id))
            .filter(user_roles::role.eq(role))
            .filter(user_roles::competition_id.is_null()),
    )
    .execute(conn)?;
    Ok(n > 0)
}

/// The people holding a role in a competition, with the role.
pub fn competition_members(
    conn: &mut DbConnection,
    competition_id: &str,
) -> Result<Vec<(String, UserRow)>, AppError> {
    Ok(user_roles::table
        .inner_join(users::table)
        .filter(user_roles::competition_id.eq(competition_id))
        .order((user_roles::role, user_roles::created_at))
        .select((user_roles::role, UserRow::as_select()))
        .load(conn)?)
}

pub fn insert_invitation(conn: &mut DbConnection, row: &InvitationRow) -> Result<(), AppError> {
    diesel::insert_into(invitations::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn save_invitation(conn: &mut DbConnection, row: &InvitationRow) -> Result<(), AppError> {
    diesel::update(invitations::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_invitation(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Option<InvitationRow>, AppError> {
    Ok(invitations::table
        .find(id)
        .select(InvitationRow::as_select())
        .first(conn)
        .optional()?)
}

/// A competition's invitations nobody answered or revoked, whose links still work.
pub fn pending_invitations(
    conn: &mut DbConnection,
    competition_id: &str,
    now: NaiveDateTime,
) -> Result<Vec<InvitationRow>, AppError> {
    Ok(invitations::table
        .filter(invitations::competition_id.eq(competition_id))
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::revoked_at.is_null())
        .filter(invitations::expires_at.gt(now))
        .order(invitations::created_at.desc())
        .select(InvitationRow::as_select())
        .load(conn)?)
}

pub fn revoke_invitation(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(invitations::table.find(id))
        .set(invitations::revoked_at.eq(Some(now)))
        .execute(conn)?;
    Ok(())
}

pub fn accept_invitation(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(
        invitations::table
            .find(id)
            .filter(invitations::accepted_at.is_null()),
    )
    .set(invitations::accepted_at.eq(Some(now)))
    .execute(conn)?;
    Ok(())
}

/// Competitions the person judges.
pub fn judge_of(conn: &mut DbConnection, user_id: &str) -> Result<Vec<String>, AppError> {
    Ok(user_roles::table
        .filter(user_roles::user_id.eq(user_id))
        .filter(user_roles::role.eq(Role::Judge.as_str()))
        .filter(user_roles::competition_id.is_not_null())
        .select(user_roles::competition_id.assume_not_null())
        .order(user_roles::competition_id)
        .load(conn)?)
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

/// The judges of a competition (those holding its judge role).
pub fn judges_of_competition(
    conn: &mut DbConnection,
    competition_id: &str,
) -> Result<Vec<UserRow>, AppError> {
    Ok(user_roles::table
        .inner_join(users::table)
        .filter(user_roles::role.eq(Role::Judge.as_str()))
        .filter(user_roles::competition_id.eq(competition_id))
        .select(UserRow::as_select())
        .order(users::display_name)
        .load(conn)?)
}

/// Take a competition role away.
pub fn revoke_competition_role(
    conn: &mut DbConnection,
    user_id: &str,
    role: Role,
    competition_id: &str,
) -> Result<usize, AppError> {
    Ok(diesel::delete(
        user_roles::table
            .filter(user_roles::user_id.eq(user_id))
            .filter(user_roles::role.eq(role.as_str()))
            .filter(user_roles::competition_id.eq(competition_id)),
    )
    .execute(conn)?)
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

pub fn has_audit(conn: &mut DbConnection, subject: &str, action: &str) -> Result<bool, AppError> {
    let n: i64 = audit_log::table
        .filter(audit_log::subject.eq(subject))
        .filter(audit_log::action.eq(action))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
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

/// Site roles of several people at once.
pub fn site_roles_of(
    conn: &mut DbConnection,
    user_ids: &[String],
) -> Result<Vec<(String, String)>, AppError> {
    Ok(user_roles::table
        .filter(user_roles::user_id.eq_any(user_ids))
        .filter(user_roles::competition_id.is_null())
        .select((user_roles::user_id, user_roles::role))
        .load(conn)?)
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

/// Who holds a site-wide role.
pub fn site_role_holders(conn: &mut DbConnection, role: &str) -> Result<Vec<String>, AppError> {
    Ok(user_roles::table
        .filter(user_roles::role.eq(role))
        .filter(user_roles::competition_id.is_null())
        .select(user_roles::user_id)
        .load(conn)?)
}
