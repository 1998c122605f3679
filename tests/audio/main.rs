//! Tests of the audio analysis engine: EBU conformance, a cross-check against
//! ffmpeg in every supported format, the CLI, isolation, and a corpus of malformed
//! files. Run with `scripts/test.sh audio` (needs ffmpeg; the script installs it).

mod cli;
mod ebu;
mod ffmpeg;
mod formats;
mod renditions;
mod robustness;
mod sandbox;
mod signals;
