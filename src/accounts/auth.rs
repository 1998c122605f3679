//! Registration, email verification, sign-in, token refresh and sign-out (a guardian's
//! consent is in `guardian.rs`). Answers never reveal whether an email has an account.

use super::AccountsState as _;
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::domain::{DateOfBirth, EmailAddress, Password, StageName, parse_country};
use super::model::{NewUser, Role, SessionRow, TokenPurpose, UserRow};
use super::service::{hash_token, new_token};
use super::store;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::mail::{self, MailAction, MailContent};
use crate::state::AppState;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterInput {
    pub email: String,
    pub password: String,
    /// The name shown to everyone.
    pub stage_name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// ISO 3166-1 alpha-2, e.g. `CN`.
    pub country: String,
    /// `en` or `zh-CN`.
    pub language: Option<String>,
    /// Required below the server's age of digital consent; under 18 it is kept and
    /// asked too (a competition may set an older consent age).
    pub guardian_email: Option<String>,
    /// A local path to come back to once the email is confirmed (e.g. `/c/my-call`).
    #[serde(default)]
    pub next: Option<String>,
}

/// What registering did that the person should be told about.
#[derive(Debug, Clone, Copy)]
pub struct Registered {
    /// A parent or guardian was emailed for consent too.
    pub guardian_asked: bool,
}

/// Tokens after sign-in or refresh.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: &'static str,
    /// Seconds the access token lives.
    pub expires_in: i64,
    /// Opaque; rotates on every use; a reused one ends the whole session.
    pub refresh_token: String,
    #[serde(skip)]
    pub session_id: String,
}

pub(super) use crate::time::now;

fn verify_mail(
    state: &AppState,
    user: &UserRow,
    token: &str,
    next: &str,
) -> Result<mail::Email, AppError> {
    let l = user.language();
    let hours = state.settings.auth.verify_link_hours.to_string();
    Ok(MailContent {
        locale: l,
        to: user.email.clone(),
        subject: l.t("mail.verify_subject").to_string(),
        paragraphs: vec![l.tf(
            "mail.verify_body",
            &[("name", &user.display_name), ("hours", &hours)],
        )],
        action: Some(MailAction {
            label: l.t("mail.verify_button").to_string(),
            url: crate::web::with_next(
                &format!("{}/verify-email?token={token}", state.settings.base_url()),
                next,
            ),
        }),
    }
    .render()?)
}

pub(super) fn notice_mail(
    user: &UserRow,
    subject_key: &str,
    body_key: &str,
    link: Option<(String, &str)>,
) -> Result<mail::Email, AppError> {
    let l = user.language();
    Ok(MailContent {
        locale: l,
        to: user.email.clone(),
        subject: l.t(subject_key).to_string(),
        paragraphs: vec![l.tf(body_key, &[("name", &user.display_name)])],
        action: link.map(|(url, label)| MailAction {
            label: l.t(label).to_string(),
            url,
        }),
    }
    .render()?)
}

