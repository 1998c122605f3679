//! JSON API of the account's own data: profile, avatar, sessions, export, erasure.

use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, post, put, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::extract::{AuthUser, clear_session_cookies};
use super::profile::{self, Profile, ProfileInput, SessionView};
use super::team::{self, AcceptInput, InvitationView, MemberView, TeamRole};
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;

/// The profile other people see (stage name, bio, links, avatar) and the language.
#[utoipa::path(get, path = "/api/v1/me/profile", tag = "accounts",
    responses((status = 200, description = "The profile", body = Profile), (status = 401, description = "Not signed in", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/me/profile")]
pub async fn get_profile(who: AuthUser) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(profile::profile_of(&who.user))
}

/// Change the profile.
#[utoipa::path(put, path = "/api/v1/me/profile", tag = "accounts", request_body = ProfileInput,
    responses((status = 200, description = "The new profile", body = Profile), (status = 422, description = "A field breaks a rule", body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/api/v1/me/profile")]
pub async fn put_profile(
    state: web::Data<AppState>,
    who: AuthUser,
    body: web::Json<ProfileInput>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(profile::update_profile(&state, &who, body.into_inner()).await?))
}

/// Upload an avatar: a PNG, JPEG or WebP image of at most 1 MiB, as the request body.
#[utoipa::path(put, path = "/api/v1/me/avatar", tag = "accounts", request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 200, description = "Stored", body = Profile), (status = 413, description = "Larger than 1 MiB", body = ErrorBody),
              (status = 422, description = "Not a PNG, JPEG or WebP image", body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/api/v1/me/avatar")]
pub async fn put_avatar(
    state: web::Data<AppState>,
    who: AuthUser,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(profile::set_avatar(&state, &who, body).await?))
}

/// Someone's avatar image.
#[utoipa::path(get, path = "/avatars/{user_id}", tag = "accounts",
    params(("user_id" = String, Path, description = "The person's id"),
        ("v" = Option<String>, Query, description = "The picture's version (from avatar_url): with it the answer is cached for a year"),
        ("w" = Option<u32>, Query, description = "The width wanted in pixels, rounded up to 96, 192, 320, 480, 640, 800, 960, 1280 or 1920 and never above the original's")),
    responses((status = 200, description = "The image", content_type = "image/png"), (status = 404, description = "No avatar", body = ErrorBody)))]
#[get("/avatars/{user_id}")]
pub async fn get_avatar(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<crate::http::pictures::PictureQuery>,
) -> Result<HttpResponse, AppError> {
    profile::avatar(&state, &path, &q).await
}

