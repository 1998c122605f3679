//! The API integration suite: one binary, the real application on a random port.
//! Run the whole matrix (both databases, both stores, SMTP, browser) with
//! `scripts/test.sh`; plain `cargo test` runs the SQLite + local-store leg.

mod accounts;
mod ai_use;
mod album;
mod attacks;
mod auth;
mod bilingual;
mod cli;
mod comments;
mod competitions;
mod consent;
mod contract;
mod errors;
mod exhibition;
mod feedback;
mod health;
mod helpers;
mod hostile;
mod invitations;
mod jobs;
mod judging;
mod pictures;
mod profile;
mod public_vote;
mod recovery;
mod remix;
mod schema;
mod show;
mod submissions;
mod team;
mod uploads;
mod voting;
mod web_shell;
