//! The JSON API of results: how they are formed and computed, publication, the
//! results (public once published, the draft for organisers), their CSV, and a
//! musician's own outcomes. The operations keep the `judging` tag they always had.

use actix_web::{HttpResponse, get, post, put, web};

use super::model::{EntryOutcome, ResultsInput, ResultsView};
use super::service as results;
use crate::accounts::model::AuthUser;
use crate::error::OrNone as _;
use crate::error::{AppError, ErrorBody};
use crate::http::no_store;
use crate::state::AppState;

/// Set how results are formed (method, weights, tie-breaks, embargo) and compute them.
#[utoipa::path(put, path = "/api/v1/competitions/{id}/results", tag = "judging", request_body = ResultsInput,
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 200, description = "Computed", body = ResultsView),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 409, description = "No closed round yet", body = ErrorBody),
        (status = 422, description = "A setting is not valid", body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/api/v1/competitions/{id}/results")]
pub async fn put_results(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<ResultsInput>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(results::put_results(&state, &who, &id, input.into_inner()).await?))
}

/// Publish the results now.
#[utoipa::path(post, path = "/api/v1/competitions/{id}/results/publish", tag = "judging",
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 200, description = "Published", body = ResultsView),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 409, description = "Not computed yet", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/competitions/{id}/results/publish")]
pub async fn publish_results(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(results::publish_results(&state, &who, &id).await?))
}

/// Results: for everyone once published (404 `results.not_published` before); the
/// organiser sees the draft with a valid token.
#[utoipa::path(get, path = "/api/v1/competitions/{id}/results", tag = "judging",
    params(("id" = String, Path, description = "Competition id or slug")),
    responses((status = 200, description = "Results", body = ResultsView),
        (status = 404, description = "Not published yet, or no such competition", body = ErrorBody)))]
#[get("/api/v1/competitions/{id}/results")]
pub async fn get_results(
    state: web::Data<AppState>,
    who: Option<AuthUser>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    if let Some(w) = &who
        && let Some(v) = results::organiser_results(&state, w, &id).await.or_none()?
    {
        return Ok(no_store(v));
    }
    Ok(no_store(results::public_results(&state, &id).await?))
}

/// The final results, as CSV.
#[utoipa::path(get, path = "/api/v1/competitions/{id}/results.csv", tag = "judging",
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 200, description = "CSV", content_type = "text/csv"),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/competitions/{id}/results.csv")]
pub async fn results_csv(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(crate::http::csv::download(
        results::results_csv(&state, &who, &id).await?,
    ))
}

/// Your entries' placements and feedback, in competitions whose results are public.
#[utoipa::path(get, path = "/api/v1/me/results", tag = "judging",
    responses((status = 200, description = "Outcomes", body = Vec<EntryOutcome>)), security(("bearer" = [])))]
#[get("/api/v1/me/results")]
pub async fn my_results(
    state: web::Data<AppState>,
    who: AuthUser,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(results::my_outcomes(&state, &who).await?))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(results_csv)
        .service(put_results)
        .service(publish_results)
        .service(get_results)
        .service(my_results);
}
