//! The comments' JSON API.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};

use super::model::{CommentInput, CommentView, SongComments, SwitchInput};
use super::service;
use crate::accounts::model::AuthUser;
use crate::error::{AppError, ErrorBody};
use crate::http::no_store;
use crate::http::ratelimit;
use crate::state::AppState;

/// The address a comment comes from, as the rate limit counts it (never stored with it).
pub fn address(req: &HttpRequest, state: &AppState) -> String {
    ratelimit::ip_key(ratelimit::client_ip(
        req,
        &state.settings.server.trusted_proxies,
    ))
}

/// A public song's comments in song order, whether it takes comments, and what the
/// reader may do.
#[utoipa::path(get, path = "/api/v1/songs/{id}/comments", tag = "comments",
    params(("id" = String, Path, description = "Song (entry) id")),
    responses((status = 200, description = "The comments", body = SongComments),
        (status = 404, description = "Not a public song", body = ErrorBody)))]
#[get("/api/v1/songs/{id}/comments")]
pub async fn list(
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(
        service::song_comments(&state, who.as_ref(), &id).await?,
    ))
}

/// Pin a comment to a moment of a public song (signed in with a verified email).
#[utoipa::path(post, path = "/api/v1/songs/{id}/comments", tag = "comments",
    params(("id" = String, Path, description = "Song (entry) id")),
    request_body = CommentInput,
    responses((status = 201, description = "Posted", body = CommentView),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Email not verified", body = ErrorBody),
        (status = 404, description = "Not a public song", body = ErrorBody),
        (status = 409, description = "Comments are off for this song", body = ErrorBody),
        (status = 422, description = "Too long, outside the song, or words not allowed", body = ErrorBody),
        (status = 429, description = "Too many comments; wait a minute", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/songs/{id}/comments")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    body: web::Json<CommentInput>,
) -> Result<HttpResponse, AppError> {
    let addr = address(&req, &state);
    let v = service::post(&state, &who, &id, &body, &addr).await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(v))
}

/// The musician switches comments on or off for their song.
#[utoipa::path(put, path = "/api/v1/songs/{id}/comments/settings", tag = "comments",
    params(("id" = String, Path, description = "Song (entry) id")),
    request_body = SwitchInput,
    responses((status = 204, description = "Saved"),
        (status = 404, description = "Not your public song", body = ErrorBody),
        (status = 409, description = "A guardian has not allowed comments", body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/api/v1/songs/{id}/comments/settings")]
pub async fn settings(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    body: web::Json<SwitchInput>,
) -> Result<HttpResponse, AppError> {
    service::switch(&state, &who, &id, body.enabled).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Report a comment (once per listener); enough reports hide it for review.
#[utoipa::path(post, path = "/api/v1/comments/{id}/report", tag = "comments",
    params(("id" = String, Path, description = "Comment id")),
    responses((status = 204, description = "Reported"),
        (status = 404, description = "Not found", body = ErrorBody),
        (status = 422, description = "Your own comment", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/comments/{id}/report")]
pub async fn report(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    service::report(&state, &who, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Hide a comment (the song's musician, the competition's organisers and moderators).
#[utoipa::path(post, path = "/api/v1/comments/{id}/hide", tag = "comments",
    params(("id" = String, Path, description = "Comment id")),
    responses((status = 200, description = "Hidden", body = CommentView),
        (status = 404, description = "Not found or not yours to moderate", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/comments/{id}/hide")]
pub async fn hide(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(service::moderate(&state, &who, &id, true).await?))
}

/// Show a hidden comment again.
#[utoipa::path(post, path = "/api/v1/comments/{id}/restore", tag = "comments",
    params(("id" = String, Path, description = "Comment id")),
    responses((status = 200, description = "Shown again", body = CommentView),
        (status = 404, description = "Not found or not yours to moderate", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/comments/{id}/restore")]
pub async fn restore(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(service::moderate(&state, &who, &id, false).await?))
}

/// The moderation queue: a competition's comments that were reported or hidden and wait
/// for an organiser's decision.
#[utoipa::path(get, path = "/api/v1/competitions/{id}/comments", tag = "comments",
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 200, description = "Waiting comments", body = [CommentView]),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/competitions/{id}/comments")]
pub async fn queue(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(service::queue(&state, &who, &id).await?))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(settings)
        .service(report)
        .service(hide)
        .service(restore)
        .service(queue);
}
