use actix_web::{HttpRequest, HttpResponse, get, patch, post, put, web};
use askama::Template;

use super::domain::CompetitionInput;
use super::model::{CompetitionPage, CompetitionSummary, CompetitionView, Phase};
use super::service::{self, ImageOf};
use crate::accounts::model::AuthUser;
use crate::error::{AppError, ErrorBody};
use crate::http::pagination::PageQuery;
use crate::http::pictures::{PictureQuery, picture_response};
use crate::state::AppState;
use crate::web::{PageCtx, locale_of, render};

/// A competition card on the home page, with texts already in the reader's language.
struct Card {
    /// The language of the title and summary when it is not the page's.
    lang: Option<String>,
    slug: String,
    title: String,
    /// The results are public: the card says so and links to them.
    results_out: bool,
    summary: String,
    status_class: &'static str,
    status_label: &'static str,
    /// (RFC 3339, readable) close time.
    closes: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: PageCtx,
    competitions: Vec<Card>,
    next_cursor: Option<String>,
    canonical_url: String,
}

#[get("/")]
async fn home(
    state: web::Data<AppState>,
    ctx: PageCtx,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = service::list_public(&state.db, &query, ctx.l).await?;
    let ids: Vec<String> = page.items.iter().map(|c| c.id.clone()).collect();
    let with_results = service::results_out_among(&state, ids).await?;
    let competitions = page
        .items
        .iter()
        .map(|c| {
            let results_out = with_results.contains(&c.id);
            let (status_class, key) = match c.phase {
                _ if results_out => ("results", "home.status_results"),
                Phase::Open => ("open", "home.status_open"),
                Phase::Upcoming => ("upcoming", "home.status_upcoming"),
                Phase::Closed => ("closed", "home.status_closed"),
            };
            Card {
                lang: (c.shown_language != ctx.l.tag()).then(|| c.shown_language.clone()),
                slug: c.slug.clone(),
                results_out,
                title: c.title.clone(),
                summary: c.summary.clone(),
                status_class,
                status_label: ctx.t(key),
                closes: c.submissions_close_at.map(|t| {
                    (
                        t.to_rfc3339(),
                        ctx.tf(
                            "home.closes",
                            "date",
                            &t.format("%Y-%m-%d %H:%M UTC").to_string(),
                        ),
                    )
                }),
            }
        })
        .collect();
    render(&HomePage {
        canonical_url: format!("{}/", state.settings.base_url()),
        ctx,
        competitions,
        next_cursor: page.next_cursor,
    })
}

/// List published competitions, newest first.
#[utoipa::path(get, path = "/api/v1/competitions", tag = "competitions", params(PageQuery),
    responses(
        (status = 200, description = "One page of competitions", body = CompetitionPage),
        (status = 422, description = "The cursor is not valid", body = ErrorBody)))]
#[get("/api/v1/competitions")]
async fn list_competitions(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<PageQuery>,
) -> Result<web::Json<CompetitionPage>, AppError> {
    Ok(web::Json(
        service::list_public(&state.db, &query, locale_of(&req)).await?,
    ))
}

/// Create a competition (organisers and admins). It starts as a draft.
#[utoipa::path(post, path = "/api/v1/competitions", tag = "competitions", request_body = CompetitionInput,
    responses((status = 201, description = "Created", body = CompetitionView),
        (status = 403, description = "Not an organiser", body = ErrorBody),
        (status = 409, description = "The slug is taken", body = ErrorBody),
        (status = 422, description = "A field is not valid", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/competitions")]
async fn create_competition(
    state: web::Data<AppState>,
    who: AuthUser,
    input: web::Json<CompetitionInput>,
) -> Result<HttpResponse, AppError> {
    let view = service::create(&state, &who, input.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// A competition by slug or id: published ones for everyone, drafts for their organisers.
/// Its text is in the reader's language (`?lang=` or `Accept-Language`) where the
/// organiser gave it, else in the competition's own; `shown_language` says which, and
/// `translations` has every language.
#[utoipa::path(get, path = "/api/v1/competitions/{key}", tag = "competitions",
    params(("key" = String, Path, description = "Slug or id")),
    responses((status = 200, description = "The competition", body = CompetitionView),
        (status = 404, description = "No such published competition", body = ErrorBody)))]
#[get("/api/v1/competitions/{key}")]
async fn get_competition(
    state: web::Data<AppState>,
    req: HttpRequest,
    who: Option<AuthUser>,
    key: web::Path<String>,
) -> Result<web::Json<CompetitionView>, AppError> {
    Ok(web::Json(
        service::public_view(&state, who.as_ref(), &key)
            .await?
            .localised(locale_of(&req)),
    ))
}

/// Change a competition; only the fields sent change.
#[utoipa::path(patch, path = "/api/v1/competitions/{id}", tag = "competitions", request_body = CompetitionInput,
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 200, description = "Saved", body = CompetitionView),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 409, description = "The slug is taken", body = ErrorBody),
        (status = 422, description = "A field is not valid", body = ErrorBody)),
    security(("bearer" = [])))]
