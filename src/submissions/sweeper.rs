//! No orphans: unfinished uploads past their time are removed with their objects
//! (the entry goes back to draft), objects that no row refers to are deleted once
//! older than a grace period, and expired idempotency keys are forgotten. The other
//! features that store objects (avatars, pictures, renditions, stems) say which keys
//! their rows hold through [`Referenced`], installed by the composition root.

use std::collections::HashSet;

use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::service::now;
use super::store;
use super::upload::discard;
use crate::jobs::{Job, JobError, JobRow};
use crate::state::AppState;

pub const SWEEP_JOB: &str = "uploads.sweep";

/// Reads the object keys one feature's rows refer to.
pub type KeysOf = fn(&mut crate::db::DbConnection) -> Result<Vec<String>, crate::error::AppError>;

/// Every other feature's [`KeysOf`] (a part of the state).
pub struct Referenced(pub Vec<KeysOf>);

/// Folders of the object store that rows refer into.
const PREFIXES: [&str; 6] = [
    "entries/",
    "images/",
    "avatars/",
    "renditions/",
    "stems/",
    "albums/",
];

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct SweepReport {
    pub stale_uploads: usize,
    pub orphan_objects: usize,
    pub idempotency_keys: usize,
}

/// Sweep on a timer (`uploads.sweep_interval_secs`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Sweep {}

impl Job for Sweep {
    const NAME: &'static str = SWEEP_JOB;

    async fn run(self, state: AppState, _job: JobRow) -> Result<(), JobError> {
        let r = sweep(&state).await?;
        tracing::info!(?r, "sweep finished");
        Ok(())
    }
}

pub async fn sweep(state: &AppState) -> Result<SweepReport, JobError> {
    let s = &state.settings.uploads;
    let now = now();
    let mut report = SweepReport::default();
    let cutoff = now - Duration::seconds(s.pending_ttl_secs as i64);
    let stale = state
        .db
        .run(move |conn| store::stale_pending(conn, cutoff))
        .await?;
    for u in &stale {
        discard(state, u).await;
    }
    report.stale_uploads = stale.len();

    // Read the rows before listing, so an object stored after this point is younger
    // than the grace period and left alone.
    let others = state.part::<Referenced>().0.clone();
    let referenced: HashSet<String> = state
        .db
        .run(move |conn| {
            let mut keys = store::upload_keys(conn)?;
            keys.extend(super::public_audio::keys(conn)?);
            for keys_of in others {
                keys.extend(keys_of(conn)?);
            }
            Ok(keys)
        })
        .await?
        .into_iter()
        .collect();
    let old_enough = (now - Duration::seconds(s.orphan_grace_secs as i64)).and_utc();
    for prefix in PREFIXES {
        let objects = state
            .storage
            .list(prefix)
            .await
            .map_err(|e| JobError::Retry(format!("listing {prefix}: {e}")))?;
        for o in objects {
            let old = o.last_modified.is_none_or(|t| t <= old_enough);
            // A picture's narrower copies live as long as the picture.
            let owner = match prefix {
                "images/" | "avatars/" => crate::media::picture::original_of(&o.key),
                _ => &o.key,
            };
            if !referenced.contains(owner) && old {
                match state.storage.delete(&o.key).await {
                    Ok(()) => report.orphan_objects += 1,
                    Err(e) => tracing::warn!(key = %o.key, error = %e, "cannot delete an orphan"),
                }
            }
        }
    }
    let keys_cutoff = now - Duration::seconds(s.idempotency_ttl_secs as i64);
    report.idempotency_keys = state
        .db
        .run(move |conn| crate::db::idempotency::purge(conn, keys_cutoff))
        .await?;
    Ok(report)
}
