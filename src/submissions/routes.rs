//! The JSON API of entries, uploads, playback and moderation.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, patch, post, put, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::{
    CompleteInput, EntryInput, EntryList, EntryView, PresignInput, PresignedUpload, ReviewInput,
};
use super::playback::{self, Fetched};
use super::store::EntryFilter;
use super::upload::{self, Answer, UploadMeta};
use super::{moderation, service};
use crate::accounts::model::AuthUser;
use crate::error::{AppError, ErrorBody};
use crate::http::files;
use crate::state::AppState;
use crate::web::locale_of;

fn answer((status, body): Answer) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK))
        .content_type("application/json")
        .body(body)
}

fn header_str<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Start an entry in a competition (details first; the audio follows).
#[utoipa::path(post, path = "/api/v1/competitions/{id}/entries", tag = "submissions", request_body = EntryInput,
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 201, description = "Created as a draft", body = EntryView),
        (status = 403, description = "Email not verified, or a guardian's consent is missing", body = ErrorBody),
        (status = 404, description = "No such open competition", body = ErrorBody),
        (status = 422, description = "Window closed, quota reached, not eligible, or a field is not valid", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/competitions/{id}/entries")]
pub async fn create_entry(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<EntryInput>,
) -> Result<HttpResponse, AppError> {
    let v = service::create(&state, &who, &id, input.into_inner(), locale_of(&req)).await?;
    Ok(HttpResponse::Created().json(v))
}

/// The caller's entries, newest first.
#[utoipa::path(get, path = "/api/v1/me/entries", tag = "submissions",
    responses((status = 200, description = "Entries", body = Vec<EntryView>)), security(("bearer" = [])))]
#[get("/api/v1/me/entries")]
pub async fn my_entries(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AuthUser,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(service::list_mine(&state, &who, locale_of(&req)).await?))
}

/// An entry with its status and, once analysed, its report and each rule's verdict.
#[utoipa::path(get, path = "/api/v1/entries/{id}", tag = "submissions",
    params(("id" = String, Path, description = "Entry id")),
    responses((status = 200, description = "The entry", body = EntryView),
        (status = 404, description = "Not found, or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/entries/{id}")]
pub async fn get_entry(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let v = service::get(&state, &who, &id, locale_of(&req)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(v))
}

/// Change an entry's details while the window is open.
#[utoipa::path(patch, path = "/api/v1/entries/{id}", tag = "submissions", request_body = EntryInput,
    params(("id" = String, Path, description = "Entry id")),
    responses((status = 200, description = "Saved", body = EntryView),
        (status = 404, description = "Not found, or not yours", body = ErrorBody),
        (status = 422, description = "Window closed, or a field is not valid", body = ErrorBody)),
    security(("bearer" = [])))]
#[patch("/api/v1/entries/{id}")]
pub async fn update_entry(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<EntryInput>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(service::update(&state, &who, &id, input.into_inner(), locale_of(&req)).await?))
}

