//! Voting's use cases, the face other features and the routes use: rounds and their
//! entries, the gallery, exports. The ballot, leaderboards, review and the fraud audit
//! are rooms of their own (`ballot`, `boards`, `review`, `audit`), re-exported here.

use super::VotingState as _;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{NaiveDateTime, Utc};

use super::domain::{self};
use super::model::*;
use super::store;
use super::{EntryInfo, RoundInfo};
use crate::accounts::model::AuthUser;
use crate::accounts::service as accounts;
use crate::competitions::model::CompetitionRow;
use crate::competitions::service as competitions;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;
use crate::submissions::service as submissions;

pub use super::audit::*;
pub use super::ballot::*;
pub use super::boards::*;
pub use super::manage::open_or_close_now;
pub use super::review::*;

pub const AUDIT_JOB: &str = "voting.audit";

pub use crate::time::now;

pub(super) fn state_of(r: &VotingRoundRow, now: NaiveDateTime) -> &'static str {
    if now < r.opens_at {
        "upcoming"
    } else if now < r.closes_at {
        "open"
    } else {
        "closed"
    }
}

pub fn view(
    r: &VotingRoundRow,
    c: &CompetitionRow,
    entries: usize,
    organiser: bool,
) -> VotingRoundView {
    let now = now();
    VotingRoundView {
        id: r.id.clone(),
        competition_id: c.id.clone(),
        competition_slug: c.slug.clone(),
        title: r.title.clone(),
        translations: crate::i18n::content::Translations::from_stored(&r.translations),
        opens_at: utc(r.opens_at),
        closes_at: utc(r.closes_at),
        state: state_of(r, now).into(),
        votes_per_voter: r.votes_per_voter,
        votes_per_entry: r.votes_per_entry,
        votes_per_day: r.votes_per_day,
        counts_visible: r.counts_visible.clone(),
        min_listen_secs: r.min_listen_secs,
        allowlist: organiser.then(|| r.allowlist()),
        burst_per_minute: r.burst_per_minute,
        new_account_minutes: r.new_account_minutes,
        new_accounts: r.new_accounts.clone(),
        pattern_min_voters: r.pattern_min_voters,
        entries,
        server_time: utc(now),
    }
}

pub(super) fn bounded(
    v: Option<i64>,
    lo: i64,
    hi: i64,
    code: &'static str,
) -> Result<Option<i32>, AppError> {
    match v {
        None => Ok(None),
        Some(n) if (lo..=hi).contains(&n) => Ok(Some(n as i32)),
        Some(_) => Err(AppError::invalid_with(
            code,
            vec![("min", lo.to_string()), ("max", hi.to_string())],
        )),
    }
}

pub(super) fn parse_round_title(t: &str) -> Result<String, AppError> {
    let t = t.trim();
    if t.is_empty() || t.chars().count() > 120 || t.chars().any(char::is_control) {
        return Err(AppError::invalid("vote.title_invalid"));
    }
    Ok(t.to_string())
}

/// Apply `input` to `r` (of a competition written in `source`); every setting checked.
pub(super) fn apply(
    r: &mut VotingRoundRow,
    input: &VotingRoundInput,
    source: crate::i18n::Locale,
) -> Result<(), AppError> {
    if let Some(t) = &input.title {
        r.title = parse_round_title(t)?;
    }
    if let Some(tr) = &input.translations {
        r.translations =
            crate::i18n::content::parse_translations(tr, source, &["title"], |_, v| {
                parse_round_title(v)
            })?
            .to_stored();
    }
    if let Some(t) = input.opens_at {
        r.opens_at = t.naive_utc();
    }
    if let Some(t) = input.closes_at {
        r.closes_at = t.naive_utc();
    }
    if r.closes_at <= r.opens_at {
        return Err(AppError::invalid("vote.window_invalid"));
    }
    if let Some(n) = bounded(input.votes_per_voter, 1, 100, "vote.cap_invalid")? {
        r.votes_per_voter = n;
    }
    if let Some(n) = bounded(input.votes_per_entry, 1, 100, "vote.cap_invalid")? {
        r.votes_per_entry = n;
    }
    if let Some(n) = bounded(input.votes_per_day, 0, 100, "vote.cap_invalid")? {
        r.votes_per_day = (n > 0).then_some(n);
    }
    if let Some(v) = &input.counts_visible {
        if v != domain::VISIBLE_LIVE && v != domain::VISIBLE_AFTER_CLOSE {
            return Err(AppError::invalid("vote.visibility_invalid"));
        }
        r.counts_visible = v.clone();
    }
    if let Some(n) = bounded(input.min_listen_secs, 0, 600, "vote.listen_invalid")? {
        r.min_listen_secs = n;
    }
    if let Some(list) = &input.allowlist {
        let list: Vec<String> = list
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        domain::parse_allowlist(&list).map_err(|bad| {
            AppError::invalid_with("vote.allowlist_invalid", vec![("value", bad)])
        })?;
        r.allowlist = serde_json::to_string(&list).unwrap_or_else(|_| "[]".into());
    }
    if let Some(n) = bounded(input.burst_per_minute, 2, 100_000, "vote.rule_invalid")? {
        r.burst_per_minute = n;
    }
    if let Some(n) = bounded(input.new_account_minutes, 0, 10_080, "vote.rule_invalid")? {
        r.new_account_minutes = n;
    }
    if let Some(n) = bounded(input.pattern_min_voters, 2, 10_000, "vote.rule_invalid")? {
        r.pattern_min_voters = n;
    }
    if let Some(p) = &input.new_accounts {
        r.new_accounts = domain::new_account_policy(p.trim())
            .ok_or_else(|| AppError::invalid("vote.new_accounts_invalid"))?
            .into();
    }
    Ok(())
}

