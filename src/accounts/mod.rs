//! Accounts. The foundation has what the first organiser needs: people with roles,
//! one-time tokens, and setting a password from an emailed or printed link. The
//! accounts issue extends this (registration, sign-in, sessions).

pub mod domain;
pub mod model;
pub mod password;
pub mod routes;
pub mod service;
pub mod store;
