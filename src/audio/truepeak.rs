//! True-peak metering (ITU-R BS.1770-4 Annex 2): the signal is oversampled (4× below
//! 96 kHz, 2× below 192 kHz) with a polyphase interpolation filter and the largest
//! magnitude is kept.
//!
//! The filter is longer than the 12-tap-per-phase example of the recommendation (the
//! one libebur128 uses), which reads about 0.3 dB low on hard-clipped masters: 32 taps
//! per phase, a windowed sinc with its cutoff at 0.97 of the input Nyquist frequency
//! and a Kaiser window (β = 9), as ffmpeg's resampler does. Work is skipped for blocks
//! that cannot beat the peak found so far (their filter output is bounded by the
//! block's largest sample times the filter's L1 norm), and the kernel uses AVX2/FMA
//! when the CPU has it.

const TAPS: usize = 32;
const BLOCK: usize = 64;

pub struct TruePeak {
    kernel: Kernel,
    channels: Vec<ChannelState>,
}

struct Kernel {
    /// Interpolation phases (the fractional positions between samples); phase 0, the
    /// samples themselves, is the sample peak.
    phases: Vec<[f32; TAPS]>,
    /// The largest L1 norm of any phase: |output| ≤ l1 · max |input in its span|.
    l1: f32,
    avx2: bool,
}

struct ChannelState {
    /// The last TAPS − 1 samples (zeros before the start).
    hist: Vec<f32>,
    work: Vec<f32>,
    peak: f32,
}

fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let q = x * x / 4.0;
    for k in 1..50 {
        term *= q / (k as f64 * k as f64);
        sum += term;
        if term < 1e-12 * sum {
            break;
        }
    }
    sum
}

/// The filter's coefficients for the output at `frac` (0 < frac < 1) of the way from
/// input sample `TAPS/2 − 1` to `TAPS/2` of a `TAPS`-sample span.
fn phase(frac: f64) -> [f32; TAPS] {
    let cutoff = 0.97 * 0.5; // cycles per input sample
    let beta = 9.0;
    let half = TAPS as f64 / 2.0;
    let mut c = [0f64; TAPS];
    for (j, v) in c.iter_mut().enumerate() {
        // Distance (in input samples) from this tap to the output position.
        let t = frac + (TAPS / 2 - 1) as f64 - j as f64;
        let x = 2.0 * cutoff * t;
        let sinc = if x.abs() < 1e-12 {
            1.0
        } else {
            (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
        };
        let r = t / half;
        let w = if r.abs() >= 1.0 {
            0.0
        } else {
            bessel_i0(beta * (1.0 - r * r).sqrt()) / bessel_i0(beta)
        };
        *v = 2.0 * cutoff * sinc * w;
    }
    let sum: f64 = c.iter().sum();
    let mut out = [0f32; TAPS];
    for (o, v) in out.iter_mut().zip(c) {
        *o = (v / sum) as f32;
    }
    out
}

macro_rules! kernel {
    ($name:ident, $madd:expr) => {
        /// Largest |output| of every phase for outputs between `x[i+TAPS/2−1]` and
        /// `x[i+TAPS/2]`, `i` in `0..n`; `x.len() ≥ n + TAPS − 1`.
        #[inline(always)]
        fn $name(phases: &[[f32; TAPS]], x: &[f32], n: usize, floor: f32, l1: f32) -> f32 {
            let mut best = floor;
            let mut start = 0;
            while start < n {
                let len = BLOCK.min(n - start);
                let span = &x[start..start + len + TAPS - 1];
                let local = crate::audio::simd::peak(span);
                if local * l1 > best {
                    for c in phases {
                        let mut acc = [0f32; BLOCK];
                        for (j, &cj) in c.iter().enumerate() {
                            let xs = &span[j..j + len];
                            for (a, &v) in acc[..len].iter_mut().zip(xs) {
                                *a = $madd(cj, v, *a);
                            }
                        }
                        best = best.max(crate::audio::simd::peak(&acc[..len]));
                    }
                }
                start += len;
            }
            best
        }
    };
}

kernel!(kernel_portable, |c: f32, v: f32, a: f32| a + c * v);

#[cfg(target_arch = "x86_64")]
mod fast {
    use super::*;
    kernel!(kernel_inner, |c: f32, v: f32, a: f32| c.mul_add(v, a));

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn kernel_avx2(
        phases: &[[f32; TAPS]],
        x: &[f32],
        n: usize,
        floor: f32,
        l1: f32,
    ) -> f32 {
        kernel_inner(phases, x, n, floor, l1)
    }
}

impl TruePeak {
    pub fn new(rate: u32, channels: usize) -> TruePeak {
        let factor = if rate < 96_000 {
            4
        } else if rate < 192_000 {
            2
        } else {
            1
        };
        let phases: Vec<[f32; TAPS]> = (1..factor)
            .map(|p| phase(p as f64 / factor as f64))
            .collect();
        let l1 = phases
            .iter()
            .map(|c| c.iter().map(|v| v.abs()).sum::<f32>())
            .fold(1f32, f32::max);
        #[cfg(target_arch = "x86_64")]
        let avx2 = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
        #[cfg(not(target_arch = "x86_64"))]
        let avx2 = false;
        TruePeak {
            kernel: Kernel { phases, l1, avx2 },
            channels: (0..channels)
                .map(|_| ChannelState {
                    hist: vec![0.0; TAPS - 1],
                    work: Vec::new(),
                    peak: 0.0,
                })
                .collect(),
        }
    }
}

impl Kernel {
    fn run(&self, x: &[f32], n: usize, floor: f32) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: AVX2 and FMA were detected at construction.
            return unsafe { fast::kernel_avx2(&self.phases, x, n, floor, self.l1) };
        }
        kernel_portable(&self.phases, x, n, floor, self.l1)
    }
}

