//! Renditions are bounded by what a listener needs (issue 21): at most stereo and
//! 48 kHz, within a byte budget, with the same audio (level, length) as the source.

use cadenza::audio::{Limits, RenditionCaps, render_wav, sandbox};

use crate::signals::{sine, write_wav_i16};

/// (rate, channels, frames, samples as f32) of a 16-bit WAV.
fn read_wav(path: &std::path::Path) -> (u32, u16, usize, Vec<f32>) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[0..4], b"RIFF");
    let ch = u16::from_le_bytes([b[22], b[23]]);
    let rate = u32::from_le_bytes(b[24..28].try_into().unwrap());
    let data = u32::from_le_bytes(b[40..44].try_into().unwrap()) as usize;
    assert_eq!(b.len(), 44 + data, "the header's size matches the file");
    let samples: Vec<f32> = b[44..]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]) as f32 / 32767.0)
        .collect();
    (rate, ch, data / (ch as usize * 2), samples)
}

fn rms_db(x: &[f32]) -> f64 {
    let s: f64 = x.iter().map(|v| (*v as f64) * (*v as f64)).sum::<f64>() / x.len() as f64;
    10.0 * s.log10()
}

fn render(
    rate: u32,
    channels: usize,
    secs: f64,
    caps: RenditionCaps,
) -> (u32, u16, usize, Vec<f32>) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in.wav");
    let out = dir.path().join("out.wav");
    let tone = sine(rate, secs, 1000.0, -6.0, 0.0);
    write_wav_i16(&src, rate, &vec![tone; channels]);
    render_wav(&src, &out, Limits::default(), 0.0, caps).expect("renders");
    read_wav(&out)
}

#[test]
fn a_192_khz_four_channel_master_becomes_48_khz_stereo_of_the_same_length_and_level() {
    let (rate, ch, frames, samples) = render(192_000, 4, 3.0, RenditionCaps::default());
    assert_eq!((rate, ch), (48_000, 2));
    assert_eq!(frames, 3 * 48_000, "the length is kept exactly");
    // Level: a −6 dBFS sine has an RMS of −9.03 dBFS; away from the edges it is kept.
    let left: Vec<f32> = samples.iter().step_by(2).copied().collect();
    let mid = &left[4_800..frames - 4_800];
    assert!((rms_db(mid) + 9.03).abs() < 0.1, "{}", rms_db(mid));
    // And it starts on time: no resampler delay in front.
    assert!(left[..200].iter().any(|v| v.abs() > 0.1));
}

#[test]
fn the_44_1_khz_family_goes_to_44_1_and_ordinary_files_are_untouched() {
    let (rate, ch, frames, _) = render(88_200, 2, 2.0, RenditionCaps::default());
    assert_eq!((rate, ch, frames), (44_100, 2, 88_200));
    let (rate, ch, frames, _) = render(44_100, 1, 2.0, RenditionCaps::default());
    assert_eq!((rate, ch, frames), (44_100, 1, 88_200));
}

#[test]
fn a_rendition_stops_at_its_byte_budget() {
    let caps = RenditionCaps {
        max_bytes: 44 + 48_000 * 4,
    };
    let (rate, ch, frames, _) = render(96_000, 2, 4.0, caps);
    assert_eq!((rate, ch, frames), (48_000, 2, 48_000));
}

#[tokio::test]
async fn the_isolated_renderer_applies_the_configured_budget() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in.wav");
    let out = dir.path().join("out.wav");
    let tone = sine(192_000, 2.0, 440.0, -12.0, 0.0);
    write_wav_i16(&src, 192_000, &[tone.clone(), tone]);
    let mut cfg = sandbox::SandboxConfig::new(env!("CARGO_BIN_EXE_cadenza").into());
    cfg.rendition_max_bytes = 44 + 48_000 * 4 / 2;
    let frames = sandbox::render_isolated(&cfg, &src, &out, 0.0)
        .await
        .unwrap();
    assert_eq!(frames, 24_000);
    let (rate, ch, n, _) = read_wav(&out);
    assert_eq!((rate, ch, n), (48_000, 2, 24_000));
}
