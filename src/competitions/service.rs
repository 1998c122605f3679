use chrono::{NaiveDateTime, Utc};

use super::domain::{
    self, CompetitionInput, MAX_CATEGORIES, MAX_MARKDOWN, MAX_PROMPTS, MAX_SUMMARY,
};
use super::model::{
    CategoryRow, CompetitionPage, CompetitionRow, CompetitionSummary, CompetitionView, DRAFT,
    PUBLISHED, Phase, PromptRow,
};
use super::store;
use crate::accounts::model::AuthUser;
use crate::accounts::model::{Role, UserRow};
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::http::pagination::{PageQuery, encode_cursor};
use crate::i18n::Locale;
use crate::i18n::content::{self, Translations};
use crate::state::AppState;

/// Largest cover or prompt image.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// One page of published competitions for the public.
pub async fn list_public(
    db: &Db,
    page: &PageQuery,
    l: Locale,
) -> Result<CompetitionPage, AppError> {
    let after: Option<(NaiveDateTime, String)> = page.decode()?;
    let limit = page.limit() as i64;
    let rows = db
        .run(move |conn| store::list_published(conn, after, limit + 1))
        .await?;
    let now = Utc::now().naive_utc();
    let has_more = rows.len() as i64 > limit;
    let rows = &rows[..rows.len().min(limit as usize)];
    let next_cursor = if has_more {
        rows.last()
            .and_then(|r| r.published_at.map(|p| encode_cursor(&(p, r.id.clone()))))
    } else {
        None
    };
    Ok(CompetitionPage {
        items: rows
            .iter()
            .map(|r| CompetitionSummary::from_row(r, now, l))
            .collect(),
        next_cursor,
    })
}

/// A competition by id, for other features working inside their own transaction.
pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<CompetitionRow>, AppError> {
    store::find(conn, id)
}

pub fn find_prompt(conn: &mut DbConnection, id: &str) -> Result<Option<PromptRow>, AppError> {
    store::find_prompt(conn, id)
}

pub fn prompts_of(conn: &mut DbConnection, id: &str) -> Result<Vec<PromptRow>, AppError> {
    store::prompts_of(conn, id)
}

pub fn categories_of(conn: &mut DbConnection, id: &str) -> Result<Vec<CategoryRow>, AppError> {
    store::categories_of(conn, id)
}

pub fn image_keys(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    store::image_keys(conn)
}

/// Whether `who` runs a competition created by `created_by` (its organiser, or a site admin).
/// Whether `who` runs competition `c`: a site admin, the organiser who created it, or a
/// co-organiser (the organiser role in that competition).
pub fn may_manage(who: &AuthUser, c: &CompetitionRow) -> bool {
    who.has_role(Role::Admin.as_str())
        || (who.has_role(Role::Organiser.as_str())
            && c.created_by.as_deref() == Some(who.user.id.as_str()))
        || who.has_role_in(Role::Organiser.as_str(), &c.id)
}

/// Whether `who` may change competition `c`'s rules and results: a site admin or the
/// organiser who created it (co-organisers run everything else).
pub fn may_own(who: &AuthUser, c: &CompetitionRow) -> bool {
    who.has_role(Role::Admin.as_str())
        || (who.has_role(Role::Organiser.as_str())
            && c.created_by.as_deref() == Some(who.user.id.as_str()))
}

/// The refusal for a co-organiser who tries to change the rules or the results.
pub fn owner_only() -> AppError {
    AppError::Refused {
        status: actix_web::http::StatusCode::FORBIDDEN,
        code: "team.owner_only",
        params: vec![],
    }
}

/// The competition `id` if `who` may change its rules: 404 for strangers, 403 for its
/// co-organisers and moderators.
pub fn owned(
    conn: &mut DbConnection,
    who: &AuthUser,
    id: &str,
) -> Result<CompetitionRow, AppError> {
    let c = moderated(conn, who, id)?;
    if !may_own(who, &c) {
        return Err(owner_only());
    }
    Ok(c)
}

/// Whether `who` may change competition `id`'s rules (for pages that show them read-only
/// to co-organisers).
pub async fn owns(state: &AppState, who: &AuthUser, id: &str) -> Result<bool, AppError> {
    holds(state, who, id, may_own).await
}

/// Whether `who` runs competition `id` (not only moderates it), for pages that show
/// moderators less.
pub async fn manages(state: &AppState, who: &AuthUser, id: &str) -> Result<bool, AppError> {
    holds(state, who, id, may_manage).await
}

