//! The exhibition's pages: the printable poster, the prompt's own page (what a poster
//! beside a painting opens), and the organiser's scan statistics.

use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;

use super::model::{COMPETITION, ENTRY, PROMPT, PosterView, VOTE};
use super::routes::{LangQuery, lang_of};
use super::service::{self, Target};
use crate::accounts::model::AuthUser;
use crate::competitions::model::CompetitionView;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::state::AppState;
use crate::web::{PageCtx, render};

#[derive(Template)]
#[template(path = "exhibition/poster.html")]
struct PosterPage {
    ctx: PageCtx,
    t: Target,
    p: PosterView,
    /// The picture: the prompt's, else the competition's cover.
    image_url: Option<String>,
    /// A line under the title: the musician, or the competition.
    byline: String,
    /// The story: the prompt's (sanitised HTML), else none.
    story_html: Option<String>,
    /// The competition's summary, for a competition's poster.
    summary: Option<String>,
    call: &'static str,
    /// The same poster in the other languages: (tag, native name, address).
    other_langs: Vec<(&'static str, &'static str, String)>,
}

/// A printable poster (A4 or larger): picture, title, story, the QR code and its address.
#[get("/posters/{kind}/{key}")]
async fn poster(
    req: HttpRequest,
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: Option<AuthUser>,
    path: web::Path<(String, String)>,
    q: web::Query<LangQuery>,
) -> Result<HttpResponse, AppError> {
    let (kind, key) = path.into_inner();
    let lang = lang_of(&req, &q)?;
    let (t, p) = service::poster(&state, who.as_ref(), &kind, &key, lang).await?;
    let ctx = PageCtx { l: lang, ..ctx };
    let image_url = t
        .prompt
        .as_ref()
        .and_then(|p| p.image_url.clone())
        .or_else(|| t.competition.cover_url.clone());
    let byline = match &t.entry {
        Some((_, e)) => format!("{} · {}", e.musician, t.competition.title),
        None if t.kind == PROMPT => t.competition.title.clone(),
        None => String::new(),
    };
    let call = match t.kind {
        ENTRY | VOTE => "exhibition.call_entry",
        PROMPT => "exhibition.call_prompt",
        _ => "exhibition.call_competition",
    };
    let other_langs = Locale::ALL
        .iter()
        .filter(|l| **l != lang)
        .map(|l| (l.tag(), l.native_name(), t.poster_path(*l)))
        .collect();
    let page = PosterPage {
        image_url,
        byline,
        story_html: t.prompt.as_ref().map(|p| p.story_html.clone()),
        summary: (t.kind == COMPETITION && !t.competition.summary.is_empty())
            .then(|| t.competition.summary.clone()),
        call: ctx.t(call),
        other_langs,
        ctx,
        t,
        p,
    };
    render(&page)
}

#[derive(Template)]
#[template(path = "exhibition/prompt.html")]
struct PromptPage {
    ctx: PageCtx,
    t: Target,
    canonical_url: String,
    /// The picture for link previews: absolute, at a width previews use.
    og_image: Option<String>,
    poster_url: String,
    /// The competition's public vote, if there is one: (gallery address, open now).
    vote: Option<(String, bool)>,
    /// Says the prompt is in another language than the reader's, when it is.
    shown_note: Option<String>,
}

/// A prompt's own page: its picture and story, and the way to the songs it inspired.
#[get("/c/{slug}/prompts/{id}")]
async fn prompt(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: Option<AuthUser>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (slug, id) = path.into_inner();
    let t = service::resolve(&state, who.as_ref(), PROMPT, &id, ctx.l).await?;
    if t.competition.slug != slug && t.competition.id != slug {
        return Err(AppError::NotFound);
    }
    let vote = crate::voting::service::current_round(&state, who.as_ref(), &t.competition.id)
        .await?
        .map(|r| {
            (
                format!("/c/{}/vote/{}", t.competition.slug, r.id),
                r.state == "open",
            )
        });
    let shown = t.prompt.as_ref().map(|p| p.shown_language.clone());
    let page = PromptPage {
        shown_note: shown.and_then(|s| crate::i18n::content::shown_note(ctx.l, &s)),
        canonical_url: format!("{}{}", state.settings.base_url(), t.page_path()),
        og_image: t
            .prompt
            .as_ref()
            .and_then(|p| p.image_url.as_deref())
            .map(|u| {
                crate::media::picture::url_at(&format!("{}{u}", state.settings.base_url()), 1280)
            }),
        poster_url: t.poster_path(ctx.l),
        vote,
        ctx,
        t,
    };
    render(&page)
}

#[derive(Template)]
#[template(path = "exhibition/organise.html")]
struct OrganisePage {
    ctx: PageCtx,
    c: CompetitionView,
    posters: Vec<PosterView>,
    /// Entries that can have a poster now (in a visible voting round): (id, title).
    entries: Vec<(String, String)>,
    total: u64,
}

/// The organiser's exhibition page: posters to print and how often each was scanned.
#[get("/organise/{id}/exhibition")]
async fn organise(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let c = crate::competitions::service::managed_view(&state, &who, &id).await?;
    let posters = service::stats(&state, &who, &c.id).await?;
    let entries = match crate::voting::service::current_round(&state, Some(&who), &c.id).await? {
        Some(r) => crate::voting::service::info(&state, &r.id)
            .await?
            .entries
            .iter()
            .map(|e| (e.id.clone(), e.title.clone()))
            .collect(),
        None => Vec::new(),
    };
    let page = OrganisePage {
        total: posters.iter().filter_map(|p| p.scans).sum(),
        ctx: ctx.signed_in(&who.user.display_name),
        c,
        posters,
        entries,
    };
    render(&page)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(poster).service(prompt).service(organise);
}
