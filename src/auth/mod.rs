//! Authentication's machinery, below every feature: the signing keys and claims of
//! access tokens (`jwt`), password hashing with its length rules (`password`) and where
//! a request carries its token (`request`). Who
//! is signed in, their roles and sessions are the `accounts` feature's.

pub mod jwt;
pub mod links;
pub mod password;
pub mod request;
