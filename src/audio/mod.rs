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
pub mod release;
pub mod report;
pub mod sandbox;
pub mod simd;
pub mod truepeak;
pub mod verdict;

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
    /// The header announces more audio than the server checks (minutes × rate ×
    /// channels over `analysis.max_samples`).
    #[error("too much audio to check: {minutes:.0} min at {rate} Hz, {channels} channels")]
    TooCostly {
        minutes: f64,
        rate: u32,
        channels: u32,
    },
    /// The header announces a recording longer than the competition accepts: refused
    /// without spending an analysis on it.
    #[error("{minutes:.0} min, longer than the {limit_minutes:.0} min allowed")]
    LongerThanAllowed { minutes: f64, limit_minutes: f64 },
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
            AnalysisError::TooCostly { .. } => "audio.too_costly",
            AnalysisError::LongerThanAllowed { .. } => "audio.longer_than_allowed",
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
            AnalysisError::TooCostly {
                minutes,
                rate,
                channels,
            } => locale.tf(
                &key,
                &[
                    ("minutes", &format!("{minutes:.0}")),
                    ("khz", &format!("{}", (*rate as f64 / 100.0).round() / 10.0)),
                    ("channels", &channels.to_string()),
                ],
            ),
            AnalysisError::LongerThanAllowed {
                minutes,
                limit_minutes,
            } => locale.tf(
                &key,
                &[
                    ("minutes", &format!("{minutes:.0}")),
                    ("limit", &format!("{limit_minutes:.0}")),
                ],
            ),
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

/// What a file's header says, read without decoding: enough to estimate what its
/// analysis will cost (`cadenza analyze --probe`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Probe {
    pub sample_rate: u32,
    pub channels: u32,
    /// Frames the header declares, or an estimate from the file's size.
    pub frames: u64,
    pub declared: bool,
}

impl Probe {
    /// Seconds of audio.
    pub fn secs(&self) -> f64 {
        self.frames as f64 / self.sample_rate.max(1) as f64
    }
    /// Samples to decode and measure: frames × channels.
    pub fn samples(&self) -> u64 {
        self.frames.saturating_mul(self.channels as u64)
    }
}

