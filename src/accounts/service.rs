//! Accounts' face to the other features — who a person is (`find_user`, names, judges
//! of a competition, whether a session ended), the extension point for personal data
//! and the team invitation — and the first organiser with its password set-up link.
//! Sign-in, registration, guardian consent, recovery and profiles have their own files.

/// Where on the account page a teen asks for (or sees) their guardian's consent.
pub use super::guardian::ACCOUNT_SECTION;
/// What features implement to take part in a person's export, erasure and consent.
pub use super::holders::PersonalData;
/// A competition's team (judges are invited through it).
pub use super::team::{TeamRole, invite as invite_to_team};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::domain::{EmailAddress, Password, StageName};
use super::model::{NewUser, Role, TokenPurpose, UserRow};
use super::store;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::mail::{self, MailAction, MailContent};
use crate::state::AppState;

/// A fresh one-time token (256 random bits, URL-safe) and the hash we store.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// What `admin create-organiser` reports.
#[derive(Debug, Clone)]
pub struct SetupLink {
    pub user_id: String,
    pub email: String,
    pub url: String,
    /// False when the person already had an account (they got the role and a new link).
    pub created: bool,
}

/// Create (or find) the account for `email`, make it an organiser, and issue a
/// one-time link to set its password. The link is also emailed, through the job
/// queue, in the same transaction.
pub async fn create_organiser(
    state: &AppState,
    email: &str,
    locale: Locale,
) -> Result<SetupLink, AppError> {
    let email = EmailAddress::parse(email)?;
    let (token, token_hash) = new_token();
    let hours = state.settings.auth.setup_link_hours.max(1);
    let url = format!(
        "{}/account/set-password?token={token}",
        state.settings.base_url()
    );
    let site = state.settings.base_url().to_string();
    let link = url.clone();
    state
        .db
        .transaction(move |conn| {
            let now = Utc::now().naive_utc();
            let (user, created) = match store::find_user_by_email(conn, email.as_str())? {
                Some(u) => (u, false),
                None => {
                    let id = uuid::Uuid::now_v7().to_string();
                    let name = email
                        .as_str()
                        .split('@')
                        .next()
                        .unwrap_or("organiser")
                        .to_string();
                    store::insert_user(
                        conn,
                        &NewUser {
                            id: &id,
                            email: email.as_str(),
                            display_name: &name,
                            password_hash: None,
                            locale: locale.tag(),
                            date_of_birth: None,
                            country: "",
                            guardian_email: None,
                            created_at: now,
                            updated_at: now,
                        },
                    )?;
                    let user = store::find_user(conn, &id)?.ok_or(AppError::NotFound)?;
                    (user, true)
                }
            };
            store::grant_site_role(conn, &user.id, Role::Organiser, now)?;
            super::extract::forget_nav(&user.id);
            store::retire_tokens(conn, &user.id, TokenPurpose::SetPassword, now)?;
            store::insert_token(
                conn,
                &user.id,
                TokenPurpose::SetPassword,
                &token_hash,
                now + Duration::hours(hours),
                now,
            )?;
            let l = Locale::parse(&user.locale).unwrap_or(locale);
            let content = MailContent {
                locale: l,
                to: user.email.clone(),
                subject: l.t("mail.organiser_invite_subject").to_string(),
                paragraphs: vec![l.tf(
                    "mail.organiser_invite_body",
                    &[
                        ("email", &user.email),
                        ("site", &site),
                        ("hours", &hours.to_string()),
                    ],
                )],
                action: Some(MailAction {
                    label: l.t("mail.organiser_invite_button").to_string(),
                    url: link,
                }),
            };
            mail::enqueue(conn, &content.render()?, now)?;
            Ok(SetupLink {
                user_id: user.id,
                email: user.email,
                url,
                created,
            })
        })
        .await
}

/// The person a live set-up token belongs to, or `account.token_invalid`.
pub async fn check_setup_token(state: &AppState, token: &str) -> Result<UserRow, AppError> {
    let hash = hash_token(token);
    state
        .db
        .run(move |conn| {
            let now = Utc::now().naive_utc();
            let t = store::find_live_token(conn, TokenPurpose::SetPassword, &hash, now)?
                .ok_or_else(|| AppError::invalid("account.token_invalid"))?;
            store::find_user(conn, &t.user_id)?
                .ok_or_else(|| AppError::invalid("account.token_invalid"))
        })
        .await
}

