//! The measurements, fed with planar f32 buffers in one pass and with memory that
//! does not grow with duration beyond a few numbers per second (the loudness curve,
//! the short-term series for LRA, the fingerprint).
//!
//! Loudness: K-weighted energy per 100 ms block (`loudness`); momentary (400 ms) and
//! short-term (3 s) loudness, the gated integral, the curve and the loudness range are
//! formed from block energies, so LRA uses short-term values at 10 Hz as EBU Tech 3342
//! requires. True peak: `truepeak`.

use super::AnalysisError;
use super::loudness::{KMeter, energy_to_lufs as lufs, integrated, lufs_to_energy as energy};
use super::report::{
    ChannelPeaks, ClipRun, Clipping, Curve, Loudness, Peaks, Silence, Stereo, Waveform, db, finite,
    round2,
};
use super::simd;
use super::truepeak::TruePeak;

pub const WAVEFORM_BUCKETS: usize = 1000;
pub const SILENCE_THRESHOLD_DBFS: f64 = -60.0;
pub const CLIP_MIN_RUN: u32 = 3;
/// Samples at or above this magnitude are at full scale (one 16-bit step below 1.0).
pub const CLIP_LEVEL: f32 = 32767.0 / 32768.0;
pub const CURVE_STEP_SECS: f64 = 1.0;
const MAX_REPORTED_RUNS: usize = 100;

/// Loudness range (EBU Tech 3342) of short-term loudness values in LUFS.
pub fn loudness_range(short_term: &[f64]) -> Option<f64> {
    let abs: Vec<f64> = short_term.iter().copied().filter(|l| *l >= -70.0).collect();
    if abs.is_empty() {
        return None;
    }
    let mean_energy = abs.iter().map(|l| energy(*l)).sum::<f64>() / abs.len() as f64;
    let gate = lufs(mean_energy) - 20.0;
    let mut kept: Vec<f64> = abs.into_iter().filter(|l| *l >= gate).collect();
    if kept.is_empty() {
        return None;
    }
    kept.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| kept[((kept.len() - 1) as f64 * p + 0.5) as usize];
    Some(at(0.95) - at(0.10))
}

/// Min/max per bucket with a bounded number of buckets: when the list doubles, neighbours merge.
struct WaveformBuilder {
    bucket_frames: u64,
    filled: u64,
    cur: (f32, f32),
    buckets: Vec<(f32, f32)>,
}

impl WaveformBuilder {
    fn new() -> Self {
        WaveformBuilder {
            bucket_frames: 8,
            filled: 0,
            cur: (f32::INFINITY, f32::NEG_INFINITY),
            buckets: Vec::with_capacity(2 * WAVEFORM_BUCKETS + 1),
        }
    }

    fn feed(&mut self, planes: &[&[f32]]) {
        let frames = planes[0].len();
        let mut pos = 0;
        while pos < frames {
            let take = ((self.bucket_frames - self.filled) as usize).min(frames - pos);
            for p in planes {
                let (lo, hi) = simd::min_max(&p[pos..pos + take]);
                self.cur.0 = self.cur.0.min(lo);
                self.cur.1 = self.cur.1.max(hi);
            }
            pos += take;
            self.filled += take as u64;
            if self.filled == self.bucket_frames {
                self.push();
            }
        }
    }

