//! Remix rounds: organisers attach stem packs (analysed stems, tempo, key, MIDI and
//! lyrics, a versioned licence) to a competition or prompt; musicians accept the licence
//! and download through short-lived signed links (counted); a remix names its source (a
//! pack, or a published song its musician opened to remixes under a licence); entry
//! pages show the lineage tree and credit the original musicians; and a stem-usage check
//! (spectral landmarks, `audio::landmarks`) tells organisers which stems are heard in a
//! remix, and where.

pub mod check;
pub mod jobs;
pub mod links;
pub mod model;
pub mod packs;
pub mod pages;
pub mod routes;
pub mod service;
pub mod song_page;
pub mod store;
