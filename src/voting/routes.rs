//! The JSON API of public voting, the live leaderboard stream and the log exports.

use super::VotingState as _;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use bytes::Bytes;
use serde::Deserialize;

use super::model::*;
use super::service;
use super::store;
use crate::accounts::model::AuthUser;
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;

use crate::http::no_store;

/// Create a voting round: window, entries in play (default: the finalists), policy.
#[utoipa::path(post, path = "/api/v1/competitions/{id}/voting-rounds", tag = "voting", request_body = VotingRoundInput,
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 201, description = "Created", body = VotingRoundView),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 409, description = "No finalists yet (choose the songs), or none to vote on", body = ErrorBody),
        (status = 422, description = "A setting is not valid", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/competitions/{id}/voting-rounds")]
pub async fn create_round(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<VotingRoundInput>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Created()
        .json(service::create_round(&state, &who, &id, input.into_inner()).await?))
}

/// A competition's voting rounds (by id or slug).
#[utoipa::path(get, path = "/api/v1/competitions/{id}/voting-rounds", tag = "voting",
    params(("id" = String, Path, description = "Competition id or slug")),
    responses((status = 200, description = "Rounds", body = Vec<VotingRoundView>),
        (status = 404, description = "Not found", body = ErrorBody)))]
#[get("/api/v1/competitions/{id}/voting-rounds")]
pub async fn list_rounds(
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(
        service::list_rounds(&state, who.as_ref(), &id).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/voting-rounds/{id}", tag = "voting",
    params(("id" = String, Path, description = "Voting round id")),
    responses((status = 200, description = "The round", body = VotingRoundView),
        (status = 404, description = "Not found", body = ErrorBody)))]
#[get("/api/v1/voting-rounds/{id}")]
pub async fn get_round(
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(
        service::get_round(&state, who.as_ref(), &id).await?,
    ))
}

/// Change a voting round (its songs are fixed once it opens; opening time and caps once
/// votes exist).
#[utoipa::path(patch, path = "/api/v1/voting-rounds/{id}", tag = "voting", request_body = VotingRoundInput,
    params(("id" = String, Path, description = "Voting round id")),
    responses((status = 200, description = "Saved", body = VotingRoundView),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 409, description = "Votes exist, or the vote has opened", body = ErrorBody),
        (status = 422, description = "A setting is not valid", body = ErrorBody)),
    security(("bearer" = [])))]
#[actix_web::patch("/api/v1/voting-rounds/{id}")]
pub async fn update_round(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<VotingRoundInput>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(
        service::update_round(&state, &who, &id, input.into_inner()).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct GalleryQuery {
    /// For anonymous visitors: a value kept by the browser so the order stays put.
    pub seed: Option<String>,
}

/// The gallery: entries in play in the viewer's own random order, with their votes.
#[utoipa::path(get, path = "/api/v1/voting-rounds/{id}/entries", tag = "voting",
    params(("id" = String, Path, description = "Voting round id"), GalleryQuery),
    responses((status = 200, description = "Gallery", body = Gallery),
        (status = 404, description = "Not found", body = ErrorBody)))]
#[get("/api/v1/voting-rounds/{id}/entries")]
pub async fn gallery(
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    id: web::Path<String>,
    q: web::Query<GalleryQuery>,
) -> Result<HttpResponse, AppError> {
    let seed = service::entry_seed(q.seed.as_deref());
    Ok(no_store(
        service::gallery(&state, who.as_ref(), &id, &seed).await?,
    ))
}

/// An entry's audio, for listening before voting (Range supported): the clean public
/// rendition (no tags, loudness-matched), never the musician's own file.
#[utoipa::path(get, path = "/api/v1/voting-rounds/{id}/entries/{entry}/audio", tag = "voting",
    params(("id" = String, Path, description = "Voting round id"), ("entry" = String, Path, description = "Entry id")),
    responses((status = 200, description = "WAV audio", content_type = "audio/wav"), (status = 206, description = "Part of it"),
        (status = 404, description = "Not found", body = ErrorBody),
        (status = 409, description = "Still being prepared", body = ErrorBody),
        (status = 416, description = "The range is outside the file")))]
