//! The audio analysis engine: decode (symphonia), measure (ebur128 and our own
//! meters), fingerprint (rusty-chromaprint), and judge against a competition's
//! policy. A pure library: no HTTP, no database.
//!
//! Decoding untrusted files can crash or exhaust memory inside a decoder, so the
//! server never calls [`analyze_file`] in its own process: it runs `cadenza analyze`
//! as a limited child process through [`sandbox::analyze_isolated`].

pub mod cli;
pub mod decode;
pub mod fingerprint;
pub mod gain;
pub mod landmarks;
pub mod loudness;
pub mod meter;
pub mod policy;
pub mod report;
pub mod sandbox;
pub mod simd;
pub mod truepeak;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use decode::Limits;
pub use report::Report;

use decode::Source;
use fingerprint::FingerprintBuilder;
use landmarks::LandmarkBuilder;
use meter::Meter;
use report::{FormatInfo, SCHEMA, round2};

/// Why a file could not be analysed. Each has a stable code (`audio.…`).
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum AnalysisError {
    #[error("unsupported file type: {detected}")]
    Unsupported { detected: String },
    #[error("the file has no audio track")]
    NoAudio,
    #[error("the file is empty or has no audio samples")]
    Empty,
    #[error("the stream is not valid: {0}")]
    InvalidStream(String),
    #[error("the file is damaged: {0}")]
    Corrupt(String),
    #[error("longer than the limit of {limit_secs} s")]
    TooLong { limit_secs: f64 },
    #[error("cannot read the file: {0}")]
    Io(String),
    /// The isolated analysis ran out of time.
    #[error("analysis took too long")]
    Timeout,
    /// The isolated analysis hit its memory or CPU limit.
    #[error("analysis hit a resource limit: {0}")]
    ResourceLimit(String),
    /// The isolated analysis crashed.
    #[error("analysis crashed: {0}")]
    Crashed(String),
}

impl AnalysisError {
    pub fn code(&self) -> &'static str {
        match self {
            AnalysisError::Unsupported { .. } => "audio.unsupported_format",
            AnalysisError::NoAudio => "audio.no_audio_track",
            AnalysisError::Empty => "audio.empty",
            AnalysisError::InvalidStream(_) => "audio.invalid_stream",
            AnalysisError::Corrupt(_) => "audio.corrupt",
            AnalysisError::TooLong { .. } => "audio.too_long_to_analyse",
            AnalysisError::Io(_) => "audio.unreadable",
            AnalysisError::Timeout => "audio.analysis_timeout",
            AnalysisError::ResourceLimit(_) => "audio.analysis_resource_limit",
            AnalysisError::Crashed(_) => "audio.analysis_crashed",
        }
    }

    /// Whether trying again could help (a resource problem rather than the file).
    pub fn is_transient(&self) -> bool {
        matches!(self, AnalysisError::Io(_))
    }

    /// A message for the musician in `locale`.
    pub fn message(&self, locale: crate::i18n::Locale) -> String {
        let key = format!("error.{}", self.code());
        match self {
            AnalysisError::Unsupported { detected } => {
                let what = locale.t(&format!("audio.kind.{detected}"));
                locale.tf(&key, &[("kind", what)])
            }
            AnalysisError::TooLong { limit_secs } => {
                locale.tf(&key, &[("minutes", &format!("{:.0}", limit_secs / 60.0))])
            }
            _ => locale.t(&key).to_string(),
        }
    }
}

/// What to measure.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub limits: Limits,
    pub fingerprint: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: Limits::default(),
            fingerprint: true,
        }
    }
}

/// Decode only, measuring nothing: the floor the benchmark compares against.
pub fn decode_only(path: &Path, limits: Limits) -> Result<u64, AnalysisError> {
    let mut source = Source::open(path, limits)?;
    let mut sum = 0f32;
    source.decode_all(|planes| {
        // Touch the samples so the conversion cannot be optimised away.
        sum += planes[0].first().copied().unwrap_or(0.0);
    })?;
    std::hint::black_box(sum);
    Ok(source.decoded_frames)
}