/// Register a musician. Whether or not the email already has an account, the answer
/// is the same; the owner of an existing account is told someone tried.
pub async fn register(state: &AppState, input: RegisterInput) -> Result<Registered, AppError> {
    let today = Utc::now().date_naive();
    let email = EmailAddress::parse(&input.email)?;
    let stage_name = StageName::parse(&input.stage_name)?;
    let dob = DateOfBirth::parse(&input.date_of_birth, today)?;
    let country = parse_country(&input.country)?;
    let locale = input
        .language
        .as_deref()
        .and_then(Locale::parse)
        .unwrap_or_default();
    let password = Password::parse_new(&input.password)?;
    let age = dob.age_on(today);
    let minor = age < state.settings.auth.age_of_digital_consent;
    let next = crate::web::safe_return_path(input.next.as_deref()).to_string();
    // Under 18 a guardian's address is never ignored: a competition may set an older
    // age of digital consent than the server's, and the guardian is asked once.
    let guardian = match (
        age < 18,
        input
            .guardian_email
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty()),
    ) {
        (true, None) if minor => {
            return Err(AppError::invalid_with(
                "account.guardian_required",
                vec![(
                    "age",
                    state.settings.auth.age_of_digital_consent.to_string(),
                )],
            ));
        }
        (true, Some(g)) => {
            let g = EmailAddress::parse(g)
                .map_err(|_| AppError::invalid("account.guardian_email_invalid"))?;
            if g == email {
                return Err(AppError::invalid("account.guardian_email_same"));
            }
            Some(g)
        }
        _ => None,
    };
    let answer = Registered {
        guardian_asked: guardian.is_some(),
    };
    // Hash first in every case, so known and unknown emails take the same time.
    let phc = state.hasher.hash(password).await?;
    let (verify_token, verify_hash) = new_token();
    let st = state.clone();
    state
        .db
        .transaction(move |conn| {
            let now = now();
            if let Some(existing) = store::find_user_by_email(conn, email.as_str())? {
                let link = (
                    format!("{}/sign-in", st.settings.base_url()),
                    "mail.sign_in_button",
                );
                let m = notice_mail(
                    &existing,
                    "mail.already_registered_subject",
                    "mail.already_registered_body",
                    Some(link),
                )?;
                mail::enqueue(conn, &m, now)?;
                return Ok(());
            }
            let id = uuid::Uuid::now_v7().to_string();
            let dob_text = dob.0.format("%Y-%m-%d").to_string();
            store::insert_user(
                conn,
                &NewUser {
                    id: &id,
                    email: email.as_str(),
                    display_name: stage_name.as_str(),
                    password_hash: Some(&phc),
                    locale: locale.tag(),
                    date_of_birth: Some(&dob_text),
                    country: &country,
                    guardian_email: guardian.as_ref().map(|g| g.as_str()),
                    created_at: now,
                    updated_at: now,
                },
            )?;
            store::grant_site_role(conn, &id, Role::Musician, now)?;
            let user = store::find_user(conn, &id)?.ok_or(AppError::NotFound)?;
            let hours = st.settings.auth.verify_link_hours;
            store::insert_token(
                conn,
                &id,
                TokenPurpose::VerifyEmail,
                &verify_hash,
                now + Duration::hours(hours),
                now,
            )?;
            mail::enqueue(conn, &verify_mail(&st, &user, &verify_token, &next)?, now)?;
            if let Some(g) = &guardian {
                super::guardian::ask(&st, conn, &user, g.as_str(), now)?;
            }
            store::audit(
                conn,
                Some(&id),
                "account.registered",
                &id,
                &serde_json::json!({ "minor": guardian.is_some() }),
                now,
            )?;
            Ok(())
        })
        .await?;
    Ok(answer)
}

pub(super) fn spend(
    conn: &mut DbConnection,
    purpose: TokenPurpose,
    token: &str,
) -> Result<super::model::TokenRow, AppError> {
    let now = now();
    let t = store::find_live_token(conn, purpose, &hash_token(token), now)?
        .ok_or_else(|| AppError::invalid("account.token_invalid"))?;
    if !store::use_token(conn, t.id, now)? {
        return Err(AppError::invalid("account.token_invalid"));
    }
    Ok(t)
}

pub async fn verify_email(state: &AppState, token: &str) -> Result<(), AppError> {
    let token = token.to_string();
    state
        .db
        .transaction(move |conn| {
            let t = spend(conn, TokenPurpose::VerifyEmail, &token)?;
            let now = now();
            store::mark_email_verified(conn, &t.user_id, now)?;
            store::audit(
                conn,
                Some(&t.user_id),
                "account.email_verified",
                &t.user_id,
                &serde_json::json!({}),
                now,
            )
        })
        .await
}

