//! A competition's team, invited by email: judges, co-organisers (run it like its
//! creator) and moderators (moderate entries and votes; change neither rules nor
//! results). Whoever runs the competition invites; accepting creates the account (or
//! links the one with that address) and grants the role for that competition only.
//! Pending invitations are listed, sent again (the old link stops working) and revoked.

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Tokens, now, open_session, spend};
use super::domain::{EmailAddress, Password, StageName};
use super::extract::AuthUser;
use super::model::{InvitationRow, MODERATOR, NewUser, Role, TokenPurpose};
use super::service::blocked;
use super::service::{hash_token, new_token};
use super::store;
use crate::competitions::model::CompetitionRow;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::mail::{self, MailAction, MailContent};
use crate::state::AppState;

pub const INVITE_DAYS: i64 = 14;

/// What a team member does in one competition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamRole {
    Judge,
    CoOrganiser,
    Moderator,
}

impl TeamRole {
    /// As the API and forms name it.
    pub fn name(self) -> &'static str {
        match self {
            TeamRole::Judge => "judge",
            TeamRole::CoOrganiser => "co_organiser",
            TeamRole::Moderator => "moderator",
        }
    }

    /// As `user_roles.role` stores it (with the competition's id).
    pub fn stored(self) -> &'static str {
        match self {
            TeamRole::Judge => Role::Judge.as_str(),
            TeamRole::CoOrganiser => Role::Organiser.as_str(),
            TeamRole::Moderator => MODERATOR,
        }
    }

    pub fn parse(s: &str) -> Result<TeamRole, AppError> {
        match s {
            "judge" => Ok(TeamRole::Judge),
            "co_organiser" | "organiser" => Ok(TeamRole::CoOrganiser),
            "moderator" => Ok(TeamRole::Moderator),
            _ => Err(AppError::invalid("team.role_invalid")),
        }
    }

    fn of_stored(s: &str) -> Option<TeamRole> {
        match s {
            "judge" => Some(TeamRole::Judge),
            "organiser" => Some(TeamRole::CoOrganiser),
            MODERATOR => Some(TeamRole::Moderator),
            _ => None,
        }
    }
}

/// A pending invitation, as its competition's organisers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvitationView {
    pub id: String,
    pub email: String,
    /// `judge`, `co_organiser` or `moderator`.
    pub role: String,
    pub language: String,
    pub invited_by: String,
    pub invited_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Someone on a competition's team.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    pub user_id: String,
    pub name: String,
    pub email: String,
    /// `owner` (created it), `co_organiser`, `moderator` or `judge`.
    pub role: String,
}

/// The competition `cid` if `who` runs it (only they build its team).
fn run_by(conn: &mut DbConnection, who: &AuthUser, cid: &str) -> Result<CompetitionRow, AppError> {
    // Someone who may not manage it learns nothing, not even that it exists.
    crate::competitions::service::managed(conn, who, cid)
}

/// Make a link, email it, and point the invitation at it.
#[allow(clippy::too_many_arguments)]
fn send(
    st: &AppState,
    conn: &mut DbConnection,
    who: &AuthUser,
    c: &CompetitionRow,
    invitation_id: &str,
    email: &str,
    role: TeamRole,
    locale: Locale,
    now: NaiveDateTime,
) -> Result<(i64, NaiveDateTime), AppError> {
    let (token, hash) = new_token();
    let expires = now + Duration::days(INVITE_DAYS);
    // The token hangs off the inviting organiser until accepted (the invitee may have no account).
    store::insert_token_with_data(
        conn,
        &who.user.id,
        TokenPurpose::JudgeInvite,
        &hash,
        expires,
        now,
        &serde_json::json!({
            "competition_id": c.id, "email": email, "language": locale.tag(),
            "role": role.name(), "invitation_id": invitation_id,
        }),
    )?;
    let token_id = store::find_live_token(conn, TokenPurpose::JudgeInvite, &hash, now)?
        .ok_or_else(|| AppError::internal("invitation token vanished"))?
        .id;
    let invitee = store::find_user_by_email(conn, email)?;
    let l = invitee
        .as_ref()
        .and_then(|u| Locale::parse(&u.locale))
        .unwrap_or(locale);
    let title = c.title_in(l);
    let role_label = l.t(&format!("team.role_{}", role.name()));
    let (subject, body) = match role {
        TeamRole::Judge => (
            l.tf("mail.judge_invite_subject", &[("competition", &title)]),
            l.tf(
                "mail.judge_invite_body",
                &[
                    ("competition", &title),
                    ("organiser", &who.user.display_name),
                    ("days", &INVITE_DAYS.to_string()),
                ],
            ),
        ),
        _ => (
            l.tf(
                "mail.team_invite_subject",
                &[("competition", &title), ("role", role_label)],
            ),
            l.tf(
                "mail.team_invite_body",
                &[
                    ("competition", &title),
                    ("organiser", &who.user.display_name),
                    ("role", role_label),
                    ("duties", l.t(&format!("team.duties_{}", role.name()))),
                    ("days", &INVITE_DAYS.to_string()),
                ],
            ),
        ),
    };
    let m = MailContent {
        locale: l,
        to: email.to_string(),
        subject,
        paragraphs: vec![body],
        action: Some(MailAction {
            label: l.t("mail.judge_invite_button").to_string(),
            url: format!("{}/judge-invitation?token={token}", st.settings.base_url()),
        }),
    }
    .render()?;
    mail::enqueue(conn, &m, now)?;
    Ok((token_id, expires))
}