/// The entries a new round puts in play by default: the finalists (the entries the last
/// decided judging round advanced) that may still be put to a vote. Without a decided
/// round there are no finalists: the organiser chooses the songs (409 `vote.no_finalists`).
pub(super) fn default_entries(conn: &mut DbConnection, cid: &str) -> Result<Vec<String>, AppError> {
    let Some(ids) = crate::judging::service::finalists(conn, cid)? else {
        return Err(AppError::Conflict {
            code: "vote.no_finalists",
        });
    };
    let eligible: HashSet<String> = submissions::judgeable_entries(conn, cid)?
        .into_iter()
        .map(|e| e.id)
        .collect();
    Ok(ids.into_iter().filter(|e| eligible.contains(e)).collect())
}

pub(super) fn check_entries(
    conn: &mut DbConnection,
    cid: &str,
    ids: &[String],
) -> Result<Vec<String>, AppError> {
    let ids = domain::distinct(ids.iter().map(String::as_str));
    if ids.is_empty() || ids.len() > 10_000 {
        return Err(AppError::invalid("vote.entries_invalid"));
    }
    let eligible: HashSet<String> = submissions::judgeable_entries(conn, cid)?
        .into_iter()
        .map(|e| e.id)
        .collect();
    if let Some(bad) = ids.iter().find(|e| !eligible.contains(*e)) {
        return Err(AppError::invalid_with(
            "vote.entry_not_eligible",
            vec![("entry", bad.clone())],
        ));
    }
    Ok(ids)
}

pub async fn create_round(
    state: &AppState,
    who: &AuthUser,
    cid: &str,
    input: VotingRoundInput,
) -> Result<VotingRoundView, AppError> {
    let (who, cid) = (who.clone(), cid.to_string());
    state
        .db
        .transaction(move |conn| {
            let c = competitions::managed(conn, &who, &cid)?;
            let now = now();
            let mut r = VotingRoundRow {
                id: uuid::Uuid::now_v7().to_string(),
                competition_id: c.id.clone(),
                title: "Public vote".into(),
                opens_at: now,
                closes_at: now + chrono::Duration::days(7),
                votes_per_voter: 20,
                votes_per_entry: 20,
                votes_per_day: None,
                counts_visible: domain::VISIBLE_AFTER_CLOSE.into(),
                min_listen_secs: 0,
                allowlist: "[]".into(),
                burst_per_minute: 60,
                new_account_minutes: 5,
                pattern_min_voters: 5,
                audited_at: None,
                created_at: now,
                updated_at: now,
                new_accounts: domain::NEW_VENUE.into(),
                translations: "{}".into(),
            };
            apply(&mut r, &input, c.source())?;
            let ids = match &input.entry_ids {
                Some(ids) => check_entries(conn, &c.id, ids)?,
                None => default_entries(conn, &c.id)?,
            };
            if ids.is_empty() {
                return Err(AppError::Conflict {
                    code: "vote.no_entries",
                });
            }
            store::insert_round(conn, &r)?;
            store::set_entries(conn, &r.id, &ids)?;
            submissions::request_public_audio(conn, &ids, now)?;
            crate::db::audit::record(
                conn,
                Some(&who.user.id),
                "voting.round_created",
                &r.id,
                &serde_json::json!({"competition": c.id, "entries": ids.len()}),
                now,
            )?;
            Ok(view(&r, &c, ids.len(), true))
        })
        .await
}

