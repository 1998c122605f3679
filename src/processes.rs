//! The processes of a deployment: each `serve` and `worker` process keeps a row in
//! `server_processes` fresh (every [`BEAT`]); one not seen for [`LIVE_FOR`] is gone.
//! Operators list them (`cadenza admin processes`); serve processes use the count of
//! live ones (public voting shares out the velocity limits it keeps in memory).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::db::processes::{self as store, ProcessRow};
use crate::state::AppState;

pub const BEAT: Duration = Duration::from_secs(5);
pub const LIVE_FOR: Duration = Duration::from_secs(15);
/// Rows of processes gone this long are removed.
const FORGET_AFTER: chrono::Duration = chrono::Duration::hours(1);

/// Keep this process's row fresh until `shutdown`, then remove it. After each beat of a
/// serve process, `on_serving` hears how many serve processes are live (public voting
/// shares its velocity limits among them).
pub fn spawn_heartbeat(
    state: &AppState,
    kind: &'static str,
    shutdown: CancellationToken,
    on_serving: impl Fn(&AppState, u32) + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    let now = || chrono::Utc::now().naive_utc();
    let row = ProcessRow {
        id: uuid::Uuid::new_v4().simple().to_string(),
        kind: kind.into(),
        host: hostname(),
        pid: std::process::id() as i32,
        version: env!("CARGO_PKG_VERSION").into(),
        started_at: now(),
        seen_at: now(),
    };
    tokio::spawn(async move {
        loop {
            let r = row.clone();
            let seen = state
                .db
                .run(move |c| {
                    store::beat(c, &r)?;
                    if rand::random::<u8>() < 8 {
                        store::forget_older_than(c, now() - FORGET_AFTER)?;
                    }
                    store::live(c, Some("serve"), LIVE_FOR)
                })
                .await;
            match seen {
                Ok(serving) if kind == "serve" => on_serving(&state, serving.len() as u32),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot renew this process's heartbeat"),
            }
            tokio::select! {
                _ = tokio::time::sleep(BEAT) => {}
                _ = shutdown.cancelled() => break,
            }
        }
        let id = row.id.clone();
        let _ = state.db.run(move |c| store::remove(c, &id)).await;
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}
