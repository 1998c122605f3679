//! Pages of public voting: the gallery (each viewer's own order), an entry's shareable
//! voting page, the live leaderboard. Voting itself needs JavaScript (the proof of work
//! runs in a Web Worker). The organiser's pages are `organiser_pages`.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;

use super::model::*;
use super::service;
use crate::accounts::model::AuthUser;
use crate::error::AppError;
use crate::error::OrNone as _;
use crate::state::AppState;
use crate::web::{PageCtx, render, script_json, see_other};

const SEED_COOKIE: &str = "cadenza-seed";

use crate::time::when;

/// The voting round open now (or the next, or the last) of a competition.
#[get("/c/{slug}/vote")]
async fn current(
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    match service::current_round(&state, who.as_ref(), &slug).await? {
        Some(r) => Ok(see_other(&format!(
            "/c/{}/vote/{}",
            r.competition_slug, r.id
        ))),
        None => Err(AppError::NotFound),
    }
}

#[derive(Template)]
#[template(path = "voting/gallery.html")]
struct GalleryPage {
    ctx: PageCtx,
    g: Gallery,
    competition_title: String,
    opens: String,
    closes: String,
    config: String,
    sign_in: String,
    url: String,
    results_out: bool,
}

fn page_config(g: &Gallery, ctx: &PageCtx) -> String {
    script_json(&serde_json::json!({
        "text": {
            "solving": ctx.t("voting.js_solving"),
            "sending": ctx.t("voting.js_sending"),
            "counted": ctx.t("voting.js_counted"),
            "held": ctx.t("voting.js_held"),
            "listen": ctx.t("voting.js_listen"),
            "failed": ctx.t("voting.js_failed"),
            "remaining": ctx.t("voting.remaining"),
            "my_votes": ctx.t("voting.my_votes"),
        },
        "round": g.round.id,
        "min_listen_secs": g.round.min_listen_secs,
        "signed_in": g.me.is_some(),
        "can_vote": g.me.as_ref().map(|m| m.can_vote).unwrap_or(false),
        "remaining": g.me.as_ref().map(|m| m.remaining).unwrap_or(0),
    }))
}

fn seed_of(req: &HttpRequest) -> (String, bool) {
    match req.cookie(SEED_COOKIE) {
        Some(c) if !c.value().is_empty() && c.value().len() <= 64 => (c.value().to_string(), false),
        _ => (uuid::Uuid::new_v4().simple().to_string(), true),
    }
}

fn with_seed(mut res: HttpResponse, seed: &str, fresh: bool) -> HttpResponse {
    if fresh {
        let c = Cookie::build(SEED_COOKIE, seed.to_string())
            .path("/")
            .same_site(SameSite::Lax)
            .http_only(true)
            .max_age(actix_web::cookie::time::Duration::days(30))
            .finish();
        let _ = res.add_cookie(&c);
    }
    res
}

/// What the gallery and a song's page show: the viewer's gallery, the seed of its order
/// (and whether the cookie is new), the competition's title and time zone.
struct Viewed {
    g: Gallery,
    seed: String,
    fresh: bool,
    title: String,
    tz: String,
    /// The competition's results are public (a closed vote links to them).
    results_out: bool,
}

async fn gallery_for(
    state: &AppState,
    req: &HttpRequest,
    who: Option<&AuthUser>,
    slug: &str,
    rid: &str,
    l: crate::i18n::Locale,
) -> Result<Viewed, AppError> {
    let (seed, fresh) = seed_of(req);
    let mut g = service::gallery(state, who, rid, &seed).await?;
    g.round.title = g
        .round
        .translations
        .text(&g.round.title, l, "title")
        .to_string();
    if g.round.competition_slug != slug {
        return Err(AppError::NotFound);
    }
    // Cached by the call above.
    let i = service::info(state, rid).await?;
    for e in &mut g.entries {
        if let Some(name) = i.category_in(e.category_id.as_deref(), l) {
            e.category = Some(name);
        }
    }
    let results_out = g.round.state == "closed"
        && crate::competitions::service::results_are_out(state, &i.competition.id).await?;
    Ok(Viewed {
        g,
        seed,
        fresh,
        title: i.competition.title_in(l),
        tz: i.competition.time_zone.clone(),
        results_out,
    })
}