#[get("/api/v1/voting-rounds/{id}/entries/{entry}/audio")]
pub async fn audio(
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let (id, entry) = path.into_inner();
    let (i, _) = service::visible(&state, who.as_ref(), &id).await?;
    let e = i.entry(&entry).ok_or(AppError::NotFound)?;
    let upload_id = e.upload_id.clone().ok_or(AppError::NotFound)?;
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    Ok(crate::http::files::response(
        crate::submissions::service::public_audio(&state, &upload_id, &e.title, range).await?,
    ))
}

/// The songs of a vote for its organiser: those in play, and those that could be added.
#[utoipa::path(get, path = "/api/v1/voting-rounds/{id}/line-up", tag = "voting",
    params(("id" = String, Path, description = "Voting round id")),
    responses((status = 200, description = "The line-up", body = VotingEntries),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/voting-rounds/{id}/line-up")]
pub async fn line_up(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(super::manage::entries(&state, &who, &id).await?))
}

/// Put songs into a vote or take them out, with a reason (audited); only before it opens.
#[utoipa::path(patch, path = "/api/v1/voting-rounds/{id}/line-up", tag = "voting", request_body = EntriesChange,
    params(("id" = String, Path, description = "Voting round id")),
    responses((status = 200, description = "The new line-up", body = VotingEntries),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 409, description = "The vote has opened, or no song would be left", body = ErrorBody),
        (status = 422, description = "No reason, or a song that cannot be voted on", body = ErrorBody)),
    security(("bearer" = [])))]
#[patch("/api/v1/voting-rounds/{id}/line-up")]
pub async fn change_line_up(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    body: web::Json<EntriesChange>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(
        super::manage::change_entries(&state, &who, &id, body.into_inner()).await?,
    ))
}

/// Open an upcoming vote now.
#[utoipa::path(post, path = "/api/v1/voting-rounds/{id}/open-now", tag = "voting",
    params(("id" = String, Path, description = "Voting round id")),
    responses((status = 200, description = "Opened", body = VotingRoundView),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 409, description = "Already open", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/voting-rounds/{id}/open-now")]
pub async fn open_now(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(
        super::manage::open_or_close_now(&state, &who, &id, true).await?,
    ))
}

/// Close an open vote now.
#[utoipa::path(post, path = "/api/v1/voting-rounds/{id}/close-now", tag = "voting",
    params(("id" = String, Path, description = "Voting round id")),
    responses((status = 200, description = "Closed", body = VotingRoundView),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 409, description = "Not open", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/voting-rounds/{id}/close-now")]
pub async fn close_now(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(
        super::manage::open_or_close_now(&state, &who, &id, false).await?,
    ))
}

