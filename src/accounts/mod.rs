//! Accounts: people and their roles; registration with guardian consent for minors;
//! sign-in, sessions and their revocation; one-time tokens (verification, password
//! reset, invitations) and recovery; profiles, the data export and erasure (asking the
//! features that hold personal data through [`holders`]); a competition's team; the
//! admin console. `auth/` below holds the token keys, password hashing and where a
//! request carries its token; the extractors are in `extract`.

pub mod account_api;
pub mod admin;
pub mod admin_pages;
pub mod api;
pub mod auth;
pub mod domain;
pub mod extract;
pub mod guardian;
pub mod guardian_pages;
pub mod holders;
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
    /// The features that hold personal data (installed by the composition root).
    fn holders(&self) -> &holders::Holders;
}

impl AccountsState for crate::state::AppState {
    fn revoked(&self) -> &Revocations {
        self.part()
    }
    fn holders(&self) -> &holders::Holders {
        self.part()
    }
}
pub mod role_store;
pub mod routes;
pub mod service;
pub mod session_store;
pub mod store;
pub mod team;
pub mod team_pages;