pub async fn update_round(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    input: VotingRoundInput,
) -> Result<VotingRoundView, AppError> {
    let (who, id) = (who.clone(), id.to_string());
    let out = state
        .db
        .transaction(move |conn| {
            let mut r = store::find_round(conn, &id)?.ok_or(AppError::NotFound)?;
            let c = competitions::managed(conn, &who, &r.competition_id)?;
            let now = now();
            let started = store::has_votes(conn, &r.id)?;
            // Once the vote opens, the songs stay as the voters found them.
            if input.entry_ids.is_some() && now >= r.opens_at {
                return Err(AppError::Conflict { code: "vote.entries_locked" });
            }
            // Once votes exist, the caps and the opening time too.
            if started
                && (input.votes_per_voter.is_some_and(|n| n != i64::from(r.votes_per_voter))
                    || input.votes_per_entry.is_some_and(|n| n != i64::from(r.votes_per_entry))
                    || input.opens_at.is_some_and(|t| t.naive_utc() != r.opens_at))
            {
                return Err(AppError::Conflict { code: "vote.round_started" });
            }
            let before = (r.opens_at, r.closes_at);
            let rules_before = (rule_settings(&r), r.allowlist.clone());
            apply(&mut r, &input, c.source())?;
            if (rule_settings(&r), r.allowlist.clone()) != rules_before {
                // New thresholds apply to the whole log: the audit starts over.
                store::restart_audit(conn, &r.id)?;
            }
            r.updated_at = now;
            store::update_round(conn, &r)?;
            if let Some(ids) = &input.entry_ids {
                let ids = check_entries(conn, &c.id, ids)?;
                let before: Vec<String> =
                    store::entries_of(conn, &r.id)?.into_iter().map(|e| e.entry_id).collect();
                store::set_entries(conn, &r.id, &ids)?;
                submissions::request_public_audio(conn, &ids, now)?;
                crate::db::audit::record(conn, Some(&who.user.id), "voting.entries_changed", &r.id, &serde_json::json!({"from": before, "to": ids}), now)?;
            }
            if before != (r.opens_at, r.closes_at) {
                crate::db::audit::record(conn, Some(&who.user.id), "voting.window_changed", &r.id, &serde_json::json!({"from": [utc(before.0), utc(before.1)], "to": [utc(r.opens_at), utc(r.closes_at)]}), now)?;
            }
            let n = store::entries_of(conn, &r.id)?.len();
            Ok(view(&r, &c, n, true))
        })
        .await?;
    state.voting().rounds.invalidate(&out.id);
    state.voting().boards.invalidate(&out.id);
    Ok(out)
}

pub(super) fn load_info(conn: &mut DbConnection, id: &str) -> Result<RoundInfo, AppError> {
    let row = store::find_round(conn, id)?.ok_or(AppError::NotFound)?;
    let competition = competitions::find(conn, &row.competition_id)?.ok_or(AppError::NotFound)?;
    let ids: Vec<String> = store::entries_of(conn, id)?
        .into_iter()
        .map(|e| e.entry_id)
        .collect();
    let rows = submissions::find_entries(conn, &ids)?;
    let musicians: Vec<String> = domain::distinct(rows.values().map(|e| e.musician_id.as_str()));
    let names = accounts::display_names(conn, &musicians)?;
    let categories: HashMap<String, crate::competitions::model::CategoryRow> =
        competitions::categories_of(conn, &competition.id)?
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect();
    let mut entries = Vec::new();
    let mut withdrawn = HashSet::new();
    for id in &ids {
        let Some(e) = rows.get(id) else { continue };
        // Withdrawn or disqualified songs leave the vote at once.
        if e.withdrawn_at.is_some()
            || e.review == crate::submissions::model::Review::Disqualified.as_str()
        {
            withdrawn.insert(e.id.clone());
            continue;
        }
        entries.push(EntryInfo {
            id: e.id.clone(),
            title: e.title.clone(),
            description: e.description.clone(),
            musician_id: e.musician_id.clone(),
            musician: names.get(&e.musician_id).cloned().unwrap_or_default(),
            category_id: e.category_id.clone(),
            category: e
                .category_id
                .as_ref()
                .and_then(|c| categories.get(c).map(|c| c.name.clone())),
            upload_id: e.upload_id.clone(),
        });
    }
    let by_id = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.clone(), i))
        .collect();
    let allow = domain::parse_allowlist(&row.allowlist()).unwrap_or_default();
    Ok(RoundInfo {
        row,
        competition,
        entries,
        by_id,
        allow,
        withdrawn,
        categories,
    })
}

