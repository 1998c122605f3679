//! Judging: rounds (screening → semi-final → final, and calibration rounds), each with
//! a window, a rubric, blind or not, judges per entry and an advancement rule; the
//! panel, automatic and manual assignment with conflicts and affiliations; the judges'
//! portal with a loudness-matched player and listening coverage; progress; closing a
//! round with raw, median and normalised rankings; advancement; final results with an
//! embargo; and what musicians see once results are public.

pub mod assign;
pub mod domain;
pub mod feedback;
pub mod jobs;
pub mod judge;
pub mod judge_pages;
pub mod model;
pub mod pages;
pub mod results;
pub mod routes;
pub mod scoring;
pub mod service;
pub mod store;
