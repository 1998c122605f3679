//! Group commit: every vote in a process goes through a writer task (`voting.writers`
//! of them share one queue: while one commits, the next gathers), which takes whatever
//! is queued (up to `batch_max`) and appends it as one statement, answering each vote
//! only after it is committed. Under load a batch holds tens to hundreds of votes, so a
//! commit (and its WAL flush) is shared instead of paid per vote.
//!
//! Two paths. The fast one numbers each vote's slots from what this process remembers of
//! the voter's earlier votes ([`UsageCache`]) and appends the batch with
//! `ON CONFLICT DO NOTHING`: on PostgreSQL that is one round trip, tallies and flags
//! included. Whatever that did not add — a retried request, a spent proof of work, a vote
//! over a cap, or slots numbered from a memory that was behind — goes through the careful
//! path: in a transaction, idempotency keys, spent challenges and the voter's votes are
//! read from the log, and the vote is refused, answered as recorded, or appended.
//!
//! Safety does not rest on the memory, nor on this process being the only writer: every
//! rule is a unique constraint, the memory only ever lags the log (it is filled from the
//! log and from committed appends), and a lagging memory only costs a conflict and the
//! careful path.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use actix_web::http::StatusCode;
use chrono::NaiveDateTime;
use tokio::sync::{Mutex, mpsc, oneshot};

use super::domain::{self, CapHit, Caps, Used};
use super::model::*;
use super::store;
use crate::db::{Db, DbConnection};
use crate::error::AppError;

/// A vote waiting to be written. Slots are filled in by the writer.
pub struct Pending {
    pub vote: NewVote,
    pub caps: Caps,
    pub respond: oneshot::Sender<Result<Stored, AppError>>,
    pub attempts: u8,
    /// When it was queued: a vote is answered within one database deadline of this,
    /// whatever the batches before it waited (see `write`).
    pub queued: tokio::time::Instant,
}

/// A vote as recorded (or found recorded, for a retried request).
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: i64,
    pub entry_id: String,
    pub status: String,
    pub cast_at: NaiveDateTime,
    /// The vote's number among the voter's votes in the round.
    pub slot: i32,
    pub replayed: bool,
}

enum Outcome {
    Done(Result<Stored, AppError>),
    /// Lost a race with another writer: try again with fresh counts.
    Retry,
    /// The same (voter, key) as an earlier vote in this batch: answer as that one.
    SameAs(usize),
}

/// What this process remembers of each voter's votes per round, to number new votes'
/// slots without reading the log. Never ahead of the log (see the module's notes).
pub type UsageCache = moka::sync::Cache<(String, String), Used>;

#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Pending>,
}

