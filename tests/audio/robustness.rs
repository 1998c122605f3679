//! A corpus of malformed inputs from a fixed seed — truncations, bit flips, header
//! fields zeroed or set to extremes, other file types renamed as audio, empty and
//! 1-byte files, tiny files that claim hours of audio — each analysed in the isolated
//! child. Every input must end in a typed result within the wall limit: no panic
//! escapes the child, no input hangs it, and this process never dies.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cadenza::audio::sandbox::{SandboxConfig, analyze_isolated};
use cadenza::audio::{AnalysisError, Limits};

use crate::ffmpeg::{encode, ffmpeg};
use crate::signals::{Rng, music, write_wav_f32, write_wav_i16};

const SEED: u64 = 0x5EED_CADE_2026;

/// Small valid files in every supported format, the seeds of the corpus.
fn seeds(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let src = dir.join("seed.wav");
    let [l, r] = music(44_100, 2.0, 99, -2.0);
    write_wav_f32(&src, 44_100, &[l.clone(), r.clone()]);
    let mut out = Vec::new();
    let wav16 = dir.join("seed16.wav");
    write_wav_i16(&wav16, 44_100, &[l, r]);
    out.push(("wav".to_string(), std::fs::read(&wav16).unwrap()));
    for (name, ext, args) in [
        ("flac", "flac", &["-c:a", "flac"][..]),
        ("mp3", "mp3", &["-c:a", "libmp3lame", "-b:a", "192k"][..]),
        ("aac", "m4a", &["-c:a", "aac", "-b:a", "128k"][..]),
        ("alac", "m4a", &["-c:a", "alac"][..]),
        ("vorbis", "ogg", &["-c:a", "libvorbis", "-q:a", "4"][..]),
    ] {
        let f = dir.join(format!("seed-{name}.{ext}"));
        encode(&src, &f, args);
        out.push((name.to_string(), std::fs::read(&f).unwrap()));
    }
    out
}

/// A WAV header that claims ~6 hours of 192 kHz 8-channel audio, with 16 bytes of data.
fn wav_claiming_hours() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&u32::MAX.to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&8u16.to_le_bytes());
    b.extend_from_slice(&192_000u32.to_le_bytes());
    b.extend_from_slice(&(192_000u32 * 16).to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&(u32::MAX - 64).to_le_bytes());
    b.extend_from_slice(&[0u8; 16]);
    b
}

/// The same header with absurd fields: rate u32::MAX, 0 channels, and so on.
fn wav_with_fields(rate: u32, channels: u16, bits: u16) -> Vec<u8> {
    let mut b = wav_claiming_hours();
    b[22..24].copy_from_slice(&channels.to_le_bytes());
    b[24..28].copy_from_slice(&rate.to_le_bytes());
    b[34..36].copy_from_slice(&bits.to_le_bytes());
    b
}

