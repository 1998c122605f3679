//! Page pieces the account pages share: a one-message page, a confirm-with-a-button
//! page (links in emails land on one: GET changes nothing), and token parameters.

use actix_web::HttpResponse;
use askama::Template;
use serde::Deserialize;

use crate::error::AppError;
use crate::web::{PageCtx, render};

/// A page that says one thing, with an optional link.
#[derive(Template)]
#[template(path = "account/notice.html")]
pub struct Notice {
    pub ctx: PageCtx,
    pub title: String,
    pub paragraphs: Vec<String>,
    pub link: Option<(String, String)>,
}

/// Render a notice from message keys.
pub fn notice(
    ctx: PageCtx,
    title_key: &str,
    body_key: &str,
    link: Option<(&str, &str)>,
) -> Result<HttpResponse, AppError> {
    let page = Notice {
        title: ctx.t(title_key).to_string(),
        paragraphs: vec![ctx.t(body_key).to_string()],
        link: link.map(|(href, label)| (href.to_string(), ctx.t(label).to_string())),
        ctx,
    };
    render(&page)
}

/// A page with one button that posts the token to `action`.
#[derive(Template)]
#[template(path = "account/confirm.html")]
pub struct ConfirmPage {
    pub ctx: PageCtx,
    pub title: String,
    pub text: String,
    pub action: &'static str,
    pub token: String,
    pub button: String,
    /// Where to go afterwards (a local path), if anywhere in particular.
    pub next: Option<String>,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    pub token: Option<String>,
    pub next: Option<String>,
}

#[derive(Deserialize)]
pub struct TokenForm {
    pub token: String,
    pub next: Option<String>,
}
