//! Test signals: sines and music-like material generated from fixed seeds, and a
//! small WAV writer, so every test makes its own input.

use std::f64::consts::PI;
use std::path::Path;

pub fn db_to_amp(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// A sine of `secs` at peak amplitude `dbfs`, starting at `phase_deg`.
pub fn sine(rate: u32, secs: f64, freq: f64, dbfs: f64, phase_deg: f64) -> Vec<f32> {
    let a = db_to_amp(dbfs);
    let ph = phase_deg.to_radians();
    (0..(rate as f64 * secs).round() as usize)
        .map(|i| (a * (2.0 * PI * freq * i as f64 / rate as f64 + ph).sin()) as f32)
        .collect()
}

/// Concatenated 1 kHz segments `(dbfs, secs)`, as EBU test signals describe them.
pub fn sine_steps(rate: u32, steps: &[(f64, f64)]) -> Vec<f32> {
    let mut out = Vec::new();
    let mut phase = 0.0f64;
    for &(dbfs, secs) in steps {
        let a = db_to_amp(dbfs);
        for _ in 0..(rate as f64 * secs).round() as usize {
            out.push((a * phase.sin()) as f32);
            phase += 2.0 * PI * 1000.0 / rate as f64;
        }
    }
    out
}

/// xorshift64*: deterministic noise.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in −1..1.
    pub fn noise(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// Music-like stereo material: chords with harmonics changing every bar, a bass line,
/// noise-burst "drums", a slow level envelope and a quieter bridge (so loudness range
/// is neither zero nor extreme). Peak-normalised to `peak_dbfs`.
pub fn music(rate: u32, secs: f64, seed: u64, peak_dbfs: f64) -> [Vec<f32>; 2] {
    let n = (rate as f64 * secs) as usize;
    let mut rng = Rng(seed | 1);
    let chords = [
        [261.63, 329.63, 392.0],
        [220.0, 261.63, 329.63],
        [174.61, 220.0, 261.63],
        [196.0, 246.94, 293.66],
    ];
    let bar = 2.0; // seconds
    let mut l = vec![0f64; n];
    let mut r = vec![0f64; n];
    let mut drum_env = 0.0f64;
    let mut lp = 0.0f64;
    for i in 0..n {
        let t = i as f64 / rate as f64;
        let chord = chords[((t / bar) as usize) % chords.len()];
        let section = if (t / secs) > 0.45 && (t / secs) < 0.65 {
            0.35
        } else {
            1.0
        };
        let swell = 0.75 + 0.25 * (2.0 * PI * t / 11.0).sin();
        let mut pad_l = 0.0;
        let mut pad_r = 0.0;
        for (k, f) in chord.iter().enumerate() {
            for h in 1..=4 {
                let amp = 0.18 / h as f64;
                let detune = 1.0 + 0.002 * k as f64;
                pad_l += amp * (2.0 * PI * f * h as f64 * t).sin();
                pad_r += amp * (2.0 * PI * f * detune * h as f64 * t + 0.3 * k as f64).sin();
            }
        }
        let bass = 0.35 * (2.0 * PI * chord[0] / 2.0 * t).sin();
        // A drum hit every half second: a decaying burst of low-passed noise.
        if i % (rate as usize / 2) == 0 {
            drum_env = 1.0;
        }
        drum_env *= 0.9993;
        lp += 0.2 * (rng.noise() - lp);
        let drum = 0.9 * drum_env * lp * 3.0;
        let hat = 0.05
            * rng.noise()
            * if (i / (rate as usize / 8)).is_multiple_of(2) {
                1.0
            } else {
                0.3
            };
        l[i] = section * swell * (pad_l + bass) + drum + hat;
        r[i] = section * swell * (pad_r + bass) + drum * 0.9 + hat * 1.1;
    }
    let peak = l.iter().chain(r.iter()).fold(0f64, |m, x| m.max(x.abs()));
    let g = db_to_amp(peak_dbfs) / peak;
    [
        l.iter().map(|x| (x * g) as f32).collect(),
        r.iter().map(|x| (x * g) as f32).collect(),
    ]
}

/// Hard-clip a signal at `ceiling` (linear) after `gain_db`: a loud, clipped master.
pub fn hard_clip(x: &[f32], gain_db: f64, ceiling: f32) -> Vec<f32> {
    let g = db_to_amp(gain_db) as f32;
    x.iter().map(|v| (v * g).clamp(-ceiling, ceiling)).collect()
}

/// Write 32-bit float WAV (lossless input for ffmpeg to encode from).
pub fn write_wav_f32(path: &Path, rate: u32, planes: &[Vec<f32>]) {
    let ch = planes.len() as u16;
    let frames = planes[0].len();
    let data_len = (frames * ch as usize * 4) as u32;
    let mut b = Vec::with_capacity(44 + data_len as usize);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&3u16.to_le_bytes()); // IEEE float
    b.extend_from_slice(&ch.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * ch as u32 * 4).to_le_bytes());
    b.extend_from_slice(&(ch * 4).to_le_bytes());
    b.extend_from_slice(&32u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        for p in planes {
            b.extend_from_slice(&p[i].to_le_bytes());
        }
    }
    std::fs::write(path, b).expect("write wav");
}

/// Write 16-bit PCM WAV.
pub fn write_wav_i16(path: &Path, rate: u32, planes: &[Vec<f32>]) {
    let ch = planes.len() as u16;
    let frames = planes[0].len();
    let data_len = (frames * ch as usize * 2) as u32;
    let mut b = Vec::with_capacity(44 + data_len as usize);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&ch.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * ch as u32 * 2).to_le_bytes());
    b.extend_from_slice(&(ch * 2).to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        for p in planes {
            let s = (p[i].clamp(-1.0, 1.0) * 32767.0).round() as i16;
            b.extend_from_slice(&s.to_le_bytes());
        }
    }
    std::fs::write(path, b).expect("write wav");
}
