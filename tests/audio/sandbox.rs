//! Isolation: whatever the child does — hang, spin, crash, run out of memory — the
//! caller gets a typed failure, and the child really runs under the limits.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use cadenza::audio::sandbox::{SandboxConfig, analyze_isolated};
use cadenza::audio::{AnalysisError, Limits};

use crate::signals::{music, write_wav_i16};

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn config(exe: PathBuf) -> SandboxConfig {
    SandboxConfig {
        wall_secs: 20,
        ..SandboxConfig::new(exe)
    }
}

fn cadenza() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cadenza"))
}

fn sample(dir: &Path) -> PathBuf {
    let path = dir.join("ok.wav");
    let [l, r] = music(44_100, 3.0, 7, -3.0);
    write_wav_i16(&path, 44_100, &[l, r]);
    path
}

#[tokio::test]
async fn a_real_file_is_analysed_in_the_child() {
    let dir = tempfile::tempdir().unwrap();
    let report = analyze_isolated(&config(cadenza()), &sample(dir.path()))
        .await
        .unwrap();
    assert_eq!(report.format.codec, "pcm");
    assert_eq!(report.format.channels, 2);
    assert!(report.loudness.integrated_lufs.is_some());
    assert!(report.fingerprint.is_some());
}

#[tokio::test]
async fn a_hanging_child_is_killed_at_the_wall_clock_limit() {
    let dir = tempfile::tempdir().unwrap();
    let exe = script(dir.path(), "hang", "sleep 60");
    let cfg = SandboxConfig {
        wall_secs: 1,
        ..config(exe)
    };
    assert_eq!(
        analyze_isolated(&cfg, &sample(dir.path())).await,
        Err(AnalysisError::Timeout)
    );
}

#[tokio::test]
async fn a_spinning_child_hits_the_cpu_limit() {
    let dir = tempfile::tempdir().unwrap();
    let exe = script(dir.path(), "spin", "while :; do :; done");
    let cfg = SandboxConfig {
        cpu_secs: 1,
        ..config(exe)
    };
    let r = analyze_isolated(&cfg, &sample(dir.path())).await;
    assert!(matches!(r, Err(AnalysisError::ResourceLimit(_))), "{r:?}");
}

#[tokio::test]
async fn a_crashing_child_is_a_typed_failure() {
    let dir = tempfile::tempdir().unwrap();
    let exe = script(dir.path(), "crash", "kill -SEGV $$");
    let r = analyze_isolated(&config(exe), &sample(dir.path())).await;
    assert!(matches!(r, Err(AnalysisError::Crashed(_))), "{r:?}");
}

#[tokio::test]
async fn an_allocation_failure_is_a_resource_limit() {
    let dir = tempfile::tempdir().unwrap();
    let exe = script(
        dir.path(),
        "oom",
        "echo 'memory allocation of 4294967296 bytes failed' >&2; kill -ABRT $$",
    );
    let r = analyze_isolated(&config(exe), &sample(dir.path())).await;
    assert_eq!(r, Err(AnalysisError::ResourceLimit("memory limit".into())));
}

#[tokio::test]
async fn garbage_output_is_a_typed_failure() {
    let dir = tempfile::tempdir().unwrap();
    let exe = script(dir.path(), "garbage", "echo not json; exit 0");
    let r = analyze_isolated(&config(exe), &sample(dir.path())).await;
    assert!(matches!(r, Err(AnalysisError::Crashed(_))), "{r:?}");
}

#[tokio::test]
async fn the_child_runs_under_the_memory_and_cpu_limits() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("limits.txt");
    let exe = script(
        dir.path(),
        "limits",
        &format!(
            "{{ ulimit -v; ulimit -t; ulimit -c; }} > {}; exit 3",
            out.display()
        ),
    );
    let cfg = SandboxConfig {
        memory_bytes: 300 * 1024 * 1024,
        cpu_secs: 7,
        ..config(exe)
    };
    let _ = analyze_isolated(&cfg, &sample(dir.path())).await;
    let limits = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = limits.lines().collect();
    assert_eq!(
        lines,
        ["307200", "7", "0"],
        "virtual memory in KiB, CPU seconds, core size"
    );
}

#[tokio::test]
async fn the_decoded_duration_cap_counts_decoded_frames() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.wav");
    let [l, r] = music(8_000, 90.0, 3, -3.0);
    write_wav_i16(&path, 8_000, &[l, r]);
    let cfg = SandboxConfig {
        limits: Limits {
            max_decoded_secs: 60.0,
            ..Limits::default()
        },
        ..config(cadenza())
    };
    assert_eq!(
        analyze_isolated(&cfg, &path).await,
        Err(AnalysisError::TooLong { limit_secs: 60.0 })
    );
}
