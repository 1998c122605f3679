//! Cross-check against ffmpeg's `ebur128` filter (Debian's ffmpeg) on generated,
//! music-like signals in every supported format: integrated loudness within 0.1 LU,
//! true peak within 0.2 dB, loudness range within 0.5 LU.

use std::path::{Path, PathBuf};
use std::process::Command;

use cadenza::audio::{Options, analyze_file};

use crate::signals::{hard_clip, music, write_wav_f32};

/// The ffmpeg binary, or None (skip) outside CI; CI must have it.
pub fn ffmpeg() -> Option<&'static str> {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some("ffmpeg");
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("ffmpeg is not installed; CI=true forbids skipping the cross-check");
    }
    eprintln!("skipped: ffmpeg is not installed (scripts/test.sh installs it)");
    None
}

pub fn encode(src: &Path, dst: &Path, args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(src)
        .args(args)
        .arg(dst)
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub struct FfmpegLoudness {
    pub integrated: f64,
    pub range: f64,
    pub true_peak_dbtp: f64,
}

/// ffmpeg's own measurement, read at full precision from its frame metadata.
pub fn ffmpeg_loudness(file: &Path) -> FfmpegLoudness {
    let meta = tempfile::NamedTempFile::new().unwrap();
    let filter = format!(
        "ebur128=peak=true:metadata=1,ametadata=mode=print:file={}",
        meta.path().display()
    );
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(file)
        .args(["-af", &filter, "-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(meta.path()).unwrap();
    let last = |key: &str| -> f64 {
        text.lines()
            .filter_map(|l| l.strip_prefix(key))
            .filter_map(|v| v.strip_prefix('='))
            .next_back()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("ffmpeg printed no {key}"))
    };
    FfmpegLoudness {
        integrated: last("lavfi.r128.I"),
        range: last("lavfi.r128.LRA"),
        true_peak_dbtp: 20.0 * last("lavfi.r128.true_peak").log10(),
    }
}

struct Case {
    name: &'static str,
    ext: &'static str,
    args: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "wav-16",
        ext: "wav",
        args: &["-c:a", "pcm_s16le"],
    },
    Case {
        name: "wav-24",
        ext: "wav",
        args: &["-c:a", "pcm_s24le"],
    },
    Case {
        name: "wav-32",
        ext: "wav",
        args: &["-c:a", "pcm_s32le"],
    },
    Case {
        name: "wav-float",
        ext: "wav",
        args: &["-c:a", "pcm_f32le"],
    },
    Case {
        name: "wav-48k",
        ext: "wav",
        args: &["-c:a", "pcm_s24le", "-ar", "48000"],
    },
    Case {
        name: "wav-96k",
        ext: "wav",
        args: &["-c:a", "pcm_s24le", "-ar", "96000"],
    },
    Case {
        name: "flac",
        ext: "flac",
        args: &["-c:a", "flac"],
    },
    Case {
        name: "mp3",
        ext: "mp3",
        args: &["-c:a", "libmp3lame", "-b:a", "256k"],
    },
    Case {
        name: "aac",
        ext: "m4a",
        args: &["-c:a", "aac", "-b:a", "256k"],
    },
    Case {
        name: "alac",
        ext: "m4a",
        args: &["-c:a", "alac"],
    },
    Case {
        name: "vorbis",
        ext: "ogg",
        args: &["-c:a", "libvorbis", "-q:a", "6"],
    },
];

fn source(dir: &Path, name: &str, clipped: bool) -> PathBuf {
    let rate = 44_100;
    let [l, r] = music(rate, 40.0, 0xC0FFEE, -1.0);
    let (l, r) = if clipped {
        // A loud master, hard-clipped at −0.1 dBFS: the case a −1 dBTP rule exists for.
        (hard_clip(&l, 9.0, 0.989), hard_clip(&r, 9.0, 0.989))
    } else {
        (l, r)
    };
    let path = dir.join(format!("{name}.wav"));
    write_wav_f32(&path, rate, &[l, r]);
    path
}

fn cross_check(clipped: bool) {
    if ffmpeg().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path(), "source", clipped);
    let mut failures = Vec::new();
    for case in CASES {
        let file = dir.path().join(format!("{}.{}", case.name, case.ext));
        encode(&src, &file, case.args);
        let ours = analyze_file(
            &file,
            &Options {
                fingerprint: false,
                ..Options::default()
            },
        )
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let theirs = ffmpeg_loudness(&file);
        let i = ours.loudness.integrated_lufs.unwrap();
        let lra = ours.loudness.range_lu.unwrap();
        let tp = ours.peaks.true_peak_dbtp.unwrap();
        eprintln!(
            "{:<10} I {:>7.2} vs {:>7.2} | LRA {:>5.2} vs {:>5.2} | TP {:>6.2} vs {:>6.2}",
            case.name, i, theirs.integrated, lra, theirs.range, tp, theirs.true_peak_dbtp
        );
        if (i - theirs.integrated).abs() > 0.1 {
            failures.push(format!(
                "{}: integrated {i} vs ffmpeg {}",
                case.name, theirs.integrated
            ));
        }
        if (tp - theirs.true_peak_dbtp).abs() > 0.2 {
            failures.push(format!(
                "{}: true peak {tp} vs ffmpeg {}",
                case.name, theirs.true_peak_dbtp
            ));
        }
        if (lra - theirs.range).abs() > 0.5 {
            failures.push(format!(
                "{}: LRA {lra} vs ffmpeg {}",
                case.name, theirs.range
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn matches_ffmpeg_on_music_in_every_format() {
    cross_check(false);
}

#[test]
fn matches_ffmpeg_on_a_hard_clipped_master() {
    cross_check(true);
}