async fn holds(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    may: fn(&AuthUser, &CompetitionRow) -> bool,
) -> Result<bool, AppError> {
    let (who, id) = (who.clone(), id.to_string());
    state
        .db
        .run(move |conn| Ok(store::find(conn, &id)?.is_some_and(|c| may(&who, &c))))
        .await
}

/// Whether `who` may moderate competition `c`'s entries and votes: whoever runs it, and
/// its moderators (who change neither rules nor results).
pub fn may_moderate(who: &AuthUser, c: &CompetitionRow) -> bool {
    may_manage(who, c) || who.has_role_in(crate::accounts::model::MODERATOR, &c.id)
}

/// The competition `id` if `who` may moderate it; otherwise not found.
pub fn moderated(
    conn: &mut DbConnection,
    who: &AuthUser,
    id: &str,
) -> Result<CompetitionRow, AppError> {
    let c = store::find(conn, id)?.ok_or(AppError::NotFound)?;
    if !may_moderate(who, &c) {
        return Err(AppError::NotFound);
    }
    Ok(c)
}

/// The competition `id` if `who` may manage it; otherwise not found (nothing is revealed).
pub fn managed(
    conn: &mut DbConnection,
    who: &AuthUser,
    id: &str,
) -> Result<CompetitionRow, AppError> {
    let c = store::find(conn, id)?.ok_or(AppError::NotFound)?;
    if !may_manage(who, &c) {
        return Err(AppError::NotFound);
    }
    Ok(c)
}

/// Run `f` in one transaction with competition `id`, if `who` may manage it (else 404).
pub async fn with_managed<T, F>(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    f: F,
) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection, &AuthUser, CompetitionRow) -> Result<T, AppError> + Send + 'static,
{
    let (who, id) = (who.clone(), id.to_string());
    state
        .db
        .transaction(move |conn| {
            let c = managed(conn, &who, &id)?;
            f(conn, &who, c)
        })
        .await
}

/// Whether a competition's results are out: a phase of the competition that its page,
/// the home page's card, feedback and remix permissions follow. The results feature
/// writes the publication time; this only reads it.
pub fn results_out(conn: &mut DbConnection, competition_id: &str) -> Result<bool, AppError> {
    Ok(
        !store::results_out_among(conn, &[competition_id.to_string()], crate::time::now())?
            .is_empty(),
    )
}

/// Whether `entry_id` is placed in its competition's public results: a *public song*
/// (its page, its public audio, remixing it). An entry out before the final is not.
pub fn in_public_results(
    conn: &mut DbConnection,
    competition_id: &str,
    entry_id: &str,
) -> Result<bool, AppError> {
    Ok(
        store::placed_in_results(conn, competition_id, crate::time::now())?
            .iter()
            .any(|id| id == entry_id),
    )
}

/// [`results_out`] for a request.
pub async fn results_are_out(state: &AppState, competition_id: &str) -> Result<bool, AppError> {
    let id = competition_id.to_string();
    state.db.run(move |conn| results_out(conn, &id)).await
}

/// Which of these competitions have their results out (for the home page's cards).
pub async fn results_out_among(
    state: &AppState,
    ids: Vec<String>,
) -> Result<std::collections::HashSet<String>, AppError> {
    state
        .db
        .run(move |conn| {
            Ok(store::results_out_among(conn, &ids, crate::time::now())?
                .into_iter()
                .collect())
        })
        .await
}

fn view(conn: &mut DbConnection, c: &CompetitionRow) -> Result<CompetitionView, AppError> {
    let prompts = store::prompts_of(conn, &c.id)?;
    let categories = store::categories_of(conn, &c.id)?;
    Ok(CompetitionView::new(
        c,
        &prompts,
        &categories,
        Utc::now().naive_utc(),
    ))
}

/// A competition by slug or id: published ones for everyone, drafts for their organisers.
pub async fn public_view(
    state: &AppState,
    who: Option<&AuthUser>,
    slug_or_id: &str,
) -> Result<CompetitionView, AppError> {
    let key = slug_or_id.to_string();
    let who = who.cloned();
    state
        .db
        .run(move |conn| {
            let c = match store::find_by_slug(conn, &key)? {
                Some(c) => c,
                None => store::find(conn, &key)?.ok_or(AppError::NotFound)?,
            };
            let visible = c.is_published() || who.as_ref().is_some_and(|w| may_manage(w, &c));
            if !visible {
                return Err(AppError::NotFound);
            }
            view(conn, &c)
        })
        .await
}

