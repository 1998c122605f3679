//! What the decoder accepts and refuses, decided by content: every supported format
//! reports its container, codec, rate, depth and channels; AIFF, Opus and video files
//! get a clear "unsupported"; a file's name never matters.

use std::path::Path;

use cadenza::audio::{AnalysisError, Options, analyze_file};

use crate::ffmpeg::{encode, ffmpeg};
use crate::signals::{music, write_wav_f32};

fn opts() -> Options {
    Options {
        fingerprint: false,
        ..Options::default()
    }
}

fn source(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("src.wav");
    let [l, r] = music(44_100, 6.0, 5, -3.0);
    write_wav_f32(&p, 44_100, &[l, r]);
    p
}

#[test]
fn every_supported_format_is_described() {
    if ffmpeg().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path());
    // (file, ffmpeg args, container, codec, lossless, bit depth, float)
    type Case<'a> = (
        &'a str,
        &'a [&'a str],
        &'a str,
        &'a str,
        bool,
        Option<u32>,
        bool,
    );
    let cases: &[Case] = &[
        (
            "a.wav",
            &["-c:a", "pcm_s16le"],
            "wav",
            "pcm",
            true,
            Some(16),
            false,
        ),
        (
            "b.wav",
            &["-c:a", "pcm_s24le"],
            "wav",
            "pcm",
            true,
            Some(24),
            false,
        ),
        (
            "c.wav",
            &["-c:a", "pcm_s32le"],
            "wav",
            "pcm",
            true,
            Some(32),
            false,
        ),
        (
            "d.wav",
            &["-c:a", "pcm_f32le"],
            "wav",
            "pcm",
            true,
            Some(32),
            true,
        ),
        (
            "e.flac",
            &["-c:a", "flac", "-sample_fmt", "s16"],
            "flac",
            "flac",
            true,
            Some(16),
            false,
        ),
        (
            "f.mp3",
            &["-c:a", "libmp3lame", "-b:a", "256k"],
            "mp3",
            "mp3",
            false,
            None,
            false,
        ),
        (
            "g.m4a",
            &["-c:a", "aac", "-b:a", "192k"],
            "mp4",
            "aac",
            false,
            None,
            false,
        ),
        ("h.m4a", &["-c:a", "alac"], "mp4", "alac", true, None, false),
        (
            "i.ogg",
            &["-c:a", "libvorbis"],
            "ogg",
            "vorbis",
            false,
            None,
            false,
        ),
        (
            "j.wav",
            &["-c:a", "pcm_s16le", "-ac", "1", "-ar", "48000"],
            "wav",
            "pcm",
            true,
            Some(16),
            false,
        ),
    ];
    for (name, args, container, codec, lossless, depth, float) in cases {
        let f = dir.path().join(name);
        encode(&src, &f, args);
        let r = analyze_file(&f, &opts()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let fmt = &r.format;
        assert_eq!(fmt.container, *container, "{name}");
        assert_eq!(fmt.codec, *codec, "{name}");
        assert_eq!(fmt.lossless, *lossless, "{name}");
        if depth.is_some() {
            assert_eq!(fmt.bit_depth, *depth, "{name}");
        }
        assert_eq!(fmt.float_samples, *float, "{name}");
        assert!(
            (fmt.duration_secs - 6.0).abs() < 0.1,
            "{name}: {}",
            fmt.duration_secs
        );
        assert!(fmt.bitrate_kbps.unwrap() > 0.0);
        if *name == "j.wav" {
            assert_eq!((fmt.sample_rate, fmt.channels), (48_000, 1));
            assert!(r.stereo.is_none());
        } else {
            assert_eq!((fmt.sample_rate, fmt.channels), (44_100, 2));
        }
        if *codec == "mp3" {
            let kbps = fmt.bitrate_kbps.unwrap();
            assert!((230.0..290.0).contains(&kbps), "{kbps}");
        }
    }
}

#[test]
fn aiff_opus_and_video_are_unsupported_with_a_clear_kind() {
    if ffmpeg().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path());
    let aiff = dir.path().join("track.aiff");
    encode(&src, &aiff, &["-c:a", "pcm_s16be", "-f", "aiff"]);
    let opus = dir.path().join("track.opus");
    encode(&src, &opus, &["-c:a", "libopus", "-b:a", "128k"]);
    let video = dir.path().join("clip.mp4");
    let out = std::process::Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x64:rate=10",
            "-i",
        ])
        .arg(&src)
        .args(["-t", "2", "-c:v", "mpeg4", "-c:a", "aac", "-shortest"])
        .arg(&video)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (file, kind) in [(&aiff, "aiff"), (&opus, "opus"), (&video, "video")] {
        let r = analyze_file(file, &opts());
        assert_eq!(
            r,
            Err(AnalysisError::Unsupported {
                detected: kind.into()
            }),
            "{}",
            file.display()
        );
        let msg = r.unwrap_err().message(cadenza::i18n::Locale::En);
        assert!(msg.contains("Export your track as WAV"), "{msg}");
    }
}

#[test]
fn the_name_never_decides_the_format() {
    if ffmpeg().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path());
    let flac_named_mp3 = dir.path().join("song.mp3");
    encode(&src, &flac_named_mp3, &["-c:a", "flac", "-f", "flac"]);
    let r = analyze_file(&flac_named_mp3, &opts()).unwrap();
    assert_eq!(r.format.codec, "flac");
    let text_named_wav = dir.path().join("song.wav");
    std::fs::write(
        &text_named_wav,
        "this is not audio, just words\n".repeat(20),
    )
    .unwrap();
    assert_eq!(
        analyze_file(&text_named_wav, &opts()),
        Err(AnalysisError::Unsupported {
            detected: "text".into()
        })
    );
    let empty = dir.path().join("empty.flac");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(analyze_file(&empty, &opts()), Err(AnalysisError::Empty));
}

#[test]
fn digital_silence_is_measured_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("silence.wav");
    write_wav_f32(&p, 44_100, &[vec![0.0; 44_100 * 4], vec![0.0; 44_100 * 4]]);
    let r = analyze_file(&p, &opts()).unwrap();
    assert!(r.silence.all_silent);
    assert_eq!(r.loudness.integrated_lufs, None);
    let v = cadenza::audio::policy::Policy::default().evaluate(&r);
    assert!(v.rules.iter().any(|x| x.code == "audio.silent"));
}
