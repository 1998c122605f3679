//! The show's JSON API: the presenter screen's state (and its live stream), and the
//! show control's presses.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use bytes::Bytes;

use super::model::{RevealInput, ShowView};
use super::service;
use crate::accounts::model::AuthUser;
use crate::error::{AppError, ErrorBody};
use crate::http::no_store;
use crate::state::AppState;

/// The presenter screen's state: the round, its window, live counts (or, while they are
/// hidden, only the total), and the reveal once the organiser has begun it.
#[utoipa::path(get, path = "/api/v1/voting-rounds/{id}/show", tag = "show",
    params(("id" = String, Path, description = "Voting round id")),
    responses((status = 200, description = "The show", body = ShowView),
        (status = 404, description = "Not found", body = ErrorBody)))]
#[get("/api/v1/voting-rounds/{id}/show")]
pub async fn get_show(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let l = crate::web::locale_of(&req);
    Ok(no_store(service::view(&state, &id, l).await?))
}

/// How long one stream lasts; the browser's EventSource reconnects by itself.
const STREAM_SECS: u32 = 300;
/// How often the stream looks for a change (a press on the show control shows within).
const TICK_MS: u64 = 500;

/// The presenter screen live, as Server-Sent Events: a `show` event (the show's JSON)
/// whenever anything on it changes, checked twice a second; a comment every 15 s keeps
/// the connection open.
#[utoipa::path(get, path = "/api/v1/voting-rounds/{id}/show/stream", tag = "show",
    params(("id" = String, Path, description = "Voting round id")),
    responses((status = 200, description = "text/event-stream of `show` events (ShowView JSON)"),
        (status = 404, description = "Not found", body = ErrorBody)))]
#[get("/api/v1/voting-rounds/{id}/show/stream")]
pub async fn stream(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let l = crate::web::locale_of(&req);
    let id = id.into_inner();
    // Refuse now (404) rather than inside the stream.
    service::view(&state, &id, l).await?;
    let ticks = STREAM_SECS * 1000 / TICK_MS as u32;
    let start = (state, id, None::<String>, 0u32);
    let body = futures_util::stream::unfold(start, move |(state, id, last, tick)| async move {
        let mut tick = tick;
        loop {
            if tick >= ticks || state.shutdown.is_cancelled() {
                return None;
            }
            if last.is_some() {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(TICK_MS)) => {}
                    _ = state.shutdown.cancelled() => return None,
                }
            }
            tick += 1;
            let Ok(v) = service::view(&state, &id, l).await else {
                continue;
            };
            let data = serde_json::to_string(&v).unwrap_or_default();
            if last.as_deref() != Some(data.as_str()) {
                let chunk = if last.is_none() {
                    format!("retry: 2000\nevent: show\ndata: {data}\n\n")
                } else {
                    format!("event: show\ndata: {data}\n\n")
                };
                return Some((
                    Ok::<Bytes, actix_web::Error>(Bytes::from(chunk)),
                    (state, id, Some(data), tick),
                ));
            }
            if tick % (15_000 / TICK_MS as u32) == 0 {
                return Some((
                    Ok(Bytes::from_static(b": keep-alive\n\n")),
                    (state, id, last, tick),
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

/// A press on the show control (the competition's organisers): `next` reveals one more
/// step (the first press takes the results as computed, after the vote has closed),
/// `back` goes one step back, `restart` hides everything again. The results themselves
/// never change.
#[utoipa::path(post, path = "/api/v1/voting-rounds/{id}/show/reveal", tag = "show",
    params(("id" = String, Path, description = "Voting round id")),
    request_body = RevealInput,
    responses((status = 200, description = "The show after the press", body = ShowView),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 409, description = "Vote still open, results not computed (or computed before the close), or the reveal is done", body = ErrorBody),
        (status = 422, description = "Unknown action", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/voting-rounds/{id}/show/reveal")]
pub async fn reveal(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    body: web::Json<RevealInput>,
) -> Result<HttpResponse, AppError> {
    let l = crate::web::locale_of(&req);
    Ok(no_store(
        service::reveal(&state, &who, &id, &body.action, l).await?,
    ))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_show).service(stream).service(reveal);
}
