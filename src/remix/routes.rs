//! The JSON API of remix rounds, and the signed download address.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::links::LinkQuery;
use super::model::*;
use super::service::{self, FileMeta};
use crate::accounts::model::AuthUser;
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;

/// Make a competition a remix competition (every entry names its source), or not.
#[utoipa::path(put, path = "/api/v1/competitions/{id}/remix", tag = "remix", request_body = RemixSettingsInput,
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 200, description = "Saved", body = RemixSettingsView),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/api/v1/competitions/{id}/remix")]
pub async fn put_settings(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<RemixSettingsInput>,
) -> Result<HttpResponse, AppError> {
    let v = service::put_settings(&state, &who, &id, input.into_inner()).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Whether a competition is a remix competition.
#[utoipa::path(get, path = "/api/v1/competitions/{id}/remix", tag = "remix",
    params(("id" = String, Path, description = "Competition slug or id")),
    responses((status = 200, description = "The setting", body = RemixSettingsView),
        (status = 404, description = "Not found", body = ErrorBody)))]
#[get("/api/v1/competitions/{id}/remix")]
pub async fn get_settings(
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let v = service::settings_view(&state, who.as_ref(), &id).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Attach a stem pack to a competition (or one of its prompts).
#[utoipa::path(post, path = "/api/v1/competitions/{id}/stem-packs", tag = "remix", request_body = StemPackInput,
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 201, description = "Created", body = StemPackView),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 422, description = "A field is not valid", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/competitions/{id}/stem-packs")]
pub async fn create_pack(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<StemPackInput>,
) -> Result<HttpResponse, AppError> {
    let v = service::create_pack(&state, &who, &id, input.into_inner()).await?;
    Ok(HttpResponse::Created().json(v))
}

/// A competition's stem packs.
#[utoipa::path(get, path = "/api/v1/competitions/{id}/stem-packs", tag = "remix",
    params(("id" = String, Path, description = "Competition slug or id")),
    responses((status = 200, description = "The packs", body = [StemPackView]),
        (status = 404, description = "Not found", body = ErrorBody)))]
#[get("/api/v1/competitions/{id}/stem-packs")]
pub async fn list_packs(
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let v = service::packs(&state, who.as_ref(), &id).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// A stem pack: its files (stems with their analysis), tempo, key and licence.
#[utoipa::path(get, path = "/api/v1/stem-packs/{id}", tag = "remix",
    params(("id" = String, Path, description = "Pack id")),
    responses((status = 200, description = "The pack", body = StemPackView),
        (status = 404, description = "Not found", body = ErrorBody)))]
#[get("/api/v1/stem-packs/{id}")]
pub async fn get_pack(
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let v = service::get_pack(&state, who.as_ref(), &id).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Change a pack; a changed licence gets a new version that musicians accept again.
#[utoipa::path(patch, path = "/api/v1/stem-packs/{id}", tag = "remix", request_body = StemPackInput,
    params(("id" = String, Path, description = "Pack id")),
    responses((status = 200, description = "Saved", body = StemPackView),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 422, description = "A field is not valid", body = ErrorBody)),
    security(("bearer" = [])))]
#[patch("/api/v1/stem-packs/{id}")]
pub async fn update_pack(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<StemPackInput>,
) -> Result<HttpResponse, AppError> {
    let v = service::update_pack(&state, &who, &id, input.into_inner()).await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct FileQuery {
    /// `stem` (audio, analysed), `midi` or `lyrics` (plain text).
    pub kind: String,
    /// What it is, e.g. "Drums" (default: the file name).
    pub name: Option<String>,
    pub file_name: Option<String>,
}

/// Add a file to a pack (the body is the file).
#[utoipa::path(put, path = "/api/v1/stem-packs/{id}/files", tag = "remix",
    params(("id" = String, Path, description = "Pack id"), FileQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, description = "Stored; a stem's analysis is queued", body = StemFileView),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 413, description = "Larger than the limit", body = ErrorBody),
        (status = 415, description = "Not audio (stems), MIDI or text (lyrics)", body = ErrorBody),
        (status = 422, description = "Unknown kind", body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/api/v1/stem-packs/{id}/files")]
pub async fn put_file(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    q: web::Query<FileQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let meta = FileMeta {
        kind: q.kind,
        name: q.name.unwrap_or_default(),
        file_name: q.file_name.unwrap_or_default(),
        content_length: req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()),
    };
    crate::http::body::with_body(payload, |body| async move {
        let v = service::upload_file(&state, &who, &id, meta, body).await?;
        Ok(HttpResponse::Created().json(v))
    })
    .await
}