/// Set the password with a one-time token. The token is spent in the same
/// transaction, so it works exactly once even when two requests race.
pub async fn set_password_with_token(
    state: &AppState,
    token: &str,
    password: &str,
    confirm: Option<&str>,
    name: Option<&str>,
) -> Result<(), AppError> {
    let password = Password::parse(password)?;
    if confirm.is_some_and(|c| c != password.expose()) {
        return Err(AppError::invalid("account.passwords_differ"));
    }
    // The name musicians and judges will see (invitations are signed with it), given
    // once here by someone whose account was made for them.
    let name = name
        .filter(|n| !n.trim().is_empty())
        .map(StageName::parse)
        .transpose()?;
    // Fail fast on a bad link before spending time on the hash.
    check_setup_token(state, token).await?;
    let phc = state.hasher.hash(password).await?;
    let hash = hash_token(token);
    state
        .db
        .transaction(move |conn| {
            let now = Utc::now().naive_utc();
            let t = store::find_live_token(conn, TokenPurpose::SetPassword, &hash, now)?
                .ok_or_else(|| AppError::invalid("account.token_invalid"))?;
            if !store::use_token(conn, t.id, now)? {
                return Err(AppError::invalid("account.token_invalid"));
            }
            // The link came to that address: opening it confirms it.
            store::mark_email_verified(conn, &t.user_id, now)?;
            if let Some(name) = &name {
                store::set_display_name(conn, &t.user_id, name.as_str(), now)?;
            }
            store::set_password_hash(conn, &t.user_id, &phc, now)
        })
        .await
}

/// The refusal for a blocked account (403 `account.blocked`).
pub fn blocked() -> AppError {
    AppError::Refused {
        status: actix_web::http::StatusCode::FORBIDDEN,
        code: "account.blocked",
        params: vec![],
    }
}

/// See [`store::lock_user`].
pub fn lock_user(conn: &mut crate::db::DbConnection, user_id: &str) -> Result<(), AppError> {
    store::lock_user(conn, user_id)
}

pub fn find_user(
    conn: &mut crate::db::DbConnection,
    user_id: &str,
) -> Result<Option<UserRow>, AppError> {
    store::find_user(conn, user_id)
}

pub fn avatar_keys(conn: &mut crate::db::DbConnection) -> Result<Vec<String>, AppError> {
    store::avatar_keys(conn)
}

/// The judges of a competition, for the judging feature.
pub fn judges_of(
    conn: &mut crate::db::DbConnection,
    competition_id: &str,
) -> Result<Vec<UserRow>, AppError> {
    store::judges_of_competition(conn, competition_id)
}

/// Remove a judge from a competition's panel.
pub fn remove_judge(
    conn: &mut crate::db::DbConnection,
    user_id: &str,
    competition_id: &str,
) -> Result<bool, AppError> {
    Ok(store::revoke_competition_role(conn, user_id, Role::Judge, competition_id)? > 0)
}

/// Whether `user_id` is (still) a judge of `competition_id`.
pub fn is_judge_of(
    conn: &mut crate::db::DbConnection,
    user_id: &str,
    competition_id: &str,
) -> Result<bool, AppError> {
    Ok(store::judge_of(conn, user_id)?
        .iter()
        .any(|c| c == competition_id))
}

/// Accounts by id (for features that list many people).
pub fn users_by_ids(
    conn: &mut crate::db::DbConnection,
    ids: &[String],
) -> Result<Vec<UserRow>, AppError> {
    store::users_by_ids(conn, ids)
}

/// Stage names by user id, for lists that show many people.
pub fn display_names(
    conn: &mut crate::db::DbConnection,
    ids: &[String],
) -> Result<std::collections::HashMap<String, String>, AppError> {
    Ok(store::users_by_ids(conn, ids)?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect())
}

/// Which of these accounts have been erased.
pub fn erased_among(
    conn: &mut crate::db::DbConnection,
    ids: &[String],
) -> Result<std::collections::HashSet<String>, AppError> {
    store::erased_among(conn, ids)
}

/// Who an access token belongs to (for paths that check tokens themselves, like the
/// ballot): the account, the session, site roles and roles per competition.
pub use super::auth::{Authenticated, authenticate};

/// Whether session `sid` of account `sub` ended (signed out, blocked, erased), read from
/// memory: for paths too hot to ask the database on every request.
pub fn session_ended(state: &AppState, sid: &str, sub: &str) -> bool {
    use super::AccountsState;
    state.revoked().is_revoked(sid, sub)
}

/// People whose name or email contains `q`, newest first (for the site administration
/// and the audit log's "who" filter).
pub fn search_users(
    conn: &mut crate::db::DbConnection,
    q: &str,
    before: Option<(chrono::NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<UserRow>, AppError> {
    store::search_users(conn, q, before, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_stored_hashed() {
        let (a, ha) = new_token();
        let (b, hb) = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "256 bits in unpadded base64url");
        assert_eq!(ha, hash_token(&a));
        assert_ne!(ha, hb);
        assert!(!ha.contains(&a));
        assert_eq!(ha.len(), 64);
    }
}
