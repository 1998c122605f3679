//! Public voting: voting rounds with a window, the entries in play and a policy; votes
//! from verified voters with a proof of work, velocity limits and caps held by unique
//! constraints; an append-only vote log written by a group-commit writer; automatic
//! fraud rules with quarantine and human review; deterministic tallies with a published
//! hash; live leaderboards over Server-Sent Events; public votes in the final results.

pub mod append;
pub mod audit;
pub mod ballot;
pub mod boards;
pub mod domain;
pub mod manage;
pub mod model;
pub mod organiser_pages;
pub mod pages;
pub mod pow;
pub mod review;
pub mod routes;
pub mod service;
pub mod store;
pub mod writer;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use secrecy::ExposeSecret;

use crate::config::Settings;
use crate::db::Db;
use crate::error::AppError;

/// What the vote path knows about a signed-in voter, cached for a few seconds so a vote
/// costs no reads.
#[derive(Debug, Clone)]
pub struct VoterFacts {
    pub user_id: String,
    pub verified: bool,
    pub created_at: NaiveDateTime,
    pub email_domain: String,
}

/// A verified access token's voter: its session, until when the token is valid, and the
/// voter's facts.
#[derive(Debug)]
pub struct SignedInVoter {
    pub session_id: String,
    /// The token's `nbf` and `exp` (seconds since the epoch).
    pub valid_from: i64,
    pub valid_until: i64,
    pub facts: Arc<VoterFacts>,
}

/// An entry in play, with what pages and the leaderboard show of it.
#[derive(Debug, Clone)]
pub struct EntryInfo {
    pub id: String,
    pub title: String,
    pub description: String,
    pub musician_id: String,
    pub musician: String,
    pub category_id: Option<String>,
    pub category: Option<String>,
    pub upload_id: Option<String>,
}

/// A voting round with its competition and entries, cached for a few seconds.
#[derive(Debug, Clone)]
pub struct RoundInfo {
    pub row: model::VotingRoundRow,
    pub competition: crate::competitions::model::CompetitionRow,
    pub entries: Vec<EntryInfo>,
    pub by_id: HashMap<String, usize>,
    pub allow: Vec<ipnet::IpNet>,
    /// Entries of the round withdrawn or disqualified since: on no public surface.
    pub withdrawn: HashSet<String>,
    /// The competition's categories by id, with their names in every language.
    pub categories: HashMap<String, crate::competitions::model::CategoryRow>,
}

impl RoundInfo {
    pub fn entry(&self, id: &str) -> Option<&EntryInfo> {
        self.by_id.get(id).map(|&i| &self.entries[i])
    }

    /// A category's name in the reader's language (falling back to the other).
    pub fn category_in(&self, id: Option<&str>, l: crate::i18n::Locale) -> Option<String> {
        id.and_then(|id| self.categories.get(id))
            .map(|c| c.name_in(l))
    }
}

/// Counted votes per entry, read from the maintained tallies.
#[derive(Debug, Clone)]
pub struct BoardData {
    pub counted: HashMap<String, u64>,
    pub read_at: chrono::DateTime<chrono::Utc>,
}

/// A leaderboard's JSON with what it was made from (see `service::leaderboard_json`).
pub struct BoardJson {
    pub info: Arc<RoundInfo>,
    pub data: Option<Arc<BoardData>>,
    pub phase: &'static str,
    pub json: bytes::Bytes,
}

/// Public voting's runtime, kept in the application state as a part.
pub trait VotingState {
    fn voting(&self) -> &Runtime;
}

impl VotingState for crate::state::AppState {
    fn voting(&self) -> &Runtime {
        self.part()
    }
}

/// The in-process side of voting: the writer, the limiters and the caches.
pub struct Runtime {
    pub pow: pow::Pow,
    pub writer: writer::Writer,
    limiters: std::sync::RwLock<Arc<Limiters>>,
    /// The velocity limits as configured (for the whole deployment).
    limits: crate::config::VotingSettings,
    /// Signed-in voters by their access token's SHA-256 (so a vote with a token seen in
    /// the last `voter_cache_secs` costs neither a signature check nor a read).
    pub voters: moka::sync::Cache<[u8; 32], Arc<SignedInVoter>>,
    pub rounds: Refreshing<RoundInfo>,
    pub boards: Refreshing<BoardData>,
    /// Leaderboards as sent, per (round, category, counts shown).
    pub board_json: moka::sync::Cache<(String, Option<String>, bool), Arc<BoardJson>>,
    bursts: Mutex<HashMap<(String, String), (i64, u32)>>,
    pub global_allow: Vec<ipnet::IpNet>,
    pub pseudonym_key: Vec<u8>,
}

