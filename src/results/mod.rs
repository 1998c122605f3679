//! Results: how jury and public combine (`scoring`), computing them from the last
//! closed judging round and the public vote, the embargo and publication, the
//! announcement (`jobs`), the organiser's page, the public results page a family would
//! share (winners overall and per category, each with a player and a link to the song,
//! jury and public side by side, ties explained in plain words), a published song's
//! public audio, the CSV, and what musicians learn about their entries. Judging and
//! voting are read through their services.

pub mod jobs;
pub mod model;
pub mod organiser_pages;
pub mod outcome;
pub mod pages;
pub mod routes;
pub mod scoring;
pub mod service;
pub mod store;
