//! The site administration's API and pages (`/admin`): accounts with their roles,
//! grant and remove organiser and admin, block and unblock, and the site's audit log.

use actix_web::{HttpResponse, delete, get, post, web};
use askama::Template;
use serde::Deserialize;
use utoipa::ToSchema;

use super::admin::{self, AccountPage, AccountQuery, AccountView, SiteRole};
use super::extract::AuthUser;
use super::extract::PageUser;
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::web::{PageCtx, form_error, render_with_status, see_other};

/// Accounts, newest first, matching `q` (site admins).
#[utoipa::path(get, path = "/api/v1/admin/accounts", tag = "admin", params(AccountQuery),
    responses((status = 200, description = "One page", body = AccountPage),
        (status = 404, description = "Not an admin", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/admin/accounts")]
pub async fn list_accounts(
    state: web::Data<AppState>,
    who: AuthUser,
    q: web::Query<AccountQuery>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(admin::accounts(&state, &who, q.into_inner()).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    /// `organiser` or `admin`.
    pub role: String,
}

/// Grant a site role (audited).
#[utoipa::path(post, path = "/api/v1/admin/accounts/{id}/roles", tag = "admin", request_body = RoleBody,
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, description = "Granted", body = AccountView),
        (status = 404, description = "Not an admin, or no such account", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/admin/accounts/{id}/roles")]
pub async fn grant_role(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    body: web::Json<RoleBody>,
) -> Result<HttpResponse, AppError> {
    let role = SiteRole::parse(&body.role)?;
    Ok(HttpResponse::Ok().json(admin::grant(&state, Some(&who), &id, role).await?))
}

/// Remove a site role (audited). The last admin cannot be removed.
#[utoipa::path(delete, path = "/api/v1/admin/accounts/{id}/roles/{role}", tag = "admin",
    params(("id" = String, Path, description = "User id"), ("role" = String, Path, description = "`organiser` or `admin`")),
    responses((status = 200, description = "Removed", body = AccountView),
        (status = 409, description = "The last admin", body = ErrorBody)),
    security(("bearer" = [])))]
#[delete("/api/v1/admin/accounts/{id}/roles/{role}")]
pub async fn remove_role(
    state: web::Data<AppState>,
    who: AuthUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, role) = path.into_inner();
    let role = SiteRole::parse(&role)?;
    Ok(HttpResponse::Ok().json(admin::revoke(&state, &who, &id, role).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockBody {
    /// Why (kept in the audit log and shown to other admins).
    pub reason: String,
}

/// Block an account: its sessions end and it cannot sign in (audited).
#[utoipa::path(post, path = "/api/v1/admin/accounts/{id}/block", tag = "admin", request_body = BlockBody,
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, description = "Blocked", body = AccountView),
        (status = 409, description = "Your own account", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/admin/accounts/{id}/block")]
pub async fn block(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    body: web::Json<BlockBody>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(admin::block(&state, &who, &id, &body.reason).await?))
}

/// Unblock an account (audited).
#[utoipa::path(post, path = "/api/v1/admin/accounts/{id}/unblock", tag = "admin",
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, description = "Unblocked", body = AccountView)),
    security(("bearer" = [])))]
#[post("/api/v1/admin/accounts/{id}/unblock")]
pub async fn unblock(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(admin::unblock(&state, &who, &id).await?))
}

// ---- pages ----

#[derive(Template)]
#[template(path = "account/admin.html")]
struct AdminPage {
    ctx: PageCtx,
    page: AccountPage,
    q: String,
    next_url: Option<String>,
    notice: Option<&'static str>,
    error: Option<String>,
    me: String,
    site_roles: [&'static str; 2],
}

impl AdminPage {
    fn has(&self, a: &AccountView, role: &str) -> bool {
        a.roles.iter().any(|r| r == role)
    }
}

#[derive(Deserialize)]
struct AdminQuery {
    q: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
}

async fn admin_page(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    q: AccountQuery,
    notice: Option<&'static str>,
    error: Option<AppError>,
) -> Result<HttpResponse, AppError> {
    let text = q.q.clone().unwrap_or_default();
    let page = admin::accounts(state, who, q).await?;
    let next_url = page.next_cursor.as_ref().map(|c| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        if !text.is_empty() {
            s.append_pair("q", &text);
        }
        s.append_pair("cursor", c);
        format!("/admin?{}", s.finish())
    });
    let status = error
        .as_ref()
        .map(|e| e.status())
        .unwrap_or(actix_web::http::StatusCode::OK);
    render_with_status(
        &AdminPage {
            error: error.map(|e| e.message(ctx.l)),
            ctx: ctx.signed_in(&who.user.display_name),
            page,
            q: text,
            next_url,
            notice,
            me: who.user.id.clone(),
            site_roles: ["organiser", "admin"],
        },
        status,
    )
}

#[get("/admin")]
async fn show(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    q: web::Query<AdminQuery>,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    let q = q.into_inner();
    let notice = match q.done.as_deref() {
        Some("granted") => Some("admin.notice_granted"),
        Some("removed") => Some("admin.notice_removed"),
        Some("blocked") => Some("admin.notice_blocked"),
        Some("unblocked") => Some("admin.notice_unblocked"),
        _ => None,
    };
    let query = AccountQuery {
        q: q.q,
        cursor: q.cursor,
    };
    admin_page(&state, ctx, &who, query, notice, None).await
}

#[derive(Deserialize)]
struct ActionForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    reason: String,
    /// The search to return to.
    #[serde(default)]
    q: String,
}

#[post("/admin/accounts/{id}/{action}")]
async fn act(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    path: web::Path<(String, String)>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, AppError> {
    let (id, action) = path.into_inner();
    let f = form.into_inner();
    let result = match action.as_str() {
        "grant" => match SiteRole::parse(&f.role) {
            Ok(r) => admin::grant(&state, Some(&who), &id, r)
                .await
                .map(|_| "granted"),
            Err(e) => Err(e),
        },
        "remove" => match SiteRole::parse(&f.role) {
            Ok(r) => admin::revoke(&state, &who, &id, r).await.map(|_| "removed"),
            Err(e) => Err(e),
        },
        "block" => admin::block(&state, &who, &id, &f.reason)
            .await
            .map(|_| "blocked"),
        "unblock" => admin::unblock(&state, &who, &id).await.map(|_| "unblocked"),
        _ => Err(AppError::NotFound),
    };
    let back = |done: &str| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        if !f.q.is_empty() {
            s.append_pair("q", &f.q);
        }
        s.append_pair("done", done);
        format!("/admin?{}", s.finish())
    };
    match result {
        Ok(done) => Ok(see_other(&back(done))),
        Err(e) if form_error(&e) => {
            let q = AccountQuery {
                q: Some(f.q.clone()),
                cursor: None,
            };
            admin_page(&state, ctx, &who, q, None, Some(e)).await
        }
        Err(e) => Err(e),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_accounts)
        .service(grant_role)
        .service(remove_role)
        .service(block)
        .service(unblock)
        .service(show)
        .service(act);
}
