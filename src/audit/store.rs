//! Queries of the audit log.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::audit_log;
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub action: String,
    pub subject: String,
    pub details: String,
}

/// Which entries to read.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Only these subjects (a competition and what belongs to it); `None`: all.
    pub subjects: Option<Vec<String>>,
    /// Only these actors; `None`: anyone.
    pub actors: Option<Vec<String>>,
    /// Actions equal to this or starting with it (`entry.` or `entry.withdrawn`).
    pub action: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    /// Older than this id (the cursor).
    pub before: Option<i64>,
}

/// Newest first, at most `limit`.
pub fn list(conn: &mut DbConnection, f: &Filter, limit: i64) -> Result<Vec<AuditRow>, AppError> {
    let mut q = audit_log::table
        .select(AuditRow::as_select())
        .order(audit_log::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(s) = &f.subjects {
        q = q.filter(audit_log::subject.eq_any(s.clone()));
    }
    if let Some(a) = &f.actors {
        q = q.filter(audit_log::actor_id.eq_any(a.clone()));
    }
    if let Some(a) = &f.action {
        let escaped = a
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        q = q.filter(
            audit_log::action
                .eq(a.clone())
                .or(audit_log::action.like(format!("{escaped}%")).escape('\\')),
        );
    }
    if let Some(t) = f.from {
        q = q.filter(audit_log::at.ge(t));
    }
    if let Some(t) = f.to {
        q = q.filter(audit_log::at.lt(t));
    }
    if let Some(b) = f.before {
        q = q.filter(audit_log::id.lt(b));
    }
    Ok(q.load(conn)?)
}