    fn push(&mut self) {
        self.buckets.push(self.cur);
        self.cur = (f32::INFINITY, f32::NEG_INFINITY);
        self.filled = 0;
        if self.buckets.len() >= 2 * WAVEFORM_BUCKETS {
            let merged: Vec<(f32, f32)> = self
                .buckets
                .chunks(2)
                .map(|c| {
                    c.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |a, b| {
                        (a.0.min(b.0), a.1.max(b.1))
                    })
                })
                .collect();
            self.buckets = merged;
            self.bucket_frames *= 2;
        }
    }

    fn finish(mut self) -> Waveform {
        if self.filled > 0 {
            self.buckets.push(self.cur);
        }
        let m = self.buckets.len();
        let n = WAVEFORM_BUCKETS;
        let (mut min, mut max) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for j in 0..n {
            if m == 0 {
                min.push(0.0);
                max.push(0.0);
                continue;
            }
            let start = j * m / n;
            let end = ((j + 1) * m / n).max(start + 1).min(m);
            let (lo, hi) = self.buckets[start..end]
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |a, b| {
                    (a.0.min(b.0), a.1.max(b.1))
                });
            let q = |x: f32| (x.clamp(-1.0, 1.0) * 1000.0).round() / 1000.0;
            min.push(q(lo));
            max.push(q(hi));
        }
        Waveform {
            buckets: n as u32,
            min,
            max,
        }
    }
}

/// Per-window peak tracking for silence (10 ms windows).
struct SilenceTracker {
    window: u64,
    filled: u64,
    cur_peak: f32,
    windows: u64,
    silent_windows: u64,
    first_loud: Option<u64>,
    last_loud: Option<u64>,
    threshold: f32,
}

impl SilenceTracker {
    fn new(rate: u32) -> Self {
        SilenceTracker {
            window: (rate as u64 / 100).max(1),
            filled: 0,
            cur_peak: 0.0,
            windows: 0,
            silent_windows: 0,
            first_loud: None,
            last_loud: None,
            threshold: 10f32.powf(SILENCE_THRESHOLD_DBFS as f32 / 20.0),
        }
    }

    fn feed(&mut self, planes: &[&[f32]]) {
        let frames = planes[0].len();
        let mut pos = 0;
        while pos < frames {
            let take = ((self.window - self.filled) as usize).min(frames - pos);
            for p in planes {
                self.cur_peak = self.cur_peak.max(simd::peak(&p[pos..pos + take]));
            }
            pos += take;
            self.filled += take as u64;
            if self.filled == self.window {
                self.close();
            }
        }
    }

    fn close(&mut self) {
        if self.cur_peak < self.threshold {
            self.silent_windows += 1;
        } else {
            self.first_loud.get_or_insert(self.windows);
            self.last_loud = Some(self.windows);
        }
        self.windows += 1;
        self.filled = 0;
        self.cur_peak = 0.0;
    }

    fn finish(mut self, duration: f64, rate: u32) -> Silence {
        if self.filled > 0 {
            self.close();
        }
        let w = self.window as f64 / rate as f64;
        match (self.first_loud, self.last_loud) {
            (Some(first), Some(last)) => Silence {
                threshold_dbfs: SILENCE_THRESHOLD_DBFS,
                leading_secs: round2((first as f64 * w).min(duration)),
                trailing_secs: round2(((self.windows - 1 - last) as f64 * w).min(duration)),
                total_secs: round2((self.silent_windows as f64 * w).min(duration)),
                all_silent: false,
            },
            _ => Silence {
                threshold_dbfs: SILENCE_THRESHOLD_DBFS,
                leading_secs: round2(duration),
                trailing_secs: round2(duration),
                total_secs: round2(duration),
                all_silent: true,
            },
        }
    }
}

struct ClipTracker {
    run: Vec<u32>,
    run_start: Vec<u64>,
    runs: u64,
    clipped: u64,
    first: Vec<ClipRun>,
}

impl ClipTracker {
    fn new(channels: usize) -> Self {
        ClipTracker {
            run: vec![0; channels],
            run_start: vec![0; channels],
            runs: 0,
            clipped: 0,
            first: Vec::new(),
        }
    }

    fn end_run(&mut self, ch: usize, rate: u32) {
        let len = self.run[ch];
        if len >= CLIP_MIN_RUN {
            self.runs += 1;
            self.clipped += len as u64;
            if self.first.len() < MAX_REPORTED_RUNS {
                self.first.push(ClipRun {
                    time_secs: round2(self.run_start[ch] as f64 / rate as f64),
                    channel: ch as u32,
                    length: len,
                });
            }
        }
        self.run[ch] = 0;
    }

