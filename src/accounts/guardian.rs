//! A parent's or guardian's consent for a young musician: asking (at registration, when
//! a date of birth is given later, or again on request), giving it through the emailed
//! link, and withdrawing it through the standing link the guardian gets once they agreed.
//! Whether consent is needed depends on the competition (`domain::consent_check`); every
//! step is in the audit log and the teen is told by email what happened.

use super::AccountsState as _;
use chrono::{Duration, NaiveDateTime};

use super::auth::{notice_mail, now, spend};
use super::domain::{DateOfBirth, EmailAddress};
use super::extract::AuthUser;
use super::model::{TokenPurpose, UserRow};
use super::service::{hash_token, new_token};
use super::store;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::mail::{self, MailAction, MailContent};
use crate::state::AppState;

/// Consent requests a teen may send in an hour (each one emails the guardian).
pub const REQUESTS_PER_HOUR: u32 = 3;
/// How long the guardian's withdrawal link works: as long as the account can need it.
const WITHDRAW_LINK_DAYS: i64 = 3_650;

/// Where the teen is told about consent, and can ask again.
pub const ACCOUNT_SECTION: &str = "/account#age-and-consent";

fn consent_mail(
    state: &AppState,
    user: &UserRow,
    guardian: &str,
    token: &str,
) -> Result<mail::Email, AppError> {
    let l = user.language();
    let days = state.settings.auth.guardian_link_days.to_string();
    Ok(MailContent {
        locale: l,
        to: guardian.to_string(),
        subject: l.tf("mail.guardian_subject", &[("name", &user.display_name)]),
        paragraphs: vec![
            l.tf(
                "mail.guardian_body",
                &[("name", &user.display_name), ("email", &user.email)],
            ),
            l.tf("mail.guardian_expiry", &[("days", &days)]),
        ],
        action: Some(MailAction {
            label: l.t("mail.guardian_button").to_string(),
            url: format!(
                "{}/guardian-consent?token={token}",
                state.settings.base_url()
            ),
        }),
    }
    .render()?)
}

/// Ask `guardian` to consent for `user`: a fresh link (older ones stop working), the
/// email, and the audit entry.
pub(super) fn ask(
    state: &AppState,
    conn: &mut DbConnection,
    user: &UserRow,
    guardian: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let (token, hash) = new_token();
    store::retire_tokens(conn, &user.id, TokenPurpose::GuardianConsent, now)?;
    store::insert_token_with_data(
        conn,
        &user.id,
        TokenPurpose::GuardianConsent,
        &hash,
        now + Duration::days(state.settings.auth.guardian_link_days),
        now,
        &serde_json::json!({ "guardian_email": guardian }),
    )?;
    mail::enqueue(conn, &consent_mail(state, user, guardian, &token)?, now)?;
    store::audit(
        conn,
        Some(&user.id),
        "account.guardian_requested",
        &user.id,
        &serde_json::json!({}),
        now,
    )
}

/// Who a guardian link is for: the musician's stage name and the guardian's email.
pub async fn request_of(state: &AppState, token: &str) -> Result<(String, String), AppError> {
    let hash = hash_token(token);
    state
        .db
        .run(move |conn| {
            let t = store::find_live_token(conn, TokenPurpose::GuardianConsent, &hash, now())?
                .ok_or_else(|| AppError::invalid("account.token_invalid"))?;
            let user = store::find_user(conn, &t.user_id)?
                .ok_or_else(|| AppError::invalid("account.token_invalid"))?;
            let data: serde_json::Value = serde_json::from_str(&t.data).unwrap_or_default();
            let email = data["guardian_email"]
                .as_str()
                .map(str::to_string)
                .or(user.guardian_email)
                .unwrap_or_default();
            Ok((user.display_name, email))
        })
        .await
}