impl TruePeak {
    pub fn feed(&mut self, planes: &[&[f32]]) {
        for (st, p) in self.channels.iter_mut().zip(planes) {
            let sample_peak = st.peak.max(crate::audio::simd::peak(p));
            if self.kernel.phases.is_empty() {
                st.peak = sample_peak;
                continue;
            }
            st.work.clear();
            st.work.extend_from_slice(&st.hist);
            st.work.extend_from_slice(p);
            let n = st.work.len() + 1 - TAPS;
            st.peak = self.kernel.run(&st.work, n, sample_peak);
            let keep = st.work.len() - (TAPS - 1);
            st.hist.clear();
            st.hist.extend_from_slice(&st.work[keep..]);
        }
    }

    /// Flush the filter's tail and return each channel's true peak (linear).
    pub fn finish(mut self) -> Vec<f64> {
        if !self.kernel.phases.is_empty() {
            let zeros = [0f32; TAPS / 2];
            let planes: Vec<&[f32]> = (0..self.channels.len()).map(|_| &zeros[..]).collect();
            self.feed(&planes);
        }
        self.channels.iter().map(|c| c.peak as f64).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(rate: u32, x: &[f32]) -> f64 {
        let mut t = TruePeak::new(rate, 1);
        for chunk in x.chunks(1000) {
            t.feed(&[chunk]);
        }
        t.finish()[0]
    }

    fn sine(rate: u32, freq: f64, phase_deg: f64, amp: f64) -> Vec<f32> {
        (0..rate as usize)
            .map(|i| {
                (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / rate as f64
                    + phase_deg.to_radians())
                .sin()) as f32
            })
            .collect()
    }

    #[test]
    fn phases_have_unity_gain() {
        for f in [0.25, 0.5, 0.75] {
            let s: f32 = phase(f).iter().sum();
            assert!((s - 1.0).abs() < 1e-5);
        }
        // Half-way is symmetric.
        let h = phase(0.5);
        for j in 0..TAPS {
            assert!((h[j] - h[TAPS - 1 - j]).abs() < 1e-6);
        }
    }

    #[test]
    fn finds_peaks_between_samples() {
        // fs/4 at 45°: samples at ±0.707 of the amplitude, the true peak at 1.0.
        let x = sine(48_000, 12_000.0, 45.0, 0.5);
        let sample_peak = x.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!((sample_peak - 0.3536).abs() < 1e-3);
        let t = tp(48_000, &x);
        assert!((t - 0.5).abs() < 0.5 * 0.02, "{t}");
    }

    #[test]
    fn the_portable_and_fast_kernels_agree() {
        let x = sine(44_100, 997.0, 10.0, 0.9);
        let t = TruePeak::new(44_100, 1).kernel;
        let n = x.len() + 1 - TAPS;
        let a = kernel_portable(&t.phases, &x, n, 0.0, t.l1);
        let b = t.run(&x, n, 0.0);
        assert!((a - b).abs() < 1e-5, "{a} {b}");
    }

    #[test]
    fn never_below_the_sample_peak_and_works_at_192k() {
        let x = sine(192_000, 1000.0, 0.0, 0.25);
        let t = tp(192_000, &x);
        assert!((t - 0.25).abs() < 1e-3);
        let impulse: Vec<f32> = (0..4800)
            .map(|i| if i == 2400 { 0.8 } else { 0.0 })
            .collect();
        assert!(tp(48_000, &impulse) >= 0.8 - 1e-6);
    }
}
