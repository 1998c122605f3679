//! Loudness per ITU-R BS.1770-4 / EBU R128: K-weighting (the high-shelf and high-pass
//! biquads, designed for any sample rate by the bilinear transform, with libebur128's
//! constants), mean square per 100 ms block, channel weights, and gating.
//!
//! Each sample is filtered once and each block summed once; everything else —
//! momentary (4 blocks), short-term (30 blocks), the gated integral, loudness range —
//! is formed from block energies. Results agree with the ebur128 crate (a test checks
//! it) at a fraction of its cost.

/// Two cascaded biquads in transposed direct form II, in f64.
#[derive(Clone, Copy)]
struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
}

/// The K-weighting filters for `rate` (libebur128's `filter_coefficients`).
fn k_weighting(rate: f64) -> (Biquad, Biquad) {
    let f0 = 1681.974450955533;
    let g = 3.999843853973347;
    let q = 0.7071752369554196;
    let k = (std::f64::consts::PI * f0 / rate).tan();
    let vh = 10f64.powf(g / 20.0);
    let vb = vh.powf(0.4996667741545416);
    let a0 = 1.0 + k / q + k * k;
    let shelf = Biquad {
        b: [
            (vh + vb * k / q + k * k) / a0,
            2.0 * (k * k - vh) / a0,
            (vh - vb * k / q + k * k) / a0,
        ],
        a: [2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0],
    };
    let f0 = 38.13547087602444;
    let q = 0.5003270373238773;
    let k = (std::f64::consts::PI * f0 / rate).tan();
    let d = 1.0 + k / q + k * k;
    let highpass = Biquad {
        b: [1.0, -2.0, 1.0],
        a: [2.0 * (k * k - 1.0) / d, (1.0 - k / q + k * k) / d],
    };
    (shelf, highpass)
}

/// Channel weights (BS.1770): surrounds +1.5 dB, LFE and unknown extra channels left
/// out as libebur128 does by default.
pub fn channel_weights(channels: usize) -> Vec<f64> {
    const SURROUND: f64 = 1.412_537_544_622_754_4; // 10^(1.5/10)
    match channels {
        4 => vec![1.0, 1.0, SURROUND, SURROUND],
        5 => vec![1.0, 1.0, 1.0, SURROUND, SURROUND],
        n => (0..n)
            .map(|i| match i {
                0..=2 => 1.0,
                3 => 0.0,
                4 | 5 => SURROUND,
                _ => 0.0,
            })
            .collect(),
    }
}

/// Direct form I state of both stages: the last two inputs and outputs of each.
#[derive(Clone, Copy, Default)]
struct State {
    x: [f64; 2],
    y: [f64; 2],
    z: [f64; 2],
}

pub struct KMeter {
    shelf: Biquad,
    highpass: Biquad,
    weights: Vec<f64>,
    states: Vec<State>,
    /// Weighted sum of squares of the block being filled.
    acc: f64,
    fma: bool,
}

/// One sample through both filters (direct form I: each output waits on one
/// multiply-add of the previous output; the rest overlaps); returns the squared output.
macro_rules! step_fn {
    ($name:ident, $madd:expr) => {
        #[inline(always)]
        fn $name(sh: &Biquad, hp: &Biquad, st: &mut State, x: f64) -> f64 {
            let madd = $madd;
            let u = sh.b[0] * x + sh.b[1] * st.x[0] + sh.b[2] * st.x[1] - sh.a[1] * st.y[1];
            let y = madd(-sh.a[0], st.y[0], u);
            let v = y - 2.0 * st.y[0] + st.y[1] - hp.a[1] * st.z[1];
            let z = madd(-hp.a[0], st.z[0], v);
            st.x = [x, st.x[0]];
            st.y = [y, st.y[0]];
            st.z = [z, st.z[0]];
            z * z
        }
    };
}

macro_rules! filter_fns {
    ($pair:ident, $single:ident, $step:ident) => {
        #[inline(always)]
        fn $pair(
            sh: &Biquad,
            hp: &Biquad,
            a: &mut State,
            b: &mut State,
            xa: &[f32],
            xb: &[f32],
        ) -> (f64, f64) {
            let (mut ea, mut eb) = (0.0, 0.0);
            for (&p, &q) in xa.iter().zip(xb) {
                ea += $step(sh, hp, a, p as f64);
                eb += $step(sh, hp, b, q as f64);
            }
            (ea, eb)
        }

        #[inline(always)]
        fn $single(sh: &Biquad, hp: &Biquad, a: &mut State, x: &[f32]) -> f64 {
            x.iter().map(|&p| $step(sh, hp, a, p as f64)).sum()
        }
    };
}

step_fn!(step_portable, |a: f64, b: f64, c: f64| a * b + c);
filter_fns!(pair_portable, single_portable, step_portable);

#[cfg(target_arch = "x86_64")]
mod fast {
    use super::*;
    step_fn!(step_fma, |a: f64, b: f64, c: f64| a.mul_add(b, c));
    filter_fns!(pair_inner, single_inner, step_fma);

    /// # Safety
    /// The CPU must support FMA.
    #[target_feature(enable = "fma")]
    pub(super) unsafe fn pair(
        sh: &Biquad,
        hp: &Biquad,
        a: &mut State,
        b: &mut State,
        xa: &[f32],
        xb: &[f32],
    ) -> (f64, f64) {
        pair_inner(sh, hp, a, b, xa, xb)
    }