/// A round with its competition and entries (cached for a few seconds).
pub async fn info(state: &AppState, id: &str) -> Result<Arc<RoundInfo>, AppError> {
    let (db, key) = (state.db.clone(), id.to_string());
    state
        .voting()
        .rounds
        .get(id, move || async move {
            db.run(move |conn| load_info(conn, &key)).await
        })
        .await
}

/// The round if the public may see it (its competition is published) or `who` runs it.
pub async fn visible(
    state: &AppState,
    who: Option<&AuthUser>,
    id: &str,
) -> Result<(Arc<RoundInfo>, bool), AppError> {
    let i = info(state, id).await?;
    let organiser = who.is_some_and(|w| competitions::may_moderate(w, &i.competition));
    if !i.competition.is_published() && !organiser {
        return Err(AppError::NotFound);
    }
    Ok((i, organiser))
}

pub async fn get_round(
    state: &AppState,
    who: Option<&AuthUser>,
    id: &str,
) -> Result<VotingRoundView, AppError> {
    let (i, organiser) = visible(state, who, id).await?;
    Ok(view(&i.row, &i.competition, i.entries.len(), organiser))
}

/// A competition's voting rounds (public once it is published; all for its organiser).
pub async fn list_rounds(
    state: &AppState,
    who: Option<&AuthUser>,
    key: &str,
) -> Result<Vec<VotingRoundView>, AppError> {
    let (who, key) = (who.cloned(), key.to_string());
    state
        .db
        .run(move |conn| {
            let c = competitions::find_by_slug_or_id(conn, &key)?.ok_or(AppError::NotFound)?;
            let organiser = who
                .as_ref()
                .is_some_and(|w| competitions::may_moderate(w, &c));
            if !c.is_published() && !organiser {
                return Err(AppError::NotFound);
            }
            let mut out = Vec::new();
            for r in store::rounds_of(conn, &c.id)? {
                let n = store::entries_of(conn, &r.id)?.len();
                out.push(view(&r, &c, n, organiser));
            }
            Ok(out)
        })
        .await
}

/// The voting round open now (else the next, else the last) of a competition.
pub async fn current_round(
    state: &AppState,
    who: Option<&AuthUser>,
    key: &str,
) -> Result<Option<VotingRoundView>, AppError> {
    let rounds = list_rounds(state, who, key).await?;
    let now = Utc::now();
    Ok(rounds
        .iter()
        .find(|r| r.state == "open")
        .or_else(|| {
            rounds
                .iter()
                .filter(|r| r.opens_at > now)
                .min_by_key(|r| r.opens_at)
        })
        .or_else(|| rounds.iter().max_by_key(|r| r.closes_at))
        .cloned())
}

/// The voting round whose page shows `entry` now (the open round, else the next, else
/// the last one), with what the page shows of it; `None` if no visible round has it.
pub async fn round_of_entry(
    state: &AppState,
    who: Option<&AuthUser>,
    competition: &str,
    entry: &str,
) -> Result<Option<(String, EntryInfo)>, AppError> {
    let rounds = list_rounds(state, who, competition).await?;
    let now = Utc::now();
    let mut order: Vec<&VotingRoundView> = rounds.iter().collect();
    // Open first, then upcoming (soonest first), then closed (latest first).
    order.sort_by_key(|r| match r.state.as_str() {
        "open" => (0, 0),
        "upcoming" => (1, (r.opens_at - now).num_seconds()),
        _ => (2, (now - r.closes_at).num_seconds()),
    });
    for r in order {
        let i = info(state, &r.id).await?;
        if let Some(e) = i.entry(entry) {
            return Ok(Some((r.id.clone(), e.clone())));
        }
    }
    Ok(None)
}

pub(super) fn day_of(c: &CompetitionRow, t: NaiveDateTime) -> String {
    t.and_utc()
        .with_timezone(&c.tz())
        .format("%Y-%m-%d")
        .to_string()
}