#[patch("/api/v1/competitions/{id}")]
async fn update_competition(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<CompetitionInput>,
) -> Result<web::Json<CompetitionView>, AppError> {
    Ok(web::Json(
        service::update(&state, &who, &id, input.into_inner()).await?,
    ))
}

/// Publish a competition: its page and call for entries become public.
#[utoipa::path(post, path = "/api/v1/competitions/{id}/publish", tag = "competitions",
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 200, description = "Published", body = CompetitionView),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/competitions/{id}/publish")]
async fn publish(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<web::Json<CompetitionView>, AppError> {
    Ok(web::Json(
        service::set_published(&state, &who, &id, true).await?,
    ))
}

/// Take a competition back to draft: hidden from the public again.
#[utoipa::path(post, path = "/api/v1/competitions/{id}/unpublish", tag = "competitions",
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 200, description = "Back to draft", body = CompetitionView),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/competitions/{id}/unpublish")]
async fn unpublish(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<web::Json<CompetitionView>, AppError> {
    Ok(web::Json(
        service::set_published(&state, &who, &id, false).await?,
    ))
}

/// The competitions the caller runs (all of them for a site admin).
#[utoipa::path(get, path = "/api/v1/organiser/competitions", tag = "competitions",
    responses((status = 200, description = "Newest first", body = Vec<CompetitionSummary>)),
    security(("bearer" = [])))]
#[get("/api/v1/organiser/competitions")]
async fn my_competitions(
    state: web::Data<AppState>,
    req: HttpRequest,
    who: AuthUser,
) -> Result<web::Json<Vec<CompetitionSummary>>, AppError> {
    Ok(web::Json(
        service::list_managed(&state, &who, locale_of(&req)).await?,
    ))
}

/// Set the cover image (PNG, JPEG or WebP, up to 5 MiB; the request body is the image).
#[utoipa::path(put, path = "/api/v1/competitions/{id}/cover", tag = "competitions",
    params(("id" = String, Path, description = "Competition id")),
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 204, description = "Stored"), (status = 413, description = "Too large", body = ErrorBody),
        (status = 422, description = "Not an image", body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/api/v1/competitions/{id}/cover")]
async fn put_cover(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    service::set_image(&state, &who, ImageOf::Cover, &id, body).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Set a prompt's image (e.g. the painting), same rules as the cover.
#[utoipa::path(put, path = "/api/v1/prompts/{id}/image", tag = "competitions",
    params(("id" = String, Path, description = "Prompt id")),
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 204, description = "Stored"), (status = 413, description = "Too large", body = ErrorBody),
        (status = 422, description = "Not an image", body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/api/v1/prompts/{id}/image")]
async fn put_prompt_image(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    service::set_image(&state, &who, ImageOf::Prompt, &id, body).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn image_response(
    state: &AppState,
    of: ImageOf,
    id: &str,
    q: &PictureQuery,
) -> Result<HttpResponse, AppError> {
    let key = service::image_key(state, of, id).await?;
    picture_response(&state.storage, &key, q, service::MAX_IMAGE_BYTES, "image").await
}

#[get("/images/competitions/{id}")]
async fn cover_image(
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<PictureQuery>,
) -> Result<HttpResponse, AppError> {
    image_response(&state, ImageOf::Cover, &id, &q).await
}

#[get("/images/prompts/{id}")]
async fn prompt_image(
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<PictureQuery>,
) -> Result<HttpResponse, AppError> {
    image_response(&state, ImageOf::Prompt, &id, &q).await
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(home)
        .service(list_competitions)
        .service(create_competition)
        .service(my_competitions)
        .service(get_competition)
        .service(update_competition)
        .service(publish)
        .service(unpublish)
        .service(put_cover)
        .service(put_prompt_image)
        .service(cover_image)
        .service(prompt_image);
}
