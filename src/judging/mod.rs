//! Judging: rounds (screening → semi-final → final, and calibration rounds), each with
//! a window, a rubric, blind or not, judges per entry and an advancement rule; the
//! panel, automatic and manual assignment with conflicts and affiliations; the judges'
//! portal with a loudness-matched player and listening coverage; progress; closing a
//! round with raw, median and normalised rankings; advancement; judges' feedback to
//! musicians. Final results are the `results` feature.

pub mod assign;
pub mod assignments;
pub mod domain;
pub mod feedback;
pub mod jobs;
pub mod judge;
pub mod judge_pages;
pub mod model;
pub mod pages;
pub mod panel;
pub mod personal_data;
pub mod progress;
pub mod ranking;
pub mod round_form;
pub mod routes;
pub mod scoring;
pub mod service;
pub mod store;