    fn feed(&mut self, planes: &[&[f32]], start_frame: u64, rate: u32) {
        for (ch, p) in planes.iter().enumerate() {
            // Most buffers have nothing near full scale: one vectorised pass decides.
            if simd::peak(p) < CLIP_LEVEL {
                if self.run[ch] > 0 {
                    self.end_run(ch, rate);
                }
                continue;
            }
            for (i, &x) in p.iter().enumerate() {
                if x.abs() >= CLIP_LEVEL {
                    if self.run[ch] == 0 {
                        self.run_start[ch] = start_frame + i as u64;
                    }
                    self.run[ch] = self.run[ch].saturating_add(1);
                } else if self.run[ch] > 0 {
                    self.end_run(ch, rate);
                }
            }
        }
    }

    fn finish(mut self, rate: u32) -> Clipping {
        for ch in 0..self.run.len() {
            if self.run[ch] > 0 {
                self.end_run(ch, rate);
            }
        }
        self.first
            .sort_by(|a, b| a.time_secs.total_cmp(&b.time_secs));
        Clipping {
            min_run: CLIP_MIN_RUN,
            runs: self.runs,
            clipped_samples: self.clipped,
            first_runs: self.first,
        }
    }
}

/// Correlation of the first two channels, overall and per second.
struct StereoTracker {
    window: u64,
    filled: u64,
    w: (f64, f64, f64),
    total: (f64, f64, f64),
    min_window: Option<f64>,
    negative_windows: u64,
}

impl StereoTracker {
    fn new(rate: u32) -> Self {
        StereoTracker {
            window: rate as u64,
            filled: 0,
            w: (0.0, 0.0, 0.0),
            total: (0.0, 0.0, 0.0),
            min_window: None,
            negative_windows: 0,
        }
    }

    fn feed(&mut self, l: &[f32], r: &[f32]) {
        let mut pos = 0;
        while pos < l.len() {
            let take = ((self.window - self.filled) as usize).min(l.len() - pos);
            let (lr, ll, rr) = simd::dot3(&l[pos..pos + take], &r[pos..pos + take]);
            self.w.0 += lr;
            self.w.1 += ll;
            self.w.2 += rr;
            pos += take;
            self.filled += take as u64;
            if self.filled == self.window {
                self.close();
            }
        }
    }

    fn close(&mut self) {
        let (lr, ll, rr) = self.w;
        // Only windows with sound in both channels (above about −50 dBFS RMS).
        let gate = self.filled as f64 * 1e-5;
        if ll > gate && rr > gate {
            let c = lr / (ll * rr).sqrt();
            self.min_window = Some(self.min_window.map_or(c, |m: f64| m.min(c)));
            if c < 0.0 {
                self.negative_windows += 1;
            }
        }
        self.total.0 += lr;
        self.total.1 += ll;
        self.total.2 += rr;
        self.w = (0.0, 0.0, 0.0);
        self.filled = 0;
    }

    fn finish(mut self) -> Stereo {
        if self.filled > 0 {
            self.close();
        }
        let (lr, ll, rr) = self.total;
        Stereo {
            correlation: (ll > 0.0 && rr > 0.0).then(|| round2(lr / (ll * rr).sqrt())),
            min_window_correlation: self.min_window.map(round2),
            negative_secs: self.negative_windows as f64,
        }
    }
}

