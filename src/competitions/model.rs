use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::competitions;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = competitions)]
pub struct CompetitionRow {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub status: String,
    pub submissions_open_at: Option<NaiveDateTime>,
    pub submissions_close_at: Option<NaiveDateTime>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub published_at: Option<NaiveDateTime>,
}

pub const PUBLISHED: &str = "published";
pub const DRAFT: &str = "draft";

/// Where a competition's call for entries stands at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Upcoming,
    Open,
    Closed,
}

impl CompetitionRow {
    pub fn phase(&self, now: NaiveDateTime) -> Phase {
        match (self.submissions_open_at, self.submissions_close_at) {
            (Some(open), _) if now < open => Phase::Upcoming,
            (_, Some(close)) if now >= close => Phase::Closed,
            _ => Phase::Open,
        }
    }
}

/// A competition as the public sees it in lists.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompetitionSummary {
    /// Opaque identifier.
    pub id: String,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub phase: Phase,
    pub submissions_open_at: Option<DateTime<Utc>>,
    pub submissions_close_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
}

impl CompetitionSummary {
    pub fn from_row(row: &CompetitionRow, now: NaiveDateTime) -> CompetitionSummary {
        CompetitionSummary {
            id: row.id.clone(),
            slug: row.slug.clone(),
            title: row.title.clone(),
            summary: row.summary.clone(),
            phase: row.phase(now),
            submissions_open_at: row.submissions_open_at.map(|t| t.and_utc()),
            submissions_close_at: row.submissions_close_at.map(|t| t.and_utc()),
            published_at: row.published_at.map(|t| t.and_utc()),
        }
    }
}

/// One page of competitions.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompetitionPage {
    pub items: Vec<CompetitionSummary>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    fn row(open: Option<NaiveDateTime>, close: Option<NaiveDateTime>) -> CompetitionRow {
        CompetitionRow {
            id: "c".into(),
            slug: "s".into(),
            title: "t".into(),
            summary: String::new(),
            status: PUBLISHED.into(),
            submissions_open_at: open,
            submissions_close_at: close,
            created_by: None,
            created_at: at(0),
            updated_at: at(0),
            published_at: Some(at(0)),
        }
    }

    #[test]
    fn phase_follows_the_window_edges() {
        let r = row(Some(at(10)), Some(at(12)));
        assert_eq!(r.phase(at(9)), Phase::Upcoming);
        assert_eq!(r.phase(at(10)), Phase::Open);
        assert_eq!(r.phase(at(11)), Phase::Open);
        assert_eq!(r.phase(at(12)), Phase::Closed);
        assert_eq!(row(None, None).phase(at(1)), Phase::Open);
    }
}