/// Open a new session (refresh-token family) for `user_id` and issue its first tokens.
pub(super) fn open_session(
    state: &AppState,
    conn: &mut DbConnection,
    user_id: &str,
    user_agent: &str,
) -> Result<Tokens, AppError> {
    // No new session for a blocked account, whichever way it signs in.
    if store::find_user(conn, user_id)?.is_some_and(|u| u.blocked_at.is_some()) {
        return Err(super::service::blocked());
    }
    let now = now();
    let session = SessionRow {
        id: uuid::Uuid::new_v4().simple().to_string(),
        user_id: user_id.to_string(),
        created_at: now,
        last_used_at: now,
        expires_at: now + Duration::days(state.settings.auth.session_days),
        revoked_at: None,
        revoke_reason: None,
        user_agent: user_agent.chars().take(200).collect(),
    };
    store::insert_session(conn, &session)?;
    new_session_tokens(state, conn, user_id, &session.id)
}

pub(super) fn new_session_tokens(
    state: &AppState,
    conn: &mut DbConnection,
    user_id: &str,
    session_id: &str,
) -> Result<Tokens, AppError> {
    let (refresh, refresh_hash) = new_token();
    store::insert_refresh(conn, session_id, &refresh_hash, now())?;
    Ok(Tokens {
        access_token: state.jwt.issue(user_id, session_id, Utc::now()),
        token_type: "Bearer",
        expires_in: state.jwt.ttl_secs(),
        refresh_token: refresh,
        session_id: session_id.to_string(),
    })
}

/// Sign in with email and password. Unknown email, wrong password, a throttled or a
/// blocked account all answer `auth.invalid_credentials`, in similar time.
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password: &str,
    user_agent: &str,
) -> Result<Tokens, AppError> {
    let email = match EmailAddress::parse(email) {
        Ok(e) => e,
        Err(_) => {
            state.hasher.verify_dummy(password).await;
            return Err(AppError::InvalidCredentials);
        }
    };
    let lookup = email.as_str().to_string();
    let user = state
        .db
        .run(move |conn| store::find_user_by_email(conn, &lookup))
        .await?;
    let Some(user) = user else {
        state.hasher.verify_dummy(password).await;
        return Err(AppError::InvalidCredentials);
    };
    let now_ts = now();
    let throttled = user.throttled_until.is_some_and(|t| t > now_ts);
    let (Some(phc), false, false) = (user.password_hash.clone(), user.login_blocked, throttled)
    else {
        state.hasher.verify_dummy(password).await;
        return Err(AppError::InvalidCredentials);
    };
    let ok = match Password::parse(password) {
        Ok(p) => state.hasher.verify(p, phc.clone()).await?,
        Err(_) => {
            state.hasher.verify_dummy(password).await;
            false
        }
    };
    let auth = &state.settings.auth;
    if !ok {
        let failures = user.failed_logins + 1;
        let block = user.login_blocked || failures >= auth.block_after_failures;
        let throttle = (failures >= auth.throttle_after_failures).then(|| {
            let exp = (failures - auth.throttle_after_failures).clamp(0, 10) as u32;
            now_ts + Duration::seconds((1i64 << exp).min(900))
        });
        let st = state.clone();
        let u = user.clone();
        state
            .db
            .transaction(move |conn| {
                store::record_failed_login(conn, &u.id, throttle, block)?;
                if block && !u.login_blocked {
                    let link = (
                        format!("{}/forgot-password", st.settings.base_url()),
                        "mail.reset_button",
                    );
                    mail::enqueue(
                        conn,
                        &notice_mail(&u, "mail.blocked_subject", "mail.blocked_body", Some(link))?,
                        now(),
                    )?;
                    store::audit(
                        conn,
                        None,
                        "account.sign_in_blocked",
                        &u.id,
                        &serde_json::json!({ "failures": failures }),
                        now(),
                    )?;
                }
                Ok(())
            })
            .await?;
        return Err(AppError::InvalidCredentials);
    }
    // Upgrade the stored hash when the parameters changed.
    let rehash = if state.hasher.needs_rehash(&phc) {
        Some(state.hasher.hash(Password::parse(password)?).await?)
    } else {
        None
    };
    let st = state.clone();
    let ua = user_agent.to_string();
    state
        .db
        .transaction(move |conn| {
            let now = now();
            store::reset_failed_logins(conn, &user.id)?;
            if let Some(h) = rehash {
                store::set_password_hash(conn, &user.id, &h, now)?;
            }
            open_session(&st, conn, &user.id, &ua)
        })
        .await
}

