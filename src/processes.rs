//! The processes of a deployment: each `serve` and `worker` process keeps a row in
//! `server_processes` fresh (every [`BEAT`]); one not seen for [`LIVE_FOR`] is gone.
//! Operators list them (`cadenza admin processes`); serve processes use the count of
//! live ones to share out the vote velocity limits they keep in memory.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::db::DbConnection;
use crate::db::schema::server_processes;
use crate::error::AppError;
use crate::startup::AppState;

pub const BEAT: Duration = Duration::from_secs(5);
pub const LIVE_FOR: Duration = Duration::from_secs(15);
/// Rows of processes gone this long are removed.
const FORGET_AFTER: chrono::Duration = chrono::Duration::hours(1);

#[derive(Debug, Clone, Queryable, Insertable, Selectable, Serialize)]
#[diesel(table_name = server_processes)]
pub struct ProcessRow {
    pub id: String,
    pub kind: String,
    pub host: String,
    pub pid: i32,
    pub version: String,
    pub started_at: NaiveDateTime,
    pub seen_at: NaiveDateTime,
}

fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

fn beat(conn: &mut DbConnection, row: &ProcessRow) -> Result<(), AppError> {
    let t = now();
    let updated = diesel::update(server_processes::table.find(&row.id))
        .set(server_processes::seen_at.eq(t))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(server_processes::table)
            .values(ProcessRow {
                seen_at: t,
                ..row.clone()
            })
            .execute(conn)?;
    }
    Ok(())
}

/// Processes of `kind` seen within [`LIVE_FOR`].
pub fn live(conn: &mut DbConnection, kind: Option<&str>) -> Result<Vec<ProcessRow>, AppError> {
    let since = now() - chrono::Duration::from_std(LIVE_FOR).unwrap_or_default();
    let mut q = server_processes::table
        .filter(server_processes::seen_at.ge(since))
        .order(server_processes::started_at)
        .select(ProcessRow::as_select())
        .into_boxed();
    if let Some(k) = kind {
        q = q.filter(server_processes::kind.eq(k.to_string()));
    }
    Ok(q.load(conn)?)
}

/// Keep this process's row fresh until `shutdown`, then remove it. A serve process also
/// shares out the vote velocity limits among the live serve processes.
pub fn spawn_heartbeat(
    state: &AppState,
    kind: &'static str,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
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
                    beat(c, &r)?;
                    if rand::random::<u8>() < 8 {
                        diesel::delete(
                            server_processes::table
                                .filter(server_processes::seen_at.lt(now() - FORGET_AFTER)),
                        )
                        .execute(c)?;
                    }
                    live(c, Some("serve"))
                })
                .await;
            match seen {
                Ok(serving) if kind == "serve" => state.voting.share_limits(serving.len() as u32),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot renew this process's heartbeat"),
            }
            tokio::select! {
                _ = tokio::time::sleep(BEAT) => {}
                _ = shutdown.cancelled() => break,
            }
        }
        let id = row.id.clone();
        let _ = state
            .db
            .run(move |c| Ok(diesel::delete(server_processes::table.find(id)).execute(c)?))
            .await;
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
