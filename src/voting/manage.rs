//! The organiser's controls of a voting round: which songs are in play (the finalists
//! by default, changed only before the vote opens, each change audited with its reason),
//! and opening or closing the vote now.

use super::VotingState as _;
use std::collections::{HashMap, HashSet};

use super::model::*;
use super::service::{now, view};
use super::store;
use crate::accounts::model::AuthUser;
use crate::accounts::service as accounts;
use crate::competitions::service as competitions;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;
use crate::submissions::model::EntryRow;
use crate::submissions::service as submissions;

/// Items for these entries, with names and categories, in the order given.
fn items(
    conn: &mut DbConnection,
    cid: &str,
    rows: &[&EntryRow],
    finalists: &HashSet<String>,
) -> Result<Vec<VotingEntryItem>, AppError> {
    let musicians: Vec<String> =
        super::domain::distinct(rows.iter().map(|e| e.musician_id.as_str()));
    let names = accounts::display_names(conn, &musicians)?;
    let cats: HashMap<String, String> = competitions::categories_of(conn, cid)?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    Ok(rows
        .iter()
        .map(|e| VotingEntryItem {
            entry_id: e.id.clone(),
            title: e.title.clone(),
            musician: names.get(&e.musician_id).cloned().unwrap_or_default(),
            category: e.category_id.as_ref().and_then(|c| cats.get(c).cloned()),
            finalist: finalists.contains(&e.id),
        })
        .collect())
}

/// The songs a competition could put to a vote, for the new-vote form: every entry that
/// may be voted on, finalists first (and marked).
pub async fn candidates(
    state: &AppState,
    who: &AuthUser,
    cid: &str,
) -> Result<(Vec<VotingEntryItem>, bool), AppError> {
    let (who, cid) = (who.clone(), cid.to_string());
    state
        .db
        .run(move |conn| {
            let c = competitions::managed(conn, &who, &cid)?;
            let finalists = crate::judging::service::finalists(conn, &c.id)?;
            let decided = finalists.is_some();
            let finalists: HashSet<String> = finalists.unwrap_or_default().into_iter().collect();
            let mut all = submissions::judgeable_entries(conn, &c.id)?;
            all.sort_by_key(|e| !finalists.contains(&e.id));
            let rows: Vec<&EntryRow> = all.iter().collect();
            Ok((items(conn, &c.id, &rows, &finalists)?, decided))
        })
        .await
}

fn entries_view(conn: &mut DbConnection, r: &VotingRoundRow) -> Result<VotingEntries, AppError> {
    let in_play: Vec<String> = store::entries_of(conn, &r.id)?
        .into_iter()
        .map(|e| e.entry_id)
        .collect();
    let rows = submissions::find_entries(conn, &in_play)?;
    let finalists: HashSet<String> = crate::judging::service::finalists(conn, &r.competition_id)?
        .unwrap_or_default()
        .into_iter()
        .collect();
    let playing: Vec<&EntryRow> = in_play.iter().filter_map(|id| rows.get(id)).collect();
    let entries = items(conn, &r.competition_id, &playing, &finalists)?;
    let mut others: Vec<EntryRow> = submissions::judgeable_entries(conn, &r.competition_id)?
        .into_iter()
        .filter(|e| !rows.contains_key(&e.id))
        .collect();
    others.sort_by_key(|e| !finalists.contains(&e.id));
    let others: Vec<&EntryRow> = others.iter().collect();
    let candidates = items(conn, &r.competition_id, &others, &finalists)?;
    Ok(VotingEntries {
        round_id: r.id.clone(),
        locked: now() >= r.opens_at,
        entries,
        candidates,
    })
}

/// The songs in play and those that could be added (organisers only).
pub async fn entries(
    state: &AppState,
    who: &AuthUser,
    id: &str,
) -> Result<VotingEntries, AppError> {
    let (who, id) = (who.clone(), id.to_string());
    state
        .db
        .run(move |conn| {
            let r = store::find_round(conn, &id)?.ok_or(AppError::NotFound)?;
            competitions::managed(conn, &who, &r.competition_id)?;
            entries_view(conn, &r)
        })
        .await
}