/// The competition for someone who may moderate it (its organisers and moderators).
pub async fn moderated_view(
    state: &AppState,
    who: &AuthUser,
    id: &str,
) -> Result<CompetitionView, AppError> {
    let (who, id) = (who.clone(), id.to_string());
    state
        .db
        .run(move |conn| {
            let c = moderated(conn, &who, &id)?;
            view(conn, &c)
        })
        .await
}

pub async fn managed_view(
    state: &AppState,
    who: &AuthUser,
    id: &str,
) -> Result<CompetitionView, AppError> {
    let (who, id) = (who.clone(), id.to_string());
    state
        .db
        .run(move |conn| {
            let c = managed(conn, &who, &id)?;
            view(conn, &c)
        })
        .await
}

/// The competitions `who` runs (every one for a site admin).
pub async fn list_managed(
    state: &AppState,
    who: &AuthUser,
    l: Locale,
) -> Result<Vec<CompetitionSummary>, AppError> {
    let user = (!who.has_role(Role::Admin.as_str())).then(|| who.user.id.clone());
    // Co-organised and moderated ones too (a site organiser's own are by `created_by`).
    let also: Vec<String> = who
        .competition_roles
        .iter()
        .filter(|(r, _)| r == Role::Organiser.as_str() || r == crate::accounts::model::MODERATOR)
        .map(|(_, c)| c.clone())
        .collect();
    let rows = state
        .db
        .run(move |conn| store::list_managed(conn, user.as_deref(), &also))
        .await?;
    let now = Utc::now().naive_utc();
    Ok(rows
        .iter()
        .map(|r| CompetitionSummary::from_row(r, now, l))
        .collect())
}

pub async fn create(
    state: &AppState,
    who: &AuthUser,
    input: CompetitionInput,
) -> Result<CompetitionView, AppError> {
    if !(who.has_role(Role::Organiser.as_str()) || who.has_role(Role::Admin.as_str())) {
        return Err(AppError::Forbidden);
    }
    let title = domain::parse_title(input.title.as_deref().unwrap_or(""))?;
    let slug = domain::parse_slug(input.slug.as_deref().unwrap_or(""))?;
    let who = who.clone();
    state
        .db
        .transaction(move |conn| {
            let now = Utc::now().naive_utc();
            let mut row = CompetitionRow::new(&slug, &title, Some(&who.user.id), now);
            if store::slug_taken(conn, &slug, "")? {
                return Err(AppError::Conflict {
                    code: "competition.slug_taken",
                });
            }
            store::insert(conn, &row)?;
            apply(conn, &mut row, input, now)?;
            store::save(conn, &row)?;
            crate::db::audit::record(
                conn,
                Some(&who.user.id),
                "competition.created",
                &row.id,
                &serde_json::json!({}),
                now,
            )?;
            view(conn, &row)
        })
        .await
}

pub async fn update(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    input: CompetitionInput,
) -> Result<CompetitionView, AppError> {
    let (who, id) = (who.clone(), id.to_string());
    state
        .db
        .transaction(move |conn| {
            let mut row = owned(conn, &who, &id)?;
            let now = Utc::now().naive_utc();
            apply(conn, &mut row, input, now)?;
            store::save(conn, &row)?;
            view(conn, &row)
        })
        .await
}

