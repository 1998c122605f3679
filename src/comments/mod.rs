//! Listeners' time-synced comments ("bullet comments") on public songs: pinned to a
//! moment, shown as a lane over the waveform and as a list, once the results are
//! public. The musician can switch them off for a song; a minor's songs have none
//! unless a guardian allowed them. Moderation from day one: word lists per language,
//! rate limits per account and address, report-and-hide, and a queue for organisers.

pub mod domain;
pub mod model;
pub mod pages;
pub mod routes;
pub mod service;
pub mod store;
