//! The technical report: what the engine measured, as a versioned JSON document.
//! The schema is documented in `docs/audio-report.md`; bump [`SCHEMA`] on any
//! incompatible change.

use serde::{Deserialize, Serialize};

pub const SCHEMA: &str = "cadenza.audio-report/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: String,
    pub format: FormatInfo,
    pub loudness: Loudness,
    pub peaks: Peaks,
    pub silence: Silence,
    pub clipping: Clipping,
    /// Per channel, as a fraction of full scale (mean sample value).
    pub dc_offset: Vec<f64>,
    /// Absent for mono.
    pub stereo: Option<Stereo>,
    pub waveform: Waveform,
    /// Absent when not asked for (`--no-fingerprint`) or when the track is too short.
    pub fingerprint: Option<Fingerprint>,
    /// Spectral landmarks (`cadenza-landmarks/1`), for finding stems inside a mix; asked
    /// for with the fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landmarks: Option<Fingerprint>,
    /// Things noticed while decoding that do not stop the analysis.
    pub warnings: Vec<DecodeWarning>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormatInfo {
    /// Container, decided by content: `wav`, `flac`, `mp3`, `mp4`, `ogg`, `adts`.
    pub container: String,
    /// Codec: `pcm`, `flac`, `mp3`, `aac`, `alac`, `vorbis`.
    pub codec: String,
    /// Human-readable codec name.
    pub codec_long: String,
    pub lossless: bool,
    /// Float samples (32-bit float WAV).
    pub float_samples: bool,
    pub sample_rate: u32,
    /// Bits per sample of lossless sources; absent for lossy codecs (and for ALAC,
    /// which symphonia does not report).
    pub bit_depth: Option<u32>,
    pub channels: u32,
    /// Decoded duration, from the frames actually decoded.
    pub duration_secs: f64,
    pub frames: u64,
    /// Average bitrate of the file (size × 8 / duration), in kbit/s.
    pub bitrate_kbps: Option<f64>,
    pub file_size_bytes: u64,
    /// Samples that were not numbers (NaN or infinite: a damaged float file). They are
    /// measured as silence, and the policy refuses the file.
    #[serde(default)]
    pub invalid_samples: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loudness {
    /// Integrated loudness (EBU R128 / ITU-R BS.1770-4), gated. Absent when every block
    /// is below the absolute gate (silence) or the track is shorter than 0.4 s.
    pub integrated_lufs: Option<f64>,
    /// Loudness range (EBU Tech 3342). Absent for tracks shorter than 3 s.
    pub range_lu: Option<f64>,
    pub max_momentary_lufs: Option<f64>,
    pub max_short_term_lufs: Option<f64>,
    pub short_term: Curve,
}

/// A curve sampled at a fixed step: `values[i]` is at `i × step_secs`; `null` is silence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    pub step_secs: f64,
    pub values: Vec<Option<f32>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Peaks {
    /// Highest sample, in dBFS; absent for digital silence.
    pub sample_peak_dbfs: Option<f64>,
    /// Highest inter-sample peak (4× oversampled), in dBTP.
    pub true_peak_dbtp: Option<f64>,
    pub channels: Vec<ChannelPeaks>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelPeaks {
    pub sample_peak_dbfs: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub threshold_dbfs: f64,
    pub leading_secs: f64,
    pub trailing_secs: f64,
    pub total_secs: f64,
    /// Nothing above the threshold at all.
    pub all_silent: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clipping {
    /// A run is this many or more consecutive samples of one channel at full scale.
    pub min_run: u32,
    pub runs: u64,
    pub clipped_samples: u64,
    /// The first runs found (at most 100), for showing where.
    pub first_runs: Vec<ClipRun>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipRun {
    pub time_secs: f64,
    pub channel: u32,
    pub length: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stereo {
    /// Correlation of left and right over the whole track: +1 mono-like, 0 unrelated,
    /// −1 out of phase (cancels in mono).
    pub correlation: Option<f64>,
    /// The lowest correlation of any 1-second window with sound in it.
    pub min_window_correlation: Option<f64>,
    /// Seconds where the 1-second correlation is below zero.
    pub negative_secs: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waveform {
    /// Buckets span the track evenly; each holds the lowest and highest sample of all
    /// channels in it, in −1..1.
    pub buckets: u32,
    pub min: Vec<f32>,
    pub max: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// `chromaprint/test2` (rusty-chromaprint's default configuration).
    pub algorithm: String,
    /// Sub-fingerprints, base64 of little-endian u32s.
    pub data: String,
    /// Seconds of audio each sub-fingerprint advances.
    pub item_secs: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecodeWarning {
    pub code: String,
    pub detail: String,
}

/// `20·log10(x)`, or `None` for zero.
pub fn db(x: f64) -> Option<f64> {
    (x > 0.0).then(|| round2(20.0 * x.log10()))
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then(|| round2(x))
}
