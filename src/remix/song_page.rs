//! A published song's page: the song and its player, the listeners' comments, its remix
//! lineage, and the download of a song open to remixes.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::model::*;
use super::pages::Panel;
use super::service;
use crate::accounts::model::AuthUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{PageCtx, form_error, render_with_status, see_other};

#[derive(Template)]
#[template(path = "remix/song.html")]
struct SongPage {
    ctx: PageCtx,
    song: SongRef,
    panel: Panel,
    error: Option<String>,
    canonical_url: String,
    /// The listeners' comments (the lane and the list), when the song is public.
    comments: Option<crate::comments::model::SongComments>,
    /// The comments as JSON for the lane (cannot end its `<script>`).
    comments_json: String,
    /// Why a comment form came back, in words.
    comment_error: Option<String>,
}

async fn song_page(
    state: &AppState,
    ctx: PageCtx,
    who: Option<&AuthUser>,
    id: &str,
    error: Option<String>,
    comment_error: Option<&str>,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, AppError> {
    let (song, lineage) = service::public_song(state, who, id).await?;
    let ctx = match who {
        Some(w) => ctx.signed_in(&w.user.display_name),
        None => ctx,
    };
    let panel = Panel::new(lineage, None);
    let comments = match crate::comments::service::song_comments(state, who, id).await {
        Ok(c) => Some(c),
        Err(AppError::NotFound) => None,
        Err(e) => return Err(e),
    };
    let comments_json = crate::web::script_json(&comments);
    let comment_error = comment_error.and_then(|c| crate::comments::domain::message(ctx.l, c));
    let page = SongPage {
        canonical_url: format!("{}{}", state.settings.base_url(), service::song_path(id)),
        ctx,
        song,
        panel,
        error,
        comments,
        comments_json,
        comment_error,
    };
    render_with_status(&page, status)
}

#[derive(Deserialize)]
struct SongQuery {
    comment_error: Option<String>,
}

#[get("/songs/{id}")]
pub(super) async fn song_show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: Option<AuthUser>,
    id: web::Path<String>,
    q: web::Query<SongQuery>,
) -> Result<HttpResponse, AppError> {
    song_page(
        &state,
        ctx,
        who.as_ref(),
        &id,
        None,
        q.comment_error.as_deref(),
        actix_web::http::StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
struct SongDownloadForm {
    licence: String,
}

#[post("/songs/{id}/download")]
pub(super) async fn download_song(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<SongDownloadForm>,
) -> Result<HttpResponse, AppError> {
    match super::links::song_link(&state, &who, &id, &form.licence).await {
        Ok(link) => Ok(see_other(&link.url)),
        Err(e) if form_error(&e) => {
            let (msg, status) = (e.message(ctx.l), e.status());
            song_page(&state, ctx, Some(&who), &id, Some(msg), None, status).await
        }
        Err(e) => Err(e),
    }
}
