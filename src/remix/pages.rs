//! Remix pages: the organiser's remix page (the setting, stem packs and their files,
//! each remix's stem-usage check), a pack's page for musicians (licence, acceptance,
//! downloads), a published song's public page (lineage, credits, remixing it), and the
//! remix panel of an entry's page.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::model::*;
use super::service;
use crate::accounts::model::AuthUser;
use crate::accounts::model::PageUser;
use crate::competitions::model::CompetitionView;
use crate::error::AppError;
use crate::state::AppState;
use crate::submissions::model::EntryView;
use crate::web::{PageCtx, form_error, render_with_status, see_other};

/// A row of a lineage tree, flattened for the page (depth gives the indent).
pub struct TreeRow {
    pub depth: usize,
    pub song: SongRef,
    pub licence: Option<String>,
}

fn flatten(nodes: &[LineageNode], depth: usize, out: &mut Vec<TreeRow>) {
    for n in nodes {
        out.push(TreeRow {
            depth: depth.min(6),
            song: n.song.clone(),
            licence: n.remix_licence.clone(),
        });
        flatten(&n.remixed_by, depth + 1, out);
    }
}

pub fn tree_rows(nodes: &[LineageNode]) -> Vec<TreeRow> {
    let mut out = Vec::new();
    flatten(nodes, 0, &mut out);
    out
}

// ---- the organiser's remix page ----

/// The values of a pack's form.
pub struct PackFields {
    title: String,
    prompt_id: String,
    source: String,
    credit: String,
    tempo: String,
    key: String,
    licence_name: String,
    licence_text: String,
    /// The other languages: (tag, native name, title, credit, licence name, licence text).
    tr: Vec<PackTranslation>,
}

struct PackTranslation {
    tag: &'static str,
    native: &'static str,
    title: String,
    credit: String,
    licence_name: String,
    licence_text: String,
}

fn pack_translations(
    source: &str,
    tr: &crate::i18n::content::Translations,
) -> Vec<PackTranslation> {
    let source = crate::i18n::content::source_of(source);
    crate::i18n::Locale::ALL
        .iter()
        .filter(|l| **l != source)
        .map(|l| {
            let g = |f: &str| tr.get(*l, f).unwrap_or_default().to_string();
            PackTranslation {
                tag: l.tag(),
                native: l.native_name(),
                title: g("title"),
                credit: g("credit"),
                licence_name: g("licence_name"),
                licence_text: g("licence_text"),
            }
        })
        .collect()
}

impl PackFields {
    fn of(p: &StemPackView, source: &str) -> PackFields {
        PackFields {
            tr: pack_translations(source, &p.translations),
            title: p.title.clone(),
            prompt_id: p.prompt_id.clone().unwrap_or_default(),
            source: p
                .source_entry
                .as_ref()
                .map(|s| s.id.clone())
                .unwrap_or_default(),
            credit: p.credit.clone(),
            tempo: p.tempo_bpm.map(|t| t.to_string()).unwrap_or_default(),
            key: p.musical_key.clone().unwrap_or_default(),
            licence_name: p.licence_name.clone(),
            licence_text: p.licence_text.clone(),
        }
    }

    fn empty(source: &str) -> PackFields {
        PackFields {
            tr: pack_translations(source, &Default::default()),
            title: String::new(),
            prompt_id: String::new(),
            source: String::new(),
            credit: String::new(),
            tempo: String::new(),
            key: String::new(),
            licence_name: String::new(),
            licence_text: String::new(),
        }
    }
}

struct RemixRow {
    v: EntryView,
    check: StemCheckView,
}

#[derive(Template)]
#[template(path = "remix/organise.html")]
struct OrganisePage {
    ctx: PageCtx,
    c: CompetitionView,
    required: bool,
    packs: Vec<StemPackView>,
    remixes: Vec<RemixRow>,
    error: Option<String>,
    max_bytes: u64,
}

impl OrganisePage {
    fn fields(&self, p: &StemPackView) -> PackFields {
        PackFields::of(p, &self.c.language)
    }

    fn new_fields(&self) -> PackFields {
        PackFields::empty(&self.c.language)
    }
}

