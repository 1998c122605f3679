//! The album's pages: the organiser's (settings, tracks and credits, who has not agreed,
//! the release files and their measured loudness, publishing, the download), the
//! musician's terms, the guardian's link, and the public album page with its
//! continuous player. Every form works without JavaScript.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::model::*;
use super::service;
use crate::accounts::model::{AuthUser, PageUser};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{PageCtx, form_error, render, render_with_status, see_other};

/// Minutes and seconds of a duration.
pub fn clock(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

/// A level in decibels as people read it: one decimal and a real minus sign.
fn lufs(v: &Option<f64>) -> String {
    v.map(|x| format!("{x:.1}").replace('-', "−"))
        .unwrap_or_else(|| "–".into())
}

#[derive(Template)]
#[template(path = "album/organise.html")]
struct OrganisePage {
    ctx: PageCtx,
    competition_id: String,
    a: Option<AlbumView>,
    error: Option<String>,
    notice: Option<String>,
}

impl OrganisePage {
    fn db(&self, x: &f64) -> String {
        lufs(&Some(*x))
    }
    fn lufs(&self, v: &Option<f64>) -> String {
        lufs(v)
    }
    fn composers(&self, t: &TrackView) -> String {
        t.composers.join(", ")
    }
    fn agreement(&self, t: &TrackView) -> &'static str {
        match t.agreement {
            Agreement::Agreed => self.ctx.t("album.agreed"),
            Agreement::WaitingForMusician => self.ctx.t("album.waiting_musician"),
            Agreement::WaitingForGuardian => self.ctx.t("album.waiting_guardian"),
        }
    }
    fn agreement_code(&self, t: &TrackView) -> &'static str {
        match t.agreement {
            Agreement::Agreed => "agreed",
            Agreement::WaitingForMusician => "musician",
            Agreement::WaitingForGuardian => "guardian",
        }
    }
    fn level(&self, r: &TrackRelease) -> String {
        let key = if r.peak_limited {
            "album.level_peak_limited"
        } else {
            "album.level_target"
        };
        self.ctx.tf(key, "lufs", &lufs(&r.mp3.integrated_lufs))
    }
    fn mib(&self, n: &i64) -> String {
        format!("{:.1}", *n as f64 / 1_048_576.0)
    }
}

async fn organise_page(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    id: &str,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let a = match service::organiser_view(state, who, id).await {
        Ok(a) => Some(a),
        Err(e) if e.code() == "album.none" => None,
        Err(e) => return Err(e),
    };
    render_with_status(
        &OrganisePage {
            ctx: ctx.signed_in(&who.user.display_name),
            competition_id: id.to_string(),
            a,
            error,
            notice,
        },
        status,
    )
}

#[derive(Deserialize)]
struct NoticeQuery {
    #[serde(default)]
    sent: Option<usize>,
}

#[get("/organise/{id}/album")]
async fn organise(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    id: web::Path<String>,
    q: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    let notice = q
        .sent
        .map(|n| ctx.tf("album.requests_sent", "count", &n.to_string()));
    organise_page(&state, ctx, &who.0, &id, None, notice, StatusCode::OK).await
}

/// The answer to an organiser's form: back to the page, or the page with the message.
async fn after(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    id: &str,
    done: Result<String, AppError>,
) -> Result<HttpResponse, AppError> {
    match done {
        Ok(to) => Ok(see_other(&to)),
        Err(e) if form_error(&e) => {
            let (msg, status) = (e.message(ctx.l), e.status());
            organise_page(state, ctx, who, id, Some(msg), None, status).await
        }
        Err(e) => Err(e),
    }
}

