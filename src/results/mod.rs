//! Results as the public meets them: the results page a family would share (winners
//! overall and per category, each with a player and a link to the song, jury and public
//! side by side, ties explained in plain words) and the public audio of a song once
//! results are out.
//!
//! Computing, embargo and publishing still live in `judging::results`; they move here
//! with the redesign of the house (issue 23).

pub mod pages;
