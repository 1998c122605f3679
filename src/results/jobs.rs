//! The results announcement job: at the publication time, every musician with an entry
//! in a judging round is told (see `service::announce`).

use serde::{Deserialize, Serialize};

use crate::jobs::{Job, JobError, JobRow};
use crate::state::AppState;

/// Tell the musicians their results at the publication time.
#[derive(Debug, Serialize, Deserialize)]
pub struct Announce {
    pub competition_id: String,
    pub publish_at: chrono::DateTime<chrono::Utc>,
}

impl Job for Announce {
    const NAME: &'static str = super::service::ANNOUNCE_JOB;

    async fn run(self, state: AppState, job: JobRow) -> Result<(), JobError> {
        announce(state, job, self).await
    }
}

async fn announce(state: AppState, _job: JobRow, p: Announce) -> Result<(), JobError> {
    let n = super::service::announce(&state, &p.competition_id, p.publish_at.naive_utc()).await?;
    tracing::info!(competition = %p.competition_id, emails = n, "results announced");
    Ok(())
}
