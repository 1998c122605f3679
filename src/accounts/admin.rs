//! The site administration (the `admin` role): find accounts, grant and remove the
//! organiser and admin roles, block and unblock accounts. Every change is audited.
//! The first admin comes from the command line (`cadenza admin grant`).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::now;
use super::extract::AuthUser;
use super::model::{Role, UserRow};
use super::store;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::http::pagination::{decode_cursor, encode_cursor};
use crate::state::AppState;

pub const PAGE: i64 = 50;

/// A site role an admin hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteRole {
    Organiser,
    Admin,
}

impl SiteRole {
    pub fn parse(s: &str) -> Result<SiteRole, AppError> {
        match s {
            "organiser" => Ok(SiteRole::Organiser),
            "admin" => Ok(SiteRole::Admin),
            _ => Err(AppError::invalid("admin.role_invalid")),
        }
    }

    fn role(self) -> Role {
        match self {
            SiteRole::Organiser => Role::Organiser,
            SiteRole::Admin => Role::Admin,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountView {
    pub id: String,
    pub email: String,
    pub name: String,
    /// Site-wide roles: `musician`, `voter`, `organiser`, `admin`.
    pub roles: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub email_verified: bool,
    pub blocked_at: Option<DateTime<Utc>>,
    pub blocked_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountPage {
    pub items: Vec<AccountView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    /// Part of a name or an email address.
    pub q: Option<String>,
    pub cursor: Option<String>,
}

fn admin_only(who: &AuthUser) -> Result<(), AppError> {
    // Someone who is not an admin learns nothing, not even that the page exists.
    if who.has_role(Role::Admin.as_str()) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

fn views(conn: &mut DbConnection, users: Vec<UserRow>) -> Result<Vec<AccountView>, AppError> {
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let roles = store::site_roles_of(conn, &ids)?;
    Ok(users
        .into_iter()
        .map(|u| {
            let mut r: Vec<String> = roles
                .iter()
                .filter(|(id, _)| *id == u.id)
                .map(|(_, r)| r.clone())
                .collect();
            r.sort();
            AccountView {
                roles: r,
                created_at: u.created_at.and_utc(),
                email_verified: u.email_verified_at.is_some(),
                blocked_at: u.blocked_at.map(|t| t.and_utc()),
                blocked_reason: u.blocked_reason,
                id: u.id,
                email: u.email,
                name: u.display_name,
            }
        })
        .collect())
}

/// Accounts, newest first, matching `q` (name or email), a page at a time.
pub async fn accounts(
    state: &AppState,
    who: &AuthUser,
    q: AccountQuery,
) -> Result<AccountPage, AppError> {
    admin_only(who)?;
    let before: Option<(NaiveDateTime, String)> =
        match q.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => Some(decode_cursor(c)?),
            None => None,
        };
    let text = q.q.unwrap_or_default();
    if text.chars().count() > 100 {
        return Err(AppError::invalid("admin.search_invalid"));
    }
    state
        .db
        .run(move |conn| {
            let users = store::search_users(conn, &text, before, PAGE)?;
            let next = (users.len() as i64 == PAGE)
                .then(|| {
                    users
                        .last()
                        .map(|u| encode_cursor(&(u.created_at, u.id.clone())))
                })
                .flatten();
            Ok(AccountPage {
                items: views(conn, users)?,
                next_cursor: next,
            })
        })
        .await
}

fn target(conn: &mut DbConnection, user_id: &str) -> Result<UserRow, AppError> {
    store::find_user(conn, user_id)?
        .filter(|u| u.erased_at.is_none())
        .ok_or(AppError::NotFound)
}

fn admins(conn: &mut DbConnection) -> Result<usize, AppError> {
    Ok(store::site_role_holders(conn, Role::Admin.as_str())?.len())
}

/// Grant `role` to an account. `who` is `None` on the command line.
pub async fn grant(
    state: &AppState,
    who: Option<&AuthUser>,
    user_id: &str,
    role: SiteRole,
) -> Result<AccountView, AppError> {
    if let Some(w) = who {
        admin_only(w)?;
    }
    let (actor, uid) = (who.map(|w| w.user.id.clone()), user_id.to_string());
    state
        .db
        .transaction(move |conn| {
            let u = target(conn, &uid)?;
            let now = now();
            store::grant_site_role(conn, &u.id, role.role(), now)?;
            super::extract::forget_nav(&u.id);
            store::audit(
                conn,
                actor.as_deref(),
                "admin.role_granted",
                &u.id,
                &serde_json::json!({ "role": role.role().as_str() }),
                now,
            )?;
            let fresh = target(conn, &u.id)?;
            Ok(views(conn, vec![fresh])?.remove(0))
        })
        .await
}

/// Remove `role` from an account. The last admin stays one (nobody could run the site).
pub async fn revoke(
    state: &AppState,
    who: &AuthUser,
    user_id: &str,
    role: SiteRole,
) -> Result<AccountView, AppError> {
    admin_only(who)?;
    let (actor, uid) = (who.user.id.clone(), user_id.to_string());
    state
        .db
        .transaction(move |conn| {
            let u = target(conn, &uid)?;
            if role == SiteRole::Admin && admins(conn)? <= 1 {
                return Err(AppError::Conflict {
                    code: "admin.last_admin",
                });
            }
            let now = now();
            if !store::revoke_site_role(conn, &u.id, role.role().as_str())? {
                return Err(AppError::NotFound);
            }
            super::extract::forget_nav(&u.id);
            store::audit(
                conn,
                Some(&actor),
                "admin.role_removed",
                &u.id,
                &serde_json::json!({ "role": role.role().as_str() }),
                now,
            )?;
            let fresh = target(conn, &u.id)?;
            Ok(views(conn, vec![fresh])?.remove(0))
        })
        .await
}

/// Block an account: its sessions end at once and it cannot sign in again until unblocked.
pub async fn block(
    state: &AppState,
    who: &AuthUser,
    user_id: &str,
    reason: &str,
) -> Result<AccountView, AppError> {
    admin_only(who)?;
    let reason = reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > 300 {
        return Err(AppError::invalid("admin.reason_required"));
    }
    if user_id == who.user.id {
        return Err(AppError::Conflict {
            code: "admin.not_yourself",
        });
    }
    let (actor, uid) = (who.user.id.clone(), user_id.to_string());
    // Its sessions are revoked in the database: every serve process learns of it within
    // a second (`revocations::spawn_watch`), and `authenticate` refuses a blocked account.
    state
        .db
        .transaction(move |conn| {
            let u = target(conn, &uid)?;
            let now = now();
            store::set_blocked(conn, &u.id, Some((now, &reason)))?;
            store::revoke_all_sessions(conn, &u.id, "blocked", now)?;
            store::audit(
                conn,
                Some(&actor),
                "admin.blocked",
                &u.id,
                &serde_json::json!({ "reason": reason }),
                now,
            )?;
            let fresh = target(conn, &u.id)?;
            Ok(views(conn, vec![fresh])?.remove(0))
        })
        .await
}

pub async fn unblock(
    state: &AppState,
    who: &AuthUser,
    user_id: &str,
) -> Result<AccountView, AppError> {
    admin_only(who)?;
    let (actor, uid) = (who.user.id.clone(), user_id.to_string());
    state
        .db
        .transaction(move |conn| {
            let u = target(conn, &uid)?;
            let now = now();
            store::set_blocked(conn, &u.id, None)?;
            store::audit(
                conn,
                Some(&actor),
                "admin.unblocked",
                &u.id,
                &serde_json::json!({}),
                now,
            )?;
            let fresh = target(conn, &u.id)?;
            Ok(views(conn, vec![fresh])?.remove(0))
        })
        .await
}

/// The account with this email (for the command line).
pub async fn find_by_email(state: &AppState, email: &str) -> Result<UserRow, AppError> {
    let email = super::domain::EmailAddress::parse(email)?;
    state
        .db
        .run(move |conn| store::find_user_by_email(conn, email.as_str()))
        .await?
        .ok_or(AppError::NotFound)
}
