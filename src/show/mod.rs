//! The live show of a voting round: a presenter screen for a projector or a live
//! stream (the round, a large QR code to vote, live bars or — counts hidden — the total
//! and its pulse, a countdown), and a show control for the organiser's phone (open now,
//! close now, and the reveal: the results one step at a time, the jury's points first,
//! then the public's, as a televised final does). The show reads the results; it never
//! changes them.

pub mod domain;
pub mod model;
pub mod pages;
pub mod routes;
pub mod service;
pub mod store;
