//! Competitions. The foundation lists published competitions on the home page and in
//! the API; creating and running them arrives with the competitions issue.

pub mod model;
pub mod routes;
pub mod service;
pub mod store;
