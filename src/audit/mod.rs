//! The audit log, readable: every competition's (for those who run it) and the whole
//! site's (for admins), filtered by who, what and when, a page at a time or as CSV.
//! Features write it through `db::audit::record`; this feature only reads.

pub mod pages;
pub mod routes;
pub mod service;
pub mod store;
