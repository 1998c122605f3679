//! Spectral landmarks: pairs of spectrogram peaks hashed with their time gap, for
//! finding where a stem is used inside a mix.
//!
//! Chromaprint (see `fingerprint.rs`) summarises the whole mix in each frame, so a stem
//! mixed under new material no longer matches it. Peaks are local: where a stem is
//! the loudest thing in a small time–frequency neighbourhood its peak survives the
//! mix, and a pair of such peaks (anchor frequency, target frequency, time gap) hashes
//! the same in the stem and in the remix. A stem is detected where many hashes agree on
//! one time offset between the two (the technique of Wang, "An Industrial-Strength
//! Audio Search Algorithm", 2003). Hashes are made only with partners near the anchor's
//! frequency, so parts in other registers do not disturb them.
//!
//! The signal is mixed to mono and decimated by an integer factor to about 11 kHz
//! (content above 4.5 kHz is not used); frequencies are quantised on one grid
//! (≈10.77 Hz) and times kept in milliseconds, so files at 44.1 and 48 kHz compare.
//! Memory is bounded: a few frames of spectrum, and the peaks (tens a second) of at
//! most [`MAX_SECS`] (10 minutes) of audio.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use base64::Engine;
use realfft::{RealFftPlanner, RealToComplex};

use super::report::Fingerprint;

pub const ALGORITHM: &str = "cadenza-landmarks/1";

/// Only this much of a file is fingerprinted (longer remixes are rare; the memory stays flat).
pub const MAX_SECS: f64 = 600.0;
/// The analysis window, in seconds (4096 samples at 44.1 kHz).
const WINDOW_SECS: f64 = 4096.0 / 44100.0;
/// The frequency grid: one bin of a [`WINDOW_SECS`] window.
const BIN_HZ: f64 = 1.0 / WINDOW_SECS;
const TARGET_RATE: f64 = 11025.0;
const LOW_HZ: f64 = 80.0;
const HIGH_HZ: f64 = 4500.0;
/// A peak is the largest value within ± this many bins …
const NEIGH_BINS: usize = 6;
/// … and ± this many frames.
const NEIGH_FRAMES: usize = 3;
/// At most this many peaks a frame.
const PEAKS_PER_FRAME: usize = 4;
/// Peaks quieter than this (dB re full scale) are noise.
const FLOOR_DB: f32 = -70.0;
/// … or more than this below the frame's loudest bin.
const RANGE_DB: f32 = 45.0;
/// Each anchor pairs with this many later peaks …
const FAN_OUT: usize = 5;
/// … within this many frames …
const MAX_DT: u32 = 48;
/// … and this many bins of its frequency.
const MAX_DF: i32 = 64;
/// The same hash again within this time adds nothing (sustained notes).
const REPEAT_MS: u32 = 1000;

/// Decibels as a power ratio.
fn power_of_db(db: f32) -> f32 {
    10f32.powf(db / 10.0)
}

/// Builds the landmarks of a stream of planar samples.
pub struct LandmarkBuilder {
    step: usize,
    taps: Vec<f32>,
    /// Mono input: the last `taps.len() - 1` samples of the previous block, then this
    /// block's (one contiguous run, so each output is one vectorised dot product).
    mono: Vec<f32>,
    /// Input samples since the last output sample.
    phase: usize,
    out_rate: f64,
    /// This block's decimated samples (also handed to the chromaprint fingerprint).
    decimated: Vec<f32>,
    n: usize,
    hop: usize,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    scratch_in: Vec<f32>,
    spectrum: Vec<realfft::num_complex::Complex<f32>>,
    /// Decimated samples not yet consumed by a frame.
    pending: Vec<f32>,
    /// Recent frames, with their frame index: the power on the bins `lo..hi`. Powers
    /// compare as their decibels do, so no logarithm is taken but for the peaks found.
    frames: VecDeque<(u64, Vec<f32>)>,
    next_frame: u64,
    lo: usize,
    hi: usize,
    norm: f32,
    /// (frame, grid bin, dB).
    peaks: Vec<(u32, u16, f32)>,
    max_frames: u64,
}