/// The settings form and the tracks form post here; `part` says which.
#[post("/organise/{id}/album")]
async fn organise_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let fields: HashMap<String, String> = form.iter().cloned().collect();
    let get = |k: &str| fields.get(k).cloned();
    let mut input = AlbumInput::default();
    match get("part").as_deref() {
        Some("settings") => {
            input.title = get("title");
            input.artist = get("artist");
            input.description = get("description");
            input.terms = get("terms");
            input.public_download = Some(get("public_download").is_some());
            input.year = match get("year").map(|y| y.trim().parse::<i32>()) {
                Some(Ok(y)) => Some(y),
                Some(Err(_)) => Some(0),
                None => None,
            };
            input.target_lufs =
                match get("target_lufs").map(|y| y.trim().replace('−', "-").parse::<f64>()) {
                    Some(Ok(t)) => Some(t),
                    Some(Err(_)) => Some(f64::NAN),
                    None => None,
                };
        }
        Some("tracks") => input.tracks = Some(tracks_of(&form)),
        _ => {}
    }
    let done = service::put(&state, &who, &id, input)
        .await
        .map(|_| format!("/organise/{id}/album"));
    after(&state, ctx, &who, &id, done).await
}

/// The tracks form: for each row `entry`, `include`, `position`, `artist`,
/// `composers` (one per line or comma), `producer`, `lyrics`, all suffixed `_<n>`.
fn tracks_of(form: &[(String, String)]) -> Vec<TrackInput> {
    let fields: HashMap<&str, &str> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut rows: Vec<(f64, usize, TrackInput)> = Vec::new();
    for n in 0..500usize {
        let Some(entry) = fields.get(format!("entry_{n}").as_str()) else {
            break;
        };
        if !fields.contains_key(format!("include_{n}").as_str()) {
            continue;
        }
        let f = |k: &str| {
            fields
                .get(format!("{k}_{n}").as_str())
                .map(|s| s.to_string())
        };
        let position = f("position")
            .and_then(|p| p.trim().parse::<f64>().ok())
            .unwrap_or(1000.0 + n as f64);
        rows.push((
            position,
            n,
            TrackInput {
                entry_id: entry.to_string(),
                artist: f("artist"),
                composers: f("composers").map(|c| {
                    c.split([',', '\n', '，', '、'])
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                }),
                producer: f("producer"),
                lyrics: f("lyrics"),
            },
        ));
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    rows.into_iter().map(|r| r.2).collect()
}

/// `start`, `release`, `publish`, `unpublish`, `requests` or `download`.
#[post("/organise/{id}/album/{action}")]
async fn organise_action(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, action) = path.into_inner();
    let back = format!("/organise/{id}/album");
    let done = match action.as_str() {
        "start" => service::put(&state, &who, &id, AlbumInput::default())
            .await
            .map(|_| back),
        "release" => service::prepare(&state, &who, &id).await.map(|_| back),
        "publish" | "unpublish" => service::publish(
            &state,
            &who,
            &id,
            PublishInput {
                published: action == "publish",
            },
        )
        .await
        .map(|_| back),
        "requests" => service::ask_everyone(&state, &who, &id)
            .await
            .map(|n| format!("{back}?sent={n}")),
        "download" => service::download_link(&state, Some(&who), &id)
            .await
            .map(|l| l.url),
        _ => Err(AppError::NotFound),
    };
    after(&state, ctx, &who, &id, done).await
}

#[derive(Template)]
#[template(path = "album/terms.html")]
struct TermsPage {
    ctx: PageCtx,
    t: TermsView,
    error: Option<String>,
}

impl TermsPage {
    /// `agreed`, `guardian` (waiting for one) or `musician` (not agreed yet).
    fn state(&self) -> &'static str {
        match self.t.agreement {
            Some(Agreement::Agreed) => "agreed",
            Some(Agreement::WaitingForGuardian) => "guardian",
            _ => "musician",
        }
    }
}

async fn terms_page(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    id: &str,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let t = service::terms_for(state, who, id).await?;
    render_with_status(
        &TermsPage {
            ctx: ctx.signed_in(&who.user.display_name),
            t,
            error,
        },
        status,
    )
}