/// Trade a refresh token for new tokens. The old one is spent; presenting a spent one
/// again means it was stolen (or the client is confused): the whole session ends.
pub async fn refresh(state: &AppState, refresh_token: &str) -> Result<Tokens, AppError> {
    let hash = hash_token(refresh_token);
    let st = state.clone();
    let outcome = state
        .db
        .transaction(move |conn| {
            let now = now();
            let Some(r) = store::find_refresh(conn, &hash)? else {
                return Ok(Err(()));
            };
            let Some(session) = store::find_session(conn, &r.session_id)? else {
                return Ok(Err(()));
            };
            if session.revoked_at.is_some() || session.expires_at <= now {
                return Ok(Err(()));
            }
            if !store::use_refresh(conn, r.id, now)? {
                store::revoke_session(conn, &session.id, "refresh_token_reused", now)?;
                store::audit(
                    conn,
                    None,
                    "session.refresh_reuse",
                    &session.user_id,
                    &serde_json::json!({}),
                    now,
                )?;
                return Ok(Err(()));
            }
            store::touch_session(conn, &session.id, now)?;
            Ok(Ok(new_session_tokens(
                &st,
                conn,
                &session.user_id,
                &session.id,
            )?))
        })
        .await?;
    // A reuse must commit its revocation, so the refusal is decided after the transaction.
    outcome.map_err(|_| AppError::Unauthorized)
}

pub async fn sign_out(state: &AppState, session_id: &str) -> Result<(), AppError> {
    state.revoked().revoke_session(session_id);
    let id = session_id.to_string();
    state
        .db
        .run(move |conn| store::revoke_session(conn, &id, "signed_out", now()))
        .await
}

pub async fn sign_out_everywhere(state: &AppState, user_id: &str) -> Result<(), AppError> {
    state.revoked().revoke_user(user_id);
    let id = user_id.to_string();
    state
        .db
        .transaction(move |conn| {
            let now = now();
            store::revoke_all_sessions(conn, &id, "signed_out_everywhere", now)?;
            store::audit(
                conn,
                Some(&id),
                "session.sign_out_everywhere",
                &id,
                &serde_json::json!({}),
                now,
            )
        })
        .await
}

/// The signed-in person behind a verified access token, if the session still stands.
/// Who a token belongs to: the person, their session, their site-wide roles and their
/// roles in single competitions (role, competition id).
pub type Authenticated = (UserRow, String, Vec<String>, Vec<(String, String)>);

pub async fn authenticate(state: &AppState, token: &str) -> Result<Authenticated, AppError> {
    let claims = state
        .jwt
        .verify(token, Utc::now())
        .map_err(|_| AppError::Unauthorized)?;
    state
        .db
        .run(move |conn| {
            let now = now();
            let user = store::find_user(conn, &claims.sub)?.ok_or(AppError::Unauthorized)?;
            if user.blocked_at.is_some() {
                return Err(AppError::Unauthorized);
            }
            let session = store::find_session(conn, &claims.sid)?.ok_or(AppError::Unauthorized)?;
            if session.user_id != user.id
                || session.revoked_at.is_some()
                || session.expires_at <= now
            {
                return Err(AppError::Unauthorized);
            }
            if user
                .tokens_valid_after
                .is_some_and(|t| claims.iat < t.and_utc().timestamp())
            {
                return Err(AppError::Unauthorized);
            }
            let (mut site, mut scoped) = (Vec::new(), Vec::new());
            for (role, competition) in store::all_roles(conn, &user.id)? {
                match competition {
                    None => site.push(role),
                    Some(c) => scoped.push((role, c)),
                }
            }
            site.sort();
            Ok((user, claims.sid, site, scoped))
        })
        .await
}