/// Everything measured in one pass.
pub struct Meter {
    rate: u32,
    channels: usize,
    kmeter: KMeter,
    true_peak: TruePeak,
    sample_peak: Vec<f32>,
    /// Energies of the 400 ms gating blocks (every 100 ms), for the integrated loudness.
    gating: Vec<f64>,
    block_frames: usize,
    block_filled: usize,
    /// Energies of the most recent 100 ms blocks (a ring of 30 = 3 s).
    ring: [f64; 30],
    blocks: u64,
    max_momentary: f64,
    max_short_term: f64,
    short_term_series: Vec<f64>,
    curve: Vec<Option<f32>>,
    frames: u64,
    dc_sum: Vec<f64>,
    waveform: WaveformBuilder,
    silence: SilenceTracker,
    clipping: ClipTracker,
    stereo: Option<StereoTracker>,
}

impl Meter {
    /// `rate` and `channels` must already be validated (the decoder does it).
    pub fn new(rate: u32, channels: u32) -> Result<Meter, AnalysisError> {
        if !(1..=64).contains(&channels) || !(1_000..=768_000).contains(&rate) {
            return Err(AnalysisError::InvalidStream(format!(
                "{channels} channels at {rate} Hz"
            )));
        }
        let channels = channels as usize;
        Ok(Meter {
            rate,
            channels,
            kmeter: KMeter::new(rate, channels),
            true_peak: TruePeak::new(rate, channels),
            sample_peak: vec![0.0; channels],
            gating: Vec::new(),
            block_frames: ((rate as usize + 5) / 10).max(1),
            block_filled: 0,
            ring: [0.0; 30],
            blocks: 0,
            max_momentary: f64::NEG_INFINITY,
            max_short_term: f64::NEG_INFINITY,
            short_term_series: Vec::new(),
            curve: Vec::new(),
            frames: 0,
            dc_sum: vec![0.0; channels],
            waveform: WaveformBuilder::new(),
            silence: SilenceTracker::new(rate),
            clipping: ClipTracker::new(channels),
            stereo: (channels >= 2).then(|| StereoTracker::new(rate)),
        })
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    pub fn feed(&mut self, planes: &[&[f32]]) -> Result<(), AnalysisError> {
        if planes.len() != self.channels {
            return Err(AnalysisError::InvalidStream("channel count changed".into()));
        }
        let frames = planes[0].len();
        // Loudness, cut at 100 ms block boundaries.
        let mut pos = 0;
        while pos < frames {
            let take = (self.block_frames - self.block_filled).min(frames - pos);
            let part: Vec<&[f32]> = planes.iter().map(|p| &p[pos..pos + take]).collect();
            self.kmeter.add(&part);
            pos += take;
            self.block_filled += take;
            if self.block_filled == self.block_frames {
                self.block_filled = 0;
                let e = self.kmeter.take_block(self.block_frames);
                self.close_block(e);
            }
        }
        self.true_peak.feed(planes);
        for (ch, p) in planes.iter().enumerate() {
            self.dc_sum[ch] += simd::sum(p);
            self.sample_peak[ch] = self.sample_peak[ch].max(simd::peak(p));
        }
        self.waveform.feed(planes);
        self.silence.feed(planes);
        self.clipping.feed(planes, self.frames, self.rate);
        if let Some(st) = &mut self.stereo {
            st.feed(planes[0], planes[1]);
        }
        self.frames += frames as u64;
        Ok(())
    }

    fn close_block(&mut self, e: f64) {
        self.ring[(self.blocks % 30) as usize] = e;
        self.blocks += 1;
        let n = self.blocks as usize;
        let mean_of_last = |k: usize, ring: &[f64; 30]| -> f64 {
            let k = k.min(n);
            (0..k).map(|i| ring[(n - 1 - i) % 30]).sum::<f64>() / k as f64
        };
        if n >= 4 {
            let m = mean_of_last(4, &self.ring);
            self.gating.push(m);
            self.max_momentary = self.max_momentary.max(lufs(m));
        }
        let short = lufs(mean_of_last(30, &self.ring));
        if n >= 30 {
            self.max_short_term = self.max_short_term.max(short);
            self.short_term_series.push(short);
        }
        let per_step = (CURVE_STEP_SECS * 10.0) as usize;
        if n.is_multiple_of(per_step) {
            self.curve.push(
                short
                    .is_finite()
                    .then(|| (short * 100.0).round() as f32 / 100.0),
            );
        }
    }

    pub fn finish(mut self) -> Result<MeterResult, AnalysisError> {
        let duration = self.frames as f64 / self.rate as f64;
        let integrated = if duration >= 0.4 {
            integrated(&self.gating).and_then(finite)
        } else {
            None
        };
        // LRA: continue the 3 s windows over 1.5 s of silence so the end counts like the rest.
        let mut series = std::mem::take(&mut self.short_term_series);
        if self.blocks >= 30 {
            for _ in 0..15 {
                self.ring[(self.blocks % 30) as usize] = 0.0;
                self.blocks += 1;
                let e = self.ring.iter().sum::<f64>() / 30.0;
                series.push(lufs(e));
            }
        }
        let range = if duration >= 3.0 {
            loudness_range(&series).map(round2)
        } else {
            None
        };
        let mut channels = Vec::with_capacity(self.channels);
        let (mut sp_all, mut tp_all) = (0f64, 0f64);
        let true_peaks = self.true_peak.finish();
        for (&sp, tp) in self.sample_peak.iter().zip(true_peaks) {
            let sp = sp as f64;
            let tp = tp.max(sp);
            sp_all = sp_all.max(sp);
            tp_all = tp_all.max(tp);
            channels.push(ChannelPeaks {
                sample_peak_dbfs: db(sp),
                true_peak_dbtp: db(tp),
            });
        }
        let frames = self.frames.max(1) as f64;
        Ok(MeterResult {
            duration,
            frames: self.frames,
            loudness: Loudness {
                integrated_lufs: integrated,
                range_lu: range,
                max_momentary_lufs: finite(self.max_momentary),
                max_short_term_lufs: finite(self.max_short_term),
                short_term: Curve {
                    step_secs: CURVE_STEP_SECS,
                    values: self.curve,
                },
            },
            peaks: Peaks {
                sample_peak_dbfs: db(sp_all),
                true_peak_dbtp: db(tp_all),
                channels,
            },
            silence: self.silence.finish(duration, self.rate),
            clipping: self.clipping.finish(self.rate),
            dc_offset: self
                .dc_sum
                .iter()
                .map(|s| (s / frames * 1e5).round() / 1e5)
                .collect(),
            stereo: self.stereo.map(StereoTracker::finish),
            waveform: self.waveform.finish(),
        })
    }
}

pub struct MeterResult {
    pub duration: f64,
    pub frames: u64,
    pub loudness: Loudness,
    pub peaks: Peaks,
    pub silence: Silence,
    pub clipping: Clipping,
    pub dc_offset: Vec<f64>,
    pub stereo: Option<Stereo>,
    pub waveform: Waveform,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rate: u32, planes: Vec<Vec<f32>>) -> MeterResult {
        let mut m = Meter::new(rate, planes.len() as u32).unwrap();
        for start in (0..planes[0].len()).step_by(1000) {
            let end = (start + 1000).min(planes[0].len());
            let views: Vec<&[f32]> = planes.iter().map(|p| &p[start..end]).collect();
            m.feed(&views).unwrap();
        }
        m.finish().unwrap()
    }