impl LandmarkBuilder {
    pub fn new(rate: u32) -> Option<LandmarkBuilder> {
        if rate < 8000 {
            return None;
        }
        let step = ((rate as f64 / TARGET_RATE).round() as usize).max(1);
        let out_rate = rate as f64 / step as f64;
        // A windowed-sinc low-pass at 90% of the new Nyquist, evaluated only at the
        // samples kept.
        let taps = if step == 1 {
            vec![1.0]
        } else {
            let len = 8 * step + 1;
            let fc = 0.45 / step as f64;
            let mid = (len / 2) as f64;
            let mut t: Vec<f64> = (0..len)
                .map(|i| {
                    let x = i as f64 - mid;
                    let sinc = if x == 0.0 {
                        2.0 * fc
                    } else {
                        (2.0 * std::f64::consts::PI * fc * x).sin() / (std::f64::consts::PI * x)
                    };
                    let w = 0.54
                        - 0.46 * (2.0 * std::f64::consts::PI * i as f64 / (len - 1) as f64).cos();
                    sinc * w
                })
                .collect();
            let sum: f64 = t.iter().sum();
            t.iter_mut().for_each(|v| *v /= sum);
            t.into_iter().map(|v| v as f32).collect()
        };
        let n = (out_rate * WINDOW_SECS).round() as usize;
        let hop = n / 4;
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n);
        let window: Vec<f32> = (0..n)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / n as f32).cos())
            .collect();
        let norm = window.iter().sum::<f32>() / 2.0;
        let bin_hz = out_rate / n as f64;
        let lo = (LOW_HZ / bin_hz).ceil() as usize;
        let hi = ((HIGH_HZ.min(out_rate * 0.45)) / bin_hz).floor() as usize;
        if hi <= lo + 2 * NEIGH_BINS {
            return None;
        }
        Some(LandmarkBuilder {
            step,
            mono: vec![0.0; taps.len() - 1],
            taps,
            phase: 0,
            out_rate,
            decimated: Vec::new(),
            n,
            hop,
            scratch_in: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            fft,
            window,
            pending: Vec::with_capacity(n * 2),
            frames: VecDeque::with_capacity(2 * NEIGH_FRAMES + 2),
            next_frame: 0,
            lo,
            hi,
            norm,
            peaks: Vec::new(),
            max_frames: (MAX_SECS * out_rate / hop as f64) as u64,
        })
    }

    fn hop_ms(&self) -> f64 {
        self.hop as f64 * 1000.0 / self.out_rate
    }

    /// The rate of the decimated mono signal (about 11 kHz).
    pub fn out_rate(&self) -> f64 {
        self.out_rate
    }

    /// The decimated mono samples of the last block fed.
    pub fn decimated(&self) -> &[f32] {
        &self.decimated
    }

    pub fn feed(&mut self, planes: &[&[f32]]) {
        self.decimated.clear();
        if planes.is_empty() {
            return;
        }
        self.decimate(planes);
        if self.next_frame >= self.max_frames {
            return;
        }
        self.pending.extend_from_slice(&self.decimated);
        let mut start = 0;
        while self.pending.len() - start >= self.n {
            self.frame(start);
            start += self.hop;
        }
        self.pending.drain(..start);
    }

    /// Mix the block to mono and keep every `step`-th sample through the low-pass:
    /// output `k` is the dot product of the taps with the `taps.len()` input samples
    /// ending at it (samples before the start count as silence).
    fn decimate(&mut self, planes: &[&[f32]]) {
        let hist = self.taps.len() - 1;
        let start = self.mono.len();
        self.mono.extend_from_slice(planes[0]);
        if planes.len() > 1 {
            for p in &planes[1..] {
                for (m, x) in self.mono[start..].iter_mut().zip(p.iter()) {
                    *m += *x;
                }
            }
            let scale = 1.0 / planes.len() as f32;
            for m in &mut self.mono[start..] {
                *m *= scale;
            }
        }
        // The next output is the input sample `step - phase - 1` into this block.
        let mut at = start + (self.step - self.phase - 1);
        while at < self.mono.len() {
            let x = &self.mono[at - hist..=at];
            self.decimated.push(dot(x, &self.taps));
            at += self.step;
        }
        let fed = self.mono.len() - start;
        self.phase = (self.phase + fed) % self.step;
        self.mono.drain(..self.mono.len() - hist);
    }

    fn frame(&mut self, start: usize) {
        for (i, (x, w)) in self.pending[start..start + self.n]
            .iter()
            .zip(&self.window)
            .enumerate()
        {
            self.scratch_in[i] = x * w;
        }
        if self
            .fft
            .process(&mut self.scratch_in, &mut self.spectrum)
            .is_err()
        {
            return;
        }
        let inv = 1.0 / (self.norm * self.norm);
        let power: Vec<f32> = self.spectrum[self.lo..self.hi]
            .iter()
            .map(|c| (c.norm_sqr() * inv).max(1e-12))
            .collect();
        self.frames.push_back((self.next_frame, power));
        self.next_frame += 1;
        if self.frames.len() == 2 * NEIGH_FRAMES + 1 {
            self.pick(NEIGH_FRAMES);
            self.frames.pop_front();
        }
    }

    /// Peaks of the frame at `c` in the ring: strictly above earlier neighbours, at least
    /// as high as later ones (so a held note gives one peak, not one a frame).
    fn pick(&mut self, c: usize) {
        let (index, col) = (self.frames[c].0, &self.frames[c].1);
        let loudest = col.iter().copied().fold(f32::MIN, f32::max);
        let floor = power_of_db(FLOOR_DB).max(loudest * power_of_db(-RANGE_DB));
        let mut found: Vec<(usize, f32)> = Vec::new();
        for b in 0..col.len() {
            let v = col[b];
            if v < floor {
                continue;
            }
            let (l, r) = (
                b.saturating_sub(NEIGH_BINS),
                (b + NEIGH_BINS + 1).min(col.len()),
            );
            if col[l..r]
                .iter()
                .enumerate()
                .any(|(j, &x)| x > v || (x == v && l + j < b))
            {
                continue;
            }
            let mut ok = true;
            for (k, (_, other)) in self.frames.iter().enumerate() {
                if k == c {
                    continue;
                }
                let top = other[l..r].iter().copied().fold(f32::MIN, f32::max);
                if top > v || (k < c && top == v) {
                    ok = false;
                    break;
                }
            }
            if ok {
                found.push((b, v));
            }
        }
        found.sort_by(|a, b| b.1.total_cmp(&a.1));
        found.truncate(PEAKS_PER_FRAME);
        let bin_hz = self.out_rate / self.n as f64;
        for (b, v) in found {
            let hz = (b + self.lo) as f64 * bin_hz;
            let grid = (hz / BIN_HZ).round() as u16;
            self.peaks.push((index as u32, grid, 10.0 * v.log10()));
        }
    }

    pub fn finish(mut self) -> Option<Fingerprint> {
        // The last frames, whose neighbourhoods the end of the file cut short.
        let len = self.frames.len();
        let from = if self.next_frame as usize > 2 * NEIGH_FRAMES {
            len.saturating_sub(NEIGH_FRAMES)
        } else {
            0
        };
        for c in from..len {
            self.pick(c);
        }
        let hop_ms = self.hop_ms();
        let items = hashes(&mut self.peaks, hop_ms);
        if items.is_empty() {
            return None;
        }
        let mut bytes = Vec::with_capacity(items.len() * 8);
        for (h, t) in items {
            bytes.extend_from_slice(&h.to_le_bytes());
            bytes.extend_from_slice(&t.to_le_bytes());
        }
        Some(Fingerprint {
            algorithm: ALGORITHM.into(),
            data: base64::engine::general_purpose::STANDARD.encode(bytes),
            item_secs: hop_ms / 1000.0,
        })
    }
}