/// Record a guardian's consent: who (the name they typed and the email the link went
/// to), when, and how (an emailed link and a confirmation form). The teen is told, and
/// the guardian gets a standing link to withdraw it.
pub async fn give(state: &AppState, token: &str, guardian_name: &str) -> Result<(), AppError> {
    let name = guardian_name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::invalid("account.guardian_name_invalid"));
    }
    let token = token.to_string();
    let st = state.clone();
    state
        .db
        .transaction(move |conn| {
            let t = spend(conn, TokenPurpose::GuardianConsent, &token)?;
            let data: serde_json::Value = serde_json::from_str(&t.data).unwrap_or_default();
            let email = data["guardian_email"].as_str().unwrap_or("").to_string();
            let now = now();
            store::record_guardian_consent(
                conn,
                &t.user_id,
                &format!("{name} <{email}>"),
                "email-link+form",
                now,
            )?;
            let user = store::find_user(conn, &t.user_id)?.ok_or(AppError::NotFound)?;
            // The teen learns they can take part now.
            let teen = notice_mail(
                &user,
                "mail.guardian_agreed_subject",
                "mail.guardian_agreed_body",
                Some((
                    format!("{}/me/entries", st.settings.base_url()),
                    "mail.guardian_agreed_button",
                )),
            )?;
            mail::enqueue(conn, &teen, now)?;
            // The guardian keeps a way to change their mind.
            let (withdraw, hash) = new_token();
            store::retire_tokens(conn, &user.id, TokenPurpose::GuardianWithdraw, now)?;
            store::insert_token(
                conn,
                &user.id,
                TokenPurpose::GuardianWithdraw,
                &hash,
                now + Duration::days(WITHDRAW_LINK_DAYS),
                now,
            )?;
            let l = user.language();
            let m = MailContent {
                locale: l,
                to: email.clone(),
                subject: l.tf(
                    "mail.consent_recorded_subject",
                    &[("name", &user.display_name)],
                ),
                paragraphs: vec![l.tf(
                    "mail.consent_recorded_body",
                    &[("name", &user.display_name)],
                )],
                action: Some(MailAction {
                    label: l.t("mail.consent_withdraw_button").to_string(),
                    url: format!(
                        "{}/guardian-consent/withdraw?token={withdraw}",
                        st.settings.base_url()
                    ),
                }),
            }
            .render()?;
            mail::enqueue(conn, &m, now)?;
            store::audit(
                conn,
                None,
                "account.guardian_consent",
                &t.user_id,
                &serde_json::json!({ "method": "email-link+form" }),
                now,
            )
        })
        .await
}

/// Whether the guardian's standing link's young musician has listeners' comments
/// allowed: (stage name, allowed).
pub async fn comments_of(state: &AppState, token: &str) -> Result<(String, bool), AppError> {
    let hash = hash_token(token);
    state
        .db
        .run(move |conn| {
            let t = store::find_live_token(conn, TokenPurpose::GuardianWithdraw, &hash, now())?
                .ok_or_else(|| AppError::invalid("account.token_invalid"))?;
            let user = store::find_user(conn, &t.user_id)?
                .ok_or_else(|| AppError::invalid("account.token_invalid"))?;
            Ok((user.display_name, user.guardian_allows_comments))
        })
        .await
}

/// A guardian allows (or stops) listeners' comments on the young musician's published
/// songs, through their standing link (which stays valid: it is not spent). Audited.
pub async fn allow_comments(state: &AppState, token: &str, allow: bool) -> Result<(), AppError> {
    let hash = hash_token(token);
    state
        .db
        .transaction(move |conn| {
            let now = now();
            let t = store::find_live_token(conn, TokenPurpose::GuardianWithdraw, &hash, now)?
                .ok_or_else(|| AppError::invalid("account.token_invalid"))?;
            store::set_guardian_allows_comments(conn, &t.user_id, allow, now)?;
            store::audit(
                conn,
                None,
                "account.guardian_comments",
                &t.user_id,
                &serde_json::json!({ "allowed": allow }),
                now,
            )
        })
        .await
}

/// A guardian withdraws consent: it stops counting at once, the teen's entries in
/// competitions that need it are withdrawn (out of judging and public votes), and the
/// teen is told. Returns how many entries stopped.
pub async fn withdraw(state: &AppState, token: &str) -> Result<usize, AppError> {
    let token = token.to_string();
    let st = state.clone();
    let default_age = state.settings.auth.age_of_digital_consent;
    state
        .db
        .transaction(move |conn| {
            let t = spend(conn, TokenPurpose::GuardianWithdraw, &token)?;
            let now = now();
            store::lock_user(conn, &t.user_id)?;
            store::withdraw_guardian_consent(conn, &t.user_id, now)?;
            let user = store::find_user(conn, &t.user_id)?.ok_or(AppError::NotFound)?;
            let stopped = st
                .holders()
                .consent_withdrawn(conn, &user, default_age, now)?;
            let teen = notice_mail(
                &user,
                "mail.guardian_withdrew_subject",
                "mail.guardian_withdrew_body",
                Some((
                    format!("{}{ACCOUNT_SECTION}", st.settings.base_url()),
                    "mail.guardian_withdrew_button",
                )),
            )?;
            mail::enqueue(conn, &teen, now)?;
            store::audit(
                conn,
                None,
                "account.guardian_withdrawn",
                &user.id,
                &serde_json::json!({ "entries_withdrawn": stopped.len() }),
                now,
            )?;
            for id in &stopped {
                store::audit(
                    conn,
                    None,
                    "entry.withdrawn",
                    id,
                    &serde_json::json!({ "reason": "guardian_withdrew_consent" }),
                    now,
                )?;
            }
            Ok(stopped.len())
        })
        .await
}

