//! Submissions: musicians' entries, their audio (streamed uploads or direct-to-S3),
//! the analysis pipeline, moderation, playback and the orphan sweeper.

pub mod analysis;
pub mod model;
pub mod moderation;
pub mod pages;
pub mod playback;
pub mod routes;
pub mod service;
pub mod store;
pub mod sweeper;
pub mod upload;
