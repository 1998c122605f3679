//! Publishing and unpublishing a competition from the organiser's pages. The editor is
//! `editor.rs`; the competition's public page and the organiser's desk, which gather
//! every feature, are `site::pages`.

use actix_web::{HttpResponse, post, web};

use super::service;
use crate::accounts::model::AuthUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::see_other;

#[post("/organise/{id}/publish")]
async fn publish(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    service::set_published(&state, &who, &id, true).await?;
    Ok(see_other(&format!("/organise/{id}?saved=1")))
}

#[post("/organise/{id}/unpublish")]
async fn unpublish(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    service::set_published(&state, &who, &id, false).await?;
    Ok(see_other(&format!("/organise/{id}?saved=1")))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(publish).service(unpublish);
}
