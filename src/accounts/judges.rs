//! Judge invitations: the organiser of a competition invites a judge by email;
//! accepting creates the account (or links the existing one with that address) and
//! grants the judge role for that competition only.

use chrono::Duration;
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::{Tokens, now, open_session, spend};
use super::domain::{EmailAddress, Password, StageName};
use super::extract::AuthUser;
use super::model::{NewUser, Role, TokenPurpose};
use super::service::{hash_token, new_token};
use super::store;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::mail::{self, MailAction, MailContent};
use crate::startup::AppState;

pub const INVITE_DAYS: i64 = 14;

pub async fn invite(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
    email: &str,
    language: Option<&str>,
) -> Result<(), AppError> {
    let email = EmailAddress::parse(email)?;
    let locale = language.and_then(Locale::parse).unwrap_or_default();
    let (token, hash) = new_token();
    let (st, who, cid) = (state.clone(), who.clone(), competition_id.to_string());
    state
        .db
        .transaction(move |conn| {
            // Someone who may not manage it learns nothing, not even that it exists.
            let c = crate::competitions::service::find(conn, &cid)?.ok_or(AppError::NotFound)?;
            if !crate::competitions::service::may_manage(&who, c.created_by.as_deref()) {
                return Err(AppError::NotFound);
            }
            let now = now();
            let invitee = store::find_user_by_email(conn, email.as_str())?;
            // The token hangs off the inviting organiser until accepted (the invitee may have no account).
            store::insert_token_with_data(
                conn,
                &who.user.id,
                TokenPurpose::JudgeInvite,
                &hash,
                now + Duration::days(INVITE_DAYS),
                now,
                &serde_json::json!({ "competition_id": c.id, "email": email.as_str(), "language": locale.tag() }),
            )?;
            let l = invitee
                .as_ref()
                .and_then(|u| Locale::parse(&u.locale))
                .unwrap_or(locale);
            let m = MailContent {
                locale: l,
                to: email.as_str().to_string(),
                subject: l.tf("mail.judge_invite_subject", &[("competition", &c.title)]),
                paragraphs: vec![l.tf(
                    "mail.judge_invite_body",
                    &[
                        ("competition", &c.title),
                        ("organiser", &who.user.display_name),
                        ("days", &INVITE_DAYS.to_string()),
                    ],
                )],
                action: Some(MailAction {
                    label: l.t("mail.judge_invite_button").to_string(),
                    url: format!("{}/judge-invitation?token={token}", st.settings.base_url()),
                }),
            }
            .render()?;
            mail::enqueue(conn, &m, now)?;
            store::audit(
                conn,
                Some(&who.user.id),
                "judge.invited",
                &c.id,
                &serde_json::json!({}),
                now,
            )
        })
        .await
}

/// What an invitation is for: the competition's title, the invited address, and
/// whether that address already has an account.
pub async fn invitation(state: &AppState, token: &str) -> Result<(String, String, bool), AppError> {
    let hash = hash_token(token);
    state
        .db
        .run(move |conn| {
            let t = store::find_live_token(conn, TokenPurpose::JudgeInvite, &hash, now())?
                .ok_or_else(|| AppError::invalid("account.token_invalid"))?;
            let data: serde_json::Value = serde_json::from_str(&t.data).unwrap_or_default();
            let cid = data["competition_id"].as_str().unwrap_or("");
            let email = data["email"].as_str().unwrap_or("").to_string();
            let c = crate::competitions::service::find(conn, cid)?
                .ok_or_else(|| AppError::invalid("account.token_invalid"))?;
            let exists = store::find_user_by_email(conn, &email)?.is_some();
            Ok((c.title, email, exists))
        })
        .await
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInput {
    pub token: String,
    /// For a new account: the name shown to the panel.
    pub stage_name: Option<String>,
    /// For a new account.
    pub password: Option<String>,
}

/// Accept an invitation: the mailbox is proven by the link, so the account with that
/// address (created if needed) becomes a judge of that competition, and is signed in.
pub async fn accept(
    state: &AppState,
    input: AcceptInput,
    user_agent: &str,
) -> Result<Tokens, AppError> {
    // Validate the new-account fields (and hash) before spending the token.
    let new_account = match (&input.stage_name, &input.password) {
        (Some(n), Some(p)) if !n.trim().is_empty() || !p.is_empty() => {
            let name = StageName::parse(n)?;
            let phc = state.hasher.hash(Password::parse_new(p)?).await?;
            Some((name, phc))
        }
        _ => None,
    };
    let (st, ua) = (state.clone(), user_agent.to_string());
    state
        .db
        .transaction(move |conn| {
            let t = spend(conn, TokenPurpose::JudgeInvite, &input.token)?;
            let data: serde_json::Value = serde_json::from_str(&t.data).unwrap_or_default();
            let cid = data["competition_id"]
                .as_str()
                .ok_or_else(|| AppError::invalid("account.token_invalid"))?
                .to_string();
            let email = data["email"]
                .as_str()
                .ok_or_else(|| AppError::invalid("account.token_invalid"))?
                .to_string();
            let now = now();
            let user = match store::find_user_by_email(conn, &email)? {
                Some(u) => u,
                None => {
                    let (name, phc) = new_account
                        .ok_or_else(|| AppError::invalid("account.judge_needs_profile"))?;
                    let id = uuid::Uuid::now_v7().to_string();
                    // The judge was invited in a language: later emails come in it too.
                    let locale = data["language"]
                        .as_str()
                        .and_then(Locale::parse)
                        .unwrap_or_default();
                    store::insert_user(
                        conn,
                        &NewUser {
                            id: &id,
                            email: &email,
                            display_name: name.as_str(),
                            password_hash: Some(&phc),
                            locale: locale.tag(),
                            date_of_birth: None,
                            country: "",
                            guardian_email: None,
                            created_at: now,
                            updated_at: now,
                        },
                    )?;
                    store::find_user(conn, &id)?.ok_or(AppError::NotFound)?
                }
            };
            store::mark_email_verified(conn, &user.id, now)?;
            store::grant_competition_role(conn, &user.id, Role::Judge, &cid, now)?;
            store::audit(
                conn,
                Some(&user.id),
                "judge.accepted",
                &cid,
                &serde_json::json!({}),
                now,
            )?;
            open_session(&st, conn, &user.id, &ua)
        })
        .await
}