/// Withdraw an entry (it stops counting towards the quota).
#[utoipa::path(post, path = "/api/v1/entries/{id}/withdraw", tag = "submissions",
    params(("id" = String, Path, description = "Entry id")),
    responses((status = 200, description = "Withdrawn", body = EntryView),
        (status = 404, description = "Not found, or not yours", body = ErrorBody),
        (status = 422, description = "The window is closed", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/entries/{id}/withdraw")]
pub async fn withdraw_entry(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(service::withdraw(&state, &who, &id, locale_of(&req)).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct UploadQuery {
    /// The file's name on the musician's device (kept only as sanitised metadata).
    pub file_name: Option<String>,
}

/// Upload (or replace) the audio: the request body is the file, streamed. Needs an
/// `Idempotency-Key` header; a retry with the same key returns the first answer.
#[utoipa::path(put, path = "/api/v1/entries/{id}/audio", tag = "submissions",
    params(("id" = String, Path, description = "Entry id"), UploadQuery,
        ("Idempotency-Key" = String, Header, description = "Unique per upload attempt; reuse it when retrying")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, description = "Stored; analysis queued", body = EntryView),
        (status = 200, description = "The same file was already in force", body = EntryView),
        (status = 400, description = "No Idempotency-Key", body = ErrorBody),
        (status = 409, description = "The same file is already entered, or this key is in progress", body = ErrorBody),
        (status = 413, description = "Larger than the limit", body = ErrorBody),
        (status = 415, description = "Not an audio file the engine reads", body = ErrorBody),
        (status = 422, description = "Window closed, or the key was used for another request", body = ErrorBody),
        (status = 503, description = "Storage unavailable; nothing was kept", body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/api/v1/entries/{id}/audio")]
pub async fn put_audio(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    query: web::Query<UploadQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let meta = UploadMeta {
        entry_id: id.into_inner(),
        file_name: query.into_inner().file_name.unwrap_or_default(),
        content_length: header_str(&req, "content-length").and_then(|v| v.parse().ok()),
        idempotency_key: header_str(&req, "idempotency-key").map(str::to_string),
    };
    let locale = locale_of(&req);
    crate::http::body::with_body(payload, |body| async move {
        upload::upload(&state, &who, meta, body, locale)
            .await
            .map(answer)
    })
    .await
}

/// Where the store is S3: a presigned URL to PUT the file directly, so large files do
/// not pass through the server. Finish with `audio/complete`.
#[utoipa::path(post, path = "/api/v1/entries/{id}/audio/presign", tag = "submissions", request_body = PresignInput,
    params(("id" = String, Path, description = "Entry id")),
    responses((status = 200, description = "PUT the bytes to `url`", body = PresignedUpload),
        (status = 409, description = "The store is not S3: upload through the server", body = ErrorBody),
        (status = 413, description = "Larger than the limit", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/entries/{id}/audio/presign")]
pub async fn presign_audio(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<PresignInput>,
) -> Result<HttpResponse, AppError> {
    let p = upload::presign(&state, &who, &id, &input.file_name, input.size_bytes).await?;
    Ok(HttpResponse::Ok().json(p))
}

/// The presigned PUT is done: the server checks size, type and SHA-256 as for a streamed upload.
#[utoipa::path(post, path = "/api/v1/entries/{id}/audio/complete", tag = "submissions", request_body = CompleteInput,
    params(("id" = String, Path, description = "Entry id"),
        ("Idempotency-Key" = String, Header, description = "Unique per attempt; reuse it when retrying")),
    responses((status = 201, description = "Stored; analysis queued", body = EntryView),
        (status = 409, description = "The same file is already entered", body = ErrorBody),
        (status = 413, description = "Larger than the limit (the object was deleted)", body = ErrorBody),
        (status = 415, description = "Not an audio file the engine reads", body = ErrorBody),
        (status = 422, description = "Nothing was uploaded", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/entries/{id}/audio/complete")]
pub async fn complete_audio(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<CompleteInput>,
) -> Result<HttpResponse, AppError> {
    let key = header_str(&req, "idempotency-key");
    let a = upload::complete(&state, &who, &id, &input.upload_id, key, locale_of(&req)).await?;
    Ok(answer(a))
}

/// The entry's audio, with Range support (seeking), for its musician and organisers.
#[utoipa::path(get, path = "/api/v1/entries/{id}/audio", tag = "submissions",
    params(("id" = String, Path, description = "Entry id")),
    responses((status = 200, description = "The audio", content_type = "audio/wav"),
        (status = 206, description = "Part of the audio"),
        (status = 404, description = "Not found, or not allowed", body = ErrorBody),
        (status = 416, description = "The range is outside the file")),
    security(("bearer" = [])))]
#[get("/api/v1/entries/{id}/audio")]
pub async fn get_audio(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let range = header_str(&req, "range");
    Ok(match playback::fetch(&state, &who, &id, range).await? {
        Fetched::Audio(a) => files::audio_response(a.object, &a.content_type, &a.file_name),
        Fetched::BadRange(size) => files::bad_range_response(size),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ModerationQuery {
    /// `draft`, `uploading`, `uploaded`, `analysing`, `accepted`, `needs_attention`, `rejected`, `withdrawn`.
    pub status: Option<String>,
    /// `pending`, `accepted`, `changes_requested`, `disqualified`.
    pub review: Option<String>,
    pub prompt: Option<String>,
    pub category: Option<String>,
    /// `true`: only entries with flags (e.g. a recording that matches another entry).
    pub flagged: Option<bool>,
}

impl ModerationQuery {
    pub fn filter(self) -> EntryFilter {
        let some = |s: Option<String>| s.filter(|s| !s.is_empty());
        EntryFilter {
            status: some(self.status),
            review: some(self.review),
            prompt_id: some(self.prompt),
            category_id: some(self.category),
            flagged: self.flagged,
        }
    }
}

/// A competition's entries for its organisers, with reports and flags.
#[utoipa::path(get, path = "/api/v1/competitions/{id}/entries", tag = "submissions",
    params(("id" = String, Path, description = "Competition id"), ModerationQuery),
    responses((status = 200, description = "Entries, oldest first", body = EntryList),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/competitions/{id}/entries")]
pub async fn moderation_list(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    query: web::Query<ModerationQuery>,
) -> Result<HttpResponse, AppError> {
    let items = moderation::list(
        &state,
        &who,
        &id,
        query.into_inner().filter(),
        locale_of(&req),
    )
    .await?;
    Ok(HttpResponse::Ok().json(EntryList { items }))
}

/// Decide about an entry: accept, request changes or disqualify (with a reason the musician reads).
#[utoipa::path(post, path = "/api/v1/entries/{id}/review", tag = "submissions", request_body = ReviewInput,
    params(("id" = String, Path, description = "Entry id")),
    responses((status = 200, description = "Recorded; the musician is emailed", body = EntryView),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 422, description = "Unknown action or missing reason", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/entries/{id}/review")]
pub async fn review_entry(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<ReviewInput>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(moderation::review(&state, &who, &id, input.into_inner(), locale_of(&req)).await?))
}

/// Every entry of a competition as CSV (spreadsheet formulas are defused).
#[utoipa::path(get, path = "/api/v1/competitions/{id}/entries.csv", tag = "submissions",
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 200, description = "CSV", content_type = "text/csv"),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/competitions/{id}/entries.csv")]
pub async fn export_entries(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (name, csv) = moderation::export_csv(&state, &who, &id).await?;
    Ok(crate::http::csv::response(&name, csv))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_entry)
        .service(my_entries)
        .service(export_entries)
        .service(moderation_list)
        .service(get_entry)
        .service(update_entry)
        .service(withdraw_entry)
        .service(put_audio)
        .service(presign_audio)
        .service(complete_audio)
        .service(get_audio)
        .service(review_entry);
}
