//! The exhibition: every public competition, prompt and entry can have a poster — a QR
//! code (SVG and PNG, error correction for print) on a printable page with the prompt's
//! picture and story, in the language chosen — and a scan opens the phone's page (the
//! song, one tap to play, the vote button while voting is open). Scans are counted per
//! poster and day, with nothing about who scanned.

pub mod model;
pub mod pages;
pub mod qr;
pub mod routes;
pub mod service;
pub mod store;