/// A cache for what every viewer of a round reads (its settings and entries, its
/// tallies): fresh for `fresh_for`; after that the next reader still gets the kept copy
/// at once while one task per key reloads it in the background. So during a live show
/// no reader ever waits for the database, and a slow database delays only how fresh the
/// numbers are. Only the first read of a key (or one after `invalidate`) waits.
pub struct Refreshing<T> {
    kept: moka::sync::Cache<String, (Instant, Arc<T>)>,
    fresh_for: Duration,
    loading: Arc<Mutex<HashSet<String>>>,
    /// Bumped by `invalidate`, so a reload begun before it does not put back old data.
    generation: Arc<AtomicU64>,
}

impl<T: Send + Sync + 'static> Refreshing<T> {
    pub fn new(fresh_for: Duration) -> Refreshing<T> {
        Refreshing {
            kept: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_idle((fresh_for * 20).max(Duration::from_secs(60)))
                .build(),
            fresh_for,
            loading: Arc::new(Mutex::new(HashSet::new())),
            generation: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The value for `key`, loading it with `load` if there is none yet.
    pub async fn get<F, Fut>(&self, key: &str, load: F) -> Result<Arc<T>, AppError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, AppError>> + Send + 'static,
    {
        let generation = self.generation.load(Ordering::Acquire);
        if let Some((at, value)) = self.kept.get(key) {
            if at.elapsed() >= self.fresh_for && self.claim(key) {
                let (kept, loading, current) = (
                    self.kept.clone(),
                    self.loading.clone(),
                    self.generation.clone(),
                );
                let (key, reload) = (key.to_string(), load());
                tokio::spawn(async move {
                    if let Ok(v) = reload.await
                        && current.load(Ordering::Acquire) == generation
                    {
                        kept.insert(key.clone(), (Instant::now(), Arc::new(v)));
                    }
                    loading
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&key);
                });
            }
            return Ok(value);
        }
        let value = Arc::new(load().await?);
        if self.generation.load(Ordering::Acquire) == generation {
            self.kept
                .insert(key.to_string(), (Instant::now(), value.clone()));
        }
        Ok(value)
    }

    fn claim(&self, key: &str) -> bool {
        self.loading
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string())
    }

    /// Forget `key`: the next read loads it afresh.
    pub fn invalidate(&self, key: &str) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.kept.invalidate(key);
    }
}

fn quota(per_minute: u32, burst: u32) -> Quota {
    let per = NonZeroU32::new(per_minute.max(1)).expect("nonzero");
    Quota::per_minute(per).allow_burst(NonZeroU32::new(burst.max(1)).expect("nonzero"))
}

/// This process's velocity limiters: the configured limits, shared out among `share`
/// live serve processes.
struct Limiters {
    share: u32,
    ip: DefaultKeyedRateLimiter<String>,
    network: DefaultKeyedRateLimiter<String>,
    voter: DefaultKeyedRateLimiter<String>,
}

impl Limiters {
    fn new(l: &crate::config::VotingSettings, share: u32) -> Limiters {
        let part = |n: u32| n.div_ceil(share.max(1)).max(1);
        Limiters {
            share,
            ip: RateLimiter::keyed(quota(part(l.ip_per_minute), part(l.ip_burst))),
            network: RateLimiter::keyed(quota(
                part(l.network_per_minute),
                part(l.network_per_minute),
            )),
            voter: RateLimiter::keyed(quota(part(l.voter_per_minute), part(l.voter_per_minute))),
        }
    }
}