#[get("/albums/{id}/terms")]
async fn terms(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    terms_page(&state, ctx, &who.0, &id, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct AgreeForm {
    terms_version: i32,
    #[serde(default)]
    guardian_email: String,
}

#[post("/albums/{id}/terms")]
async fn terms_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<AgreeForm>,
) -> Result<HttpResponse, AppError> {
    let input = AgreeInput {
        terms_version: form.terms_version,
        guardian_email: Some(form.guardian_email.clone()),
    };
    match service::agree(&state, &who, &id, input).await {
        Ok(_) => Ok(see_other(&format!("/albums/{id}/terms"))),
        Err(e) if form_error(&e) => {
            let (msg, status) = (e.message(ctx.l), e.status());
            terms_page(&state, ctx, &who, &id, Some(msg), status).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "album/guardian.html")]
struct GuardianPage {
    ctx: PageCtx,
    g: service::GuardianView,
    token: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[get("/albums/guardian")]
async fn guardian(
    state: web::Data<AppState>,
    ctx: PageCtx,
    q: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let g = service::guardian_view(&state, &q.token).await?;
    render(&GuardianPage {
        ctx,
        g,
        token: q.token.clone(),
        error: None,
    })
}

#[derive(Deserialize)]
struct GuardianForm {
    token: String,
    terms_version: i32,
    #[serde(default)]
    name: String,
}

#[post("/albums/guardian")]
async fn guardian_submit(
    state: web::Data<AppState>,
    ctx: PageCtx,
    form: web::Form<GuardianForm>,
) -> Result<HttpResponse, AppError> {
    let input = GuardianAgreeInput {
        token: form.token.clone(),
        terms_version: form.terms_version,
        name: form.name.clone(),
    };
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", &form.token)
        .finish();
    match service::guardian_agree(&state, input).await {
        Ok(()) => Ok(see_other(&format!("/albums/guardian?{query}"))),
        Err(e) if form_error(&e) => {
            let msg = e.message(ctx.l);
            let g = service::guardian_view(&state, &form.token).await?;
            render_with_status(
                &GuardianPage {
                    ctx,
                    g,
                    token: form.token.clone(),
                    error: Some(msg),
                },
                e.status(),
            )
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "album/public.html")]
struct AlbumPage {
    ctx: PageCtx,
    a: PublicAlbum,
    json: String,
    page_url: String,
    image_url: Option<String>,
    error: Option<String>,
}

impl AlbumPage {
    fn target(&self) -> String {
        format!("{:.0}", self.a.target_lufs).replace('-', "−")
    }
    fn clock(&self, secs: &f64) -> String {
        clock(*secs)
    }
    fn ai(&self, t: &PublicTrack) -> Option<String> {
        crate::competitions::domain::ai::describe(self.ctx.l, t.ai_use.as_deref())
    }
    fn composers(&self, t: &PublicTrack) -> String {
        t.composers.join(", ")
    }
    fn level(&self, t: &PublicTrack) -> String {
        let key = if t.peak_limited {
            "album.level_peak_limited"
        } else {
            "album.level_target"
        };
        self.ctx.tf(key, "lufs", &lufs(&t.integrated_lufs))
    }
}

async fn album_page(
    state: &AppState,
    ctx: PageCtx,
    who: Option<&AuthUser>,
    slug: &str,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let a = service::public_album(state, who, slug, ctx.l).await?;
    let base = state
        .settings
        .server
        .public_url
        .trim_end_matches('/')
        .to_string();
    let ctx = match who {
        Some(w) => ctx.signed_in(&w.user.display_name),
        None => ctx,
    };
    render(&AlbumPage {
        json: crate::web::script_json(&a),
        page_url: format!("{base}/c/{}/album", a.competition_slug),
        image_url: a
            .cover_url
            .as_ref()
            .map(|u| format!("{base}{}", crate::media::picture::url_at(u, 1200))),
        ctx,
        a,
        error,
    })
}

#[get("/c/{slug}/album")]
async fn public_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: Option<AuthUser>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    album_page(&state, ctx, who.as_ref(), &slug, None).await
}

#[post("/c/{slug}/album/download")]
async fn public_download(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: Option<AuthUser>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    match service::download_link(&state, who.as_ref(), &slug).await {
        Ok(l) => Ok(see_other(&l.url)),
        Err(e) if form_error(&e) => {
            let msg = e.message(ctx.l);
            album_page(&state, ctx, who.as_ref(), &slug, Some(msg)).await
        }
        Err(e) => Err(e),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(organise)
        .service(organise_submit)
        .service(organise_action)
        .service(terms)
        .service(terms_submit)
        .service(guardian)
        .service(guardian_submit)
        .service(public_page)
        .service(public_download);
}