/// Read the header of `path`.
pub fn probe(path: &Path, limits: Limits) -> Result<Probe, AnalysisError> {
    let source = Source::open(path, limits)?;
    let i = &source.info;
    let (frames, declared) = match i.declared_frames {
        Some(f) => (f, true),
        // No length in the header: a lossless stream is at most its size in 16-bit
        // samples; a lossy one, its size at 128 kbit/s.
        None if i.lossless => (i.file_size / (2 * i.channels.max(1) as u64), false),
        None => (i.file_size * i.sample_rate as u64 / 16_000, false),
    };
    Ok(Probe {
        sample_rate: i.sample_rate,
        channels: i.channels,
        frames,
        declared,
    })
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

/// The highest sample rate of a rendition: judges and listeners hear nothing above it,
/// and a 192 kHz master would otherwise make a rendition four times the size.
pub const RENDITION_MAX_RATE: u32 = 48_000;

/// The rate a rendition of a `rate` Hz source is written at: the source's own up to
/// 48 kHz; above, 44.1 kHz for the 44.1 kHz family (88.2, 176.4 kHz), 48 kHz otherwise.
pub fn rendition_rate(rate: u32) -> u32 {
    if rate <= RENDITION_MAX_RATE {
        rate
    } else if rate.is_multiple_of(44_100) {
        44_100
    } else {
        RENDITION_MAX_RATE
    }
}

/// Bounds on a rendition: at most stereo, at most 48 kHz ([`rendition_rate`]) and at
/// most `max_bytes` of WAV (the storage budget of one entry's copy; the audio is cut
/// there).
#[derive(Debug, Clone, Copy)]
pub struct RenditionCaps {
    pub max_bytes: u64,
}

impl Default for RenditionCaps {
    fn default() -> Self {
        RenditionCaps {
            max_bytes: 256 * 1024 * 1024,
        }
    }
}

/// Fold any number of channels into at most two: mono and stereo stay as they are;
/// more channels are averaged by side (even positions left, odd right).
fn fold_channels(planes: &[&[f32]], out: &mut [Vec<f32>]) {
    let n = planes[0].len();
    if planes.len() <= 2 {
        for (o, p) in out.iter_mut().zip(planes) {
            o.extend_from_slice(p);
        }
        return;
    }
    for (side, o) in out.iter_mut().enumerate() {
        let mine: Vec<&[f32]> = planes.iter().skip(side).step_by(2).copied().collect();
        let k = 1.0 / mine.len() as f32;
        o.extend((0..n).map(|i| mine.iter().map(|p| p[i]).sum::<f32>() * k));
    }
}

/// Downmix and resample decoded audio on its way into a rendition.
struct Shaper {
    channels: usize,
    rate_in: u32,
    rate_out: u32,
    resampler: Option<rubato::Fft<f32>>,
    pending: Vec<Vec<f32>>,
    /// Output frames still to drop (the resampler's delay).
    skip: usize,
    frames_in: u64,
    frames_out: u64,
}

type Emit<'a> = dyn FnMut(&[f32], usize) + 'a;

impl Shaper {
    fn new(rate: u32, source_channels: usize) -> Result<Shaper, AnalysisError> {
        let channels = source_channels.clamp(1, 2);
        let target = rendition_rate(rate);
        let resampler = if target == rate {
            None
        } else {
            Some(
                rubato::Fft::<f32>::new(
                    rate as usize,
                    target as usize,
                    4096,
                    channels,
                    rubato::FixedSync::Input,
                )
                .map_err(|e| AnalysisError::Crashed(format!("resampler: {e}")))?,
            )
        };
        let skip = resampler
            .as_ref()
            .map(rubato::Resampler::output_delay)
            .unwrap_or(0);
        Ok(Shaper {
            channels,
            rate_in: rate,
            rate_out: target,
            resampler,
            pending: vec![Vec::new(); channels],
            skip,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// Take decoded planes; hand interleaved output frames to `emit`.
    fn feed(&mut self, planes: &[&[f32]], emit: &mut Emit) {
        self.frames_in += planes[0].len() as u64;
        fold_channels(planes, &mut self.pending);
        self.drain(false, emit);
    }

    /// Output frames the input so far stands for.
    fn expected(&self) -> u64 {
        (self.frames_in as u128 * self.rate_out as u128 / self.rate_in as u128) as u64
    }

    /// Hand on resampled output, without the resampler's delay and never past what the
    /// input stands for (the padding of the last chunk is not audio).
    fn put(&mut self, data: &[f32], emit: &mut Emit) {
        let limit = self.expected();
        let ch = self.channels;
        let n = data.len() / ch;
        let drop = self.skip.min(n);
        self.skip -= drop;
        let keep = ((n - drop) as u64).min(limit.saturating_sub(self.frames_out)) as usize;
        if keep > 0 {
            emit(&data[drop * ch..(drop + keep) * ch], ch);
            self.frames_out += keep as u64;
        }
    }

    fn process(&mut self, chunk: &[Vec<f32>], partial: Option<usize>) -> Option<Vec<f32>> {
        use rubato::Resampler;
        use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
        let r = self.resampler.as_mut()?;
        let need = r.input_frames_next();
        let input = SequentialSliceOfVecs::new(chunk, self.channels, need).ok()?;
        let indexing = rubato::Indexing {
            input_offset: 0,
            output_offset: 0,
            partial_len: partial,
            active_channels_mask: None,
        };
        r.process(&input, Some(&indexing))
            .ok()
            .map(|o| o.take_data())
    }

    fn drain(&mut self, last: bool, emit: &mut Emit) {
        let ch = self.channels;
        let Some(need) = self
            .resampler
            .as_ref()
            .map(rubato::Resampler::input_frames_next)
        else {
            let n = self.pending[0].len();
            let mut buf = Vec::with_capacity(n * ch);
            for i in 0..n {
                for p in &self.pending {
                    buf.push(p[i]);
                }
            }
            self.pending.iter_mut().for_each(Vec::clear);
            self.put(&buf, emit);
            return;
        };
        loop {
            let have = self.pending[0].len();
            let frames = have.min(need);
            if (have < need && !last) || frames == 0 {
                return;
            }
            let mut chunk: Vec<Vec<f32>> = self
                .pending
                .iter_mut()
                .map(|p| p.drain(..frames).collect())
                .collect();
            chunk.iter_mut().for_each(|c| c.resize(need, 0.0));
            let Some(data) = self.process(&chunk, (frames < need).then_some(frames)) else {
                return;
            };
            self.put(&data, emit);
        }
    }

    /// Flush the resampler's tail: the output ends where the input did.
    fn finish(&mut self, emit: &mut Emit) {
        self.drain(true, emit);
        let Some(need) = self
            .resampler
            .as_ref()
            .map(rubato::Resampler::input_frames_next)
        else {
            return;
        };
        let expected = self.expected();
        let zeros = vec![vec![0.0f32; need]; self.channels];
        // The delay is a few thousand frames: a handful of silent chunks push it out.
        for _ in 0..64 {
            if self.frames_out >= expected {
                return;
            }
            let Some(data) = self.process(&zeros, None) else {
                return;
            };
            self.put(&data, emit);
        }
    }
}

/// Decode `path` and write a clean 16-bit PCM WAV to `out`: the same audio, with no
/// tags, pictures or names from the original container, at most stereo and 48 kHz and
/// within `caps.max_bytes`. Judges in blind rounds hear only such renditions; with a
/// `gain_db` (the public renditions) every sample is scaled first. Returns the number
/// of frames written.
pub fn render_wav(
    path: &Path,
    out: &Path,
    limits: Limits,
    gain_db: f64,
    caps: RenditionCaps,
) -> Result<u64, AnalysisError> {
    use std::io::{Seek, SeekFrom, Write};
    let gain = if gain_db.is_finite() {
        10f32.powf(gain_db.clamp(-60.0, 40.0) as f32 / 20.0)
    } else {
        1.0
    };
    let mut source = Source::open(path, limits)?;
    let rate_in = source.info.sample_rate;
    let rate = rendition_rate(rate_in);
    let file = std::fs::File::create(out)
        .map_err(|e| AnalysisError::Crashed(format!("cannot write the rendition: {e}")))?;
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
    let mut wav = WavSink {
        w: std::io::BufWriter::with_capacity(1 << 20, file),
        gain,
        frames: 0,
        max_frames: u64::MAX,
        error: None,
        buf: Vec::new(),
    };
    let mut channels = 0u16;
    let mut shaper: Option<Shaper> = None;
    let mut setup_error: Option<AnalysisError> = None;
    source.decode_all(|planes| {
        if wav.error.is_some() || setup_error.is_some() || planes.is_empty() {
            return;
        }
        if shaper.is_none() {
            match Shaper::new(rate_in, planes.len()) {
                Ok(s) => {
                    channels = s.channels as u16;
                    wav.max_frames = caps.max_bytes.saturating_sub(44) / (channels as u64 * 2);
                    shaper = Some(s);
                }
                Err(e) => {
                    setup_error = Some(e);
                    return;
                }
            }
            if let Err(e) = wav.w.write_all(&header(channels, 0)) {
                wav.error = Some(e);
                return;
            }
        }
        if wav.frames >= wav.max_frames {
            // The budget is spent: the rest is not written (nor resampled).
            return;
        }
        if let Some(s) = shaper.as_mut() {
            s.feed(planes, &mut |d, ch| wav.write(d, ch));
        }
    })?;
    if let Some(e) = setup_error {
        return Err(e);
    }
    if let Some(s) = shaper.as_mut()
        && wav.frames < wav.max_frames
    {
        s.finish(&mut |d, ch| wav.write(d, ch));
    }
    let frames = wav.frames;
    if channels == 0 || frames == 0 {
        return Err(AnalysisError::Empty);
    }
    let finish = (|| -> std::io::Result<()> {
        if let Some(e) = wav.error.take() {
            return Err(e);
        }
        let mut w = wav.w;
        w.flush()?;
        let mut f = w.into_inner().map_err(|e| e.into_error())?;
        f.seek(SeekFrom::Start(0))?;
        f.write_all(&header(channels, frames))?;
        f.sync_all()
    })();
    finish.map_err(|e| AnalysisError::Crashed(format!("cannot write the rendition: {e}")))?;
    Ok(frames)
}

/// The 16-bit PCM body of a rendition being written.
struct WavSink {
    w: std::io::BufWriter<std::fs::File>,
    gain: f32,
    frames: u64,
    max_frames: u64,
    error: Option<std::io::Error>,
    buf: Vec<u8>,
}

impl WavSink {
    fn write(&mut self, data: &[f32], ch: usize) {
        use std::io::Write;
        if self.error.is_some() || ch == 0 {
            return;
        }
        let n = (data.len() / ch).min(self.max_frames.saturating_sub(self.frames) as usize);
        self.buf.clear();
        self.buf.reserve(n * ch * 2);
        for x in &data[..n * ch] {
            let x = x * self.gain;
            // Non-finite samples (a damaged float file) become silence.
            let x = if x.is_finite() { x } else { 0.0 };
            let v = (x.clamp(-1.0, 1.0) * 32767.0).round() as i16;
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        self.frames += n as u64;
        if let Err(e) = self.w.write_all(&self.buf) {
            self.error = Some(e);
        }
    }
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
                lm = LandmarkBuilder::new(info.sample_rate);
                // Chromaprint works at 11,025 Hz in mono: it is fed the landmarks' mono
                // signal, already low-passed and decimated to about that rate, instead
                // of resampling the full-rate channels a second time.
                fp = match &lm {
                    Some(l) => FingerprintBuilder::new(l.out_rate().round() as u32, 1),
                    None => FingerprintBuilder::new(info.sample_rate, planes.len() as u32),
                };
            }
        }
        if let Some(m) = meter.as_mut()
            && let Err(e) = m.feed(planes)
        {
            failure = Some(e);
        }
        if let Some(l) = lm.as_mut() {
            l.feed(planes);
        }
        if let Some(f) = fp.as_mut() {
            match &lm {
                Some(l) => f.feed(&[l.decimated()]),
                None => f.feed(planes),
            }
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