async fn organise_page(
    state: &AppState,
    ctx: PageCtx,
    who: &AuthUser,
    id: &str,
    error: Option<String>,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, AppError> {
    let c = crate::competitions::service::managed_view(state, who, id).await?;
    let settings = service::settings_view(state, Some(who), &c.id).await?;
    let packs = service::packs(state, Some(who), &c.id).await?;
    let entries = crate::submissions::service::entries_for_moderators(
        state,
        who,
        &c.id,
        Default::default(),
        ctx.l,
    )
    .await?;
    let remixes: Vec<EntryView> = entries
        .into_iter()
        .filter(|e| e.remix_of.is_some())
        .collect();
    let ids: Vec<String> = remixes.iter().map(|e| e.id.clone()).collect();
    let mut checks = state
        .db
        .run(move |conn| super::check::checks_of(conn, &ids))
        .await?;
    let remixes = remixes
        .into_iter()
        .filter_map(|v| checks.remove(&v.id).map(|check| RemixRow { v, check }))
        .collect();
    let page = OrganisePage {
        ctx: ctx.signed_in(&who.user.display_name),
        required: settings.sources_required,
        c,
        packs,
        remixes,
        error,
        max_bytes: state.settings.uploads.max_bytes,
    };
    render_with_status(&page, status)
}

#[get("/organise/{id}/remix")]
async fn organise(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: PageUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.0;
    organise_page(
        &state,
        ctx,
        &who,
        &id,
        None,
        actix_web::http::StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
struct SettingsForm {
    sources_required: Option<String>,
}

#[post("/organise/{id}/remix")]
async fn organise_settings(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, AppError> {
    let input = RemixSettingsInput {
        sources_required: form.sources_required.is_some(),
    };
    service::put_settings(&state, &who, &id, input).await?;
    Ok(see_other(&format!("/organise/{id}/remix")))
}

#[derive(Deserialize)]
struct PackForm {
    title: String,
    #[serde(default)]
    prompt_id: String,
    #[serde(default)]
    source_entry_id: String,
    #[serde(default)]
    credit: String,
    #[serde(default)]
    tempo_bpm: String,
    #[serde(default)]
    musical_key: String,
    licence_name: String,
    licence_text: String,
    /// `tr.{language}.{field}`: the text in the competition's other languages.
    #[serde(flatten)]
    rest: std::collections::HashMap<String, String>,
}

impl PackForm {
    fn input(self) -> Result<StemPackInput, AppError> {
        let tempo = match self.tempo_bpm.trim() {
            "" => None,
            t => Some(
                t.replace(',', ".")
                    .parse::<f64>()
                    .map_err(|_| AppError::invalid("remix.tempo_invalid"))?,
            ),
        };
        let mut translations = crate::competitions::domain::TranslationsInput::new();
        for (k, v) in &self.rest {
            if let Some((tag, field)) = k.strip_prefix("tr.").and_then(|r| r.split_once('.'))
                && !v.trim().is_empty()
            {
                translations
                    .entry(tag.to_string())
                    .or_default()
                    .insert(field.to_string(), v.clone());
            }
        }
        Ok(StemPackInput {
            translations: Some(translations),
            title: Some(self.title),
            prompt_id: Some(self.prompt_id),
            source_entry_id: Some(super::model::song_id_of(&self.source_entry_id)),
            credit: Some(self.credit),
            tempo_bpm: tempo,
            musical_key: Some(self.musical_key),
            licence_name: Some(self.licence_name),
            licence_text: Some(self.licence_text),
        })
    }
}

#[post("/organise/{id}/remix/packs")]
async fn create_pack(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<PackForm>,
) -> Result<HttpResponse, AppError> {
    let result = match form.into_inner().input() {
        Ok(input) => service::create_pack(&state, &who, &id, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(p) => Ok(see_other(&format!("/organise/{id}/remix#pack-{}", p.id))),
        Err(e) if form_error(&e) => {
            let (msg, status) = (e.message(ctx.l), e.status());
            organise_page(&state, ctx, &who, &id, Some(msg), status).await
        }
        Err(e) => Err(e),
    }
}

#[post("/organise/stem-packs/{id}")]
async fn update_pack(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<PackForm>,
) -> Result<HttpResponse, AppError> {
    let result = match form.into_inner().input() {
        Ok(input) => service::update_pack(&state, &who, &id, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(p) => Ok(see_other(&format!(
            "/organise/{}/remix#pack-{}",
            p.competition_id, p.id
        ))),
        Err(e) if form_error(&e) => {
            let p = service::get_pack(&state, Some(&who), &id).await?;
            let (msg, status) = (e.message(ctx.l), e.status());
            organise_page(&state, ctx, &who, &p.competition_id, Some(msg), status).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct BackForm {
    competition_id: String,
}

#[post("/organise/stem-files/{id}/delete")]
async fn delete_file(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<BackForm>,
) -> Result<HttpResponse, AppError> {
    service::delete_file(&state, &who, &id).await?;
    Ok(see_other(&format!(
        "/organise/{}/remix",
        form.competition_id
    )))
}

// ---- a pack's page ----

#[derive(Template)]
#[template(path = "remix/pack.html")]
struct PackPage {
    ctx: PageCtx,
    p: StemPackView,
    error: Option<String>,
}

async fn pack_page(
    state: &AppState,
    ctx: PageCtx,
    who: Option<&AuthUser>,
    id: &str,
    error: Option<String>,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, AppError> {
    let p = service::get_pack(state, who, id).await?.localised(ctx.l);
    let ctx = match who {
        Some(w) => ctx.signed_in(&w.user.display_name),
        None => ctx,
    };
    render_with_status(&PackPage { ctx, p, error }, status)
}

#[get("/stem-packs/{id}")]
async fn pack(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: Option<AuthUser>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    pack_page(
        &state,
        ctx,
        who.as_ref(),
        &id,
        None,
        actix_web::http::StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
struct AcceptForm {
    version: i32,
}

#[post("/stem-packs/{id}/accept")]
async fn accept(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<AcceptForm>,
) -> Result<HttpResponse, AppError> {
    let input = AcceptInput {
        version: form.version,
    };
    match super::links::accept(&state, &who, &id, input).await {
        Ok(_) => Ok(see_other(&format!("/stem-packs/{id}#files"))),
        Err(e) if form_error(&e) => {
            let (msg, status) = (e.message(ctx.l), e.status());
            pack_page(&state, ctx, Some(&who), &id, Some(msg), status).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct FileForm {
    pack_id: String,
}

/// A download button: a fresh signed link, followed at once.
#[post("/stem-files/{id}/download")]
async fn download_file(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<FileForm>,
) -> Result<HttpResponse, AppError> {
    match super::links::file_link(&state, &who, &id).await {
        Ok(link) => Ok(see_other(&link.url)),
        Err(e) if form_error(&e) => {
            let (msg, status) = (e.message(ctx.l), e.status());
            pack_page(&state, ctx, Some(&who), &form.pack_id, Some(msg), status).await
        }
        Err(e) => Err(e),
    }
}

// ---- the remix panel of an entry's page ----

/// What the remix panel shows.
pub struct Panel {
    pub lineage: LineageView,
    pub tree: Vec<TreeRow>,
    /// The musician may change the source (entry still editable): the packs to choose from.
    pub source_choices: Option<Vec<(String, String)>>,
    pub check: Option<StemCheckView>,
}

impl Panel {
    pub(super) fn new(
        lineage: LineageView,
        source_choices: Option<Vec<(String, String)>>,
    ) -> Panel {
        Panel {
            tree: tree_rows(&lineage.remixed_by),
            lineage,
            source_choices,
            check: None,
        }
    }
}

#[derive(Template)]
#[template(path = "remix/entry_panel.html")]
struct EntryPanel<'a> {
    ctx: &'a PageCtx,
    v: &'a EntryView,
    panel: Panel,
    owner: bool,
    organiser: bool,
    licences: Vec<&'static str>,
    error: Option<String>,
}

/// The remix panel at the end of an entry's page (a section of
/// `submissions::sections`, installed by the composition root).
pub struct RemixSection;

impl crate::submissions::service::EntrySection for RemixSection {
    fn place(&self) -> crate::submissions::service::Place {
        crate::submissions::service::Place::End
    }

    fn render<'a>(
        &'a self,
        p: crate::submissions::service::EntryPageView<'a>,
    ) -> futures_util::future::LocalBoxFuture<'a, Result<String, AppError>> {
        Box::pin(entry_panel(
            p.state,
            p.ctx,
            p.who,
            p.entry,
            p.organiser,
            p.entry.editable,
        ))
    }
}

/// The remix panel of an entry's page (source, lineage, credits, remix permission, and
/// for organisers the stem-usage check), as HTML to place in the page.
pub async fn entry_panel(
    state: &AppState,
    ctx: &PageCtx,
    who: &AuthUser,
    v: &EntryView,
    organiser: bool,
    editable: bool,
) -> Result<String, AppError> {
    let mut lineage = service::lineage(state, Some(who), &v.id).await?;
    // Remix panels only in a remix competition (packs or sources required), for a remix,
    // for a song that others remixed, or once results are out (the permission).
    let results_out =
        crate::competitions::service::results_are_out(state, &v.competition_id).await?;
    let has_packs = !service::packs(state, Some(who), &v.competition_id)
        .await?
        .is_empty();
    let required = service::settings_view(state, Some(who), &v.competition_id)
        .await
        .map(|s| s.sources_required)
        .unwrap_or(false);
    // Others may remix only a public song (placed in the public results): the
    // permission is not offered for an entry that was out before the final.
    if !results_out || !service::is_public_song(state, &v.id).await? {
        lineage.permission = None;
    }
    let relevant = has_packs
        || required
        || results_out
        || lineage.remix_of.is_some()
        || !lineage.remixed_by.is_empty();
    if !relevant {
        return Ok(String::new());
    }
    let choices = if editable && !organiser {
        Some(
            service::packs(state, Some(who), &v.competition_id)
                .await?
                .into_iter()
                .map(|p| (p.id, p.title))
                .collect(),
        )
    } else {
        None
    };
    let mut panel = Panel::new(lineage, choices);
    if organiser && v.remix_of.is_some() {
        panel.check = Some(super::check::stem_check(state, who, &v.id).await?);
    }
    // A refused change comes back as `?remix_error=<code>` (the forms redirect).
    let error =
        url::form_urlencoded::parse(ctx.here.split_once('?').map_or("", |(_, q)| q).as_bytes())
            .find(|(k, _)| k == "remix_error")
            .map(|(_, code)| {
                let key = format!("error.{code}");
                if code.starts_with("remix.") && ctx.l.has(&key) {
                    ctx.l.t(&key).to_string()
                } else {
                    ctx.t("error.internal").to_string()
                }
            });
    let page = EntryPanel {
        ctx,
        v,
        panel,
        error,
        owner: !organiser,
        organiser,
        licences: LICENCES.iter().map(|(l, _)| *l).collect(),
    };
    Ok(page.render()?)
}

#[derive(Deserialize)]
struct SourceForm {
    /// `pack:<id>`, `song:<id or address>` or empty (none).
    source: String,
    #[serde(default)]
    song: String,
}

#[post("/entries/{id}/source")]
async fn set_source(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<SourceForm>,
) -> Result<HttpResponse, AppError> {
    let f = form.into_inner();
    let input = super::model::SourceInput::from_form(&f.source, &f.song);
    match service::set_source(&state, &who, &id, input).await {
        Ok(_) => Ok(see_other(&format!("/entries/{id}#remix"))),
        Err(e) if form_error(&e) => Ok(see_other(&format!(
            "/entries/{id}?remix_error={}#remix",
            e.code()
        ))),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct PermissionForm {
    allowed: Option<String>,
    #[serde(default)]
    licence: String,
}

#[post("/entries/{id}/remix-permission")]
async fn set_permission(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    form: web::Form<PermissionForm>,
) -> Result<HttpResponse, AppError> {
    let f = form.into_inner();
    let input = PermissionInput {
        allowed: f.allowed.is_some(),
        licence: (!f.licence.is_empty()).then_some(f.licence),
    };
    match service::set_permission(&state, &who, &id, input).await {
        Ok(_) => Ok(see_other(&format!("/entries/{id}#remix"))),
        Err(e) if form_error(&e) => Ok(see_other(&format!(
            "/entries/{id}?remix_error={}#remix",
            e.code()
        ))),
        Err(e) => Err(e),
    }
}

/// The remix source fields of the new-entry form (empty when the competition has no
/// packs and does not need sources).
pub async fn new_entry_fields(
    state: &AppState,
    ctx: &PageCtx,
    who: &AuthUser,
    competition_id: &str,
    source: &str,
    song: &str,
) -> Result<String, AppError> {
    let packs: Vec<StemPackView> = service::packs(state, Some(who), competition_id)
        .await?
        .into_iter()
        .map(|p| p.localised(ctx.l))
        .collect();
    let settings = service::settings_view(state, Some(who), competition_id).await?;
    if packs.is_empty() && !settings.sources_required {
        return Ok(String::new());
    }
    #[derive(Template)]
    #[template(path = "remix/_new_entry_fields.html")]
    struct Fields<'a> {
        ctx: &'a PageCtx,
        packs: Vec<StemPackView>,
        required: bool,
        source: &'a str,
        song: &'a str,
    }
    Ok(Fields {
        ctx,
        packs,
        required: settings.sources_required,
        source,
        song,
    }
    .render()?)
}

/// The stem packs of a competition and whether it is a remix competition, for its page.
pub async fn competition_section(
    state: &AppState,
    ctx: &PageCtx,
    who: Option<&AuthUser>,
    competition_id: &str,
) -> Result<String, AppError> {
    let packs: Vec<StemPackView> = service::packs(state, who, competition_id)
        .await?
        .into_iter()
        .map(|p| p.localised(ctx.l))
        .collect();
    let settings = service::settings_view(state, who, competition_id).await?;
    if packs.is_empty() && !settings.sources_required {
        return Ok(String::new());
    }
    #[derive(Template)]
    #[template(path = "remix/competition_section.html")]
    struct Section<'a> {
        ctx: &'a PageCtx,
        packs: Vec<StemPackView>,
        required: bool,
    }
    Ok(Section {
        ctx,
        packs,
        required: settings.sources_required,
    }
    .render()?)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(organise)
        .service(organise_settings)
        .service(create_pack)
        .service(update_pack)
        .service(delete_file)
        .service(pack)
        .service(accept)
        .service(download_file)
        .service(super::song_page::song_show)
        .service(super::song_page::download_song)
        .service(set_source)
        .service(set_permission);
}
