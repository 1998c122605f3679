//! Competitions: an organiser's call around a theme (prompts, categories, the audio
//! policy, the submission window, quota and eligibility), published for the public.

pub mod ai;
pub mod domain;
pub mod editor;
pub mod model;
pub mod pages;
pub mod pictures;
pub mod policy_form;
pub mod routes;
pub mod service;
pub mod store;