impl Writer {
    /// Start `writers` writer tasks on one queue (needs a tokio runtime). While one
    /// commits, the next gathers its batch; on SQLite, which has one writer at a time,
    /// one is enough.
    pub fn start(db: Db, writers: usize, batch_max: usize, queue: usize) -> Writer {
        let (tx, rx) = mpsc::channel(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let usage: UsageCache = moka::sync::Cache::builder()
            .max_capacity(500_000)
            .time_to_idle(std::time::Duration::from_secs(2 * 3600))
            .build();
        let conflicts = LastConflict::default();
        // Each task adds to a tally shard of its own. Other processes pick theirs at
        // random too; two that pick the same shard only wait for each other's row locks,
        // as one shard for everybody would always have them do.
        let first = rand::random_range(0..TALLY_SHARDS);
        for i in 0..writers.max(1) {
            tokio::spawn(run(
                db.clone(),
                rx.clone(),
                batch_max.max(1),
                usage.clone(),
                conflicts.clone(),
                (first + i as i32) % TALLY_SHARDS,
            ));
        }
        Writer { tx }
    }

    /// Queue a vote and wait until it is committed (or refused).
    pub async fn submit(&self, vote: NewVote, caps: Caps) -> Result<Stored, AppError> {
        let (respond, rx) = oneshot::channel();
        self.tx
            .send(Pending {
                vote,
                caps,
                respond,
                attempts: 0,
                queued: tokio::time::Instant::now(),
            })
            .await
            .map_err(|_| AppError::Unavailable("vote writer stopped".into()))?;
        rx.await
            .map_err(|_| AppError::Unavailable("vote writer stopped".into()))?
    }
}

type VoterKey = (String, String);

/// How many tally shards the writers of all processes spread over (a leaderboard reads
/// at most this many rows per entry; in practice one per writer that wrote to the round).
pub const TALLY_SHARDS: i32 = 64;

fn voter_key(v: &NewVote) -> VoterKey {
    (v.round_id.clone(), v.voter_id.clone())
}

async fn run(
    db: Db,
    rx: Arc<Mutex<mpsc::Receiver<Pending>>>,
    batch_max: usize,
    usage: UsageCache,
    conflicts: LastConflict,
    shard: i32,
) {
    let mut carry: Vec<Pending> = Vec::new();
    loop {
        let mut batch = std::mem::take(&mut carry);
        {
            // Only the gathering holds the queue; the commit does not.
            let mut rx = rx.lock().await;
            if batch.is_empty() {
                match rx.recv().await {
                    Some(p) => batch.push(p),
                    None => return,
                }
            }
            while batch.len() < batch_max {
                match rx.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
        }
        let outcomes = write(&db, &batch, &usage, &conflicts, shard).await;
        answer(batch, outcomes, &mut carry);
    }
}

/// The longest a vote may wait to be written. One that waited longer (the database was
/// stalled) is refused with a 503, and its sender may try again: so every vote is
/// written within this (plus a statement's time) of being cast, which the incremental
/// audit relies on (`service::audit_step`).
pub const MAX_WAIT: chrono::Duration = chrono::Duration::seconds(20);

/// How long after a batch broke a uniqueness rule the fast path appends with
/// `ON CONFLICT DO NOTHING` straight away. Normally a batch breaks none (slots come from
/// memory, retries within a batch are answered by the first) and goes in as an ordinary
/// insert; a batch that does is written again, skipping the offending rows. So a client
/// replaying requests costs at most one failed statement per this interval.
const CONFLICT_MEMORY_MS: i64 = 1000;

/// When a batch of this writer's last broke a uniqueness rule (ms since the epoch),
/// shared by its tasks.
#[derive(Clone, Default)]
struct LastConflict(Arc<std::sync::atomic::AtomicI64>);

impl LastConflict {
    fn note(&self) {
        self.0.store(
            chrono::Utc::now().timestamp_millis(),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// Whether the fast path may append as an ordinary insert.
    fn long_ago(&self) -> bool {
        chrono::Utc::now().timestamp_millis() - self.0.load(std::sync::atomic::Ordering::Relaxed)
            > CONFLICT_MEMORY_MS
    }
}

/// Write one batch: the fast path, then the careful one for whatever it left.
async fn write(
    db: &Db,
    batch: &[Pending],
    usage: &UsageCache,
    conflicts: &LastConflict,
    shard: i32,
) -> Vec<Outcome> {
    let n = batch.len();
    let mut outcomes: Vec<Option<Outcome>> = (0..n).map(|_| None).collect();
    // Every database call for this batch ends by one deadline after its oldest vote was
    // queued: when the database hangs, a vote that waited behind a stuck batch does not
    // wait a whole deadline again (twice, with the careful path), but is answered 503
    // and may be sent again.
    let until = batch
        .iter()
        .map(|p| p.queued)
        .min()
        .unwrap_or_else(tokio::time::Instant::now)
        + db.deadline();
    let oldest = chrono::Utc::now().naive_utc() - MAX_WAIT;
    for (i, p) in batch.iter().enumerate() {
        if p.vote.cast_at < oldest {
            outcomes[i] = Some(Outcome::Done(Err(AppError::Unavailable(
                "vote waited too long for the database".into(),
            ))));
        }
    }

    // The same (voter, key) twice in this batch: the later ones follow the first.
    let mut first_of: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, p) in batch.iter().enumerate() {
        let k = (p.vote.voter_id.as_str(), p.vote.idempotency_key.as_str());
        match first_of.get(&k) {
            Some(&j) => outcomes[i] = Some(Outcome::SameAs(j)),
            None => {
                first_of.insert(k, i);
            }
        }
    }

    // Fast path: slots from memory, one append.
    let mut local: HashMap<VoterKey, Used> = HashMap::new();
    let mut rows: Vec<NewVote> = Vec::new();
    let mut row_of: Vec<usize> = Vec::new();
    for (i, p) in batch.iter().enumerate() {
        if outcomes[i].is_some() {
            continue;
        }
        let u = local
            .entry(voter_key(&p.vote))
            .or_insert_with_key(|k| usage.get(k).unwrap_or_default());
        if let Ok(s) = domain::take_slots(p.caps, u, &p.vote.entry_id, &p.vote.day) {
            let mut row = p.vote.clone();
            row.slot = s.slot;
            row.entry_slot = s.entry_slot;
            row.day_slot = s.day_slot;
            rows.push(row);
            row_of.push(i);
        }
        // A cap reached in memory may still be a retried request: the careful path
        // tells.
    }
    let mut lagging: HashSet<VoterKey> = HashSet::new();
    if !rows.is_empty() {
        let sent = rows.clone();
        let strict = conflicts.long_ago();
        let conflicts = conflicts.clone();
        let appended = db
            .run_until(until, move |conn| {
                if strict && let Some(added) = store::append_new_votes(conn, &sent, shard)? {
                    return Ok(added);
                }
                if strict {
                    conflicts.note();
                }
                store::append_votes(conn, &sent, shard)
            })
            .await;
        match appended {
            Ok(added) => {
                let ids: HashMap<(String, String), i64> =
                    added.into_iter().map(|(id, v, k)| ((v, k), id)).collect();
                for (row, &i) in rows.iter().zip(&row_of) {
                    match ids.get(&(row.voter_id.clone(), row.idempotency_key.clone())) {
                        Some(&id) => outcomes[i] = Some(Outcome::Done(Ok(stored(id, row)))),
                        None => {
                            lagging.insert(voter_key(row));
                        }
                    }
                }
            }
            Err(e) => {
                // One statement, so nothing was written: the careful path tries these
                // votes once more (and answers 503 if the database is really gone).
                tracing::warn!(error = %e, votes = rows.len(), "vote batch failed, retrying");
                lagging.extend(rows.iter().map(voter_key));
            }
        }
    }
    // Remember the voters whose every vote went in; the others are read afresh below.
    for (k, u) in local {
        if !lagging.contains(&k) {
            usage.insert(k, u);
        }
    }

    // Careful path, for what the fast one left.
    let rest: Vec<usize> = (0..n).filter(|&i| outcomes[i].is_none()).collect();
    if !rest.is_empty() {
        let items: Vec<(NewVote, Caps)> = rest
            .iter()
            .map(|&i| (batch[i].vote.clone(), batch[i].caps))
            .collect();
        match db
            .transaction_until(until, move |conn| write_carefully(conn, items, shard))
            .await
        {
            Ok((done, fresh)) => {
                for (o, &i) in done.into_iter().zip(&rest) {
                    outcomes[i] = Some(o);
                }
                for (k, u) in fresh {
                    match u {
                        Some(u) => usage.insert(k, u),
                        None => usage.invalidate(&k),
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, votes = rest.len(), "vote batch failed");
                for &i in &rest {
                    outcomes[i] = Some(Outcome::Done(Err(AppError::Unavailable(format!("{e}")))));
                }
            }
        }
    }
    finish(outcomes)
}

fn finish(outcomes: Vec<Option<Outcome>>) -> Vec<Outcome> {
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::Retry))
        .collect()
}

fn stored(id: i64, row: &NewVote) -> Stored {
    Stored {
        id,
        entry_id: row.entry_id.clone(),
        status: row.initial_status.clone(),
        cast_at: row.cast_at,
        slot: row.slot,
        replayed: false,
    }
}

/// Answer every vote of a batch; votes that lost a race go round again.
fn answer(batch: Vec<Pending>, outcomes: Vec<Outcome>, carry: &mut Vec<Pending>) {
    let answers: Vec<Option<Result<Stored, AppError>>> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Done(r) => Some(clone_result(r)),
            _ => None,
        })
        .collect();
    for (p, o) in batch.into_iter().zip(outcomes) {
        match o {
            Outcome::Done(r) => {
                let _ = p.respond.send(r);
            }
            Outcome::SameAs(j) => {
                let r = answers[j].as_ref().map(clone_result).unwrap_or_else(|| {
                    Err(AppError::Conflict {
                        code: "idempotency.in_progress",
                    })
                });
                let _ = p.respond.send(r.map(|mut s| {
                    s.replayed = true;
                    s
                }));
            }
            Outcome::Retry if p.attempts < 3 => carry.push(Pending {
                attempts: p.attempts + 1,
                ..p
            }),
            Outcome::Retry => {
                let _ = p
                    .respond
                    .send(Err(AppError::Conflict { code: "vote.busy" }));
            }
        }
    }
}

