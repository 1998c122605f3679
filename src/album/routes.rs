//! The album's JSON API, the track audio for the player, the cover picture and the
//! signed download address.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use bytes::Bytes;

use super::model::*;
use super::public::LinkQuery;
use super::service;
use crate::accounts::model::AuthUser;
use crate::error::{AppError, ErrorBody};
use crate::http::no_store;
use crate::http::pictures::{PictureQuery, picture_response};
use crate::state::AppState;

fn range(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
}

/// The album of a competition, as its organisers see it: tracks, credits, who has not
/// agreed yet, the release files' measured loudness.
#[utoipa::path(get, path = "/api/v1/competitions/{id}/album", tag = "album",
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 200, description = "The album", body = AlbumView),
        (status = 404, description = "Not found, or no album yet (`album.none`)", body = ErrorBody)))]
#[get("/api/v1/competitions/{id}/album")]
pub async fn get_album(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(service::organiser_view(&state, &who, &id).await?))
}

/// Start or change the album (needs published results). The first time, its tracks are
/// the results in order with the entries' credits.
#[utoipa::path(put, path = "/api/v1/competitions/{id}/album", tag = "album",
    params(("id" = String, Path, description = "Competition id")),
    request_body = AlbumInput,
    responses((status = 200, description = "The album", body = AlbumView),
        (status = 409, description = "`album.results_not_published`", body = ErrorBody),
        (status = 422, description = "Invalid settings", body = ErrorBody)))]
#[put("/api/v1/competitions/{id}/album")]
pub async fn put_album(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    body: web::Json<AlbumInput>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(
        service::put(&state, &who, &id, body.into_inner()).await?,
    ))
}

/// The album's cover (PNG, JPEG or WebP, up to 5 MiB), as the request body.
#[utoipa::path(put, path = "/api/v1/competitions/{id}/album/cover", tag = "album",
    params(("id" = String, Path, description = "Competition id")),
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 204, description = "Stored"),
        (status = 413, description = "Too large", body = ErrorBody),
        (status = 422, description = "Not a picture we can use", body = ErrorBody)))]
#[put("/api/v1/competitions/{id}/album/cover")]
pub async fn put_cover(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    service::set_cover(&state, &who, &id, body).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Make the release files (FLAC and MP3 of every agreed track, and the ZIP), in the
/// background; the album's `release_state` follows.
#[utoipa::path(post, path = "/api/v1/competitions/{id}/album/release", tag = "album",
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 202, description = "Being prepared", body = AlbumView),
        (status = 409, description = "`album.nothing_agreed`", body = ErrorBody)))]
#[post("/api/v1/competitions/{id}/album/release")]
pub async fn prepare(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let v = service::prepare(&state, &who, &id).await?;
    Ok(HttpResponse::Accepted().json(v))
}

/// Publish the album page (or take it down). Publishing needs release files made from
/// the album as it stands.
#[utoipa::path(post, path = "/api/v1/competitions/{id}/album/publish", tag = "album",
    params(("id" = String, Path, description = "Competition id")),
    request_body = PublishInput,
    responses((status = 200, description = "The album", body = AlbumView),
        (status = 409, description = "`album.release_not_ready`", body = ErrorBody)))]
#[post("/api/v1/competitions/{id}/album/publish")]
pub async fn publish(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    body: web::Json<PublishInput>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(
        service::publish(&state, &who, &id, body.into_inner()).await?,
    ))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Sent {
    pub sent: usize,
}

/// Email every musician (and guardian) whose agreement is still missing.
#[utoipa::path(post, path = "/api/v1/competitions/{id}/album/requests", tag = "album",
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 200, description = "How many emails", body = Sent)))]
#[post("/api/v1/competitions/{id}/album/requests")]
pub async fn requests(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let sent = service::ask_everyone(&state, &who, &id).await?;
    Ok(no_store(Sent { sent }))
}

/// The album for everyone (published), or for its organisers (any time).
#[utoipa::path(get, path = "/api/v1/albums/{id}", tag = "album",
    params(("id" = String, Path, description = "Competition id or slug")),
    responses((status = 200, description = "The album", body = PublicAlbum),
        (status = 404, description = "Not found or not published", body = ErrorBody)))]
#[get("/api/v1/albums/{id}")]
pub async fn public_album(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let l = crate::web::locale_of(&req);
    Ok(no_store(
        service::public_album(&state, who.as_ref(), &id, l).await?,
    ))
}

