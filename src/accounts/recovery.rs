//! Changing what guards an account: password reset by email, password change, email
//! change (confirmed at the new address, announced to the old), resending the
//! verification link, and passwordless sign-in by magic link for voters.

use chrono::Duration;

use super::auth::{Tokens, notice_mail, now, open_session, spend};
use super::domain::{EmailAddress, Password};
use super::extract::AuthUser;
use super::model::{NewUser, Role, TokenPurpose, UserRow};
use super::service::new_token;
use super::store;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::mail::{self, MailAction, MailContent};
use crate::state::AppState;

pub const RESET_LINK_MINUTES: i64 = 30;
pub const MAGIC_LINK_MINUTES: i64 = 10;
pub const CHANGE_EMAIL_LINK_HOURS: i64 = 24;
/// Verification emails one account may ask for per hour.
pub const RESENDS_PER_HOUR: u32 = 3;

fn link(state: &AppState, path: &str, token: &str) -> String {
    format!("{}{path}?token={token}", state.settings.base_url())
}

fn link_mail(
    locale: Locale,
    to: &str,
    subject: &str,
    body: String,
    url: String,
    button: &str,
) -> Result<mail::Email, AppError> {
    Ok(MailContent {
        locale,
        to: to.to_string(),
        subject: locale.t(subject).to_string(),
        paragraphs: vec![body],
        action: Some(MailAction {
            label: locale.t(button).to_string(),
            url,
        }),
    }
    .render()?)
}

fn locale_of(user: &UserRow) -> Locale {
    user.language()
}

/// Email a reset link if the address has an account; the answer is the same either way.
/// A blocked account can always be reset: that is the way back in.
pub async fn request_password_reset(state: &AppState, email: &str) -> Result<(), AppError> {
    let Ok(email) = EmailAddress::parse(email) else {
        return Ok(());
    };
    let (token, hash) = new_token();
    let st = state.clone();
    state
        .db
        .transaction(move |conn| {
            let Some(user) = store::find_user_by_email(conn, email.as_str())? else {
                return Ok(());
            };
            let now = now();
            store::retire_tokens(conn, &user.id, TokenPurpose::ResetPassword, now)?;
            store::insert_token(
                conn,
                &user.id,
                TokenPurpose::ResetPassword,
                &hash,
                now + Duration::minutes(RESET_LINK_MINUTES),
                now,
            )?;
            let l = locale_of(&user);
            let body = l.tf(
                "mail.reset_body",
                &[
                    ("name", &user.display_name),
                    ("minutes", &RESET_LINK_MINUTES.to_string()),
                ],
            );
            let m = link_mail(
                l,
                &user.email,
                "mail.reset_subject",
                body,
                link(&st, "/reset-password", &token),
                "mail.reset_button",
            )?;
            mail::enqueue(conn, &m, now).map(|_| ())
        })
        .await
}

/// Set a new password with a reset token: failures and blocks are cleared, every
/// session ends, and the person is told.
pub async fn reset_password(state: &AppState, token: &str, password: &str) -> Result<(), AppError> {
    let password = Password::parse_new(password)?;
    let phc = state.hasher.hash(password).await?;
    let token = token.to_string();
    state
        .db
        .transaction(move |conn| {
            let t = spend(conn, TokenPurpose::ResetPassword, &token)?;
            let now = now();
            store::set_password_hash(conn, &t.user_id, &phc, now)?;
            store::unblock_login(conn, &t.user_id)?;
            store::revoke_all_sessions(conn, &t.user_id, "password_reset", now)?;
            // Whoever reset it could read the mailbox: that proves the address too.
            store::mark_email_verified(conn, &t.user_id, now)?;
            let user = store::find_user(conn, &t.user_id)?.ok_or(AppError::NotFound)?;
            mail::enqueue(
                conn,
                &notice_mail(
                    &user,
                    "mail.password_changed_subject",
                    "mail.password_changed_body",
                    None,
                )?,
                now,
            )?;
            store::audit(
                conn,
                Some(&t.user_id),
                "account.password_reset",
                &t.user_id,
                &serde_json::json!({}),
                now,
            )
        })
        .await
}

