//! The audio engine as jobs run it: the sandboxed child's limits, from the settings,
//! and a stored object copied to a private temporary file for the child to read. Used
//! by every job that analyses or renders audio (entries, public renditions, remix
//! stems and sources).

use std::path::PathBuf;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::audio::sandbox::SandboxConfig;
use crate::jobs::JobError;
use crate::state::AppState;

pub fn sandbox_config(state: &AppState) -> SandboxConfig {
    let a = &state.settings.analysis;
    let exe = a
        .executable
        .clone()
        .or_else(|| std::env::current_exe().ok())
        .unwrap_or_else(|| PathBuf::from("cadenza"));
    let mut cfg = SandboxConfig::new(exe);
    cfg.memory_bytes = a.memory_mib * 1024 * 1024;
    cfg.cpu_secs = a.cpu_secs;
    cfg.wall_secs = a.wall_secs;
    cfg.limits.max_decoded_secs = a.max_duration_secs;
    cfg.rendition_max_bytes = a.rendition_max_mib.max(1) * 1024 * 1024;
    cfg
}

/// Copy a stored object to a private temporary file under the data folder (for the
/// sandboxed child to read). Failures are worth a retry.
pub async fn copy_to_temp(
    state: &AppState,
    key: &str,
) -> Result<tempfile::NamedTempFile, JobError> {
    let tmp_dir = state.settings.data_dir.join("tmp");
    tokio::fs::create_dir_all(&tmp_dir)
        .await
        .map_err(|e| JobError::Retry(format!("temp dir: {e}")))?;
    let tmp = tempfile::NamedTempFile::new_in(&tmp_dir)
        .map_err(|e| JobError::Retry(format!("temp file: {e}")))?;
    let mut obj = state
        .storage
        .get(key, None)
        .await
        .map_err(|e| JobError::Retry(format!("reading the audio: {e}")))?;
    let mut file = tokio::fs::File::create(tmp.path())
        .await
        .map_err(|e| JobError::Retry(format!("temp file: {e}")))?;
    while let Some(chunk) = obj.body.next().await {
        let chunk = chunk.map_err(|e| JobError::Retry(format!("reading the audio: {e}")))?;
        file.write_all(&chunk)
            .await
            .map_err(|e| JobError::Retry(format!("temp file: {e}")))?;
    }
    file.flush()
        .await
        .map_err(|e| JobError::Retry(format!("temp file: {e}")))?;
    Ok(tmp)
}