/// The release terms a musician is asked to agree to, with their tracks on the album.
#[utoipa::path(get, path = "/api/v1/albums/{id}/terms", tag = "album",
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 200, description = "The terms", body = TermsView),
        (status = 404, description = "`album.not_on_album`", body = ErrorBody)))]
#[get("/api/v1/albums/{id}/terms")]
pub async fn terms(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(service::terms_for(&state, &who, &id).await?))
}

/// A musician agrees to the release terms (the version read) for their tracks; for a
/// minor, their guardian is asked next.
#[utoipa::path(post, path = "/api/v1/albums/{id}/agreement", tag = "album",
    params(("id" = String, Path, description = "Competition id")),
    request_body = AgreeInput,
    responses((status = 200, description = "Agreed", body = TermsView),
        (status = 409, description = "`album.terms_changed`", body = ErrorBody),
        (status = 422, description = "`album.guardian_email_needed`", body = ErrorBody)))]
#[post("/api/v1/albums/{id}/agreement")]
pub async fn agree(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    body: web::Json<AgreeInput>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(
        service::agree(&state, &who, &id, body.into_inner()).await?,
    ))
}

/// A guardian agrees through the link they were sent.
#[utoipa::path(post, path = "/api/v1/album-guardian/agreement", tag = "album",
    request_body = GuardianAgreeInput,
    responses((status = 204, description = "Agreed"),
        (status = 409, description = "`album.terms_changed`", body = ErrorBody),
        (status = 422, description = "`album.link_invalid`", body = ErrorBody)))]
#[post("/api/v1/album-guardian/agreement")]
pub async fn guardian_agree(
    state: web::Data<AppState>,
    body: web::Json<GuardianAgreeInput>,
) -> Result<HttpResponse, AppError> {
    service::guardian_agree(&state, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A track's MP3 for the album's player.
#[utoipa::path(get, path = "/api/v1/albums/{id}/tracks/{entry}/audio", tag = "album",
    params(("id" = String, Path, description = "Competition id"), ("entry" = String, Path, description = "Entry id")),
    responses((status = 200, description = "MP3", content_type = "audio/mpeg"),
        (status = 206, description = "Part of it"),
        (status = 404, description = "Not on the published album", body = ErrorBody)))]
#[get("/api/v1/albums/{id}/tracks/{entry}/audio")]
pub async fn track_audio(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, entry) = path.into_inner();
    let f = service::track_audio(&state, who.as_ref(), &id, &entry, range(&req)).await?;
    Ok(crate::http::files::response(f))
}

/// A short-lived signed link to the album's ZIP (organisers; everyone if allowed).
#[utoipa::path(post, path = "/api/v1/albums/{id}/download-link", tag = "album",
    params(("id" = String, Path, description = "Competition id or slug")),
    responses((status = 200, description = "The link", body = DownloadLink),
        (status = 403, description = "`album.download_not_allowed`", body = ErrorBody)))]
#[post("/api/v1/albums/{id}/download-link")]
pub async fn download_link(
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(
        service::download_link(&state, who.as_ref(), &id).await?,
    ))
}

/// What a signed link opens: the ZIP, counted (403 if forged, 410 once expired).
#[utoipa::path(get, path = "/album-downloads/{id}", tag = "album",
    params(("id" = String, Path, description = "Competition id"), LinkQuery),
    responses((status = 200, description = "The ZIP", content_type = "application/zip"),
        (status = 403, description = "`album.link_invalid`", body = ErrorBody),
        (status = 410, description = "`album.link_expired`", body = ErrorBody)))]
#[get("/album-downloads/{id}")]
pub async fn download(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<LinkQuery>,
) -> Result<HttpResponse, AppError> {
    let (f, name) = service::redeem(&state, &id, &q, range(&req)).await?;
    let mut res = crate::http::files::response(f);
    if let Ok(v) =
        header::HeaderValue::from_str(&crate::http::files::disposition("attachment", &name))
    {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

#[get("/images/albums/{id}")]
async fn cover_image(
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<PictureQuery>,
) -> Result<HttpResponse, AppError> {
    let key = service::cover_key(&state, &id).await?;
    picture_response(
        &state.storage,
        &key,
        &q,
        crate::competitions::service::MAX_IMAGE_BYTES,
        "cover",
    )
    .await
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_album)
        .service(put_album)
        .service(put_cover)
        .service(prepare)
        .service(publish)
        .service(requests)
        .service(public_album)
        .service(terms)
        .service(agree)
        .service(guardian_agree)
        .service(track_audio)
        .service(download_link)
        .service(download)
        .service(cover_image);
}
