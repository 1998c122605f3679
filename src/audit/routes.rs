//! The audit log's API: a competition's (for those who run it) and the site's (admins),
//! as pages of JSON or one CSV file.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};

use super::service::{self, AuditPage, AuditQuery, CSV_MAX, PAGE};
use crate::accounts::model::AuthUser;
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;

/// A competition's audit log, newest first, 100 at a time.
#[utoipa::path(get, path = "/api/v1/competitions/{id}/audit", tag = "audit",
    params(("id" = String, Path, description = "Competition id"), AuditQuery),
    responses((status = 200, description = "One page", body = AuditPage),
        (status = 404, description = "No competition you run", body = ErrorBody),
        (status = 422, description = "A filter is not valid", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/competitions/{id}/audit")]
pub async fn competition_audit(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let page = service::competition_log(&state, &who, &id, q.into_inner(), PAGE).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(page))
}

/// A competition's audit log as CSV (the filters apply; at most 100,000 rows).
#[utoipa::path(get, path = "/api/v1/competitions/{id}/audit.csv", tag = "audit",
    params(("id" = String, Path, description = "Competition id"), AuditQuery),
    responses((status = 200, description = "CSV", content_type = "text/csv"),
        (status = 404, description = "No competition you run", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/competitions/{id}/audit.csv")]
pub async fn competition_audit_csv(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let page = service::competition_log(&state, &who, &id, q.into_inner(), CSV_MAX).await?;
    Ok(crate::http::csv::response(
        "audit.csv",
        service::csv(&page.items)?,
    ))
}

/// The whole site's audit log (site admins).
#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "One page", body = AuditPage),
        (status = 404, description = "Not an admin", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/admin/audit")]
pub async fn site_audit(
    state: web::Data<AppState>,
    who: AuthUser,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let page = service::site_log(&state, &who, q.into_inner(), PAGE).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(page))
}

/// The whole site's audit log as CSV (site admins).
#[utoipa::path(get, path = "/api/v1/admin/audit.csv", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "CSV", content_type = "text/csv"),
        (status = 404, description = "Not an admin", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/admin/audit.csv")]
pub async fn site_audit_csv(
    state: web::Data<AppState>,
    who: AuthUser,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let page = service::site_log(&state, &who, q.into_inner(), CSV_MAX).await?;
    Ok(crate::http::csv::response(
        "site-audit.csv",
        service::csv(&page.items)?,
    ))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    // The CSV routes first: `/audit.csv` must not be read as a page.
    cfg.service(competition_audit_csv)
        .service(competition_audit)
        .service(site_audit_csv)
        .service(site_audit);
}