    fn sine(rate: u32, secs: f64, freq: f64, amp: f64) -> Vec<f32> {
        (0..(rate as f64 * secs) as usize)
            .map(|i| {
                (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / rate as f64).sin()) as f32
            })
            .collect()
    }

    #[test]
    fn silence_edges_are_measured() {
        let rate = 48_000;
        let mut x = vec![0f32; rate as usize]; // 1 s silence
        x.extend(sine(rate, 2.0, 440.0, 0.5));
        x.extend(vec![0f32; rate as usize / 2]); // 0.5 s silence
        let r = run(rate, vec![x]);
        assert!(
            (r.silence.leading_secs - 1.0).abs() <= 0.01,
            "{:?}",
            r.silence
        );
        assert!(
            (r.silence.trailing_secs - 0.5).abs() <= 0.01,
            "{:?}",
            r.silence
        );
        assert!(
            (r.silence.total_secs - 1.5).abs() <= 0.02,
            "{:?}",
            r.silence
        );
        assert!(!r.silence.all_silent);
        let all = run(rate, vec![vec![0f32; 48_000]]);
        assert!(all.silence.all_silent);
        assert_eq!(all.loudness.integrated_lufs, None);
        assert_eq!(all.peaks.sample_peak_dbfs, None);
    }

    #[test]
    fn clipping_runs_are_counted_and_located() {
        let rate = 44_100;
        let mut x = sine(rate, 1.0, 100.0, 0.5);
        x[22_050..22_060].fill(1.0); // a run of 10
        x[30_000] = 1.0; // a single full-scale sample is not a run
        x[30_001] = 0.0;
        let r = run(rate, vec![x.clone(), x]);
        assert_eq!(r.clipping.runs, 2, "one run per channel");
        assert_eq!(r.clipping.clipped_samples, 20);
        assert_eq!(r.clipping.first_runs[0].time_secs, 0.5);
        assert_eq!(r.clipping.first_runs[0].length, 10);
    }

    #[test]
    fn stereo_correlation_detects_phase_trouble() {
        let rate = 44_100;
        let l = sine(rate, 3.0, 300.0, 0.5);
        let same = run(rate, vec![l.clone(), l.clone()]);
        assert_eq!(same.stereo.as_ref().unwrap().correlation, Some(1.0));
        let inverted: Vec<f32> = l.iter().map(|x| -x).collect();
        let flipped = run(rate, vec![l.clone(), inverted]);
        let s = flipped.stereo.unwrap();
        assert_eq!(s.correlation, Some(-1.0));
        assert_eq!(s.negative_secs, 3.0);
        assert!(run(rate, vec![l]).stereo.is_none());
    }

    #[test]
    fn dc_offset_and_waveform() {
        let rate = 8_000;
        let x: Vec<f32> = sine(rate, 2.0, 50.0, 0.25)
            .iter()
            .map(|v| v + 0.1)
            .collect();
        let r = run(rate, vec![x]);
        assert!((r.dc_offset[0] - 0.1).abs() < 1e-3, "{:?}", r.dc_offset);
        assert_eq!(r.waveform.min.len(), WAVEFORM_BUCKETS);
        let hi = r.waveform.max.iter().cloned().fold(f32::MIN, f32::max);
        let lo = r.waveform.min.iter().cloned().fold(f32::MAX, f32::min);
        assert!(
            (hi - 0.35).abs() < 0.01 && (lo + 0.15).abs() < 0.01,
            "{lo} {hi}"
        );
    }

    #[test]
    fn full_scale_sine_reads_minus_3_lufs_at_1khz() {
        // A 0 dBFS 997 Hz sine in one channel of stereo reads −3.01 LUFS (BS.1770).
        let rate = 48_000;
        let x = sine(rate, 20.0, 997.0, 1.0);
        let r = run(rate, vec![x, vec![0.0; 20 * 48_000]]);
        let i = r.loudness.integrated_lufs.unwrap();
        assert!((i + 3.01).abs() < 0.05, "{i}");
        assert!(r.loudness.range_lu.unwrap() < 0.1);
        assert!(r.loudness.short_term.values.len() == 20);
    }

    #[test]
    fn lra_percentiles() {
        // Tech 3342 on a series: half the values at −30, half at −20: LRA = 10.
        let mut s = vec![-30.0; 100];
        s.extend(vec![-20.0; 100]);
        assert_eq!(loudness_range(&s), Some(10.0));
        assert_eq!(loudness_range(&[-80.0; 10]), None);
    }
}
