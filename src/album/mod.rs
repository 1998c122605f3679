//! The digital album of a competition's songs: the organiser assembles it after the
//! results (title, cover, tracks in the results' order, per-track credits), each
//! musician — and for a minor, a guardian — agrees to its release terms before a track
//! is included, the release files (FLAC and MP3 at the album's loudness, tagged) are
//! made in the limited child, and the album page plays them in order, with a counted
//! ZIP download behind short-lived signed links.

pub mod consent;
pub mod domain;
pub mod jobs;
pub mod model;
pub mod pages;
pub mod public;
pub mod routes;
pub mod service;
pub mod store;