/// Retire an invitation's link (it stops working).
fn retire(conn: &mut DbConnection, token_id: i64, now: NaiveDateTime) -> Result<(), AppError> {
    store::use_token(conn, token_id, now)?;
    Ok(())
}

/// Invite `email` to competition `competition_id` as `role`. Inviting the same address to
/// the same role again replaces the earlier invitation (its link stops working).
pub async fn invite(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
    email: &str,
    language: Option<&str>,
    role: TeamRole,
) -> Result<InvitationView, AppError> {
    let email = EmailAddress::parse(email)?;
    let locale = language.and_then(Locale::parse).unwrap_or_default();
    let (st, who, cid) = (state.clone(), who.clone(), competition_id.to_string());
    state
        .db
        .transaction(move |conn| {
            let c = run_by(conn, &who, &cid)?;
            let now = now();
            for old in store::pending_invitations(conn, &c.id, now)? {
                if old.email == email.as_str() && old.role == role.name() {
                    retire(conn, old.token_id, now)?;
                    store::revoke_invitation(conn, &old.id, now)?;
                }
            }
            let id = uuid::Uuid::now_v7().simple().to_string();
            let (token_id, expires) =
                send(&st, conn, &who, &c, &id, email.as_str(), role, locale, now)?;
            let row = InvitationRow {
                id,
                competition_id: c.id.clone(),
                email: email.as_str().to_string(),
                role: role.name().to_string(),
                language: locale.tag().to_string(),
                invited_by: who.user.id.clone(),
                token_id,
                created_at: now,
                expires_at: expires,
                accepted_at: None,
                revoked_at: None,
            };
            store::insert_invitation(conn, &row)?;
            let action = match role {
                TeamRole::Judge => "judge.invited",
                _ => "team.invited",
            };
            store::audit(
                conn,
                Some(&who.user.id),
                action,
                &c.id,
                &serde_json::json!({ "role": role.name(), "invitation": row.id }),
                now,
            )?;
            Ok(invitation_view(&row, &who.user.display_name))
        })
        .await
}

fn invitation_view(r: &InvitationRow, invited_by: &str) -> InvitationView {
    InvitationView {
        id: r.id.clone(),
        email: r.email.clone(),
        role: r.role.clone(),
        language: r.language.clone(),
        invited_by: invited_by.to_string(),
        invited_at: r.created_at.and_utc(),
        expires_at: r.expires_at.and_utc(),
    }
}

/// The invitations of a competition nobody has answered yet.
pub async fn pending(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
) -> Result<Vec<InvitationView>, AppError> {
    let (who, cid) = (who.clone(), competition_id.to_string());
    state
        .db
        .run(move |conn| {
            let c = run_by(conn, &who, &cid)?;
            let rows = store::pending_invitations(conn, &c.id, now())?;
            rows.iter()
                .map(|r| {
                    let by = store::find_user(conn, &r.invited_by)?
                        .map(|u| u.display_name)
                        .unwrap_or_default();
                    Ok(invitation_view(r, &by))
                })
                .collect()
        })
        .await
}

/// Send an invitation again: a new link (the old one stops working), a new expiry.
pub async fn resend(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
    invitation_id: &str,
) -> Result<InvitationView, AppError> {
    let (st, who, cid, iid) = (
        state.clone(),
        who.clone(),
        competition_id.to_string(),
        invitation_id.to_string(),
    );
    state
        .db
        .transaction(move |conn| {
            let c = run_by(conn, &who, &cid)?;
            let now = now();
            let mut r = store::find_invitation(conn, &iid)?
                .filter(|r| r.competition_id == c.id && r.is_pending(now))
                .ok_or(AppError::NotFound)?;
            retire(conn, r.token_id, now)?;
            let role = TeamRole::parse(&r.role)?;
            let locale = Locale::parse(&r.language).unwrap_or_default();
            let (token_id, expires) =
                send(&st, conn, &who, &c, &r.id, &r.email, role, locale, now)?;
            r.token_id = token_id;
            r.expires_at = expires;
            r.created_at = now;
            store::save_invitation(conn, &r)?;
            store::audit(
                conn,
                Some(&who.user.id),
                "team.invitation_resent",
                &c.id,
                &serde_json::json!({ "invitation": r.id, "role": r.role }),
                now,
            )?;
            Ok(invitation_view(&r, &who.user.display_name))
        })
        .await
}