/// Put songs into the vote or take them out, before it opens; the reason is audited.
pub async fn change_entries(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    input: EntriesChange,
) -> Result<VotingEntries, AppError> {
    let reason = input.reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::invalid("vote.reason_required"));
    }
    if input.add.is_empty() && input.remove.is_empty() {
        return Err(AppError::invalid("vote.entries_invalid"));
    }
    let (who, key) = (who.clone(), id.to_string());
    let out = state
        .db
        .transaction(move |conn| {
            let r = store::find_round(conn, &key)?.ok_or(AppError::NotFound)?;
            competitions::managed(conn, &who, &r.competition_id)?;
            let now = now();
            if now >= r.opens_at {
                return Err(AppError::Conflict {
                    code: "vote.entries_locked",
                });
            }
            let mut ids: Vec<String> = store::entries_of(conn, &r.id)?
                .into_iter()
                .map(|e| e.entry_id)
                .collect();
            let eligible: HashSet<String> =
                submissions::judgeable_entries(conn, &r.competition_id)?
                    .into_iter()
                    .map(|e| e.id)
                    .collect();
            let mut added = Vec::new();
            for e in super::domain::distinct(input.add.iter().map(String::as_str)) {
                if !eligible.contains(&e) {
                    return Err(AppError::invalid_with(
                        "vote.entry_not_eligible",
                        vec![("entry", e)],
                    ));
                }
                if !ids.contains(&e) {
                    ids.push(e.clone());
                    added.push(e);
                }
            }
            let remove: HashSet<&str> = input.remove.iter().map(String::as_str).collect();
            let removed: Vec<String> = ids
                .iter()
                .filter(|e| remove.contains(e.as_str()))
                .cloned()
                .collect();
            ids.retain(|e| !remove.contains(e.as_str()));
            if ids.is_empty() {
                return Err(AppError::Conflict {
                    code: "vote.no_entries",
                });
            }
            store::set_entries(conn, &r.id, &ids)?;
            submissions::request_public_audio(conn, &added, now)?;
            crate::db::audit::record(
                conn,
                Some(&who.user.id),
                "voting.entries_changed",
                &r.id,
                &serde_json::json!({"added": added, "removed": removed, "reason": reason}),
                now,
            )?;
            entries_view(conn, &r)
        })
        .await?;
    state.voting().rounds.invalidate(id);
    state.voting().boards.invalidate(id);
    Ok(out)
}

/// Open the vote now (it was upcoming) or close it now (it was open); audited.
pub async fn open_or_close_now(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    open: bool,
) -> Result<VotingRoundView, AppError> {
    let (who, key) = (who.clone(), id.to_string());
    let out = state
        .db
        .transaction(move |conn| {
            let mut r = store::find_round(conn, &key)?.ok_or(AppError::NotFound)?;
            let c = competitions::managed(conn, &who, &r.competition_id)?;
            let now = now();
            let before = (r.opens_at, r.closes_at);
            if open {
                if now >= r.opens_at {
                    return Err(AppError::Conflict {
                        code: "vote.already_open",
                    });
                }
                r.opens_at = now;
            } else {
                if now < r.opens_at {
                    return Err(AppError::Conflict {
                        code: "vote.not_open",
                    });
                }
                if now >= r.closes_at {
                    return Err(AppError::Conflict {
                        code: "vote.closed",
                    });
                }
                r.closes_at = now;
            }
            r.updated_at = now;
            store::update_round(conn, &r)?;
            crate::db::audit::record(
                conn,
                Some(&who.user.id),
                if open { "voting.opened_now" } else { "voting.closed_now" },
                &r.id,
                &serde_json::json!({"from": [utc(before.0), utc(before.1)], "to": [utc(r.opens_at), utc(r.closes_at)]}),
                now,
            )?;
            let n = store::entries_of(conn, &r.id)?.len();
            Ok(view(&r, &c, n, true))
        })
        .await?;
    state.voting().rounds.invalidate(id);
    state.voting().boards.invalidate(id);
    Ok(out)
}