#[get("/c/{slug}/vote/{round}")]
async fn gallery(
    req: HttpRequest,
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: Option<AuthUser>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (slug, rid) = path.into_inner();
    let Viewed {
        g,
        seed,
        fresh,
        title: competition_title,
        tz,
        results_out,
    } = gallery_for(&state, &req, who.as_ref(), &slug, &rid, ctx.l).await?;
    let ctx = match &who {
        Some(w) => ctx.signed_in(&w.user.display_name),
        None => ctx,
    };
    let page = GalleryPage {
        opens: when(g.round.opens_at, &tz, ctx.l),
        closes: when(g.round.closes_at, &tz, ctx.l),
        config: page_config(&g, &ctx),
        sign_in: format!("/magic-link?next=/c/{slug}/vote/{rid}"),
        url: format!("{}/c/{slug}/vote/{rid}", state.settings.base_url()),
        results_out,
        competition_title,
        ctx,
        g,
    };
    Ok(with_seed(render(&page)?, &seed, fresh))
}

#[derive(Template)]
#[template(path = "voting/entry.html")]
struct EntryPage {
    ctx: PageCtx,
    g: Gallery,
    e: GalleryEntry,
    competition_title: String,
    opens: String,
    closes: String,
    config: String,
    url: String,
    audio_abs: String,
    results_out: bool,
}

/// One entry's voting page: what a shared link or a QR code opens.
#[get("/c/{slug}/vote/{round}/{entry}")]
async fn entry(
    req: HttpRequest,
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: Option<AuthUser>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AppError> {
    let (slug, rid, eid) = path.into_inner();
    let Viewed {
        g,
        seed,
        fresh,
        title: competition_title,
        tz,
        results_out,
    } = gallery_for(&state, &req, who.as_ref(), &slug, &rid, ctx.l).await?;
    let e = g
        .entries
        .iter()
        .find(|e| e.entry_id == eid)
        .cloned()
        .ok_or(AppError::NotFound)?;
    let ctx = match &who {
        Some(w) => ctx.signed_in(&w.user.display_name),
        None => ctx,
    };
    let page = EntryPage {
        opens: when(g.round.opens_at, &tz, ctx.l),
        closes: when(g.round.closes_at, &tz, ctx.l),
        config: page_config(&g, &ctx),
        url: e.share_url.clone(),
        audio_abs: format!("{}{}", state.settings.base_url(), e.audio_url),
        results_out,
        competition_title,
        ctx,
        e,
        g,
    };
    Ok(with_seed(render(&page)?, &seed, fresh))
}

#[derive(Template)]
#[template(path = "voting/leaderboard.html")]
struct BoardPage {
    ctx: PageCtx,
    b: Leaderboard,
    slug: String,
    competition_title: String,
    categories: Vec<(String, String, bool)>,
    integrity: Option<IntegritySummary>,
    closes: String,
    stream_url: String,
}

#[derive(serde::Deserialize)]
struct CategoryQuery {
    category: Option<String>,
}

#[get("/c/{slug}/leaderboard/{round}")]
async fn leaderboard(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: Option<AuthUser>,
    path: web::Path<(String, String)>,
    q: web::Query<CategoryQuery>,
) -> Result<HttpResponse, AppError> {
    let (slug, rid) = path.into_inner();
    let (i, _) = service::visible(&state, who.as_ref(), &rid).await?;
    if i.competition.slug != slug {
        return Err(AppError::NotFound);
    }
    let category = q.category.clone().filter(|c| !c.is_empty());
    // The public page shows what the public sees, also to the organiser.
    let mut b = service::leaderboard(&state, None, &rid, category.as_deref()).await?;
    b.title = i.row.title_in(ctx.l);
    for line in &mut b.lines {
        if let Some(name) = i.category_in(line.category_id.as_deref(), ctx.l) {
            line.category = Some(name);
        }
    }
    let mut categories: Vec<(String, String, bool)> = Vec::new();
    for e in &i.entries {
        if let Some(id) = &e.category_id
            && !categories.iter().any(|(c, _, _)| c == id)
            && let Some(name) = i
                .category_in(Some(id), ctx.l)
                .or_else(|| e.category.clone())
        {
            categories.push((id.clone(), name, category.as_deref() == Some(id.as_str())));
        }
    }
    let integrity = if i.row.is_closed(service::now()) {
        service::integrity(&state, None, &rid).await.or_none()?
    } else {
        None
    };
    let ctx = match &who {
        Some(w) => ctx.signed_in(&w.user.display_name),
        None => ctx,
    };
    let stream_url = match &category {
        Some(c) => format!(
            "/api/v1/voting-rounds/{rid}/leaderboard/stream?category={}",
            url::form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>()
        ),
        None => format!("/api/v1/voting-rounds/{rid}/leaderboard/stream"),
    };
    render(&BoardPage {
        closes: when(
            crate::voting::model::utc(i.row.closes_at),
            &i.competition.time_zone,
            ctx.l,
        ),
        competition_title: i.competition.title_in(ctx.l),
        slug,
        categories,
        integrity,
        stream_url,
        ctx,
        b,
    })
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(current)
        .service(entry)
        .service(gallery)
        .service(leaderboard);
}
