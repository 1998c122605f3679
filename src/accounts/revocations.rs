//! Sessions and accounts that ended (sign-out, sign-out everywhere, erasure), for the
//! paths that keep a short cache of who is signed in (the vote path keeps a voter's
//! facts for `voting.voter_cache_secs`). A sign-out here is seen by this process at
//! once; other serve processes learn of revoked sessions from the database within a
//! second (`spawn_watch`), so a signed-out session cannot vote a second later anywhere.

use super::AccountsState as _;
use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// How often a serve process reads the sessions revoked since it last looked.
const WATCH_EVERY: Duration = Duration::from_secs(1);

pub struct Revocations {
    sessions: moka::sync::Cache<String, ()>,
    users: moka::sync::Cache<String, ()>,
}

impl Revocations {
    /// Entries are kept as long as an access token lives (after that the token itself
    /// is refused).
    pub fn new(keep: Duration) -> Revocations {
        let cache = || {
            moka::sync::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_live(keep)
                .build()
        };
        Revocations {
            sessions: cache(),
            users: cache(),
        }
    }

    pub fn revoke_session(&self, session_id: &str) {
        self.sessions.insert(session_id.to_string(), ());
    }

    /// Every session of the person (sign-out everywhere, erasure).
    pub fn revoke_user(&self, user_id: &str) {
        self.users.insert(user_id.to_string(), ());
    }

    pub fn is_revoked(&self, session_id: &str, user_id: &str) -> bool {
        self.sessions.contains_key(session_id) || self.users.contains_key(user_id)
    }
}

/// Learn of sessions revoked by other processes until `shutdown`.
pub fn spawn_watch(state: &AppState, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let mut since: NaiveDateTime = Utc::now().naive_utc() - chrono::Duration::seconds(5);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(WATCH_EVERY) => {}
                _ = shutdown.cancelled() => break,
            }
            // A little overlap, so a revocation committed while we read is seen next time.
            let from = since - chrono::Duration::seconds(2);
            let now = Utc::now().naive_utc();
            match state
                .db
                .run(move |c| super::store::sessions_revoked_since(c, from))
                .await
            {
                Ok(ids) => {
                    for id in ids {
                        state.revoked().revoke_session(&id);
                    }
                    since = now;
                }
                Err(e) => tracing::debug!(error = %e, "cannot read revoked sessions"),
            }
        }
    })
}
