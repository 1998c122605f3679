//! The presenter screen (a projector or a live stream, 1920×1080) and the show control
//! (the organiser's phone). Both work without JavaScript; with it the presenter screen
//! follows the show's live stream and the control stays where it is.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;

use super::model::ShowView;
use super::service;
use crate::accounts::model::{AuthUser, PageUser};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{PageCtx, form_error, render, render_with_status, see_other};

/// Points as a screen shows them: whole numbers whole, else two decimals.
pub fn points(x: &f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{}", x.round() as i64)
    } else {
        format!("{x:.2}")
    }
}

/// A bar's width in percent.
fn width(share: &Option<f64>) -> String {
    format!("{:.1}", share.unwrap_or(0.0).clamp(0.0, 1.0) * 100.0)
}

#[derive(Template)]
#[template(path = "show/presenter.html")]
struct PresenterPage {
    ctx: PageCtx,
    v: ShowView,
    json: String,
    vote_url: String,
    qr_url: String,
}

impl PresenterPage {
    fn points(&self, x: &f64) -> String {
        points(x)
    }
    fn width(&self, share: &Option<f64>) -> String {
        width(share)
    }
}

#[get("/c/{slug}/show/{round}")]
async fn presenter(
    state: web::Data<AppState>,
    ctx: PageCtx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (slug, round) = path.into_inner();
    let v = service::view(&state, &round, ctx.l).await?;
    if v.competition_slug != slug {
        return Err(AppError::NotFound);
    }
    let (vote_url, qr_url) = service::vote_link(&state, &round, ctx.l).await?;
    render(&PresenterPage {
        json: crate::web::script_json(&v),
        ctx,
        v,
        vote_url,
        qr_url,
    })
}

#[derive(Template)]
#[template(path = "show/control.html")]
struct ControlPage {
    ctx: PageCtx,
    v: ShowView,
    presenter_url: String,
    /// The song the last press revealed, by name.
    current: Option<String>,
    error: Option<String>,
}

impl ControlPage {
    fn points(&self, x: &f64) -> String {
        points(x)
    }
}

async fn control_page(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    id: &str,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let v = service::control(state, who, id, ctx.l).await?;
    let current = v.reveal.as_ref().and_then(|r| {
        let cur = r.current.as_ref()?;
        r.lines
            .iter()
            .find(|l| &l.entry_id == cur)
            .map(|l| l.title.clone())
    });
    let page = ControlPage {
        presenter_url: format!("/c/{}/show/{}", v.competition_slug, v.round_id),
        ctx: ctx.signed_in(&who.user.display_name),
        v,
        current,
        error,
    };
    render_with_status(&page, status)
}

#[get("/organise/voting/{id}/show")]
async fn control(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    control_page(&state, ctx, &who.0, &id, None, StatusCode::OK).await
}

/// A press: `open`, `close`, `next`, `back` or `restart`; back to the control after.
#[post("/organise/voting/{id}/show/{action}")]
async fn press(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, action) = path.into_inner();
    let done = match action.as_str() {
        "open" | "close" => {
            crate::voting::service::open_or_close_now(&state, &who, &id, action == "open")
                .await
                .map(|_| ())
        }
        _ => service::reveal(&state, &who, &id, &action, ctx.l)
            .await
            .map(|_| ()),
    };
    match done {
        Ok(()) => Ok(see_other(&format!("/organise/voting/{id}/show"))),
        Err(e) if form_error(&e) => {
            let (msg, status) = (e.message(ctx.l), e.status());
            control_page(&state, ctx, &who, &id, Some(msg), status).await
        }
        Err(e) => Err(e),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(presenter).service(control).service(press);
}
