//! Leaderboards: the tallies as the public and the organiser see them, live or after
//! the close, kept as sent for the few seconds a live show reads them.

use super::VotingState as _;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{NaiveDateTime, Utc};

use super::domain::{self, RuleSettings};
use super::model::*;
use super::service::*;
use super::store;
use super::{BoardData, RoundInfo};
use crate::accounts::model::AuthUser;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;

pub fn rule_settings(r: &VotingRoundRow) -> RuleSettings {
    RuleSettings {
        burst_per_minute: r.burst_per_minute.max(1) as u32,
        new_account_minutes: r.new_account_minutes.max(0) as u32,
        new_accounts: domain::new_account_policy(&r.new_accounts).unwrap_or(domain::NEW_HOLD),
        pattern_min_voters: r.pattern_min_voters.max(2) as u32,
    }
}

pub(super) async fn board_data(state: &AppState, round: &str) -> Result<Arc<BoardData>, AppError> {
    let (db, key) = (state.db.clone(), round.to_string());
    state
        .voting()
        .boards
        .get(round, move || async move {
            let rows = db.run(move |conn| store::tallies_of(conn, &key)).await?;
            Ok(BoardData {
                counted: rows
                    .into_iter()
                    .map(|t| (t.entry_id, t.counted.max(0) as u64))
                    .collect(),
                read_at: Utc::now(),
            })
        })
        .await
}

/// Votes counted so far for a round's songs, whether or not its counts are shown: the
/// live show's total and pulse while the counts stay hidden (a total says nothing of
/// who leads). From the same cached tallies as the leaderboard.
pub async fn votes_so_far(state: &AppState, id: &str) -> Result<u64, AppError> {
    let i = info(state, id).await?;
    let d = board_data(state, &i.row.id).await?;
    Ok(i.entries
        .iter()
        .map(|e| d.counted.get(&e.id).copied().unwrap_or(0))
        .sum())
}

/// The leaderboard of a round (optionally one category), from the maintained tallies.
pub async fn leaderboard(
    state: &AppState,
    who: Option<&AuthUser>,
    id: &str,
    category: Option<&str>,
) -> Result<Leaderboard, AppError> {
    let (i, organiser) = visible(state, who, id).await?;
    let now = now();
    let shown = shown(&i.row, organiser, now);
    let data = if shown {
        Some(board_data(state, &i.row.id).await?)
    } else {
        None
    };
    Ok(board_of(&i, shown, category, data.as_deref(), now))
}

/// Whether the counts are shown to this reader now.
pub(super) fn shown(r: &VotingRoundRow, organiser: bool, now: NaiveDateTime) -> bool {
    r.is_closed(now) || organiser || r.counts_visible == domain::VISIBLE_LIVE
}

/// The leaderboard as the API sends it (JSON). While its inputs are the same — the
/// round's settings and tallies as cached, its state, whether counts are shown — every
/// reader gets the same bytes: during a live show thousands of viewers a second read
/// one round, and this spares each of them the ranking and the serialising.
pub async fn leaderboard_json(
    state: &AppState,
    who: Option<&AuthUser>,
    id: &str,
    category: Option<&str>,
) -> Result<bytes::Bytes, AppError> {
    let (i, organiser) = visible(state, who, id).await?;
    let now = now();
    let shown = shown(&i.row, organiser, now);
    let data = if shown {
        Some(board_data(state, &i.row.id).await?)
    } else {
        None
    };
    let category = category.filter(|c| !c.is_empty());
    let phase = state_of(&i.row, now);
    let key = (i.row.id.clone(), category.map(str::to_string), shown);
    if let Some(kept) = state.voting().board_json.get(&key)
        && Arc::ptr_eq(&kept.info, &i)
        && kept.phase == phase
        && match (&kept.data, &data) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    {
        return Ok(kept.json.clone());
    }
    let board = board_of(&i, shown, category, data.as_deref(), now);
    let json = bytes::Bytes::from(
        serde_json::to_vec(&board).map_err(|e| AppError::internal(e.to_string()))?,
    );
    state.voting().board_json.insert(
        key,
        Arc::new(super::BoardJson {
            info: i,
            data,
            phase,
            json: json.clone(),
        }),
    );
    Ok(json)
}

pub(super) fn board_of(
    i: &RoundInfo,
    shown: bool,
    category: Option<&str>,
    data: Option<&BoardData>,
    now: NaiveDateTime,
) -> Leaderboard {
    let category = category.filter(|c| !c.is_empty());
    let mut lines: Vec<BoardLine> = i
        .entries
        .iter()
        .filter(|e| category.is_none() || e.category_id.as_deref() == category)
        .map(|e| BoardLine {
            rank: 0,
            entry_id: e.id.clone(),
            title: e.title.clone(),
            musician: e.musician.clone(),
            category_id: e.category_id.clone(),
            category: e.category.clone(),
            votes: data
                .and_then(|d| d.counted.get(&e.id).copied())
                .unwrap_or(0),
        })
        .collect();
    lines.sort_by(|a, b| {
        b.votes
            .cmp(&a.votes)
            .then_with(|| a.title.to_lowercase().cmp(&b.title.to_lowercase()))
            .then_with(|| a.entry_id.cmp(&b.entry_id))
    });
    let mut prev: Option<(u64, u32)> = None;
    for (k, l) in lines.iter_mut().enumerate() {
        l.rank = match prev {
            Some((v, r)) if v == l.votes && shown => r,
            _ => k as u32 + 1,
        };
        prev = Some((l.votes, l.rank));
        if !shown {
            l.rank = 0;
        }
    }
    Leaderboard {
        round_id: i.row.id.clone(),
        title: i.row.title.clone(),
        state: state_of(&i.row, now).into(),
        counts_visible: shown,
        category_id: category.map(str::to_string),
        total_votes: lines.iter().map(|l| l.votes).sum(),
        lines,
        updated_at: data.map(|d| d.read_at).unwrap_or_else(Utc::now),
    }
}

/// The current status of every vote that is not simply counted.
pub(super) fn current_status(
    flags: &HashMap<i64, FlagRow>,
    v: &VoteRow,
) -> (String, Option<String>) {
    match flags.get(&v.id) {
        Some(f) => (f.status.clone(), f.rule.clone()),
        None => (domain::COUNTED.into(), None),
    }
}

/// Counted votes per entry, as the tally hash covers them.
pub(super) fn counted_of(tallies: &[TallyRow]) -> BTreeMap<String, u64> {
    tallies
        .iter()
        .map(|t| (t.entry_id.clone(), t.counted.max(0) as u64))
        .collect()
}

/// Every voting round's tally hash (as its leaderboard publishes it), by round id: what a
/// restored backup must reproduce (`cadenza admin census`).
pub fn tally_hashes(conn: &mut DbConnection) -> Result<BTreeMap<String, String>, AppError> {
    let mut out = BTreeMap::new();
    for id in store::round_ids(conn)? {
        let hash = domain::tally_hash(&counted_of(&store::tallies_of(conn, &id)?));
        out.insert(id, hash);
    }
    Ok(out)
}