/// Apply an organiser's changes to `row` (saved by the caller) and its prompts and categories.
fn apply(
    conn: &mut DbConnection,
    row: &mut CompetitionRow,
    input: CompetitionInput,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    if let Some(l) = &input.language {
        row.language = content::parse_language(l)?.tag().to_string();
        // The competition's own language lives in its columns, never in its translations.
        let source = row.source();
        row.translations = Translations::from_stored(&row.translations)
            .without(source)
            .to_stored();
    }
    let source = row.source();
    if let Some(t) = &input.title {
        row.title = domain::parse_title(t)?;
    }
    if let Some(tr) = &input.translations {
        row.translations = domain::parse_competition_translations(tr, source)?.to_stored();
    }
    if let Some(s) = &input.slug {
        let slug = domain::parse_slug(s)?;
        if slug != row.slug && store::slug_taken(conn, &slug, &row.id)? {
            return Err(AppError::Conflict {
                code: "competition.slug_taken",
            });
        }
        row.slug = slug;
    }
    if let Some(s) = &input.summary {
        row.summary = domain::parse_text(s, MAX_SUMMARY, "competition.text_too_long")?;
    }
    if let Some(s) = &input.description {
        row.description = domain::parse_text(s, MAX_MARKDOWN, "competition.text_too_long")?;
    }
    if let Some(s) = &input.rules {
        row.rules = domain::parse_text(s, MAX_MARKDOWN, "competition.text_too_long")?;
    }
    if let Some(tz) = &input.time_zone {
        row.time_zone = domain::parse_time_zone(tz)?.name().to_string();
    }
    let tz = domain::parse_time_zone(&row.time_zone)?;
    if let Some(t) = &input.submissions_open_at {
        row.submissions_open_at = domain::parse_time(t, tz)?;
    }
    if let Some(t) = &input.submissions_close_at {
        row.submissions_close_at = domain::parse_time(t, tz)?;
    }
    if let (Some(a), Some(b)) = (row.submissions_open_at, row.submissions_close_at)
        && a >= b
    {
        return Err(AppError::invalid("competition.window_invalid"));
    }
    if let Some(n) = input.entries_per_musician {
        row.entries_per_musician = domain::parse_quota(n)?;
    }
    if input.min_age.is_some() || input.max_age.is_some() {
        let (min, max) =
            domain::parse_ages(input.min_age.or(row.min_age), input.max_age.or(row.max_age))?;
        row.min_age = min;
        row.max_age = max;
    }
    if let Some(a) = input.consent_age {
        row.consent_age = domain::parse_consent_age(a)?;
    }
    if let Some(r) = &input.ai_rule {
        row.ai_rule = super::ai::AiRule::from_input(r)?.as_str().into();
    }
    if let Some(p) = &input.audio_policy {
        let policy = domain::parse_policy(p)?;
        row.audio_policy = serde_json::to_string(&policy).map_err(AppError::internal)?;
    }
    row.updated_at = now;
    if let Some(list) = &input.prompts {
        if list.len() > MAX_PROMPTS {
            return Err(AppError::invalid("competition.prompt_invalid"));
        }
        let existing = store::prompts_of(conn, &row.id)?;
        let ids = list.iter().map(|p| p.id.as_deref());
        let (plan, removed) = match_by_id(&existing, ids, |e| &e.id, "competition.prompt_invalid")?;
        for ((i, p), stored) in list.iter().enumerate().zip(plan) {
            let (title, story) = domain::parse_prompt(p)?;
            let translations = p
                .translations
                .as_ref()
                .map(|t| domain::parse_prompt_translations(t, source))
                .transpose()?;
            let position = i as i32;
            match stored {
                Some(e) => store::save_prompt(
                    conn,
                    &PromptRow {
                        position,
                        title,
                        story,
                        updated_at: now,
                        translations: translations.map(|t| t.to_stored()).unwrap_or_else(|| {
                            Translations::from_stored(&e.translations)
                                .without(source)
                                .to_stored()
                        }),
                        ..e.clone()
                    },
                )?,
                None => store::insert_prompt(
                    conn,
                    &PromptRow {
                        id: uuid::Uuid::now_v7().simple().to_string(),
                        competition_id: row.id.clone(),
                        position,
                        title,
                        story,
                        image_key: None,
                        created_at: now,
                        updated_at: now,
                        translations: translations.unwrap_or_default().to_stored(),
                    },
                )?,
            }
        }
        // A removed prompt's entries keep their other details; the sweeper removes its image.
        for id in removed {
            store::delete_prompt(conn, &id)?;
        }
    }
    if let Some(list) = &input.categories {
        if list.len() > MAX_CATEGORIES {
            return Err(AppError::invalid("competition.category_invalid"));
        }
        let existing = store::categories_of(conn, &row.id)?;
        let ids = list.iter().map(|c| c.id.as_deref());
        let (plan, removed) =
            match_by_id(&existing, ids, |e| &e.id, "competition.category_invalid")?;
        for ((i, c), stored) in list.iter().enumerate().zip(plan) {
            let (name, description) = domain::parse_category(c)?;
            let translations = c
                .translations
                .as_ref()
                .map(|t| domain::parse_category_translations(t, source))
                .transpose()?;
            let position = i as i32;
            match stored {
                // Kept by identity: a renamed category keeps its entries; what was not
                // sent (description, translations) stays as it was.
                Some(e) => store::save_category(
                    conn,
                    &CategoryRow {
                        position,
                        name,
                        description: description.unwrap_or_else(|| e.description.clone()),
                        translations: translations.map(|t| t.to_stored()).unwrap_or_else(|| {
                            Translations::from_stored(&e.translations)
                                .without(source)
                                .to_stored()
                        }),
                        ..e.clone()
                    },
                )?,
                None => store::insert_category(
                    conn,
                    &CategoryRow {
                        id: uuid::Uuid::now_v7().simple().to_string(),
                        competition_id: row.id.clone(),
                        position,
                        name,
                        description: description.unwrap_or_default(),
                        translations: translations.unwrap_or_default().to_stored(),
                    },
                )?,
            }
        }
        for id in removed {
            store::delete_category(conn, &id)?;
        }
    }
    Ok(())
}

