//! `cadenza analyze`: exit codes per verdict, JSON with messages in both languages,
//! and a readable report.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::signals::{music, sine, write_wav_i16};

fn analyze(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cadenza"))
        .arg("analyze")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn good_master(dir: &Path) -> PathBuf {
    let path = dir.join("good.wav");
    let [l, r] = music(44_100, 35.0, 11, -3.0);
    write_wav_i16(&path, 44_100, &[l, r]);
    path
}

fn default_policy(dir: &Path) -> PathBuf {
    let p = dir.join("policy.toml");
    std::fs::write(&p, "# the defaults\n").unwrap();
    p
}

#[test]
fn a_good_master_passes_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let file = good_master(dir.path());
    let policy = default_policy(dir.path());
    let (code, out, err) = analyze(&[file.to_str().unwrap(), "--policy", policy.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Verdict: PASS"), "{out}");
    assert!(out.contains("LUFS"));
}

#[test]
fn a_hot_master_warns_with_exit_10_and_says_how_to_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hot.wav");
    let [l, r] = music(44_100, 35.0, 11, -0.05);
    write_wav_i16(&file, 44_100, &[l, r]);
    let policy = default_policy(dir.path());
    let (code, out, _) = analyze(&[
        file.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 10, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"]["outcome"], "warn");
    let rules = v["verdict"]["rules"].as_array().unwrap();
    let i = rules
        .iter()
        .position(|r| r["code"] == "audio.true_peak_too_high")
        .expect("true-peak verdict");
    let msg = &v["verdict"]["messages"][i];
    assert!(
        msg["en"]
            .as_str()
            .unwrap()
            .contains("Lower your limiter's ceiling"),
        "{msg}"
    );
    assert!(msg["zh-CN"].as_str().unwrap().contains("限幅器"), "{msg}");
    assert!(v["report"]["waveform"]["max"].as_array().unwrap().len() == 1000);
}

#[test]
fn a_short_track_is_rejected_with_exit_20_in_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("short.wav");
    let x = sine(44_100, 5.0, 440.0, -12.0, 0.0);
    write_wav_i16(&file, 44_100, &[x.clone(), x]);
    let policy = default_policy(dir.path());
    let (code, out, _) = analyze(&[
        file.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--lang",
        "zh-CN",
    ]);
    assert_eq!(code, 20, "{out}");
    assert!(out.contains("结论：拒绝"), "{out}");
    assert!(out.contains("至少需要 0:30"), "{out}");
}

#[test]
fn a_disguised_file_is_unreadable_with_exit_30() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("song.mp3");
    std::fs::write(&file, b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n").unwrap();
    let (code, out, _) = analyze(&[file.to_str().unwrap(), "--json"]);
    assert_eq!(code, 30);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["error"]["code"], "audio.unsupported_format");
    assert!(
        v["error"]["message"]["en"]
            .as_str()
            .unwrap()
            .contains("a PDF document")
    );
    assert!(
        v["error"]["message"]["zh-CN"]
            .as_str()
            .unwrap()
            .contains("PDF 文档")
    );
}

#[test]
fn no_policy_means_exit_0_and_the_bare_report() {
    let dir = tempfile::tempdir().unwrap();
    let file = good_master(dir.path());
    let (code, out, _) = analyze(&[file.to_str().unwrap(), "--json", "--no-fingerprint"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["report"]["schema"], "cadenza.audio-report/1");
    assert!(v["report"]["fingerprint"].is_null());
    assert!(v.get("verdict").is_none());
}

#[test]
fn a_broken_policy_file_is_exit_1_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = good_master(dir.path());
    let policy = dir.path().join("p.toml");
    std::fs::write(&policy, "[true_peek]\nmax = -1\n").unwrap();
    let (code, _, err) = analyze(&[file.to_str().unwrap(), "--policy", policy.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("true_peek"), "{err}");
}

#[test]
fn a_closed_output_pipe_ends_quietly() {
    // `cadenza analyze track.wav | head -1`: the reader goes away after one line.
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let file = good_master(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_cadenza"))
        .arg("analyze")
        .arg(&file)
        .arg("--no-fingerprint")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}
