//! Isolation: the analysis of a user's file runs in a child process (`cadenza analyze
//! --json`) with a memory cap and a CPU cap (setrlimit) and a wall-clock timeout. A
//! crash, abort, hang or out-of-memory in a decoder becomes a typed failure here and
//! never touches the calling process.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use super::policy::Verdict;
use super::{AnalysisError, Limits, Report};

/// The JSON `cadenza analyze --json` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnalyzeOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Report>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<VerdictOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorOutput>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerdictOutput {
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Each rule's message, in the order of `rules`.
    pub messages: Vec<Messages>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Messages {
    pub en: String,
    #[serde(rename = "zh-CN")]
    pub zh_cn: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorOutput {
    pub code: String,
    pub message: Messages,
    pub detail: AnalysisError,
}

/// Limits of the isolated analysis.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The `cadenza` binary to run.
    pub exe: PathBuf,
    /// Address-space cap (RLIMIT_AS), bytes.
    pub memory_bytes: u64,
    /// CPU time cap (RLIMIT_CPU), seconds.
    pub cpu_secs: u64,
    /// Wall-clock timeout; the child is killed after it.
    pub wall_secs: u64,
    pub limits: Limits,
    pub fingerprint: bool,
    /// The largest rendition written (the storage budget of one entry's copy).
    pub rendition_max_bytes: u64,
}

impl SandboxConfig {
    pub fn new(exe: PathBuf) -> SandboxConfig {
        SandboxConfig {
            exe,
            memory_bytes: 512 * 1024 * 1024,
            cpu_secs: 60,
            wall_secs: 90,
            limits: Limits::default(),
            fingerprint: true,
            rendition_max_bytes: super::RenditionCaps::default().max_bytes,
        }
    }
}

/// The most a child may print; a report is a few hundred kilobytes.
const MAX_OUTPUT: u64 = 32 * 1024 * 1024;

/// The analysing child's allocator settings: commit arena memory as it is used and return
/// freed pages at once. Same speed; about 16 MiB less resident memory, and a 60-minute
/// file then needs barely more than a 1-minute one (`docs/benchmarks.md`).
pub const CHILD_ENV: [(&str, &str); 2] = [
    ("MIMALLOC_ARENA_EAGER_COMMIT", "0"),
    ("MIMALLOC_PURGE_DELAY", "0"),
];

/// A `cadenza analyze …` child under the configured rlimits.
fn limited_command(cfg: &SandboxConfig) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(&cfg.exe);
    cmd.arg("analyze")
        .arg("--max-duration")
        .arg(cfg.limits.max_decoded_secs.to_string())
        .env_clear()
        .env("RUST_BACKTRACE", "0")
        .envs(CHILD_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let (mem, cpu) = (cfg.memory_bytes, cfg.cpu_secs);
    // SAFETY: the closure runs in the forked child before exec and only calls
    // setrlimit, which is async-signal-safe; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            use rlimit::Resource;
            Resource::AS.set(mem, mem)?;
            Resource::CPU.set(cpu, cpu + 5)?;
            Resource::CORE.set(0, 0)?;
            Ok(())
        });
    }
    cmd
}

/// Write a clean WAV rendition of `file` to `out` in a limited child process
/// (decoding untrusted files never happens in the server), scaled by `gain_db`.
/// Returns the frames written.
pub async fn render_isolated(
    cfg: &SandboxConfig,
    file: &Path,
    out: &Path,
    gain_db: f64,
) -> Result<u64, AnalysisError> {
    let mut cmd = limited_command(cfg);
    cmd.arg("--render")
        .arg(out)
        .arg(format!("--render-gain-db={gain_db}"))
        .arg(format!("--render-max-bytes={}", cfg.rendition_max_bytes))
        .arg("--")
        .arg(file);
    let child = cmd
        .spawn()
        .map_err(|e| AnalysisError::Crashed(format!("cannot start the analyser: {e}")))?;
    let output =
        match tokio::time::timeout(Duration::from_secs(cfg.wall_secs), child.wait_with_output())
            .await
        {
            Ok(r) => {
                r.map_err(|e| AnalysisError::Crashed(format!("waiting for the analyser: {e}")))?
            }
            Err(_) => return Err(AnalysisError::Timeout),
        };
    if let Some(sig) = output.status.signal() {
        return Err(AnalysisError::ResourceLimit(format!(
            "killed by signal {sig}"
        )));
    }
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        return Err(AnalysisError::Corrupt(err.chars().take(300).collect()));
    }
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|_| AnalysisError::Crashed("the renderer printed no frame count".into()))
}

/// Make an album's release files of `file` in `dir` (`track.flac`, `track.mp3`) in a
/// limited child process: scaled by `gain_db`, tagged from the JSON file `tags`, with
/// the `cover` picture; returns what the engine measured on the encoded files.
pub async fn release_isolated(
    cfg: &SandboxConfig,
    file: &Path,
    dir: &Path,
    gain_db: f64,
    tags: &Path,
    cover: Option<&Path>,
) -> Result<super::release::ReleaseOutput, AnalysisError> {
    let mut cmd = limited_command(cfg);
    cmd.arg("--release")
        .arg(dir)
        .arg(format!("--render-gain-db={gain_db}"))
        .arg(format!("--render-max-bytes={}", cfg.rendition_max_bytes))
        .arg("--release-tags")
        .arg(tags);
    if let Some(c) = cover {
        cmd.arg("--release-cover").arg(c);
    }
    cmd.arg("--").arg(file);
    // Encoding twice and measuring both files: three times a rendition's work.
    let wall = Duration::from_secs(cfg.wall_secs.saturating_mul(3));
    json_of(cmd, wall, "the encoder printed no result").await
}