/// A proof-of-work challenge (ALTCHA v2) for the signed-in voter; solve it in the
/// browser and send the solution with the vote.
#[utoipa::path(post, path = "/api/v1/voting-rounds/{id}/challenge", tag = "voting",
    params(("id" = String, Path, description = "Voting round id")),
    responses((status = 200, description = "Challenge (ALTCHA v2 JSON)"),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Email not verified", body = ErrorBody),
        (status = 409, description = "Voting is not open", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/voting-rounds/{id}/challenge")]
pub async fn challenge(
    state: web::Data<AppState>,
    id: web::Path<String>,
    voter: service::VoteRequest,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(service::challenge(&state, &voter, &id).await?))
}

/// Start listening to an entry: a signed ticket; a vote counts `min_listen_secs` later.
#[utoipa::path(post, path = "/api/v1/voting-rounds/{id}/listens", tag = "voting", request_body = ListenInput,
    params(("id" = String, Path, description = "Voting round id")),
    responses((status = 200, description = "Ticket", body = ListenTicket),
        (status = 401, description = "Sign in first", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/voting-rounds/{id}/listens")]
pub async fn listen(
    state: web::Data<AppState>,
    id: web::Path<String>,
    input: web::Json<ListenInput>,
    voter: service::VoteRequest,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(
        service::listen(&state, &voter, &id, input.into_inner()).await?,
    ))
}

/// Cast a vote. Needs `Idempotency-Key`; answered after the vote is committed.
#[utoipa::path(post, path = "/api/v1/voting-rounds/{id}/votes", tag = "voting", request_body = VoteInput,
    params(("id" = String, Path, description = "Voting round id"),
        ("Idempotency-Key" = String, Header, description = "A unique value per vote; a retry with the same key counts once")),
    responses((status = 201, description = "Recorded", body = VoteReceipt),
        (status = 200, description = "A retry of a vote already recorded", body = VoteReceipt),
        (status = 400, description = "Idempotency-Key missing", body = ErrorBody),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Email not verified, or your own entry", body = ErrorBody),
        (status = 409, description = "Voting not open or closed, a limit reached, proof of work already used, listen first", body = ErrorBody),
        (status = 422, description = "Proof of work missing, wrong or expired; entry not in this round; key reused", body = ErrorBody),
        (status = 429, description = "Too many votes from this address, network or account (Retry-After)", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/voting-rounds/{id}/votes")]
pub async fn vote(
    state: web::Data<AppState>,
    id: web::Path<String>,
    input: web::Json<VoteInput>,
    voter: service::VoteRequest,
) -> Result<HttpResponse, AppError> {
    let receipt = service::cast(&state, &voter, &id, input.into_inner()).await?;
    let mut res = if receipt.replayed {
        HttpResponse::Ok()
    } else {
        HttpResponse::Created()
    };
    Ok(res
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(receipt))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct BoardQuery {
    /// Only this category.
    pub category: Option<String>,
}

/// The leaderboard (hidden counts until the close when the round says so).
#[utoipa::path(get, path = "/api/v1/voting-rounds/{id}/leaderboard", tag = "voting",
    params(("id" = String, Path, description = "Voting round id"), BoardQuery),
    responses((status = 200, description = "Leaderboard", body = Leaderboard),
        (status = 404, description = "Not found", body = ErrorBody)))]
#[get("/api/v1/voting-rounds/{id}/leaderboard")]
pub async fn leaderboard(
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    id: web::Path<String>,
    q: web::Query<BoardQuery>,
) -> Result<HttpResponse, AppError> {
    let json = service::leaderboard_json(&state, who.as_ref(), &id, q.category.as_deref()).await?;
    // An organiser may see counts the public may not yet: never in a shared cache.
    let cache = if who.is_some() {
        "private, max-age=1"
    } else {
        "public, max-age=1"
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, cache))
        .content_type("application/json")
        .body(json))
}

/// How long one stream lasts; the browser's EventSource reconnects by itself.
const STREAM_SECS: u32 = 300;

/// Live leaderboard as Server-Sent Events: an event `leaderboard` whenever it changes
/// (checked every second), a comment every 15 s to keep the connection open.
#[utoipa::path(get, path = "/api/v1/voting-rounds/{id}/leaderboard/stream", tag = "voting",
    params(("id" = String, Path, description = "Voting round id"), BoardQuery),
    responses((status = 200, description = "text/event-stream of `leaderboard` events (Leaderboard JSON)"),
        (status = 404, description = "Not found", body = ErrorBody)))]
