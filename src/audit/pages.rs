//! The audit log's pages: a competition's (`/organise/{id}/audit`) and the site's
//! (`/admin/audit`), with a filter form, older pages and a CSV link with the same filters.

use actix_web::{HttpResponse, get, web};
use askama::Template;

use super::service::{self, AuditEntry, AuditQuery, PAGE};
use crate::accounts::model::AuthUser;
use crate::accounts::model::PageUser;
use crate::competitions::model::CompetitionView;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{PageCtx, form_error, render_with_status};

#[derive(Template)]
#[template(path = "audit/log.html")]
pub struct LogPage {
    pub ctx: PageCtx,
    /// The competition, or `None` for the site's log.
    pub c: Option<CompetitionView>,
    pub items: Vec<(AuditEntry, String)>,
    pub q: AuditQuery,
    pub csv_url: String,
    pub next_url: Option<String>,
    pub error: Option<String>,
    pub site: bool,
}

fn query_string(q: &AuditQuery, cursor: Option<&str>) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("who", &q.who),
        ("action", &q.action),
        ("from", &q.from),
        ("to", &q.to),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            s.append_pair(k, v);
        }
    }
    if let Some(c) = cursor {
        s.append_pair("cursor", c);
    }
    s.finish()
}

fn labelled(items: Vec<AuditEntry>, tz: &str, l: crate::i18n::Locale) -> Vec<(AuditEntry, String)> {
    items
        .into_iter()
        .map(|e| {
            let when = crate::competitions::domain::local_label_in(e.at.naive_utc(), tz, l);
            (e, when)
        })
        .collect()
}

#[get("/organise/{id}/audit")]
async fn competition(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    id: web::Path<String>,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    let c = crate::competitions::service::managed_view(&state, &who, &id).await?;
    let q = q.into_inner();
    let base = format!("/organise/{}/audit", c.id);
    let csv_url = format!(
        "/api/v1/competitions/{}/audit.csv?{}",
        c.id,
        query_string(&q, None)
    );
    let (items, next, error, status) =
        match service::competition_log(&state, &who, &id, q.clone(), PAGE).await {
            Ok(p) => (
                p.items,
                p.next_cursor,
                None,
                actix_web::http::StatusCode::OK,
            ),
            Err(e) if form_error(&e) => (Vec::new(), None, Some(e.message(ctx.l)), e.status()),
            Err(e) => return Err(e),
        };
    render_with_status(
        &LogPage {
            items: labelled(items, &c.time_zone, ctx.l),
            next_url: next.map(|n| format!("{base}?{}", query_string(&q, Some(&n)))),
            ctx: ctx.signed_in(&who.user.display_name),
            c: Some(c),
            q,
            csv_url,
            error,
            site: false,
        },
        status,
    )
}

/// The site's log (admins).
pub async fn site_page(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    q: AuditQuery,
) -> Result<HttpResponse, AppError> {
    let csv_url = format!("/api/v1/admin/audit.csv?{}", query_string(&q, None));
    let (items, next, error, status) = match service::site_log(state, who, q.clone(), PAGE).await {
        Ok(p) => (
            p.items,
            p.next_cursor,
            None,
            actix_web::http::StatusCode::OK,
        ),
        Err(e) if form_error(&e) => (Vec::new(), None, Some(e.message(ctx.l)), e.status()),
        Err(e) => return Err(e),
    };
    render_with_status(
        &LogPage {
            items: labelled(items, "UTC", ctx.l),
            next_url: next.map(|n| format!("/admin/audit?{}", query_string(&q, Some(&n)))),
            ctx: ctx.signed_in(&who.user.display_name),
            c: None,
            q,
            csv_url,
            error,
            site: true,
        },
        status,
    )
}

#[get("/admin/audit")]
async fn site(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    site_page(&state, ctx, &who, q.into_inner()).await
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(competition).service(site);
}
