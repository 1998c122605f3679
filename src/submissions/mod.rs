//! Submissions: musicians' entries, their audio (streamed uploads or direct-to-S3),
//! the analysis pipeline, moderation, playback (the musician's own file, and the clean
//! loudness-matched public renditions), duplicate detection and the orphan sweeper.
//! Features above add sections to an entry's page through `sections`.

pub mod analysis;
pub mod duplicates;
pub mod entry_form;
pub mod model;
pub mod moderation;
pub mod pages;
pub mod playback;
pub mod public_audio;
pub mod routes;
pub mod sections;
pub mod service;
pub mod store;
pub mod sweeper;
pub mod upload;