#[get("/api/v1/voting-rounds/{id}/leaderboard/stream")]
pub async fn stream(
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<BoardQuery>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let category = q.into_inner().category;
    // Refuse now (404) rather than inside the stream.
    service::leaderboard(&state, None, &id, category.as_deref()).await?;
    let start: (
        web::Data<AppState>,
        String,
        Option<String>,
        Option<String>,
        u32,
    ) = (state, id, category, None, 0);
    let body =
        futures_util::stream::unfold(start, |(state, id, category, last, tick)| async move {
            let mut tick = tick;
            loop {
                if tick >= STREAM_SECS || state.shutdown.is_cancelled() {
                    return None;
                }
                if tick > 0 || last.is_some() {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        // The server is stopping: end the stream (the browser reconnects
                        // to another server) instead of holding up the drain.
                        _ = state.shutdown.cancelled() => return None,
                    }
                }
                tick += 1;
                let Ok(b) = service::leaderboard(&state, None, &id, category.as_deref()).await
                else {
                    continue;
                };
                let key = serde_json::to_string(&(
                    &b.lines
                        .iter()
                        .map(|l| (&l.entry_id, l.votes, l.rank))
                        .collect::<Vec<_>>(),
                    b.counts_visible,
                    &b.state,
                ))
                .unwrap_or_default();
                if last.as_deref() != Some(key.as_str()) {
                    let data = serde_json::to_string(&b).unwrap_or_default();
                    let chunk = if last.is_none() {
                        format!("retry: 2000\nevent: leaderboard\ndata: {data}\n\n")
                    } else {
                        format!("event: leaderboard\ndata: {data}\n\n")
                    };
                    return Some((
                        Ok::<Bytes, actix_web::Error>(Bytes::from(chunk)),
                        (state, id, category, Some(key), tick),
                    ));
                }
                if tick % 15 == 0 {
                    return Some((
                        Ok(Bytes::from_static(b": keep-alive\n\n")),
                        (state, id, category, last, tick),
                    ));
                }
            }
        });
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}

/// The integrity summary: votes cast, held, struck out (by rule) and the tally hash.
#[utoipa::path(get, path = "/api/v1/voting-rounds/{id}/integrity", tag = "voting",
    params(("id" = String, Path, description = "Voting round id")),
    responses((status = 200, description = "Summary", body = IntegritySummary),
        (status = 409, description = "Published when voting closes", body = ErrorBody)))]
#[get("/api/v1/voting-rounds/{id}/integrity")]
pub async fn integrity(
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(
        service::integrity(&state, who.as_ref(), &id).await?,
    ))
}

async fn log_csv(
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    id: String,
    audit: bool,
) -> Result<HttpResponse, AppError> {
    let i = service::log_access(&state, who.as_ref(), &id, audit).await?;
    let row = i.row.clone();
    let rid = row.id.clone();
    let flags = state
        .db
        .run(move |conn| store::flags_of(conn, &rid))
        .await?;
    let header_line = if audit {
        service::AUDIT_LOG_HEADER
    } else {
        service::PUBLIC_LOG_HEADER
    };
    let key = state.voting().pseudonym_key.clone();
    let flags = std::sync::Arc::new(flags);
    let start = (state.clone(), row, Some(0i64), false);
    let body = futures_util::stream::unfold(start, move |(state, row, after, headed)| {
        let (key, flags) = (key.clone(), flags.clone());
        async move {
            if !headed {
                return Some((
                    Ok::<Bytes, actix_web::Error>(Bytes::from_static(header_line.as_bytes())),
                    (state, row, after, true),
                ));
            }
            let after = after?;
            let r2 = row.clone();
            let page = state
                .db
                .run(move |conn| service::log_page(conn, &r2, &key, after, 20_000, audit, &flags))
                .await;
            match page {
                Ok((bytes, next)) if !bytes.is_empty() => {
                    Some((Ok(Bytes::from(bytes)), (state, row, next, true)))
                }
                Ok(_) => None,
                Err(e) => Some((
                    Err(actix_web::error::ErrorServiceUnavailable(e.to_string())),
                    (state, row, None, true),
                )),
            }
        }
    });
    let name = if audit {
        "votes-audit.csv"
    } else {
        "votes.csv"
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}

/// The public vote log (pseudonymous voters) once voting has closed: recompute the
/// tally hash from it.
#[utoipa::path(get, path = "/api/v1/voting-rounds/{id}/log.csv", tag = "voting",
    params(("id" = String, Path, description = "Voting round id")),
    responses((status = 200, description = "CSV: vote_id,cast_at,voter,entry_id,status,rule"),
        (status = 409, description = "Published when voting closes", body = ErrorBody)))]
