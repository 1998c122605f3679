//! Queries on the `jobs` table. Every function takes the caller's connection, so an
//! enqueue joins the caller's transaction.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::backend::claim_job_id;
use crate::db::schema::jobs;
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = jobs)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: NaiveDateTime,
    pub locked_by: Option<String>,
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub lane: Option<String>,
    pub concurrency_key: Option<String>,
}

pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const DONE: &str = "done";
pub const DEAD: &str = "dead";

/// Put a queued job in a lane (`heavy`) and/or give it a concurrency key (jobs with the
/// same key run one at a time).
pub fn set_lane(
    conn: &mut DbConnection,
    id: i64,
    lane: Option<&str>,
    concurrency_key: Option<&str>,
) -> Result<(), AppError> {
    diesel::update(jobs::table.find(id))
        .set((
            jobs::lane.eq(lane),
            jobs::concurrency_key.eq(concurrency_key),
        ))
        .execute(conn)?;
    Ok(())
}

/// Default attempts for a job enqueued without its own limit.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 10;

#[derive(Insertable)]
#[diesel(table_name = jobs)]
struct NewJob<'a> {
    kind: &'a str,
    payload: &'a str,
    status: &'a str,
    attempts: i32,
    max_attempts: i32,
    run_at: NaiveDateTime,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// Queue a job to run at `now` (or later, if `run_at` is given). Returns its id.
pub fn enqueue(
    conn: &mut DbConnection,
    kind: &str,
    payload: &serde_json::Value,
    now: NaiveDateTime,
    run_at: Option<NaiveDateTime>,
) -> Result<i64, AppError> {
    let payload = payload.to_string();
    let id = diesel::insert_into(jobs::table)
        .values(NewJob {
            kind,
            payload: &payload,
            status: QUEUED,
            attempts: 0,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            run_at: run_at.unwrap_or(now),
            created_at: now,
            updated_at: now,
        })
        .returning(jobs::id)
        .get_result(conn)?;
    Ok(id)
}

pub fn set_max_attempts(conn: &mut DbConnection, id: i64, max: i32) -> Result<(), AppError> {
    diesel::update(jobs::table.find(id))
        .set(jobs::max_attempts.eq(max))
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<JobRow>, AppError> {
    Ok(jobs::table
        .find(id)
        .select(JobRow::as_select())
        .first(conn)
        .optional()?)
}

/// Lease the next runnable job for `worker` until `now + lease`.
pub fn claim(
    conn: &mut DbConnection,
    worker: &str,
    now: NaiveDateTime,
    lease: Duration,
    heavy_limit: i64,
) -> Result<Option<JobRow>, AppError> {
    let Some(id) = claim_job_id(conn, now, now + lease, worker, heavy_limit)? else {
        return Ok(None);
    };
    find(conn, id)
}

/// Extend the lease of a job this worker still holds. False if it lost the lease.
pub fn heartbeat(
    conn: &mut DbConnection,
    id: i64,
    worker: &str,
    now: NaiveDateTime,
    lease: Duration,
) -> Result<bool, AppError> {
    let n = diesel::update(
        jobs::table
            .find(id)
            .filter(jobs::status.eq(RUNNING))
            .filter(jobs::locked_by.eq(worker)),
    )
    .set((jobs::locked_until.eq(now + lease), jobs::updated_at.eq(now)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Mark done. False if this worker no longer held the job (someone else reclaimed it).
pub fn complete(
    conn: &mut DbConnection,
    id: i64,
    worker: &str,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let n = diesel::update(
        jobs::table
            .find(id)
            .filter(jobs::status.eq(RUNNING))
            .filter(jobs::locked_by.eq(worker)),
    )
    .set((
        jobs::status.eq(DONE),
        jobs::locked_by.eq(None::<String>),
        jobs::locked_until.eq(None::<NaiveDateTime>),
        jobs::last_error.eq(None::<String>),
        jobs::finished_at.eq(Some(now)),
        jobs::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Put the job back in the queue to run at `run_at`, recording the error.
pub fn retry_later(
    conn: &mut DbConnection,
    id: i64,
    worker: &str,
    now: NaiveDateTime,
    run_at: NaiveDateTime,
    error: &str,
) -> Result<bool, AppError> {
    let n = diesel::update(jobs::table.find(id).filter(jobs::locked_by.eq(worker)))
        .set((
            jobs::status.eq(QUEUED),
            jobs::run_at.eq(run_at),
            jobs::locked_by.eq(None::<String>),
            jobs::locked_until.eq(None::<NaiveDateTime>),
            jobs::last_error.eq(Some(truncate(error))),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Give up on the job: dead, with the last error kept for the operator.
pub fn bury(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
    error: &str,
) -> Result<(), AppError> {
    diesel::update(jobs::table.find(id))
        .set((
            jobs::status.eq(DEAD),
            jobs::locked_by.eq(None::<String>),
            jobs::locked_until.eq(None::<NaiveDateTime>),
            jobs::last_error.eq(Some(truncate(error))),
            jobs::finished_at.eq(Some(now)),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Hand the job back untouched (shutdown): queued again, the attempt not counted.
pub fn release(
    conn: &mut DbConnection,
    id: i64,
    worker: &str,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let n = diesel::update(
        jobs::table
            .find(id)
            .filter(jobs::status.eq(RUNNING))
            .filter(jobs::locked_by.eq(worker)),
    )
    .set((
        jobs::status.eq(QUEUED),
        jobs::run_at.eq(now),
        jobs::attempts.eq(jobs::attempts - 1),
        jobs::locked_by.eq(None::<String>),
        jobs::locked_until.eq(None::<NaiveDateTime>),
        jobs::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Jobs per status, for `admin jobs` and metrics.
pub fn count_by_status(conn: &mut DbConnection) -> Result<Vec<(String, i64)>, AppError> {
    Ok(jobs::table
        .group_by(jobs::status)
        .select((jobs::status, diesel::dsl::count_star()))
        .order(jobs::status)
        .load(conn)?)
}

fn truncate(s: &str) -> String {
    const MAX: usize = 4000;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Whether a job of `kind` is waiting or running (to avoid piling up periodic jobs).
pub fn has_unfinished(conn: &mut DbConnection, kind: &str) -> Result<bool, AppError> {
    let n: i64 = jobs::table
        .filter(jobs::kind.eq(kind))
        .filter(jobs::status.eq_any([QUEUED, "running"]))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// How many jobs of `kind` exist in any state (for tests and diagnostics).
pub fn list_kind(conn: &mut DbConnection, kind: &str) -> Result<i64, AppError> {
    Ok(jobs::table
        .filter(jobs::kind.eq(kind))
        .count()
        .get_result(conn)?)
}