fn corpus(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut rng = Rng(SEED);
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, bytes) in seeds(dir) {
        let n = bytes.len();
        // Truncations at many offsets, dense near the header.
        for k in 0..50 {
            let at = if k < 20 {
                k * 7
            } else {
                (rng.next_u64() as usize) % n
            };
            out.push((format!("{name}-trunc-{at}"), bytes[..at.min(n)].to_vec()));
        }
        // Bit flips: 1 to 16 random bits, half of them in the first 4 KiB.
        for k in 0..220 {
            let mut b = bytes.clone();
            let flips = 1 + (rng.next_u64() % 16) as usize;
            for _ in 0..flips {
                let span = if k % 2 == 0 { n.min(4096) } else { n };
                let i = (rng.next_u64() as usize) % span;
                b[i] ^= 1 << (rng.next_u64() % 8);
            }
            out.push((format!("{name}-flip-{k}"), b));
        }
        // Header fields: aligned 4-byte words in the first 256 bytes set to 0, max, or
        // a large value (length fields, counts, rates).
        for k in 0..60 {
            let mut b = bytes.clone();
            let off = ((rng.next_u64() as usize) % 64 * 4).min(n.saturating_sub(4));
            let v: u32 = match k % 3 {
                0 => 0,
                1 => u32::MAX,
                _ => 0x7FFF_FFF0,
            };
            b[off..off + 4].copy_from_slice(&v.to_le_bytes());
            out.push((format!("{name}-field-{off}-{k}"), b));
        }
        // The file with its first kilobyte repeated (garbage between headers and data).
        let mut doubled = bytes[..n.min(1024)].to_vec();
        doubled.extend_from_slice(&bytes);
        out.push((format!("{name}-doubled-head"), doubled));
    }
    // Other file types renamed as audio.
    let impostors: [(&str, &[u8]); 9] = [
        ("pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"),
        ("png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
        ("jpeg", b"\xff\xd8\xff\xe0\0\x10JFIF\0"),
        ("zip", b"PK\x03\x04\x14\0\0\0\x08\0"),
        ("elf", b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"),
        ("html", b"<!doctype html><html><script>alert(1)</script>"),
        ("gif", b"GIF89a\x01\0\x01\0"),
        ("aiff", b"FORM\0\0\x10\0AIFFCOMM\0\0\0\x12\0\x02"),
        ("opus", b"OggS\0\x02\0\0\0\0\0\0\0\0\x11\x22\x33\x44\0\0\0\0\x5a\x5a\x5a\x5a\x01\x13OpusHead\x01\x02"),
    ];
    for (kind, head) in impostors {
        for k in 0..10 {
            let mut b = head.to_vec();
            for _ in 0..(rng.next_u64() % 4096) {
                b.push(rng.next_u64() as u8);
            }
            out.push((format!("impostor-{kind}-{k}"), b));
        }
    }
    // Random bytes, and random bytes behind real magic numbers.
    for k in 0..40 {
        let len = (rng.next_u64() % 8192) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        match k % 5 {
            0 => b.splice(0..0, b"RIFF\xff\xff\xff\xffWAVE".iter().copied()),
            1 => b.splice(0..0, b"fLaC".iter().copied()),
            2 => b.splice(0..0, b"ID3\x04\0\0\0\0\0\0".iter().copied()),
            3 => b.splice(0..0, b"\0\0\0\x20ftypM4A ".iter().copied()),
            _ => b.splice(0..0, b"OggS".iter().copied()),
        };
        out.push((format!("random-{k}"), b));
    }
    out.push(("empty".into(), Vec::new()));
    out.push(("one-byte".into(), vec![0x52]));
    out.push(("wav-claims-hours".into(), wav_claiming_hours()));
    for (rate, ch, bits) in [
        (u32::MAX, 2, 16),
        (0, 2, 16),
        (44_100, 0, 16),
        (44_100, u16::MAX, 16),
        (44_100, 2, 0),
        (44_100, 2, 64),
        (1, 1, 8),
    ] {
        out.push((
            format!("wav-fields-{rate}-{ch}-{bits}"),
            wav_with_fields(rate, ch, bits),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_malformed_inputs_end_in_typed_results() {
    if ffmpeg().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let inputs = corpus(dir.path());
    assert!(
        inputs.len() >= 2000,
        "corpus has only {} inputs",
        inputs.len()
    );
    let cfg = Arc::new(SandboxConfig {
        wall_secs: 30,
        cpu_secs: 20,
        fingerprint: false,
        limits: Limits {
            max_decoded_secs: 20.0 * 60.0,
            ..Limits::default()
        },
        ..SandboxConfig::new(PathBuf::from(env!("CARGO_BIN_EXE_cadenza")))
    });
    let permits = Arc::new(tokio::sync::Semaphore::new(4));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (name, bytes)) in inputs.into_iter().enumerate() {
        let path = dir.path().join(format!("in-{i:05}.bin"));
        std::fs::write(&path, &bytes).unwrap();
        let (cfg, permits) = (cfg.clone(), permits.clone());
        tasks.spawn(async move {
            let _p = permits.acquire_owned().await.unwrap();
            let start = Instant::now();
            let r = analyze_isolated(&cfg, &path).await;
            let _ = std::fs::remove_file(&path);
            (name, r, start.elapsed())
        });
    }
    let mut ok = 0;
    let mut by_code: std::collections::BTreeMap<&'static str, usize> = Default::default();
    let mut slowest = (String::new(), Duration::ZERO);
    let mut bad = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (name, r, took) = joined.expect("the caller's task never dies");
        if took > slowest.1 {
            slowest = (name.clone(), took);
        }
        match r {
            Ok(_) => ok += 1,
            Err(e) => {
                *by_code.entry(e.code()).or_default() += 1;
                match &e {
                    // A hang, or a crash the child did not turn into a typed answer itself.
                    AnalysisError::Timeout => bad.push(format!("{name}: timed out")),
                    AnalysisError::Crashed(m)
                        if m.starts_with("exit status") || m.starts_with("signal") =>
                    {
                        bad.push(format!("{name}: {m}"))
                    }
                    _ => {}
                }
            }
        }
    }
    eprintln!("malformed-input corpus: {ok} analysed, failures by code: {by_code:?}");
    eprintln!(
        "slowest input: {} in {:.2} s",
        slowest.0,
        slowest.1.as_secs_f64()
    );
    assert!(
        bad.is_empty(),
        "{} inputs escaped a typed result: {bad:#?}",
        bad.len()
    );
}
