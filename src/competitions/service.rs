use chrono::{NaiveDateTime, Utc};

use super::model::{CompetitionPage, CompetitionSummary};
use super::store;
use crate::db::Db;
use crate::error::AppError;
use crate::http::pagination::{PageQuery, encode_cursor};

/// One page of published competitions for the public.
pub async fn list_public(db: &Db, page: &PageQuery) -> Result<CompetitionPage, AppError> {
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
            .map(|r| CompetitionSummary::from_row(r, now))
            .collect(),
        next_cursor,
    })
}

/// A competition by id, for other features working inside their own transaction.
pub fn find(
    conn: &mut crate::db::DbConnection,
    id: &str,
) -> Result<Option<super::model::CompetitionRow>, AppError> {
    store::find(conn, id)
}
