//! The site's pages that gather every feature (a competition's page, the organiser's
//! desk). A feature of its own at the top: it reads the others through their services
//! and no feature reads it, so the competitions feature below never names judging,
//! voting, submissions or remix.

pub mod pages;