/// `Σ x[i]·t[i]` in eight independent lanes (vectorised).
#[inline]
fn dot(x: &[f32], t: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut acc = [0f32; LANES];
    let (xc, tc) = (x.chunks_exact(LANES), t.chunks_exact(LANES));
    let rest: f32 = xc
        .remainder()
        .iter()
        .zip(tc.remainder())
        .map(|(a, b)| a * b)
        .sum();
    for (a, b) in xc.zip(tc) {
        for i in 0..LANES {
            acc[i] += a[i] * b[i];
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// Pair peaks into (hash, anchor time in ms).
fn hashes(peaks: &mut [(u32, u16, f32)], hop_ms: f64) -> Vec<(u32, u32)> {
    peaks.sort_by_key(|p| (p.0, p.1));
    let mut out = Vec::new();
    let mut last_seen: HashMap<u32, u32> = HashMap::new();
    for i in 0..peaks.len() {
        let (t1, f1, _) = peaks[i];
        let mut made = 0;
        for &(t2, f2, _) in &peaks[i + 1..] {
            if t2 <= t1 {
                continue;
            }
            let dt = t2 - t1;
            if dt > MAX_DT || made == FAN_OUT {
                break;
            }
            if (f2 as i32 - f1 as i32).abs() > MAX_DF {
                continue;
            }
            made += 1;
            let h = ((f1 as u32 & 0x1ff) << 15) | ((f2 as u32 & 0x1ff) << 6) | (dt & 0x3f);
            let ms = (t1 as f64 * hop_ms).round() as u32;
            match last_seen.get(&h) {
                Some(&prev) if ms.saturating_sub(prev) < REPEAT_MS => continue,
                _ => {}
            }
            last_seen.insert(h, ms);
            out.push((h, ms));
        }
    }
    out
}

/// The landmarks of a fingerprint made by [`LandmarkBuilder`]: (hash, time in ms).
pub fn decode(fp: &Fingerprint) -> Option<Vec<(u32, u32)>> {
    if fp.algorithm != ALGORITHM {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&fp.data)
        .ok()?;
    Some(
        bytes
            .chunks_exact(8)
            .map(|c| {
                (
                    u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                    u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
                )
            })
            .collect(),
    )
}

/// Where a stem sounds in a mix.
#[derive(Debug, Clone, PartialEq)]
pub struct Use {
    /// Start and end in the mix, seconds.
    pub start_secs: f64,
    pub end_secs: f64,
    /// Where in the stem that stretch begins, seconds.
    pub stem_start_secs: f64,
    /// Landmarks that agree.
    pub matches: usize,
}

/// Landmarks at one offset must be at least this many …
pub const MIN_MATCHES: usize = 8;
/// … and a stretch ends where this long passes without one.
const GAP_MS: i64 = 4000;
/// Offsets are compared on this grid (about a frame).
const OFFSET_MS: f64 = 23.2;

/// The stretches of `mix` where `stem` is heard, in time order.
pub fn find(mix: &[(u32, u32)], stem: &[(u32, u32)]) -> Vec<Use> {
    let mut index: HashMap<u32, Vec<u32>> = HashMap::new();
    for &(h, t) in stem {
        index.entry(h).or_default().push(t);
    }
    // Offset bin → (mix time, stem time) of each agreeing pair.
    let mut by_offset: HashMap<i64, Vec<(u32, u32)>> = HashMap::new();
    for &(h, tm) in mix {
        if let Some(ts) = index.get(&h) {
            for &t in ts {
                let off = ((tm as f64 - t as f64) / OFFSET_MS).round() as i64;
                by_offset.entry(off).or_default().push((tm, t));
            }
        }
    }
    // Strongest offsets first; each takes its neighbours (grids of two rates differ a little).
    let mut order: Vec<(i64, usize)> = by_offset.iter().map(|(k, v)| (*k, v.len())).collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut uses = Vec::new();
    for (off, n) in order {
        if n < MIN_MATCHES / 2 {
            break;
        }
        let Some(mut pairs) = by_offset.remove(&off) else {
            continue;
        };
        for d in [-1, 1] {
            if let Some(more) = by_offset.remove(&(off + d)) {
                pairs.extend(more);
            }
        }
        if pairs.len() < MIN_MATCHES {
            continue;
        }
        pairs.sort_unstable();
        let mut run: Vec<(u32, u32)> = Vec::new();
        let mut flush = |run: &mut Vec<(u32, u32)>| {
            if run.len() >= MIN_MATCHES {
                let (first, last) = (run[0], run[run.len() - 1]);
                uses.push(Use {
                    start_secs: first.0 as f64 / 1000.0,
                    end_secs: last.0 as f64 / 1000.0 + 1.0,
                    stem_start_secs: first.1 as f64 / 1000.0,
                    matches: run.len(),
                });
            }
            run.clear();
        };
        for p in pairs {
            if let Some(prev) = run.last()
                && p.0 as i64 - prev.0 as i64 > GAP_MS
            {
                flush(&mut run);
            }
            run.push(p);
        }
        flush(&mut run);
    }
    uses.sort_by(|a, b| a.start_secs.total_cmp(&b.start_secs));
    uses
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small deterministic generator (no test may depend on the time of day).
    pub struct Lcg(pub u64);
    impl Lcg {
        pub fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// `secs` of notes with random pitches between `lo_hz` and `hi_hz`, each with a few
    /// harmonics and a decaying envelope, at `rate`.
    pub fn melody(seed: u64, secs: f64, lo_hz: f64, hi_hz: f64, rate: u32) -> Vec<f32> {
        let mut rng = Lcg(seed);
        let n = (secs * rate as f64) as usize;
        let mut out = vec![0f32; n];
        let mut t = 0usize;
        while t < n {
            let dur = ((0.12 + 0.3 * rng.next()) * rate as f64) as usize;
            let f = lo_hz * (hi_hz / lo_hz).powf(rng.next());
            for i in 0..dur.min(n - t) {
                let x = i as f64 / rate as f64;
                let env = (-x * 6.0).exp() * (1.0 - (-x * 400.0).exp());
                let mut v = 0.0;
                for (k, a) in [(1.0, 1.0), (2.0, 0.5), (3.0, 0.25)] {
                    v += a * (2.0 * std::f64::consts::PI * f * k * x).sin();
                }
                out[t + i] += (0.3 * env * v) as f32;
            }
            t += dur;
        }
        out
    }

    pub fn landmarks(samples: &[f32], rate: u32) -> Vec<(u32, u32)> {
        let mut b = LandmarkBuilder::new(rate).unwrap();
        for chunk in samples.chunks(4096) {
            b.feed(&[chunk]);
        }
        decode(&b.finish().unwrap()).unwrap()
    }

    fn add(into: &mut [f32], what: &[f32], at_secs: f64, rate: u32, gain: f32) {
        let at = (at_secs * rate as f64) as usize;
        for (i, v) in what.iter().enumerate() {
            if let Some(x) = into.get_mut(at + i) {
                *x += v * gain;
            }
        }
    }

    /// The most landmarks that agree on any one offset.
    fn best_offset(mix: &[(u32, u32)], stem: &[(u32, u32)]) -> usize {
        let mut idx: HashMap<u32, Vec<u32>> = HashMap::new();
        for &(h, t) in stem {
            idx.entry(h).or_default().push(t);
        }
        let mut c: HashMap<i64, usize> = HashMap::new();
        for &(h, t) in mix {
            for &s in idx.get(&h).into_iter().flatten() {
                *c.entry(((t as f64 - s as f64) / OFFSET_MS).round() as i64)
                    .or_default() += 1;
            }
        }
        c.values().copied().max().unwrap_or(0)
    }

    #[test]
    fn stems_are_found_in_a_mix_where_they_were_placed_and_others_are_not() {
        let rate = 44100;
        let bass = melody(1, 20.0, 60.0, 250.0, rate);
        let lead = melody(2, 20.0, 400.0, 1600.0, rate);
        let unused = melody(3, 20.0, 200.0, 900.0, rate);
        // The remix: 40 s of new material, the bass from 5 s, the lead's first 15 s from 18 s.
        let mut mix = melody(10, 40.0, 150.0, 3000.0, rate);
        let noise = {
            let mut r = Lcg(99);
            (0..mix.len())
                .map(|_| (r.next() as f32 - 0.5) * 0.02)
                .collect::<Vec<_>>()
        };
        add(&mut mix, &noise, 0.0, rate, 1.0);
        add(&mut mix, &bass, 5.0, rate, 0.9);
        add(&mut mix, &lead[..15 * rate as usize], 18.0, rate, 0.8);
        let m = landmarks(&mix, rate);

        let found = find(&m, &landmarks(&bass, rate));
        assert!(
            best_offset(&m, &landmarks(&unused, rate)) < MIN_MATCHES / 2,
            "chance agreement stays far below the threshold"
        );
        assert!(!found.is_empty(), "bass not found");
        let (s, e) = (found[0].start_secs, found.last().unwrap().end_secs);
        assert!(
            (s - 5.0).abs() < 2.0 && (e - 25.0).abs() < 2.5,
            "bass at {s}–{e}"
        );

        let found = find(&m, &landmarks(&lead, rate));
        assert!(!found.is_empty(), "lead not found");
        let (s, e) = (found[0].start_secs, found.last().unwrap().end_secs);
        assert!(
            (s - 18.0).abs() < 2.0 && (e - 33.0).abs() < 2.5,
            "lead at {s}–{e}"
        );
        assert!(found[0].stem_start_secs < 2.0);

        assert!(
            find(&m, &landmarks(&unused, rate)).is_empty(),
            "unused stem found"
        );
    }

    #[test]
    fn the_decimated_signal_is_the_low_passed_mono_whatever_the_block_sizes() {
        let rate = 48000;
        let l = melody(3, 2.0, 100.0, 3000.0, rate);
        let r: Vec<f32> = l.iter().map(|x| -0.5 * x).collect();
        let out = |block: usize| {
            let mut b = LandmarkBuilder::new(rate).unwrap();
            let mut all = Vec::new();
            for (a, c) in l.chunks(block).zip(r.chunks(block)) {
                b.feed(&[a, c]);
                all.extend_from_slice(b.decimated());
            }
            (b.out_rate(), b.step, b.taps.clone(), all)
        };
        let (rate_out, step, taps, whole) = out(l.len());
        assert_eq!(rate_out, 12000.0);
        assert_eq!(whole.len(), l.len() / step);
        // The reference: the plain definition, one output every `step` inputs.
        let mono: Vec<f32> = l.iter().zip(&r).map(|(a, b)| (a + b) / 2.0).collect();
        for (k, y) in whole.iter().enumerate() {
            let at = k * step + step - 1;
            let want: f32 = (0..taps.len())
                .filter(|&j| at + j + 1 >= taps.len())
                .map(|j| mono[at + j + 1 - taps.len()] * taps[j])
                .sum();
            assert!((y - want).abs() < 1e-5, "sample {k}: {y} vs {want}");
        }
        for block in [1, 7, 4096] {
            let (_, _, _, chunked) = out(block);
            assert_eq!(chunked.len(), whole.len(), "blocks of {block}");
            for (a, b) in chunked.iter().zip(&whole) {
                assert!((a - b).abs() < 1e-6, "blocks of {block}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn a_stem_at_48k_is_found_in_a_mix_at_44k() {
        let bass48 = melody(5, 15.0, 70.0, 300.0, 48000);
        let bass44 = melody(5, 15.0, 70.0, 300.0, 44100);
        let mut mix = melody(11, 25.0, 300.0, 2000.0, 44100);
        add(&mut mix, &bass44, 4.0, 44100, 1.0);
        let found = find(&landmarks(&mix, 44100), &landmarks(&bass48, 48000));
        assert!(!found.is_empty());
        assert!((found[0].start_secs - 4.0).abs() < 2.0);
    }

    #[test]
    fn silence_and_short_input_give_nothing() {
        let mut b = LandmarkBuilder::new(44100).unwrap();
        b.feed(&[&vec![0.0; 44100]]);
        assert!(b.finish().is_none());
        assert!(LandmarkBuilder::new(4000).is_none());
    }
}
