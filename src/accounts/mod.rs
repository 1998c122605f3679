//! Accounts. The foundation has what the first organiser needs: people with roles,
//! one-time tokens, and setting a password from an emailed or printed link. The
//! accounts issue extends this (registration, sign-in, sessions).

pub mod account_api;
pub mod admin;
pub mod admin_pages;
pub mod api;
pub mod auth;
pub mod domain;
pub mod extract;
pub mod guardian;
pub mod guardian_pages;
pub mod model;
pub mod page_kit;
pub mod pages;
pub mod profile;
pub mod recovery;
pub mod recovery_pages;
pub mod revocations;

pub use revocations::Revocations;

/// What accounts keep in the application state: the sessions and accounts that ended.
pub trait AccountsState {
    fn revoked(&self) -> &Revocations;
}

impl AccountsState for crate::state::AppState {
    fn revoked(&self) -> &Revocations {
        self.part()
    }
}
pub mod routes;
pub mod service;
pub mod store;
pub mod team;
pub mod team_pages;
