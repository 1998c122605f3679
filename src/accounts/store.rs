use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{NewRole, NewToken, Role, TokenPurpose, TokenRow, UserRow};
use crate::db::DbConnection;
use crate::db::schema::{account_tokens, user_roles, users};
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

pub fn insert_user(conn: &mut DbConnection, user: &UserRow) -> Result<(), AppError> {
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
    let held: i64 = user_roles::table
        .filter(user_roles::user_id.eq(user_id))
        .filter(user_roles::role.eq(role.as_str()))
        .filter(user_roles::competition_id.is_null())
        .count()
        .get_result(conn)?;
    if held == 0 {
        diesel::insert_into(user_roles::table)
            .values(NewRole {
                user_id,
                role: role.as_str(),
                competition_id: None,
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