/// Change the password (knowing the current one); other sessions end; the person is told.
pub async fn change_password(
    state: &AppState,
    who: &AuthUser,
    current: &str,
    new: &str,
) -> Result<(), AppError> {
    let phc_now = who
        .user
        .password_hash
        .clone()
        .ok_or(AppError::InvalidCredentials)?;
    let current_ok = match Password::parse(current) {
        Ok(p) => state.hasher.verify(p, phc_now).await?,
        Err(_) => false,
    };
    if !current_ok {
        return Err(AppError::invalid("account.current_password_wrong"));
    }
    let phc = state.hasher.hash(Password::parse_new(new)?).await?;
    let (uid, sid) = (who.user.id.clone(), who.session_id.clone());
    state
        .db
        .transaction(move |conn| {
            let now = now();
            store::set_password_hash(conn, &uid, &phc, now)?;
            store::revoke_other_sessions(conn, &uid, &sid, "password_changed", now)?;
            let user = store::find_user(conn, &uid)?.ok_or(AppError::NotFound)?;
            mail::enqueue(
                conn,
                &notice_mail(
                    &user,
                    "mail.password_changed_subject",
                    "mail.password_changed_body",
                    None,
                )?,
                now,
            )?;
            store::audit(
                conn,
                Some(&uid),
                "account.password_changed",
                &uid,
                &serde_json::json!({}),
                now,
            )
        })
        .await
}

/// Start an email change: a confirmation link goes to the new address. If that address
/// already has an account, it is told so instead (and the answer here is the same).
pub async fn request_email_change(
    state: &AppState,
    who: &AuthUser,
    new_email: &str,
    password: &str,
) -> Result<(), AppError> {
    let new_email = EmailAddress::parse(new_email)?;
    let phc = who
        .user
        .password_hash
        .clone()
        .ok_or(AppError::InvalidCredentials)?;
    let ok = match Password::parse(password) {
        Ok(p) => state.hasher.verify(p, phc).await?,
        Err(_) => false,
    };
    if !ok {
        return Err(AppError::invalid("account.current_password_wrong"));
    }
    let (token, hash) = new_token();
    let st = state.clone();
    let user = who.user.clone();
    state
        .db
        .transaction(move |conn| {
            let now = now();
            let l = locale_of(&user);
            if let Some(other) = store::find_user_by_email(conn, new_email.as_str())? {
                if other.id != user.id {
                    mail::enqueue(
                        conn,
                        &notice_mail(
                            &other,
                            "mail.email_taken_subject",
                            "mail.email_taken_body",
                            None,
                        )?,
                        now,
                    )?;
                }
                return Ok(());
            }
            store::retire_tokens(conn, &user.id, TokenPurpose::ChangeEmail, now)?;
            store::insert_token_with_data(
                conn,
                &user.id,
                TokenPurpose::ChangeEmail,
                &hash,
                now + Duration::hours(CHANGE_EMAIL_LINK_HOURS),
                now,
                &serde_json::json!({ "new_email": new_email.as_str() }),
            )?;
            let body = l.tf(
                "mail.change_email_body",
                &[("name", &user.display_name), ("email", new_email.as_str())],
            );
            let m = link_mail(
                l,
                new_email.as_str(),
                "mail.change_email_subject",
                body,
                link(&st, "/confirm-email-change", &token),
                "mail.change_email_button",
            )?;
            mail::enqueue(conn, &m, now).map(|_| ())
        })
        .await
}

/// Confirm an email change from the new address; the old address is told.
pub async fn confirm_email_change(state: &AppState, token: &str) -> Result<(), AppError> {
    let token = token.to_string();
    state
        .db
        .transaction(move |conn| {
            let t = spend(conn, TokenPurpose::ChangeEmail, &token)?;
            let data: serde_json::Value = serde_json::from_str(&t.data).unwrap_or_default();
            let new_email = data["new_email"]
                .as_str()
                .ok_or_else(|| AppError::invalid("account.token_invalid"))?
                .to_string();
            if store::find_user_by_email(conn, &new_email)?.is_some() {
                return Err(AppError::invalid("account.token_invalid"));
            }
            let now = now();
            let before = store::find_user(conn, &t.user_id)?.ok_or(AppError::NotFound)?;
            store::set_email(conn, &t.user_id, &new_email, now)?;
            let l = locale_of(&before);
            let announce = MailContent {
                locale: l,
                to: before.email.clone(),
                subject: l.t("mail.email_changed_subject").to_string(),
                paragraphs: vec![l.tf(
                    "mail.email_changed_body",
                    &[("name", &before.display_name), ("email", &new_email)],
                )],
                action: None,
            }
            .render()?;
            mail::enqueue(conn, &announce, now)?;
            store::audit(
                conn,
                Some(&t.user_id),
                "account.email_changed",
                &t.user_id,
                &serde_json::json!({}),
                now,
            )
        })
        .await
}

