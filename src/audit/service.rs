//! Reading the audit log: who may read which part, filters, pages and CSV.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::store::{self, AuditRow, Filter};
use crate::accounts::model::AuthUser;
use crate::accounts::model::Role;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;

pub const PAGE: i64 = 100;
/// The most rows a CSV export holds.
pub const CSV_MAX: i64 = 100_000;

/// Filters, as the page's form and the API take them.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Part of the name or email of who did it.
    pub who: Option<String>,
    /// An action (`entry.withdrawn`) or its beginning (`entry.`).
    pub action: Option<String>,
    /// From this day (`2026-12-01`, UTC) or instant (RFC 3339).
    pub from: Option<String>,
    /// Up to and including this day, or up to this instant.
    pub to: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Actor {
    pub id: String,
    pub name: String,
    /// Shown to site admins only.
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// Who did it (`null`: the system, or an erased account).
    pub actor: Option<Actor>,
    pub action: String,
    /// What it was done to: a competition, entry, round or account id.
    pub subject: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for older entries; absent on the last page.
    pub next_cursor: Option<String>,
}

fn bad() -> AppError {
    AppError::invalid("audit.filter_invalid")
}

/// A day or an instant; `end` turns a day into the start of the next one.
fn parse_when(raw: Option<&str>, end: bool) -> Result<Option<NaiveDateTime>, AppError> {
    let Some(s) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(Some(t.naive_utc()));
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad())?;
    let d = if end {
        d.succ_opt().ok_or_else(bad)?
    } else {
        d
    };
    Ok(d.and_hms_opt(0, 0, 0))
}

/// The filter for `q` within `subjects`; `None` when nobody matches "who".
fn filter_of(
    conn: &mut DbConnection,
    q: &AuditQuery,
    subjects: Option<Vec<String>>,
) -> Result<Option<Filter>, AppError> {
    let actors = match q.who.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(who) => {
            if who.chars().count() > 100 {
                return Err(bad());
            }
            let ids: Vec<String> = crate::accounts::service::search_users(conn, who, None, 1000)?
                .into_iter()
                .map(|u| u.id)
                .collect();
            if ids.is_empty() {
                return Ok(None);
            }
            Some(ids)
        }
        None => None,
    };
    let action = q
        .action
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if action.as_ref().is_some_and(|a| {
        a.len() > 80
            || !a
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_')
    }) {
        return Err(bad());
    }
    let before = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(crate::http::pagination::decode_cursor::<i64>(c)?),
        None => None,
    };
    let from = parse_when(q.from.as_deref(), false)?;
    let to = parse_when(q.to.as_deref(), true)?;
    if let (Some(a), Some(b)) = (from, to)
        && a >= b
    {
        return Err(bad());
    }
    Ok(Some(Filter {
        subjects,
        actors,
        action,
        from,
        to,
        before,
    }))
}

fn entries(
    conn: &mut DbConnection,
    rows: Vec<AuditRow>,
    with_email: bool,
) -> Result<Vec<AuditEntry>, AppError> {
    let ids: Vec<String> = rows.iter().filter_map(|r| r.actor_id.clone()).collect();
    let people: HashMap<String, crate::accounts::model::UserRow> =
        crate::accounts::service::users_by_ids(conn, &ids)?
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect();
    Ok(rows
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            at: r.at.and_utc(),
            actor: r
                .actor_id
                .as_ref()
                .and_then(|id| people.get(id))
                .map(|u| Actor {
                    id: u.id.clone(),
                    name: u.display_name.clone(),
                    email: with_email.then(|| u.email.clone()),
                }),
            action: r.action,
            subject: r.subject,
            details: serde_json::from_str(&r.details).unwrap_or_default(),
        })
        .collect())
}

fn page_of(items: Vec<AuditEntry>, limit: i64) -> AuditPage {
    let next_cursor = (items.len() as i64 == limit)
        .then(|| {
            items
                .last()
                .map(|e| crate::http::pagination::encode_cursor(&e.id))
        })
        .flatten();
    AuditPage { items, next_cursor }
}

/// What belongs to competition `cid` in the log: itself, its entries and its rounds.
fn subjects_of(conn: &mut DbConnection, cid: &str) -> Result<Vec<String>, AppError> {
    let mut s = vec![cid.to_string()];
    s.extend(crate::submissions::service::entry_ids(conn, cid)?);
    s.extend(crate::judging::service::round_ids(conn, cid)?);
    s.extend(crate::voting::service::round_ids(conn, cid)?);
    Ok(s)
}

/// A competition's log, for those who run it.
pub async fn competition_log(
    state: &AppState,
    who: &AuthUser,
    cid: &str,
    q: AuditQuery,
    limit: i64,
) -> Result<AuditPage, AppError> {
    let (who, cid) = (who.clone(), cid.to_string());
    state
        .db
        .run(move |conn| {
            let c = crate::competitions::service::managed(conn, &who, &cid)?;
            let subjects = subjects_of(conn, &c.id)?;
            let Some(f) = filter_of(conn, &q, Some(subjects))? else {
                return Ok(page_of(Vec::new(), limit));
            };
            let rows = store::list(conn, &f, limit)?;
            let admin = who.has_role(Role::Admin.as_str());
            Ok(page_of(entries(conn, rows, admin)?, limit))
        })
        .await
}

/// The whole site's log, for admins.
pub async fn site_log(
    state: &AppState,
    who: &AuthUser,
    q: AuditQuery,
    limit: i64,
) -> Result<AuditPage, AppError> {
    if !who.has_role(Role::Admin.as_str()) {
        return Err(AppError::NotFound);
    }
    state
        .db
        .run(move |conn| {
            let Some(f) = filter_of(conn, &q, None)? else {
                return Ok(page_of(Vec::new(), limit));
            };
            let rows = store::list(conn, &f, limit)?;
            Ok(page_of(entries(conn, rows, true)?, limit))
        })
        .await
}

/// Entries as CSV (cells that a spreadsheet would run as formulas are quoted).
pub fn csv(items: &[AuditEntry]) -> Result<String, AppError> {
    let cell = crate::http::csv::cell;
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["at", "actor", "actor_email", "action", "subject", "details"])
        .map_err(AppError::internal)?;
    for e in items {
        let (name, email) = match &e.actor {
            Some(a) => (a.name.clone(), a.email.clone().unwrap_or_default()),
            None => (String::new(), String::new()),
        };
        w.write_record([
            e.at.to_rfc3339(),
            cell(&name),
            cell(&email),
            e.action.clone(),
            cell(&e.subject),
            cell(&e.details.to_string()),
        ])
        .map_err(AppError::internal)?;
    }
    String::from_utf8(w.into_inner().map_err(AppError::internal)?).map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_instants_bound_the_log() {
        let from = parse_when(Some("2026-12-01"), false).unwrap().unwrap();
        let to = parse_when(Some("2026-12-01"), true).unwrap().unwrap();
        assert_eq!(
            (to - from).num_hours(),
            24,
            "a day up to and including itself"
        );
        assert!(
            parse_when(Some("2026-12-01T08:00:00+08:00"), false)
                .unwrap()
                .is_some()
        );
        assert!(parse_when(Some(""), false).unwrap().is_none());
        assert_eq!(
            parse_when(Some("yesterday"), false).unwrap_err().code(),
            "audit.filter_invalid"
        );
    }
}
