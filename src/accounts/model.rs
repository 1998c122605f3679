use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{account_tokens, invitations, refresh_tokens, sessions, user_roles, users};

/// The signed-in person, as handlers and other features see them (the extractor that
/// makes one is `accounts::extract`).
pub use super::extract::{AuthUser, PageUser};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    /// The stage name: the only name other people ever see.
    pub display_name: String,
    pub password_hash: Option<String>,
    pub locale: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    pub country: String,
    pub bio: String,
    /// JSON array of URLs.
    pub links: String,
    pub avatar_key: Option<String>,
    pub email_verified_at: Option<NaiveDateTime>,
    pub guardian_email: Option<String>,
    pub guardian_consent_at: Option<NaiveDateTime>,
    pub guardian_consent_by: Option<String>,
    pub guardian_consent_method: Option<String>,
    pub failed_logins: i32,
    pub throttled_until: Option<NaiveDateTime>,
    pub login_blocked: bool,
    /// Access tokens issued before this instant are void (sign out everywhere).
    pub tokens_valid_after: Option<NaiveDateTime>,
    pub erased_at: Option<NaiveDateTime>,
    /// When a guardian last withdrew their consent (shown to the teen).
    pub guardian_withdrawn_at: Option<NaiveDateTime>,
    /// Blocked by a site admin: no sign-in, no requests.
    pub blocked_at: Option<NaiveDateTime>,
    pub blocked_reason: Option<String>,
    /// A guardian allowed listeners' comments on this young musician's songs.
    pub guardian_allows_comments: bool,
}

impl UserRow {
    /// The language the person reads Cadenza in (English when the stored tag is unknown).
    pub fn language(&self) -> crate::i18n::Locale {
        crate::i18n::Locale::parse(&self.locale).unwrap_or_default()
    }
}

impl UserRow {
    /// Waiting for a guardian: a guardian email was required and consent has not come.
    pub fn awaits_guardian(&self) -> bool {
        self.guardian_email.is_some() && self.guardian_consent_at.is_none()
    }

    /// Under 18 on `today` (an unknown age counts as young: the safe side).
    pub fn is_minor(&self, today: chrono::NaiveDate) -> bool {
        match &self.date_of_birth {
            Some(d) => super::domain::DateOfBirth::parse(d, today)
                .map(|d| d.age_on(today) < 18)
                .unwrap_or(true),
            None => true,
        }
    }

    /// Whether listeners may comment on this musician's songs at all: adults yes (each
    /// song can be switched off), a minor's only once a guardian allowed it.
    pub fn comments_allowed(&self, today: chrono::NaiveDate) -> bool {
        !self.is_minor(today) || self.guardian_allows_comments
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: Option<&'a str>,
    pub locale: &'a str,
    pub date_of_birth: Option<&'a str>,
    pub country: &'a str,
    pub guardian_email: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What a person may do. Site-wide, or for one competition (judges).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Musician,
    Judge,
    Organiser,
    Voter,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Musician => "musician",
            Role::Judge => "judge",
            Role::Organiser => "organiser",
            Role::Voter => "voter",
            Role::Admin => "admin",
        }
    }
}

/// A competition role beside `Role`: may moderate entries and votes, never rules or results.
pub const MODERATOR: &str = "moderator";

#[derive(Insertable)]
#[diesel(table_name = user_roles)]
pub struct NewRole<'a> {
    pub user_id: &'a str,
    pub role: &'a str,
    pub competition_id: Option<&'a str>,
    pub created_at: NaiveDateTime,
}

/// What a one-time token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    SetPassword,
    VerifyEmail,
    GuardianConsent,
    ResetPassword,
    ChangeEmail,
    MagicLink,
    JudgeInvite,
    /// The guardian's standing link to withdraw consent (sent once consent is given).
    GuardianWithdraw,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::SetPassword => "set_password",
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::GuardianConsent => "guardian_consent",
            TokenPurpose::ResetPassword => "reset_password",
            TokenPurpose::ChangeEmail => "change_email",
            TokenPurpose::MagicLink => "magic_link",
            TokenPurpose::JudgeInvite => "judge_invite",
            TokenPurpose::GuardianWithdraw => "guardian_withdraw",
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = account_tokens)]
pub struct TokenRow {
    pub id: i64,
    pub user_id: String,
    pub purpose: String,
    pub token_hash: String,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub data: String,
}

#[derive(Insertable)]
#[diesel(table_name = account_tokens)]
pub struct NewToken<'a> {
    pub user_id: &'a str,
    pub purpose: &'a str,
    pub token_hash: &'a str,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoke_reason: Option<String>,
    pub user_agent: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshRow {
    pub id: i64,
    pub session_id: String,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

/// An invitation to a competition's team (its link is an `account_tokens` row).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = invitations, treat_none_as_null = true)]
pub struct InvitationRow {
    pub id: String,
    pub competition_id: String,
    pub email: String,
    /// `judge`, `co_organiser` or `moderator`.
    pub role: String,
    pub language: String,
    pub invited_by: String,
    pub token_id: i64,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub accepted_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

impl InvitationRow {
    /// Neither answered nor revoked, and its link still works.
    pub fn is_pending(&self, now: NaiveDateTime) -> bool {
        self.accepted_at.is_none() && self.revoked_at.is_none() && self.expires_at > now
    }
}