/// The teen asks (again) for consent, to `guardian` or to the address on file. Refused
/// once consent is given (a guardian withdraws it through their own link), and for
/// adults. The caller limits how often.
pub async fn request(
    state: &AppState,
    who: &AuthUser,
    guardian: Option<&str>,
) -> Result<(), AppError> {
    may_request(who)?;
    let u = &who.user;
    let guardian = match guardian.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) => parse_guardian(g, &u.email)?,
        None => u
            .guardian_email
            .clone()
            .ok_or_else(|| AppError::invalid("account.guardian_email_invalid"))?,
    };
    let st = state.clone();
    let id = u.id.clone();
    state
        .db
        .transaction(move |conn| {
            let now = now();
            store::set_guardian_email(conn, &id, &guardian, now)?;
            let user = store::find_user(conn, &id)?.ok_or(AppError::NotFound)?;
            ask(&st, conn, &user, &guardian, now)
        })
        .await
}

/// Whether the person may ask a guardian at all (checked before the hourly limit, so
/// a refusal does not use up a try).
pub fn may_request(who: &AuthUser) -> Result<(), AppError> {
    let today = now().date();
    let u = &who.user;
    let age = u
        .date_of_birth
        .as_deref()
        .and_then(|d| DateOfBirth::parse(d, today).ok())
        .map(|d| d.age_on(today))
        .ok_or_else(|| AppError::invalid("account.birth_date_first"))?;
    if age >= 18 {
        return Err(AppError::invalid("account.guardian_not_needed"));
    }
    if u.guardian_consent_at.is_some() {
        return Err(AppError::Conflict {
            code: "account.guardian_already_agreed",
        });
    }
    Ok(())
}

fn parse_guardian(raw: &str, own: &str) -> Result<String, AppError> {
    let g = EmailAddress::parse(raw)
        .map_err(|_| AppError::invalid("account.guardian_email_invalid"))?;
    if g.as_str().eq_ignore_ascii_case(own) {
        return Err(AppError::invalid("account.guardian_email_same"));
    }
    Ok(g.as_str().to_string())
}

/// An account made without a date of birth (a voter's magic link, a judge's invitation)
/// gives one, once. Below the server's age of digital consent a guardian's email is
/// required and asked, as at registration; under 18 one given is asked too.
/// Returns whether a guardian was asked.
pub async fn give_birth_date(
    state: &AppState,
    who: &AuthUser,
    date_of_birth: &str,
    guardian: Option<&str>,
) -> Result<bool, AppError> {
    let today = now().date();
    let dob = DateOfBirth::parse(date_of_birth, today)?;
    if who.user.date_of_birth.is_some() {
        return Err(AppError::Conflict {
            code: "account.birth_date_already_given",
        });
    }
    let age = dob.age_on(today);
    let consent_age = state.settings.auth.age_of_digital_consent;
    let guardian = match guardian.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) if age < 18 => Some(parse_guardian(g, &who.user.email)?),
        None if age < consent_age => {
            return Err(AppError::invalid_with(
                "account.guardian_required",
                vec![("age", consent_age.to_string())],
            ));
        }
        _ => None,
    };
    let st = state.clone();
    let id = who.user.id.clone();
    let text = dob.0.format("%Y-%m-%d").to_string();
    state
        .db
        .transaction(move |conn| {
            let now = now();
            if !store::set_birth_date(conn, &id, &text, now)? {
                return Err(AppError::Conflict {
                    code: "account.birth_date_already_given",
                });
            }
            store::audit(
                conn,
                Some(&id),
                "account.birth_date_given",
                &id,
                &serde_json::json!({ "minor": age < consent_age }),
                now,
            )?;
            if let Some(g) = &guardian {
                store::set_guardian_email(conn, &id, g, now)?;
                let user = store::find_user(conn, &id)?.ok_or(AppError::NotFound)?;
                ask(&st, conn, &user, g, now)?;
            }
            Ok(guardian.is_some())
        })
        .await
}

/// What the account page says about age and consent.
#[derive(Debug, Clone, Default)]
pub struct ConsentStatus {
    /// No date of birth yet: the form to give one is shown.
    pub needs_birth_date: bool,
    /// Under 18: the guardian section is shown.
    pub under_18: bool,
    pub guardian_email: Option<String>,
    /// When consent was given, `YYYY-MM-DD`.
    pub agreed_on: Option<String>,
    /// When a guardian withdrew it, `YYYY-MM-DD`, if it has not been given again.
    pub withdrawn_on: Option<String>,
}

pub fn status_of(u: &UserRow, today: chrono::NaiveDate) -> ConsentStatus {
    let age = u
        .date_of_birth
        .as_deref()
        .and_then(|d| DateOfBirth::parse(d, today).ok())
        .map(|d| d.age_on(today));
    let day = |t: Option<NaiveDateTime>| t.map(|t| t.format("%Y-%m-%d").to_string());
    ConsentStatus {
        needs_birth_date: age.is_none(),
        under_18: age.is_some_and(|a| a < 18),
        guardian_email: u.guardian_email.clone(),
        agreed_on: day(u.guardian_consent_at),
        withdrawn_on: day(u.guardian_withdrawn_at).filter(|_| u.guardian_consent_at.is_none()),
    }
}