/// Remove a file from a pack.
#[utoipa::path(delete, path = "/api/v1/stem-files/{id}", tag = "remix",
    params(("id" = String, Path, description = "File id")),
    responses((status = 204, description = "Removed"),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[delete("/api/v1/stem-files/{id}")]
pub async fn delete_file(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    service::delete_file(&state, &who, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Accept a pack's licence (the version read; recorded with the account).
#[utoipa::path(post, path = "/api/v1/stem-packs/{id}/licence", tag = "remix", request_body = AcceptInput,
    params(("id" = String, Path, description = "Pack id")),
    responses((status = 200, description = "Accepted", body = StemPackView),
        (status = 403, description = "Email not verified", body = ErrorBody),
        (status = 409, description = "The licence changed since it was read", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/stem-packs/{id}/licence")]
pub async fn accept(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<AcceptInput>,
) -> Result<HttpResponse, AppError> {
    let v = super::links::accept(&state, &who, &id, input.into_inner()).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// A short-lived signed link to download a pack file (after accepting the licence).
#[utoipa::path(post, path = "/api/v1/stem-files/{id}/link", tag = "remix",
    params(("id" = String, Path, description = "File id")),
    responses((status = 200, description = "The link", body = DownloadLink),
        (status = 403, description = "The licence is not accepted yet", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/stem-files/{id}/link")]
pub async fn file_link(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let v = super::links::file_link(&state, &who, &id).await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SongLinkInput {
    /// The song's remix licence, accepted by asking.
    pub licence: String,
}

/// Accept a published song's remix licence and get a short-lived link to its audio.
#[utoipa::path(post, path = "/api/v1/entries/{id}/remix-link", tag = "remix", request_body = SongLinkInput,
    params(("id" = String, Path, description = "Entry id")),
    responses((status = 200, description = "The link", body = DownloadLink),
        (status = 403, description = "The musician does not allow remixes", body = ErrorBody),
        (status = 409, description = "The licence changed", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/entries/{id}/remix-link")]
pub async fn song_link(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<SongLinkInput>,
) -> Result<HttpResponse, AppError> {
    let v = super::links::song_link(&state, &who, &id, &input.licence).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// What a signed link opens: the file, counted (403 if forged, 410 once expired).
#[get("/downloads/{kind}/{id}")]
async fn download(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    q: web::Query<LinkQuery>,
) -> Result<HttpResponse, AppError> {
    let (kind, id) = path.into_inner();
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    match super::links::redeem(&state, &kind, &id, &q, range).await? {
        Some(d) => {
            let mut res =
                crate::http::files::audio_response(d.object, &d.content_type, &d.file_name);
            res.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                crate::http::files::disposition("attachment", &d.file_name)
                    .parse()
                    .map_err(AppError::internal)?,
            );
            Ok(res)
        }
        None => Ok(crate::http::files::bad_range_response(0)),
    }
}

/// Name (or change) what a remix is made from.
#[utoipa::path(put, path = "/api/v1/entries/{id}/source", tag = "remix", request_body = SourceInput,
    params(("id" = String, Path, description = "Entry id")),
    responses((status = 200, description = "Saved", body = SourceView),
        (status = 403, description = "Licence not accepted, or the song is not open to remixes", body = ErrorBody),
        (status = 422, description = "No such pack or public song", body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/api/v1/entries/{id}/source")]
pub async fn put_source(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<SourceInput>,
) -> Result<HttpResponse, AppError> {
    let v = service::set_source(&state, &who, &id, Some(input.into_inner())).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Remove a remix's source (refused in a remix competition).
#[utoipa::path(delete, path = "/api/v1/entries/{id}/source", tag = "remix",
    params(("id" = String, Path, description = "Entry id")),
    responses((status = 204, description = "Removed"),
        (status = 422, description = "A remix competition needs a source", body = ErrorBody)),
    security(("bearer" = [])))]
#[delete("/api/v1/entries/{id}/source")]
pub async fn delete_source(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    service::set_source(&state, &who, &id, None).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Open a published song to remixes (or close it), under a licence.
#[utoipa::path(put, path = "/api/v1/entries/{id}/remix-permission", tag = "remix", request_body = PermissionInput,
    params(("id" = String, Path, description = "Entry id")),
    responses((status = 200, description = "Saved", body = PermissionView),
        (status = 409, description = "Results are not published yet", body = ErrorBody),
        (status = 422, description = "Unknown licence", body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/api/v1/entries/{id}/remix-permission")]
pub async fn put_permission(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<PermissionInput>,
) -> Result<HttpResponse, AppError> {
    let v = service::set_permission(&state, &who, &id, input.into_inner()).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// A song's remix lineage (remix of, remixed by) and the credits it carries.
#[utoipa::path(get, path = "/api/v1/entries/{id}/lineage", tag = "remix",
    params(("id" = String, Path, description = "Entry id")),
    responses((status = 200, description = "The lineage", body = LineageView),
        (status = 404, description = "Not found or not public", body = ErrorBody)))]
#[get("/api/v1/entries/{id}/lineage")]
pub async fn lineage(
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let v = service::lineage(&state, who.as_ref(), &id).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Which of the source's stems were heard in a remix, and where (organisers).
#[utoipa::path(get, path = "/api/v1/entries/{id}/stem-check", tag = "remix",
    params(("id" = String, Path, description = "Entry id")),
    responses((status = 200, description = "The check", body = StemCheckView),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/entries/{id}/stem-check")]
pub async fn stem_check(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let v = super::check::stem_check(&state, &who, &id).await?;
    Ok(HttpResponse::Ok().json(v))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(put_settings)
        .service(get_settings)
        .service(create_pack)
        .service(list_packs)
        .service(get_pack)
        .service(update_pack)
        .service(put_file)
        .service(delete_file)
        .service(accept)
        .service(file_link)
        .service(song_link)
        .service(download)
        .service(put_source)
        .service(delete_source)
        .service(put_permission)
        .service(lineage)
        .service(stem_check);
}