fn clone_result(r: &Result<Stored, AppError>) -> Result<Stored, AppError> {
    match r {
        Ok(s) => Ok(s.clone()),
        Err(e) => Err(clone_error(e)),
    }
}

fn clone_error(e: &AppError) -> AppError {
    match e {
        AppError::Conflict { code } => AppError::Conflict { code },
        AppError::Invalid {
            code,
            params,
            details,
        } => AppError::Invalid {
            code,
            params: params.clone(),
            details: details.clone(),
        },
        AppError::Refused {
            status,
            code,
            params,
        } => AppError::Refused {
            status: *status,
            code,
            params: params.clone(),
        },
        other => AppError::Unavailable(other.to_string()),
    }
}

pub fn cap_error(hit: CapHit) -> AppError {
    AppError::Conflict {
        code: match hit {
            CapHit::Round => "vote.limit_round",
            CapHit::Entry => "vote.limit_entry",
            CapHit::Day => "vote.limit_day",
        },
    }
}

/// The careful path, in a transaction: everything read from the log. Returns the
/// outcomes and, per voter touched, their usage as now committed (None: not known
/// exactly, forget it).
#[allow(clippy::type_complexity)]
fn write_carefully(
    conn: &mut DbConnection,
    items: Vec<(NewVote, Caps)>,
    shard: i32,
) -> Result<(Vec<Outcome>, Vec<(VoterKey, Option<Used>)>), AppError> {
    let n = items.len();
    let mut outcomes: Vec<Option<Outcome>> = (0..n).map(|_| None).collect();

    // (`write` already answered a (voter, key) repeated within the batch.)
    // 2. Keys already used: the same vote again is answered as recorded; a different
    //    vote under a used key is refused.
    let voters = domain::distinct(items.iter().map(|(v, _)| v.voter_id.as_str()));
    let keys = domain::distinct(items.iter().map(|(v, _)| v.idempotency_key.as_str()));
    let known: HashMap<(String, String), VoteRow> = store::votes_by_keys(conn, &voters, &keys)?
        .into_iter()
        .map(|r| ((r.voter_id.clone(), r.idempotency_key.clone()), r))
        .collect();
    for (i, (v, _)) in items.iter().enumerate() {
        if outcomes[i].is_some() {
            continue;
        }
        if let Some(r) = known.get(&(v.voter_id.clone(), v.idempotency_key.clone())) {
            outcomes[i] = Some(Outcome::Done(
                if r.entry_id == v.entry_id && r.round_id == v.round_id {
                    Ok(Stored {
                        id: r.id,
                        entry_id: r.entry_id.clone(),
                        status: r.initial_status.clone(),
                        cast_at: r.cast_at,
                        slot: r.slot,
                        replayed: true,
                    })
                } else {
                    Err(AppError::refused(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "idempotency.key_reused",
                    ))
                },
            ));
        }
    }

    // 3. A proof of work is spent once.
    let pows = domain::distinct(
        items
            .iter()
            .enumerate()
            .filter(|(i, _)| outcomes[*i].is_none())
            .map(|(_, (v, _))| v.pow_id.as_str()),
    );
    let mut spent: HashSet<String> = store::spent_pow_ids(conn, &pows)?.into_iter().collect();
    for (i, (v, _)) in items.iter().enumerate() {
        if outcomes[i].is_some() {
            continue;
        }
        if !spent.insert(v.pow_id.clone()) {
            outcomes[i] = Some(Outcome::Done(Err(AppError::Conflict {
                code: "vote.pow_replayed",
            })));
        }
    }

    // 4. Caps, from the votes already in the log.
    let mut used: HashMap<(String, String), Used> = HashMap::new();
    let rounds = domain::distinct(items.iter().map(|(v, _)| v.round_id.as_str()));
    for round in &rounds {
        let vs = domain::distinct(
            items
                .iter()
                .filter(|(v, _)| &v.round_id == round)
                .map(|(v, _)| v.voter_id.as_str()),
        );
        for (voter, entry, day, k) in store::usage(conn, round, &vs)? {
            let u = used.entry((round.clone(), voter)).or_default();
            let k = k as u32;
            u.total += k;
            *u.by_entry.entry(entry).or_default() += k;
            *u.by_day.entry(day).or_default() += k;
        }
    }
    let mut rows: Vec<NewVote> = Vec::new();
    let mut row_of: Vec<usize> = Vec::new();
    for (i, (v, caps)) in items.iter().enumerate() {
        if outcomes[i].is_some() {
            continue;
        }
        let u = used
            .entry((v.round_id.clone(), v.voter_id.clone()))
            .or_default();
        match domain::take_slots(*caps, u, &v.entry_id, &v.day) {
            Ok(s) => {
                let mut row = v.clone();
                row.slot = s.slot;
                row.entry_slot = s.entry_slot;
                row.day_slot = s.day_slot;
                rows.push(row);
                row_of.push(i);
            }
            Err(hit) => outcomes[i] = Some(Outcome::Done(Err(cap_error(hit)))),
        }
    }

    // 5. One statement for the batch; rows a concurrent writer beat us to are retried.
    let inserted: HashMap<(String, String), i64> = store::append_votes(conn, &rows, shard)?
        .into_iter()
        .map(|(id, voter, key)| ((voter, key), id))
        .collect();
    let mut raced: HashSet<VoterKey> = HashSet::new();
    for (row, &i) in rows.iter().zip(&row_of) {
        match inserted.get(&(row.voter_id.clone(), row.idempotency_key.clone())) {
            Some(&id) => outcomes[i] = Some(Outcome::Done(Ok(stored(id, row)))),
            None => {
                outcomes[i] = Some(Outcome::Retry);
                raced.insert(voter_key(row));
            }
        }
    }
    let fresh = used
        .into_iter()
        .map(|(k, u)| {
            let known = !raced.contains(&k);
            (k, known.then_some(u))
        })
        .collect();
    Ok((finish(outcomes), fresh))
}