impl Runtime {
    /// Build it and start the writer (needs a tokio runtime).
    pub fn start(settings: &Settings, db: Db) -> anyhow::Result<Runtime> {
        let v = &settings.voting;
        let secret = settings.auth.secret.expose_secret().as_bytes().to_vec();
        let global_allow = domain::parse_allowlist(&v.allowlist)
            .map_err(|bad| anyhow::anyhow!("voting.allowlist: not a network: {bad}"))?;
        let rt = Runtime {
            pow: pow::Pow::new(&secret, v.pow_cost, v.pow_max_counter, v.pow_expiry_secs),
            writer: {
                let writers = match db.backend() {
                    crate::db::Backend::Sqlite => 1,
                    crate::db::Backend::Postgres => v.writers.max(1),
                };
                // A connection per writer, and one for a writer whose call outlived its
                // caller's deadline (it returns its connection when the database answers).
                let pool = db.for_vote_writers(&settings.database, writers as u32 + 1)?;
                writer::Writer::start(pool, writers, v.batch_max, v.queue)
            },
            limiters: std::sync::RwLock::new(Arc::new(Limiters::new(v, 1))),
            limits: v.clone(),
            voters: moka::sync::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_live(Duration::from_secs(v.voter_cache_secs.max(1)))
                .build(),
            rounds: Refreshing::new(Duration::from_secs(5)),
            boards: Refreshing::new(Duration::from_millis(v.leaderboard_cache_ms.max(1))),
            board_json: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
            bursts: Mutex::new(HashMap::new()),
            global_allow,
            pseudonym_key: {
                use hmac::{Hmac, Mac};
                let mut m = Hmac::<sha2::Sha256>::new_from_slice(&secret).expect("any key");
                m.update(b"cadenza/voting/pseudonym");
                m.finalize().into_bytes().to_vec()
            },
        };
        Ok(rt)
    }

    /// Velocity limits: per address and per network (unless allowlisted), per voter.
    pub fn check_limits(
        &self,
        ip: Option<IpAddr>,
        allowlisted: bool,
        voter: &str,
    ) -> Result<(), AppError> {
        use governor::clock::Clock;
        let l = self
            .limiters
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        // The limiter's own clock: building a new one calibrates it (cpuid and all).
        let now = l.voter.clock().now();
        let refuse = |n: governor::NotUntil<_>| AppError::RateLimited {
            retry_after: n.wait_time_from(now).as_secs().max(1),
        };
        if !allowlisted {
            let key = crate::http::ratelimit::ip_key(ip);
            l.ip.check_key(&key).map_err(refuse)?;
            l.network
                .check_key(&domain::network_of(ip))
                .map_err(refuse)?;
        }
        l.voter.check_key(&voter.to_string()).map_err(refuse)?;
        Ok(())
    }

    /// `live` serve processes share the deployment's velocity limits (when
    /// `voting.split_limits`): each keeps its part, so behind a balancer that spreads
    /// requests the limits hold for the whole deployment. A change starts the limiters
    /// afresh (they only remember the last minute).
    pub fn share_limits(&self, live: u32) {
        let share = if self.limits.split_limits {
            live.max(1)
        } else {
            1
        };
        let mut l = self.limiters.write().unwrap_or_else(|p| p.into_inner());
        if l.share != share {
            tracing::info!(serve_processes = share, "vote velocity limits shared out");
            *l = Arc::new(Limiters::new(&self.limits, share));
        }
    }

    /// Count a vote from `network` in this minute; true once the round's burst threshold
    /// is passed (the audit later applies the exact sliding-window rule).
    pub fn burst(&self, round: &str, network: &str, now: i64, threshold: u32) -> bool {
        let minute = now.div_euclid(60);
        let mut map = self.bursts.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (m, _)| *m >= minute - 1);
        }
        let slot = map
            .entry((round.to_string(), network.to_string()))
            .or_insert((minute, 0));
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        slot.1 += 1;
        slot.1 > threshold
    }

    /// Forget limiter state that no longer limits anyone (called now and then).
    pub fn tidy(&self) {
        let l = self
            .limiters
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        l.ip.retain_recent();
        l.network.retain_recent();
        l.voter.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> crate::config::VotingSettings {
        crate::config::VotingSettings {
            voter_per_minute: 10,
            ..Default::default()
        }
    }

    fn allowed(l: &Limiters, voter: &str, tries: usize) -> usize {
        (0..tries)
            .filter(|_| l.voter.check_key(&voter.to_string()).is_ok())
            .count()
    }

    #[test]
    fn each_process_keeps_its_share_of_the_limits() {
        // Alone: the whole limit (10 a minute, all at once).
        assert_eq!(allowed(&Limiters::new(&limits(), 1), "v", 30), 10);
        // One of three live servers: a third, rounded up.
        assert_eq!(allowed(&Limiters::new(&limits(), 3), "v", 30), 4);
        // Never below one.
        assert_eq!(allowed(&Limiters::new(&limits(), 50), "v", 30), 1);
    }
}