/// The account's active sessions (devices signed in).
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "accounts",
    responses((status = 200, description = "Sessions, most recently used first", body = Vec<SessionView>), (status = 401, description = "Not signed in", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/me/sessions")]
pub async fn list_sessions(
    state: web::Data<AppState>,
    who: AuthUser,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(profile::sessions(&state, &who).await?))
}

/// Sign one session out.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "accounts",
    params(("id" = String, Path, description = "Session id")),
    responses((status = 204, description = "Signed out"), (status = 404, description = "No such session of yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[delete("/api/v1/me/sessions/{id}")]
pub async fn delete_session(
    state: web::Data<AppState>,
    who: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    profile::revoke_session(&state, &who, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Download everything Cadenza holds about you, as JSON.
#[utoipa::path(get, path = "/api/v1/me/export", tag = "accounts",
    responses((status = 200, description = "Your data", body = Object), (status = 401, description = "Not signed in", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/me/export")]
pub async fn export(state: web::Data<AppState>, who: AuthUser) -> Result<HttpResponse, AppError> {
    let data = profile::export(&state, &who).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"cadenza-my-data.json\"",
        ))
        .json(data))
}

/// Download everything Cadenza holds about you as a ZIP: `data.json` (as the JSON
/// export) and the audio you uploaded, under `audio/`.
#[utoipa::path(get, path = "/api/v1/me/export.zip", tag = "accounts",
    responses((status = 200, description = "Your data and audio", content_type = "application/zip"), (status = 401, description = "Not signed in", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/me/export.zip")]
pub async fn export_zip(
    state: web::Data<AppState>,
    who: AuthUser,
) -> Result<HttpResponse, AppError> {
    let tmp = profile::export_zip(&state, &who).await?;
    let len = tmp.as_file().metadata().map_err(AppError::internal)?.len();
    // Opened, then unlinked: the file lives as long as the response reads it.
    let file = tokio::fs::File::open(tmp.path())
        .await
        .map_err(AppError::internal)?;
    drop(tmp);
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"cadenza-my-data.zip\"",
        ))
        .no_chunking(len)
        .streaming(tokio_util::io::ReaderStream::new(file)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteBody {
    /// The password; accounts without one type their email.
    pub confirmation: String,
}

/// Erase the account and everything that belongs to it.
#[utoipa::path(post, path = "/api/v1/me/delete", tag = "accounts", request_body = DeleteBody,
    responses((status = 204, description = "Erased"), (status = 422, description = "Wrong confirmation", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/me/delete")]
pub async fn delete_me(
    state: web::Data<AppState>,
    who: AuthUser,
    body: web::Json<DeleteBody>,
) -> Result<HttpResponse, AppError> {
    profile::delete_account(&state, &who, &body.confirmation).await?;
    let mut res = HttpResponse::NoContent();
    clear_session_cookies(&mut res);
    Ok(res.finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    pub email: String,
    /// Language of the invitation email for someone without an account: `en` or `zh-CN`.
    pub language: Option<String>,
}

/// Invite a judge to a competition you organise (an email with a link).
#[utoipa::path(post, path = "/api/v1/competitions/{id}/judges/invitations", tag = "accounts", request_body = InviteBody,
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 202, description = "Invitation sent"), (status = 404, description = "No competition you organise", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/competitions/{id}/judges/invitations")]
pub async fn invite_judge(
    state: web::Data<AppState>,
    who: AuthUser,
    path: web::Path<String>,
    body: web::Json<InviteBody>,
) -> Result<HttpResponse, AppError> {
    team::invite(
        &state,
        &who,
        &path,
        &body.email,
        body.language.as_deref(),
        TeamRole::Judge,
    )
    .await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "status": "invited" })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamInviteBody {
    pub email: String,
    /// `judge`, `co_organiser` (runs the competition like its creator) or `moderator`
    /// (moderates entries and votes; changes neither rules nor results).
    pub role: String,
    /// Language of the invitation email for someone without an account: `en` or `zh-CN`.
    pub language: Option<String>,
}

/// Invite someone to the competition's team. Inviting the same address to the same role
/// again replaces the earlier invitation (its link stops working).
#[utoipa::path(post, path = "/api/v1/competitions/{id}/invitations", tag = "accounts", request_body = TeamInviteBody,
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 201, description = "Invitation sent", body = InvitationView),
        (status = 404, description = "No competition you run", body = ErrorBody),
        (status = 422, description = "Bad address or role", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/competitions/{id}/invitations")]
pub async fn invite_member(
    state: web::Data<AppState>,
    who: AuthUser,
    path: web::Path<String>,
    body: web::Json<TeamInviteBody>,
) -> Result<HttpResponse, AppError> {
    let role = TeamRole::parse(&body.role)?;
    let v = team::invite(
        &state,
        &who,
        &path,
        &body.email,
        body.language.as_deref(),
        role,
    )
    .await?;
    Ok(HttpResponse::Created().json(v))
}

/// The invitations nobody has answered yet.
#[utoipa::path(get, path = "/api/v1/competitions/{id}/invitations", tag = "accounts",
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 200, description = "Newest first", body = Vec<InvitationView>),
        (status = 404, description = "No competition you run", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/competitions/{id}/invitations")]
pub async fn list_invitations(
    state: web::Data<AppState>,
    who: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(team::pending(&state, &who, &path).await?))
}

/// Send an invitation again: a new link; the old one stops working.
#[utoipa::path(post, path = "/api/v1/competitions/{id}/invitations/{invitation}/resend", tag = "accounts",
    params(("id" = String, Path, description = "Competition id"), ("invitation" = String, Path, description = "Invitation id")),
    responses((status = 200, description = "Sent again", body = InvitationView),
        (status = 404, description = "No such pending invitation", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/competitions/{id}/invitations/{invitation}/resend")]
pub async fn resend_invitation(
    state: web::Data<AppState>,
    who: AuthUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (cid, iid) = path.into_inner();
    Ok(HttpResponse::Ok().json(team::resend(&state, &who, &cid, &iid).await?))
}

/// Revoke an invitation: its link stops working at once.
#[utoipa::path(delete, path = "/api/v1/competitions/{id}/invitations/{invitation}", tag = "accounts",
    params(("id" = String, Path, description = "Competition id"), ("invitation" = String, Path, description = "Invitation id")),
    responses((status = 204, description = "Revoked"),
        (status = 404, description = "No such pending invitation", body = ErrorBody)),
    security(("bearer" = [])))]
#[delete("/api/v1/competitions/{id}/invitations/{invitation}")]
pub async fn revoke_invitation(
    state: web::Data<AppState>,
    who: AuthUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (cid, iid) = path.into_inner();
    team::revoke(&state, &who, &cid, &iid).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The competition's team: its creator, co-organisers, moderators and judges.
#[utoipa::path(get, path = "/api/v1/competitions/{id}/team", tag = "accounts",
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 200, description = "The team", body = Vec<MemberView>),
        (status = 404, description = "No competition you run", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/competitions/{id}/team")]
pub async fn list_team(
    state: web::Data<AppState>,
    who: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(team::members(&state, &who, &path).await?))
}

/// Take a co-organiser's or moderator's role in the competition away.
#[utoipa::path(delete, path = "/api/v1/competitions/{id}/team/{user}/{role}", tag = "accounts",
    params(("id" = String, Path, description = "Competition id"), ("user" = String, Path, description = "User id"),
        ("role" = String, Path, description = "`co_organiser` or `moderator`")),
    responses((status = 204, description = "Removed"),
        (status = 404, description = "Not on the team", body = ErrorBody)),
    security(("bearer" = [])))]
#[delete("/api/v1/competitions/{id}/team/{user}/{role}")]
pub async fn remove_member(
    state: web::Data<AppState>,
    who: AuthUser,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AppError> {
    let (cid, uid, role) = path.into_inner();
    team::remove(&state, &who, &cid, &uid, TeamRole::parse(&role)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Accept a judge invitation (creating the account if the address has none); signs in.
#[utoipa::path(post, path = "/api/v1/judge-invitations/accept", tag = "accounts", request_body = AcceptInput,
    responses((status = 200, description = "Signed in as a judge of the competition", body = crate::accounts::auth::Tokens),
              (status = 422, description = "Invalid token, or a new account without stage name and password", body = ErrorBody)))]
#[post("/api/v1/judge-invitations/accept")]
pub async fn accept_invitation(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<AcceptInput>,
) -> Result<HttpResponse, AppError> {
    let ua = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (tokens, _) = team::accept(&state, body.into_inner(), ua).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(tokens))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_profile)
        .service(put_profile)
        .service(put_avatar)
        .service(get_avatar)
        .service(list_sessions)
        .service(delete_session)
        .service(export)
        .service(export_zip)
        .service(delete_me)
        .service(invite_judge)
        .service(invite_member)
        .service(list_invitations)
        .service(resend_invitation)
        .service(revoke_invitation)
        .service(list_team)
        .service(remove_member)
        .service(accept_invitation);
}
