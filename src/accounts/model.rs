use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{account_tokens, user_roles, users};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub locale: String,
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
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::SetPassword => "set_password",
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
