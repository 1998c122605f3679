//! Queries of roles and invitations: site roles, roles in one competition, a
//! competition's members and judges, and the invitations that grant them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{InvitationRow, NewRole, Role, UserRow};
use crate::db::DbConnection;
use crate::db::schema::{invitations, user_roles, users};
use crate::error::AppError;

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

/// Who holds a site-wide role.
pub fn site_role_holders(conn: &mut DbConnection, role: &str) -> Result<Vec<String>, AppError> {
    Ok(user_roles::table
        .filter(user_roles::role.eq(role))
        .filter(user_roles::competition_id.is_null())
        .select(user_roles::user_id)
        .load(conn)?)
}