/// Revoke an invitation: its link stops working at once.
pub async fn revoke(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
    invitation_id: &str,
) -> Result<(), AppError> {
    let (who, cid, iid) = (
        who.clone(),
        competition_id.to_string(),
        invitation_id.to_string(),
    );
    state
        .db
        .transaction(move |conn| {
            let c = run_by(conn, &who, &cid)?;
            let now = now();
            let r = store::find_invitation(conn, &iid)?
                .filter(|r| r.competition_id == c.id && r.is_pending(now))
                .ok_or(AppError::NotFound)?;
            retire(conn, r.token_id, now)?;
            store::revoke_invitation(conn, &r.id, now)?;
            store::audit(
                conn,
                Some(&who.user.id),
                "team.invitation_revoked",
                &c.id,
                &serde_json::json!({ "invitation": r.id, "role": r.role }),
                now,
            )
        })
        .await
}

/// Everyone on the team: the creator, co-organisers, moderators and judges.
pub async fn members(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
) -> Result<Vec<MemberView>, AppError> {
    let (who, cid) = (who.clone(), competition_id.to_string());
    state
        .db
        .run(move |conn| {
            let c = run_by(conn, &who, &cid)?;
            let mut out = Vec::new();
            if let Some(u) = c
                .created_by
                .as_deref()
                .map(|id| store::find_user(conn, id))
                .transpose()?
                .flatten()
            {
                out.push(MemberView {
                    user_id: u.id,
                    name: u.display_name,
                    email: u.email,
                    role: "owner".into(),
                });
            }
            let mut rest = store::competition_members(conn, &c.id)?;
            // Those who run it first, then moderators, then judges.
            let rank = |r: &str| match TeamRole::of_stored(r) {
                Some(TeamRole::CoOrganiser) => 0,
                Some(TeamRole::Moderator) => 1,
                _ => 2,
            };
            rest.sort_by_key(|(r, _)| rank(r));
            for (role, u) in rest {
                if let Some(r) = TeamRole::of_stored(&role) {
                    out.push(MemberView {
                        user_id: u.id,
                        name: u.display_name,
                        email: u.email,
                        role: r.name().into(),
                    });
                }
            }
            Ok(out)
        })
        .await
}

/// Take `role` in the competition away from `user_id` (co-organisers and moderators;
/// judges leave a panel through judging, which keeps their scores' history).
pub async fn remove(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
    user_id: &str,
    role: TeamRole,
) -> Result<(), AppError> {
    if role == TeamRole::Judge {
        return Err(AppError::invalid("team.role_invalid"));
    }
    let (who, cid, uid) = (who.clone(), competition_id.to_string(), user_id.to_string());
    state
        .db
        .transaction(move |conn| {
            let c = run_by(conn, &who, &cid)?;
            let now = now();
            if !store::revoke_competition_role_named(conn, &uid, role.stored(), &c.id)? {
                return Err(AppError::NotFound);
            }
            super::extract::forget_nav(&uid);
            store::audit(
                conn,
                Some(&who.user.id),
                "team.removed",
                &c.id,
                &serde_json::json!({ "user": uid, "role": role.name() }),
                now,
            )
        })
        .await
}

/// What an invitation is for, for the page that answers it.
pub struct Invitation {
    pub competition: String,
    pub email: String,
    pub has_account: bool,
    pub role: TeamRole,
}

pub async fn invitation(state: &AppState, token: &str, l: Locale) -> Result<Invitation, AppError> {
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
            let role = TeamRole::parse(data["role"].as_str().unwrap_or("judge"))?;
            let has_account = store::find_user_by_email(conn, &email)?.is_some();
            Ok(Invitation {
                competition: c.title_in(l),
                email,
                has_account,
                role,
            })
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
/// address (created if needed) gets the role in that competition, and is signed in.
/// Returns the tokens and the role.
pub async fn accept(
    state: &AppState,
    input: AcceptInput,
    user_agent: &str,
) -> Result<(Tokens, TeamRole), AppError> {
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
            let role = TeamRole::parse(data["role"].as_str().unwrap_or("judge"))?;
            let now = now();
            if let Some(iid) = data["invitation_id"].as_str() {
                store::accept_invitation(conn, iid, now)?;
            }
            let user = match store::find_user_by_email(conn, &email)? {
                Some(u) => u,
                None => {
                    let (name, phc) = new_account
                        .ok_or_else(|| AppError::invalid("account.judge_needs_profile"))?;
                    let id = uuid::Uuid::now_v7().to_string();
                    // Invited in a language: later emails come in it too.
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
            if user.blocked_at.is_some() {
                return Err(blocked());
            }
            store::mark_email_verified(conn, &user.id, now)?;
            store::grant_competition_role_named(conn, &user.id, role.stored(), &cid, now)?;
            super::extract::forget_nav(&user.id);
            let action = match role {
                TeamRole::Judge => "judge.accepted",
                _ => "team.accepted",
            };
            store::audit(
                conn,
                Some(&user.id),
                action,
                &cid,
                &serde_json::json!({ "role": role.name() }),
                now,
            )?;
            Ok((open_session(&st, conn, &user.id, &ua)?, role))
        })
        .await
}
