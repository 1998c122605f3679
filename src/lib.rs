//! Cadenza: an open-source platform for running music creativity competitions.
//!
//! See `docs/architecture.md` for the shape of the system.

pub mod accounts;
pub mod admin;
pub mod album;
#[cfg(test)]
mod architecture;
pub mod audio;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod comments;
pub mod competitions;
pub mod config;
pub mod db;
pub mod engine;
pub mod error;
pub mod exhibition;
pub mod http;
pub mod i18n;
pub mod jobs;
pub mod judging;
pub mod mail;
pub mod media;
pub mod metrics;
pub mod openapi;
pub mod processes;
pub mod remix;
pub mod results;
pub mod show;
pub mod site;
pub mod startup;
pub mod state;
pub mod storage;
pub mod submissions;
pub mod telemetry;
pub mod time;
pub mod voting;
pub mod web;