#[get("/api/v1/voting-rounds/{id}/log.csv")]
pub async fn public_log(
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    log_csv(state, who, id.into_inner(), false).await
}

/// The organiser's full log: accounts, emails, networks, client hashes, account ages.
#[utoipa::path(get, path = "/api/v1/voting-rounds/{id}/audit.csv", tag = "voting",
    params(("id" = String, Path, description = "Voting round id")),
    responses((status = 200, description = "CSV"), (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/voting-rounds/{id}/audit.csv")]
pub async fn audit_log(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    log_csv(state, Some(who), id.into_inner(), true).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ReviewQuery {
    /// `quarantined` (default) or `invalidated`.
    pub status: Option<String>,
}

/// Votes held for review (or struck out).
#[utoipa::path(get, path = "/api/v1/voting-rounds/{id}/review", tag = "voting",
    params(("id" = String, Path, description = "Voting round id"), ReviewQuery),
    responses((status = 200, description = "Votes", body = Vec<ReviewItem>),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/voting-rounds/{id}/review")]
pub async fn review_list(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    q: web::Query<ReviewQuery>,
) -> Result<HttpResponse, AppError> {
    let status = q
        .status
        .clone()
        .unwrap_or_else(|| super::domain::QUARANTINED.into());
    Ok(no_store(
        service::review_list(&state, &who, &id, &status).await?,
    ))
}

/// Restore, invalidate or quarantine votes, with a reason (recorded and audited).
#[utoipa::path(post, path = "/api/v1/voting-rounds/{id}/review", tag = "voting", request_body = ReviewInput,
    params(("id" = String, Path, description = "Voting round id")),
    responses((status = 200, description = "Done", body = ReviewOutcome),
        (status = 422, description = "Action or reason missing", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/voting-rounds/{id}/review")]
pub async fn review(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<ReviewInput>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(
        service::review(&state, &who, &id, input.into_inner()).await?,
    ))
}

/// Run the automatic fraud rules over the whole log now.
#[utoipa::path(post, path = "/api/v1/voting-rounds/{id}/audit", tag = "voting",
    params(("id" = String, Path, description = "Voting round id")),
    responses((status = 200, description = "Done", body = AuditOutcome)),
    security(("bearer" = [])))]
#[post("/api/v1/voting-rounds/{id}/audit")]
pub async fn run_audit(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(service::run_audit(&state, &who, &id).await?))
}

/// Recompute tallies from the log and the review records.
#[utoipa::path(post, path = "/api/v1/voting-rounds/{id}/recompute", tag = "voting",
    params(("id" = String, Path, description = "Voting round id")),
    responses((status = 200, description = "Done", body = RecomputeOutcome)),
    security(("bearer" = [])))]
#[post("/api/v1/voting-rounds/{id}/recompute")]
pub async fn recompute(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(service::recompute(&state, &who, &id).await?))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Hottest first (see startup).
    cfg.service(vote)
        .service(challenge)
        .service(leaderboard)
        .service(stream)
        .service(listen)
        .service(gallery)
        .service(audio)
        .service(create_round)
        .service(list_rounds)
        .service(integrity)
        .service(public_log)
        .service(audit_log)
        .service(review_list)
        .service(review)
        .service(run_audit)
        .service(recompute)
        .service(line_up)
        .service(change_line_up)
        .service(open_now)
        .service(close_now)
        .service(get_round)
        .service(update_round);
}
