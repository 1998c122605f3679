//! The comment forms behind a song's page (post, report, hide, restore, the musician's
//! switch) and the organisers' moderation queue. The song's page itself shows the lane
//! and the list (`comments/_song.html`, included by the song page).

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::model::{CommentInput, CommentView};
use super::service;
use crate::accounts::model::{AuthUser, PageUser};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{PageCtx, form_error, render, see_other};

fn back(id: &str, error: Option<&str>) -> HttpResponse {
    match error {
        Some(code) => see_other(&format!("/songs/{id}?comment_error={code}#comments")),
        None => see_other(&format!("/songs/{id}#comments")),
    }
}

fn refused(id: &str, e: AppError) -> Result<HttpResponse, AppError> {
    match e {
        AppError::RateLimited { .. } => Ok(back(id, Some("comment.too_many"))),
        e if form_error(&e) => Ok(back(id, Some(e.code()))),
        e => Err(e),
    }
}

#[derive(Deserialize)]
struct PostForm {
    /// The moment: seconds, or a clock (`0:42`).
    at: String,
    body: String,
}

/// `0:42`, `1:02:03` or `42.5` as seconds.
fn seconds(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.contains(':') {
        s.split(':').try_fold(0.0, |acc, p| {
            p.trim().parse::<f64>().ok().map(|x| acc * 60.0 + x)
        })
    } else {
        s.parse().ok()
    }
}

#[post("/songs/{id}/comments")]
async fn post_comment(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    id: web::Path<String>,
    form: web::Form<PostForm>,
) -> Result<HttpResponse, AppError> {
    let Some(who) = who else {
        return Ok(back(&id, Some("auth.required")));
    };
    let Some(at_secs) = seconds(&form.at) else {
        return Ok(back(&id, Some("comment.time_invalid")));
    };
    let input = CommentInput {
        at_secs,
        body: form.body.clone(),
    };
    let addr = super::routes::address(&req, &state);
    match service::post(&state, &who, &id, &input, &addr).await {
        Ok(_) => Ok(back(&id, None)),
        Err(e) => refused(&id, e),
    }
}

#[derive(Deserialize)]
struct NextForm {
    /// Where to go back to (a local path): the song, or the organisers' queue.
    #[serde(default)]
    next: String,
}

fn next_or(next: &str, fallback: String) -> HttpResponse {
    if next.starts_with('/') && !next.starts_with("//") {
        see_other(next)
    } else {
        see_other(&fallback)
    }
}

#[post("/comments/{id}/{action}")]
async fn act(
    state: web::Data<AppState>,
    who: AuthUser,
    path: web::Path<(String, String)>,
    form: web::Form<NextForm>,
) -> Result<HttpResponse, AppError> {
    let (id, action) = path.into_inner();
    let song = |v: &CommentView| format!("/songs/{}#comments", v.entry_id);
    match action.as_str() {
        "report" => match service::report(&state, &who, &id).await {
            Ok(()) => Ok(next_or(&form.next, "/".into())),
            Err(e) if form_error(&e) => Ok(next_or(&form.next, "/".into())),
            Err(e) => Err(e),
        },
        "hide" | "restore" => {
            let v = service::moderate(&state, &who, &id, action == "hide").await?;
            Ok(next_or(&form.next, song(&v)))
        }
        _ => Err(AppError::NotFound),
    }
}

#[derive(Deserialize)]
struct SwitchForm {
    enabled: String,
}

#[post("/songs/{id}/comments/switch")]
async fn switch(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<SwitchForm>,
) -> Result<HttpResponse, AppError> {
    match service::switch(&state, &who, &id, form.enabled == "yes").await {
        Ok(()) => Ok(back(&id, None)),
        Err(e) => refused(&id, e),
    }
}

#[derive(Template)]
#[template(path = "comments/queue.html")]
struct QueuePage {
    ctx: PageCtx,
    competition_id: String,
    here: String,
    items: Vec<CommentView>,
}

#[get("/organise/{id}/comments")]
async fn queue_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    let items = service::queue(&state, &who, &id).await?;
    render(&QueuePage {
        here: format!("/organise/{id}/comments"),
        competition_id: id.into_inner(),
        ctx: ctx.signed_in(&who.user.display_name),
        items,
    })
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(post_comment)
        .service(switch)
        .service(act)
        .service(queue_page);
}

#[cfg(test)]
mod tests {
    #[test]
    fn clocks_and_seconds() {
        assert_eq!(super::seconds("0:42"), Some(42.0));
        assert_eq!(super::seconds("1:02:03"), Some(3723.0));
        assert_eq!(super::seconds(" 42.5 "), Some(42.5));
        assert_eq!(super::seconds("soon"), None);
    }
}
