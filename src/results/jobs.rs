//! The results announcement job: at the publication time, every musician with an entry
//! in a judging round is told (see `service::announce`).

use serde::Deserialize;

use crate::jobs::{JobError, JobRow};
use crate::state::AppState;

#[derive(Deserialize)]
struct AnnouncePayload {
    competition_id: String,
    publish_at: chrono::DateTime<chrono::Utc>,
}

pub async fn announce(state: AppState, job: JobRow) -> Result<(), JobError> {
    let p: AnnouncePayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobError::Fatal(format!("bad announcement payload: {e}")))?;
    let n = super::service::announce(&state, &p.competition_id, p.publish_at.naive_utc())
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    tracing::info!(competition = %p.competition_id, emails = n, "results announced");
    Ok(())
}