/// Decode `path` and write a clean 16-bit PCM WAV to `out`: the same audio, with no
/// tags, pictures or names from the original container. Judges in blind rounds hear
/// only such renditions; with a `gain_db` (the public renditions) every sample is
/// scaled first. Returns the number of frames written.
pub fn render_wav(
    path: &Path,
    out: &Path,
    limits: Limits,
    gain_db: f64,
) -> Result<u64, AnalysisError> {
    use std::io::{Seek, SeekFrom, Write};
    let gain = if gain_db.is_finite() {
        10f32.powf(gain_db.clamp(-60.0, 40.0) as f32 / 20.0)
    } else {
        1.0
    };
    let mut source = Source::open(path, limits)?;
    let rate = source.info.sample_rate;
    let file = std::fs::File::create(out)
        .map_err(|e| AnalysisError::Crashed(format!("cannot write the rendition: {e}")))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut channels = 0u16;
    let mut frames = 0u64;
    let mut io_error: Option<std::io::Error> = None;
    let mut buf: Vec<u8> = Vec::new();
    // Header now, sizes patched at the end.
    let header = |channels: u16, frames: u64| -> Vec<u8> {
        let block = channels as u32 * 2;
        let data = (frames * block as u64).min(u32::MAX as u64 - 44) as u32;
        let mut h = Vec::with_capacity(44);
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&(36 + data).to_le_bytes());
        h.extend_from_slice(b"WAVEfmt ");
        h.extend_from_slice(&16u32.to_le_bytes());
        h.extend_from_slice(&1u16.to_le_bytes());
        h.extend_from_slice(&channels.to_le_bytes());
        h.extend_from_slice(&rate.to_le_bytes());
        h.extend_from_slice(&(rate * block).to_le_bytes());
        h.extend_from_slice(&(block as u16).to_le_bytes());
        h.extend_from_slice(&16u16.to_le_bytes());
        h.extend_from_slice(b"data");
        h.extend_from_slice(&data.to_le_bytes());
        h
    };
    source.decode_all(|planes| {
        if io_error.is_some() || planes.is_empty() {
            return;
        }
        if channels == 0 {
            channels = planes.len() as u16;
            if let Err(e) = w.write_all(&header(channels, 0)) {
                io_error = Some(e);
                return;
            }
        }
        let n = planes[0].len();
        buf.clear();
        buf.reserve(n * planes.len() * 2);
        for i in 0..n {
            for p in planes {
                let x = p[i] * gain;
                // Non-finite samples (a damaged float file) become silence.
                let x = if x.is_finite() { x } else { 0.0 };
                let v = (x.clamp(-1.0, 1.0) * 32767.0).round() as i16;
                buf.extend_from_slice(&v.to_le_bytes());
            }
        }
        frames += n as u64;
        if let Err(e) = w.write_all(&buf) {
            io_error = Some(e);
        }
    })?;
    if channels == 0 || frames == 0 {
        return Err(AnalysisError::Empty);
    }
    let finish = (|| -> std::io::Result<()> {
        if let Some(e) = io_error.take() {
            return Err(e);
        }
        w.flush()?;
        let mut f = w.into_inner().map_err(|e| e.into_error())?;
        f.seek(SeekFrom::Start(0))?;
        f.write_all(&header(channels, frames))?;
        f.sync_all()
    })();
    finish.map_err(|e| AnalysisError::Crashed(format!("cannot write the rendition: {e}")))?;
    Ok(frames)
}

/// Decode and measure a file, in this process. Use [`sandbox::analyze_isolated`] for
/// files from users.
pub fn analyze_file(path: &Path, options: &Options) -> Result<Report, AnalysisError> {
    let mut source = Source::open(path, options.limits)?;
    let info = source.info.clone();
    let mut meter: Option<Meter> = None;
    let mut fp: Option<FingerprintBuilder> = None;
    let mut lm: Option<LandmarkBuilder> = None;
    let mut failure: Option<AnalysisError> = None;
    source.decode_all(|planes| {
        if failure.is_some() {
            return;
        }
        if meter.is_none() {
            match Meter::new(info.sample_rate, planes.len() as u32) {
                Ok(m) => meter = Some(m),
                Err(e) => {
                    failure = Some(e);
                    return;
                }
            }
            if options.fingerprint {
                fp = FingerprintBuilder::new(info.sample_rate, planes.len() as u32);
                lm = LandmarkBuilder::new(info.sample_rate);
            }
        }
        if let Some(m) = meter.as_mut()
            && let Err(e) = m.feed(planes)
        {
            failure = Some(e);
        }
        if let Some(f) = fp.as_mut() {
            f.feed(planes);
        }
        if let Some(l) = lm.as_mut() {
            l.feed(planes);
        }
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    let meter = meter.ok_or(AnalysisError::Empty)?;
    let m = meter.finish()?;
    let channels = source.info.channels;
    let bitrate = (m.duration > 0.0 && info.file_size > 0)
        .then(|| round2(info.file_size as f64 * 8.0 / m.duration / 1000.0));
    Ok(Report {
        schema: SCHEMA.to_string(),
        format: FormatInfo {
            container: info.container,
            codec: info.codec,
            codec_long: info.codec_long,
            lossless: info.lossless,
            float_samples: info.float_samples,
            sample_rate: info.sample_rate,
            bit_depth: info.bit_depth,
            channels,
            duration_secs: round2(m.duration),
            frames: m.frames,
            bitrate_kbps: bitrate,
            file_size_bytes: info.file_size,
            invalid_samples: source.invalid_samples,
        },
        loudness: m.loudness,
        peaks: m.peaks,
        silence: m.silence,
        clipping: m.clipping,
        dc_offset: m.dc_offset,
        stereo: m.stereo,
        waveform: m.waveform,
        fingerprint: fp.and_then(FingerprintBuilder::finish),
        landmarks: lm.and_then(LandmarkBuilder::finish),
        warnings: std::mem::take(&mut source.warnings),
    })
}
