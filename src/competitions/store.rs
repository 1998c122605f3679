use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{CategoryRow, CompetitionRow, PUBLISHED, PromptRow};
use crate::db::DbConnection;
use crate::db::schema::{categories, competitions, prompts, results};
use crate::error::AppError;

/// Published competitions, newest first, after the `(published_at, id)` cursor.
pub fn list_published(
    conn: &mut DbConnection,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<CompetitionRow>, AppError> {
    let mut q = competitions::table
        .filter(competitions::status.eq(PUBLISHED))
        .filter(competitions::published_at.is_not_null())
        .select(CompetitionRow::as_select())
        .order((competitions::published_at.desc(), competitions::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some((at, id)) = after {
        q = q.filter(
            competitions::published_at
                .lt(at)
                .or(competitions::published_at
                    .eq(at)
                    .and(competitions::id.lt(id))),
        );
    }
    Ok(q.load(conn)?)
}

pub fn insert(conn: &mut DbConnection, row: &CompetitionRow) -> Result<(), AppError> {
    diesel::insert_into(competitions::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<CompetitionRow>, AppError> {
    Ok(competitions::table
        .find(id)
        .select(CompetitionRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_slug(
    conn: &mut DbConnection,
    slug: &str,
) -> Result<Option<CompetitionRow>, AppError> {
    Ok(competitions::table
        .filter(competitions::slug.eq(slug))
        .select(CompetitionRow::as_select())
        .first(conn)
        .optional()?)
}

/// Whether another competition already uses `slug`.
pub fn slug_taken(conn: &mut DbConnection, slug: &str, except_id: &str) -> Result<bool, AppError> {
    let n: i64 = competitions::table
        .filter(competitions::slug.eq(slug))
        .filter(competitions::id.ne(except_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn save(conn: &mut DbConnection, row: &CompetitionRow) -> Result<(), AppError> {
    diesel::update(competitions::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

/// Competitions `user_id` created (all of them for `None`: a site admin), newest first.
/// The competitions someone created or holds a role in (`also`), or every one (`None`).
pub fn list_managed(
    conn: &mut DbConnection,
    user_id: Option<&str>,
    also: &[String],
) -> Result<Vec<CompetitionRow>, AppError> {
    let mut q = competitions::table
        .select(CompetitionRow::as_select())
        .order((competitions::created_at.desc(), competitions::id.desc()))
        .limit(500)
        .into_boxed();
    if let Some(u) = user_id {
        q = q.filter(
            competitions::created_by
                .eq(u.to_string())
                .or(competitions::id.eq_any(also.to_vec())),
        );
    }
    Ok(q.load(conn)?)
}

pub fn prompts_of(
    conn: &mut DbConnection,
    competition_id: &str,
) -> Result<Vec<PromptRow>, AppError> {
    Ok(prompts::table
        .filter(prompts::competition_id.eq(competition_id))
        .select(PromptRow::as_select())
        .order((prompts::position.asc(), prompts::id.asc()))
        .load(conn)?)
}

pub fn find_prompt(conn: &mut DbConnection, id: &str) -> Result<Option<PromptRow>, AppError> {
    Ok(prompts::table
        .find(id)
        .select(PromptRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn categories_of(
    conn: &mut DbConnection,
    competition_id: &str,
) -> Result<Vec<CategoryRow>, AppError> {
    Ok(categories::table
        .filter(categories::competition_id.eq(competition_id))
        .select(CategoryRow::as_select())
        .order((categories::position.asc(), categories::id.asc()))
        .load(conn)?)
}

pub fn insert_prompt(conn: &mut DbConnection, row: &PromptRow) -> Result<(), AppError> {
    diesel::insert_into(prompts::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn save_prompt(conn: &mut DbConnection, row: &PromptRow) -> Result<(), AppError> {
    diesel::update(prompts::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn delete_prompt(conn: &mut DbConnection, id: &str) -> Result<(), AppError> {
    diesel::delete(prompts::table.find(id)).execute(conn)?;
    Ok(())
}

pub fn insert_category(conn: &mut DbConnection, row: &CategoryRow) -> Result<(), AppError> {
    diesel::insert_into(categories::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn save_category(conn: &mut DbConnection, row: &CategoryRow) -> Result<(), AppError> {
    diesel::update(categories::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn delete_category(conn: &mut DbConnection, id: &str) -> Result<(), AppError> {
    diesel::delete(categories::table.find(id)).execute(conn)?;
    Ok(())
}

/// Every image key competitions and prompts refer to (for the orphan sweeper).
pub fn image_keys(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    let mut keys: Vec<String> = competitions::table
        .filter(competitions::cover_key.is_not_null())
        .select(competitions::cover_key.assume_not_null())
        .load(conn)?;
    keys.extend(
        prompts::table
            .filter(prompts::image_key.is_not_null())
            .select(prompts::image_key.assume_not_null())
            .load::<String>(conn)?,
    );
    Ok(keys)
}

/// The competitions among `ids` whose results are public at `now` (the results
/// feature owns the table; a competition reads only the publication time).
pub fn results_out_among(
    conn: &mut DbConnection,
    ids: &[String],
    now: NaiveDateTime,
) -> Result<Vec<String>, AppError> {
    Ok(results::table
        .filter(results::competition_id.eq_any(ids))
        .filter(results::publish_at.le(now))
        .select(results::competition_id)
        .load(conn)?)
}

/// The entries placed in a competition's results, once they are public at `now` (the
/// results feature writes the standings; this reads only each line's `entry_id`).
pub fn placed_in_results(
    conn: &mut DbConnection,
    competition_id: &str,
    now: NaiveDateTime,
) -> Result<Vec<String>, AppError> {
    #[derive(serde::Deserialize)]
    struct Placed {
        entry_id: String,
    }
    let standings: Option<Option<String>> = results::table
        .find(competition_id)
        .filter(results::publish_at.le(now))
        .select(results::standings)
        .first(conn)
        .optional()?;
    let placed: Vec<Placed> = standings
        .flatten()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    Ok(placed.into_iter().map(|p| p.entry_id).collect())
}