/// Send a fresh verification link (limited per account per hour by the caller).
pub async fn resend_verification(state: &AppState, who: &AuthUser) -> Result<(), AppError> {
    if who.user.email_verified_at.is_some() {
        return Ok(());
    }
    let (token, hash) = new_token();
    let st = state.clone();
    let user = who.user.clone();
    state
        .db
        .transaction(move |conn| {
            let now = now();
            store::retire_tokens(conn, &user.id, TokenPurpose::VerifyEmail, now)?;
            let hours = st.settings.auth.verify_link_hours;
            store::insert_token(
                conn,
                &user.id,
                TokenPurpose::VerifyEmail,
                &hash,
                now + Duration::hours(hours),
                now,
            )?;
            let l = locale_of(&user);
            let body = l.tf(
                "mail.verify_body",
                &[("name", &user.display_name), ("hours", &hours.to_string())],
            );
            let m = link_mail(
                l,
                &user.email,
                "mail.verify_subject",
                body,
                link(&st, "/verify-email", &token),
                "mail.verify_button",
            )?;
            mail::enqueue(conn, &m, now).map(|_| ())
        })
        .await
}

/// Whether an address belongs to a disposable-email service.
pub fn is_disposable(email: &EmailAddress) -> bool {
    !mailchecker::is_valid(email.as_str())
}

/// Email a one-time sign-in link (voters). Creates a voter account on first use.
/// Disposable addresses are refused.
pub async fn request_magic_link(
    state: &AppState,
    email: &str,
    locale: Locale,
    next: Option<&str>,
) -> Result<(), AppError> {
    // Back to where the voter was (a shared entry, say) after signing in.
    let next_param = next
        .filter(|n| n.starts_with('/') && !n.starts_with("//"))
        .map(|n| {
            format!(
                "&next={}",
                url::form_urlencoded::byte_serialize(n.as_bytes()).collect::<String>()
            )
        })
        .unwrap_or_default();
    let email = EmailAddress::parse(email)?;
    if is_disposable(&email) {
        return Err(AppError::invalid("account.disposable_email"));
    }
    let (token, hash) = new_token();
    let st = state.clone();
    state
        .db
        .transaction(move |conn| {
            let now = now();
            let user = match store::find_user_by_email(conn, email.as_str())? {
                Some(u) => u,
                None => {
                    let id = uuid::Uuid::now_v7().to_string();
                    let name = email
                        .as_str()
                        .split('@')
                        .next()
                        .unwrap_or("voter")
                        .chars()
                        .take(40)
                        .collect::<String>();
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
                    store::grant_site_role(conn, &id, Role::Voter, now)?;
                    store::find_user(conn, &id)?.ok_or(AppError::NotFound)?
                }
            };
            store::retire_tokens(conn, &user.id, TokenPurpose::MagicLink, now)?;
            store::insert_token(
                conn,
                &user.id,
                TokenPurpose::MagicLink,
                &hash,
                now + Duration::minutes(MAGIC_LINK_MINUTES),
                now,
            )?;
            let l = locale_of(&user);
            let body = l.tf(
                "mail.magic_body",
                &[("minutes", &MAGIC_LINK_MINUTES.to_string())],
            );
            let m = link_mail(
                l,
                &user.email,
                "mail.magic_subject",
                body,
                format!("{}{next_param}", link(&st, "/magic-link/sign-in", &token)),
                "mail.magic_button",
            )?;
            mail::enqueue(conn, &m, now).map(|_| ())
        })
        .await
}

/// Sign in with a magic-link token: single use, 10 minutes; it also proves the address.
pub async fn sign_in_with_magic_link(
    state: &AppState,
    token: &str,
    user_agent: &str,
) -> Result<Tokens, AppError> {
    let token = token.to_string();
    let st = state.clone();
    let ua = user_agent.to_string();
    state
        .db
        .transaction(move |conn| {
            let t = spend(conn, TokenPurpose::MagicLink, &token)?;
            let now = now();
            store::mark_email_verified(conn, &t.user_id, now)?;
            open_session(&st, conn, &t.user_id, &ua)
        })
        .await
}