/// Run a limited child that prints its result as JSON on success and its typed
/// [`AnalysisError`] as JSON on failure; `missing` says what was not printed.
async fn json_of<T: serde::de::DeserializeOwned>(
    mut cmd: tokio::process::Command,
    wall: Duration,
    missing: &str,
) -> Result<T, AnalysisError> {
    let child = cmd
        .spawn()
        .map_err(|e| AnalysisError::Crashed(format!("cannot start the analyser: {e}")))?;
    let output = match tokio::time::timeout(wall, child.wait_with_output()).await {
        Ok(r) => r.map_err(|e| AnalysisError::Crashed(format!("waiting for the analyser: {e}")))?,
        Err(_) => return Err(AnalysisError::Timeout),
    };
    if let Some(sig) = output.status.signal() {
        return Err(AnalysisError::ResourceLimit(format!(
            "killed by signal {sig}"
        )));
    }
    if output.status.success() {
        serde_json::from_slice(&output.stdout).map_err(|_| AnalysisError::Crashed(missing.into()))
    } else {
        Err(
            serde_json::from_slice::<AnalysisError>(&output.stdout).unwrap_or_else(|_| {
                AnalysisError::Corrupt(
                    String::from_utf8_lossy(&output.stderr)
                        .chars()
                        .take(300)
                        .collect(),
                )
            }),
        )
    }
}

/// Read the header of `file` in a limited child process (a few milliseconds).
pub async fn probe_isolated(
    cfg: &SandboxConfig,
    file: &Path,
) -> Result<super::Probe, AnalysisError> {
    let mut cmd = limited_command(cfg);
    cmd.arg("--probe").arg("--").arg(file);
    json_of(
        cmd,
        Duration::from_secs(cfg.wall_secs.min(30)),
        "the probe printed no header",
    )
    .await
}

/// Analyse `file` in a limited child process.
pub async fn analyze_isolated(cfg: &SandboxConfig, file: &Path) -> Result<Report, AnalysisError> {
    let mut cmd = limited_command(cfg);
    cmd.arg("--json");
    if !cfg.fingerprint {
        cmd.arg("--no-fingerprint");
    }
    cmd.arg("--").arg(file);
    let mut child = cmd
        .spawn()
        .map_err(|e| AnalysisError::Crashed(format!("cannot start the analyser: {e}")))?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| AnalysisError::Crashed("no stdout".into()))?;
    let mut stderr = child
        .stderr
        .take()
        .ok_or_else(|| AnalysisError::Crashed("no stderr".into()))?;
    let run = async {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut out_reader = (&mut stdout).take(MAX_OUTPUT);
        let mut err_reader = (&mut stderr).take(64 * 1024);
        let (status, _, _) = tokio::join!(
            child.wait(),
            out_reader.read_to_end(&mut out),
            err_reader.read_to_end(&mut err),
        );
        (status, out, err)
    };
    let (status, out, err) =
        match tokio::time::timeout(Duration::from_secs(cfg.wall_secs), run).await {
            Ok(r) => r,
            Err(_) => {
                let _ = child.kill().await;
                return Err(AnalysisError::Timeout);
            }
        };
    let status =
        status.map_err(|e| AnalysisError::Crashed(format!("waiting for the analyser: {e}")))?;
    let stderr_text = String::from_utf8_lossy(&err);
    if let Some(sig) = status.signal() {
        return Err(match sig {
            libc_signals::SIGXCPU | libc_signals::SIGKILL => AnalysisError::ResourceLimit(format!(
                "killed by signal {sig} (CPU or memory limit)"
            )),
            libc_signals::SIGABRT if stderr_text.contains("memory allocation") => {
                AnalysisError::ResourceLimit("memory limit".into())
            }
            other => AnalysisError::Crashed(format!("signal {other}")),
        });
    }
    match serde_json::from_slice::<AnalyzeOutput>(&out) {
        Ok(AnalyzeOutput {
            report: Some(r), ..
        }) => Ok(r),
        Ok(AnalyzeOutput { error: Some(e), .. }) => Err(e.detail),
        _ if stderr_text.contains("memory allocation") => {
            Err(AnalysisError::ResourceLimit("memory limit".into()))
        }
        _ => Err(AnalysisError::Crashed(format!(
            "exit status {:?}: {}",
            status.code(),
            stderr_text.chars().take(200).collect::<String>()
        ))),
    }
}

/// Signal numbers on Linux (x86_64 and aarch64 agree on these).
mod libc_signals {
    pub const SIGABRT: i32 = 6;
    pub const SIGKILL: i32 = 9;
    pub const SIGXCPU: i32 = 24;
}