/// Match a submitted list against the stored rows by id: for each item, the row it
/// updates (`None`: a new row), and the ids of stored rows left out (to delete). An id
/// that is not one of the stored rows is refused with `code`.
fn match_by_id<'a, 'b, R>(
    existing: &'a [R],
    ids: impl Iterator<Item = Option<&'b str>>,
    id_of: impl Fn(&R) -> &str,
    code: &'static str,
) -> Result<(Vec<Option<&'a R>>, Vec<String>), AppError> {
    let mut plan = Vec::new();
    for id in ids {
        match id {
            Some(id) => plan.push(Some(
                existing
                    .iter()
                    .find(|e| id_of(e) == id)
                    .ok_or_else(|| AppError::invalid(code))?,
            )),
            None => plan.push(None),
        }
    }
    let removed = existing
        .iter()
        .filter(|e| !plan.iter().flatten().any(|k| id_of(k) == id_of(e)))
        .map(|e| id_of(e).to_string())
        .collect();
    Ok((plan, removed))
}

pub async fn set_published(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    publish: bool,
) -> Result<CompetitionView, AppError> {
    let (who, id) = (who.clone(), id.to_string());
    state
        .db
        .transaction(move |conn| {
            let mut row = owned(conn, &who, &id)?;
            let now = Utc::now().naive_utc();
            if publish {
                row.status = PUBLISHED.into();
                row.published_at.get_or_insert(now);
            } else {
                row.status = DRAFT.into();
            }
            row.updated_at = now;
            store::save(conn, &row)?;
            let action = if publish {
                "competition.published"
            } else {
                "competition.unpublished"
            };
            crate::db::audit::record(
                conn,
                Some(&who.user.id),
                action,
                &row.id,
                &serde_json::json!({}),
                now,
            )?;
            view(conn, &row)
        })
        .await
}

pub use super::pictures::{ImageOf, image_key, picture_size, set_image};

/// Why `user` may not enter `c` now, if they may not: the window, the age range, a
/// known age and, under the competition's age of digital consent, a guardian's consent
/// (a verified email is checked by the caller).
pub fn check_eligible(
    c: &CompetitionRow,
    user: &UserRow,
    default_consent_age: u32,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    if !c.is_published() {
        return Err(AppError::NotFound);
    }
    match c.phase(now) {
        Phase::Open => {}
        Phase::Upcoming => return Err(AppError::invalid("entry.window_not_open")),
        Phase::Closed => return Err(AppError::invalid("entry.window_closed")),
    }
    let Some(age) = user
        .date_of_birth
        .as_deref()
        .and_then(|d| crate::accounts::domain::DateOfBirth::parse(d, now.date()).ok())
        .map(|d| d.age_on(now.date()) as i32)
    else {
        return Err(AppError::refused(
            actix_web::http::StatusCode::FORBIDDEN,
            "entry.birth_date_needed",
        ));
    };
    if c.min_age.is_some_and(|m| age < m) || c.max_age.is_some_and(|m| age > m) {
        let a = |x: Option<i32>| x.map(|a| a.to_string()).unwrap_or_else(|| "—".into());
        return Err(AppError::invalid_with(
            "entry.age_not_eligible",
            vec![("min", a(c.min_age)), ("max", a(c.max_age))],
        ));
    }
    crate::accounts::domain::consent_check(user, c.consent_age_or(default_consent_age), now.date())
}

/// A competition by slug, else by id (any status; callers decide what is visible).
pub fn find_by_slug_or_id(
    conn: &mut DbConnection,
    key: &str,
) -> Result<Option<CompetitionRow>, AppError> {
    match store::find_by_slug(conn, key)? {
        Some(c) => Ok(Some(c)),
        None => store::find(conn, key),
    }
}
