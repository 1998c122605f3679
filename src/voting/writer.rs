//! Group commit: every vote in a process goes through a writer task (`voting.writers`
//! of them share one queue: while one commits, the next gathers), which takes whatever
//! is queued (up to `batch_max`), checks idempotency keys, spent challenges and caps for
//! the whole batch with three queries, inserts it as one multi-row
//! statement with the tallies in the same transaction, and answers each vote only after
//! COMMIT. Under load a batch holds hundreds of votes, so a commit (and its WAL flush)
//! is shared instead of paid per vote.
//!
//! Safety does not depend on this process being the only writer: every rule is also a
//! unique constraint, and a vote that loses a race with another process is retried
//! with fresh counts.

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
        for _ in 0..writers.max(1) {
            tokio::spawn(run(db.clone(), rx.clone(), batch_max.max(1)));
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
            })
            .await
            .map_err(|_| AppError::Unavailable("vote writer stopped".into()))?;
        rx.await
            .map_err(|_| AppError::Unavailable("vote writer stopped".into()))?
    }
}

async fn run(db: Db, rx: Arc<Mutex<mpsc::Receiver<Pending>>>, batch_max: usize) {
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
        let items: Vec<(NewVote, Caps)> = batch.iter().map(|p| (p.vote.clone(), p.caps)).collect();
        let result = db.transaction(move |conn| write_batch(conn, items)).await;
        match result {
            Ok(outcomes) => {
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
            Err(e) => {
                // Nothing was written: every vote in the batch fails alike, and a retry
                // with the same Idempotency-Key is safe.
                tracing::warn!(error = %e, votes = batch.len(), "vote batch failed");
                for p in batch {
                    let _ = p.respond.send(Err(AppError::Unavailable(format!("{e}"))));
                }
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

fn write_batch(
    conn: &mut DbConnection,
    items: Vec<(NewVote, Caps)>,
) -> Result<Vec<Outcome>, AppError> {
    let n = items.len();
    let mut outcomes: Vec<Option<Outcome>> = (0..n).map(|_| None).collect();

    // 1. The same (voter, key) twice in this batch: the later ones follow the first.
    let mut first_of: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, (v, _)) in items.iter().enumerate() {
        match first_of.get(&(v.voter_id.as_str(), v.idempotency_key.as_str())) {
            Some(&j) => outcomes[i] = Some(Outcome::SameAs(j)),
            None => {
                first_of.insert((v.voter_id.as_str(), v.idempotency_key.as_str()), i);
            }
        }
    }

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
    let inserted: HashMap<(String, String), i64> = store::insert_votes(conn, &rows)?
        .into_iter()
        .map(|(id, voter, key)| ((voter, key), id))
        .collect();
    let mut deltas: HashMap<(String, String), (i64, i64)> = HashMap::new();
    let mut flags = Vec::new();
    let mut reviews = Vec::new();
    for (row, &i) in rows.iter().zip(&row_of) {
        let Some(&id) = inserted.get(&(row.voter_id.clone(), row.idempotency_key.clone())) else {
            outcomes[i] = Some(Outcome::Retry);
            continue;
        };
        let d = deltas
            .entry((row.round_id.clone(), row.entry_id.clone()))
            .or_default();
        if row.initial_status == domain::COUNTED {
            d.0 += 1;
        } else {
            d.1 += 1;
            flags.push(FlagRow {
                vote_id: id,
                round_id: row.round_id.clone(),
                status: domain::QUARANTINED.into(),
                rule: row.initial_rule.clone(),
                reviewed: false,
                updated_at: row.cast_at,
            });
            reviews.push(NewReview {
                vote_id: id,
                round_id: row.round_id.clone(),
                action: domain::QUARANTINE.into(),
                rule: row.initial_rule.clone(),
                reason: "automatic, when cast".into(),
                actor_id: None,
                at: row.cast_at,
            });
        }
        outcomes[i] = Some(Outcome::Done(Ok(Stored {
            id,
            entry_id: row.entry_id.clone(),
            status: row.initial_status.clone(),
            cast_at: row.cast_at,
            slot: row.slot,
            replayed: false,
        })));
    }
    // 6. Tallies and flags in the same transaction. Sorted, so concurrent writers take
    //    row locks in the same order.
    let mut deltas: Vec<TallyRow> = deltas
        .into_iter()
        .map(|((round_id, entry_id), (counted, quarantined))| TallyRow {
            round_id,
            entry_id,
            counted,
            quarantined,
            invalidated: 0,
        })
        .collect();
    deltas.sort_by(|a, b| (&a.round_id, &a.entry_id).cmp(&(&b.round_id, &b.entry_id)));
    store::tallies_add(conn, &deltas)?;
    store::insert_flags(conn, &flags)?;
    store::insert_reviews(conn, &reviews)?;
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::Retry))
        .collect())
}