    /// # Safety
    /// The CPU must support FMA.
    #[target_feature(enable = "fma")]
    pub(super) unsafe fn single(sh: &Biquad, hp: &Biquad, a: &mut State, x: &[f32]) -> f64 {
        single_inner(sh, hp, a, x)
    }
}

impl KMeter {
    pub fn new(rate: u32, channels: usize) -> KMeter {
        let (shelf, highpass) = k_weighting(rate as f64);
        #[cfg(target_arch = "x86_64")]
        let fma = std::is_x86_feature_detected!("fma");
        #[cfg(not(target_arch = "x86_64"))]
        let fma = false;
        KMeter {
            shelf,
            highpass,
            weights: channel_weights(channels),
            states: vec![State::default(); channels],
            acc: 0.0,
            fma,
        }
    }

    fn pair(&self, a: &mut State, b: &mut State, xa: &[f32], xb: &[f32]) -> (f64, f64) {
        #[cfg(target_arch = "x86_64")]
        if self.fma {
            // SAFETY: FMA was detected at construction.
            return unsafe { fast::pair(&self.shelf, &self.highpass, a, b, xa, xb) };
        }
        pair_portable(&self.shelf, &self.highpass, a, b, xa, xb)
    }

    fn single(&self, a: &mut State, x: &[f32]) -> f64 {
        #[cfg(target_arch = "x86_64")]
        if self.fma {
            // SAFETY: FMA was detected at construction.
            return unsafe { fast::single(&self.shelf, &self.highpass, a, x) };
        }
        single_portable(&self.shelf, &self.highpass, a, x)
    }

    /// Filter a stretch of samples (all within one block) and add their weighted energy.
    pub fn add(&mut self, planes: &[&[f32]]) {
        let mut total = 0.0;
        // Two channels at a time: their filters are independent chains the CPU overlaps.
        let mut ch = 0;
        while ch < planes.len() {
            if ch + 1 < planes.len() {
                let (mut a, mut b) = (self.states[ch], self.states[ch + 1]);
                let (ea, eb) = self.pair(&mut a, &mut b, planes[ch], planes[ch + 1]);
                self.states[ch] = a;
                self.states[ch + 1] = b;
                total += self.weights[ch] * ea + self.weights[ch + 1] * eb;
                ch += 2;
            } else {
                let mut a = self.states[ch];
                let e = self.single(&mut a, planes[ch]);
                self.states[ch] = a;
                total += self.weights[ch] * e;
                ch += 1;
            }
        }
        self.acc += total;
    }

    /// End the block of `frames` frames: its mean weighted energy.
    pub fn take_block(&mut self, frames: usize) -> f64 {
        let e = self.acc / frames.max(1) as f64;
        self.acc = 0.0;
        // Keep denormals out of the filter state after long silences.
        for st in &mut self.states {
            for v in
                st.x.iter_mut()
                    .chain(st.y.iter_mut())
                    .chain(st.z.iter_mut())
            {
                if v.abs() < 1e-30 {
                    *v = 0.0;
                }
            }
        }
        e
    }
}

pub fn energy_to_lufs(e: f64) -> f64 {
    if e > 0.0 {
        -0.691 + 10.0 * e.log10()
    } else {
        f64::NEG_INFINITY
    }
}

pub fn lufs_to_energy(l: f64) -> f64 {
    if l.is_finite() {
        10f64.powf((l + 0.691) / 10.0)
    } else {
        0.0
    }
}

/// Gated integrated loudness (BS.1770-4) of 400 ms gating-block energies.
pub fn integrated(gating_blocks: &[f64]) -> Option<f64> {
    let abs_gate = lufs_to_energy(-70.0);
    let above: Vec<f64> = gating_blocks
        .iter()
        .copied()
        .filter(|e| *e > abs_gate)
        .collect();
    if above.is_empty() {
        return None;
    }
    let mean = above.iter().sum::<f64>() / above.len() as f64;
    let rel_gate = mean * 0.1; // −10 LU
    let kept: Vec<f64> = above.into_iter().filter(|e| *e > rel_gate).collect();
    if kept.is_empty() {
        return None;
    }
    Some(energy_to_lufs(kept.iter().sum::<f64>() / kept.len() as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coefficients_match_bs1770_at_48k() {
        // The recommendation's published coefficients for 48 kHz.
        let (sh, hp) = k_weighting(48_000.0);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(sh.b[0], 1.53512485958697));
        assert!(close(sh.b[1], -2.69169618940638));
        assert!(close(sh.b[2], 1.19839281085285));
        assert!(close(sh.a[0], -1.69065929318241));
        assert!(close(sh.a[1], 0.73248077421585));
        assert!(close(hp.a[0], -1.99004745483398));
        assert!(close(hp.a[1], 0.99007225036621));
    }

    #[test]
    fn gating_drops_quiet_blocks() {
        let loud = lufs_to_energy(-20.0);
        let quiet = lufs_to_energy(-40.0); // more than 10 LU below: gated out
        let silent = 0.0;
        let mut blocks = vec![loud; 10];
        blocks.extend(vec![quiet; 10]);
        blocks.extend(vec![silent; 10]);
        let i = integrated(&blocks).unwrap();
        assert!((i + 20.0).abs() < 1e-9, "{i}");
        assert_eq!(integrated(&[0.0; 5]), None);
    }

    #[test]
    fn weights_follow_the_default_layouts() {
        assert_eq!(channel_weights(2), vec![1.0, 1.0]);
        assert_eq!(channel_weights(6)[3], 0.0, "LFE is not counted");
        assert!(channel_weights(5)[4] > 1.4);
    }
}