/// What `user` has used and may still do in round `r`.
pub fn my_voting(
    r: &VotingRoundRow,
    c: &CompetitionRow,
    user: &crate::accounts::model::UserRow,
    mine: &[VoteRow],
) -> MyVoting {
    let today = day_of(c, now());
    let used = mine.len() as u32;
    let used_today = mine.iter().filter(|v| v.day == today).count() as u32;
    let mut remaining = (r.votes_per_voter as u32).saturating_sub(used);
    if let Some(d) = r.votes_per_day {
        remaining = remaining.min((d as u32).saturating_sub(used_today));
    }
    let reason = if user.email_verified_at.is_none() {
        Some("vote.email_unverified")
    } else if !r.is_open(now()) {
        Some(if now() < r.opens_at {
            "vote.not_open"
        } else {
            "vote.closed"
        })
    } else if remaining == 0 {
        Some("vote.limit_round")
    } else {
        None
    };
    MyVoting {
        can_vote: reason.is_none(),
        reason: reason.map(str::to_string),
        used,
        remaining,
        used_today,
    }
}

/// The gallery: the entries in play in the viewer's own order, with the viewer's votes.
pub async fn gallery(
    state: &AppState,
    who: Option<&AuthUser>,
    id: &str,
    anon_seed: &str,
) -> Result<Gallery, AppError> {
    let (i, organiser) = visible(state, who, id).await?;
    let mine = match who {
        Some(w) => {
            let (rid, uid) = (i.row.id.clone(), w.user.id.clone());
            state
                .db
                .run(move |conn| store::votes_of_voter(conn, &rid, &uid))
                .await?
        }
        None => Vec::new(),
    };
    let mut ids: Vec<String> = i.entries.iter().map(|e| e.id.clone()).collect();
    let seed = format!(
        "{}|{}",
        who.map(|w| w.user.id.as_str()).unwrap_or(anon_seed),
        i.row.id
    );
    domain::gallery_order(&seed, &mut ids);
    let mut count: HashMap<&str, u32> = HashMap::new();
    for v in &mine {
        *count.entry(v.entry_id.as_str()).or_default() += 1;
    }
    let base = state.settings.base_url().to_string();
    let entries = ids
        .iter()
        .filter_map(|id| i.entry(id))
        .map(|e| GalleryEntry {
            entry_id: e.id.clone(),
            title: e.title.clone(),
            musician: e.musician.clone(),
            category: e.category.clone(),
            category_id: e.category_id.clone(),
            description: e.description.clone(),
            my_votes: count.get(e.id.as_str()).copied().unwrap_or(0),
            audio_url: format!("/api/v1/voting-rounds/{}/entries/{}/audio", i.row.id, e.id),
            share_url: format!("{base}/c/{}/vote/{}/{}", i.competition.slug, i.row.id, e.id),
        })
        .collect();
    Ok(Gallery {
        round: view(&i.row, &i.competition, i.entries.len(), organiser),
        entries,
        me: who.map(|w| my_voting(&i.row, &i.competition, &w.user, &mine)),
    })
}

pub fn entry_seed(seed: Option<&str>) -> String {
    seed.filter(|s| !s.is_empty() && s.len() <= 64)
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

/// Every vote the person cast, for their data export.
/// Voting's part of a person's data: their votes, in the export.
pub struct VotingData;

impl crate::accounts::service::PersonalData for VotingData {
    fn export(
        &self,
        conn: &mut DbConnection,
        user_id: &str,
        out: &mut serde_json::Map<String, serde_json::Value>,
    ) -> Result<Vec<(String, String)>, AppError> {
        out.insert("votes".into(), export_of(conn, user_id)?);
        Ok(Vec::new())
    }
}

pub fn export_of(conn: &mut DbConnection, voter: &str) -> Result<serde_json::Value, AppError> {
    Ok(serde_json::Value::Array(
        store::all_votes_of(conn, voter)?
            .into_iter()
            .map(|v| {
                serde_json::json!({
                    "round_id": v.round_id, "entry_id": v.entry_id,
                    "cast_at": v.cast_at.and_utc().to_rfc3339(),
                    "network": v.network, "status": v.initial_status,
                })
            })
            .collect(),
    ))
}

/// Held votes waiting for a review (for the organiser's home).
pub fn count_held(conn: &mut DbConnection, competition_id: &str) -> Result<i64, AppError> {
    store::count_held(conn, competition_id)
}

/// The ids of a competition's voting rounds (for reading its audit log).
pub fn round_ids(conn: &mut DbConnection, competition_id: &str) -> Result<Vec<String>, AppError> {
    store::round_ids_of(conn, competition_id)
}
