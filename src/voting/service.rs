//! Voting use cases: rounds and their entries, the gallery, challenges and listening
//! tickets, casting a vote, leaderboards, the integrity summary and exports, review,
//! the automatic audit, recomputation, and the public votes the results use.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use chrono::{NaiveDateTime, Utc};
use hmac::{Hmac, Mac};

use super::domain::{self, Caps, RuleSettings, VoteFact};
use super::model::*;
use super::store;
use super::{BoardData, EntryInfo, RoundInfo, VoterFacts};
use crate::accounts::extract::{AuthUser, access_token};
use crate::accounts::service as accounts;
use crate::competitions::model::CompetitionRow;
use crate::competitions::service as competitions;
use crate::db::DbConnection;
use crate::db::idempotency;
use crate::error::AppError;
use crate::http::ratelimit;
use crate::startup::AppState;
use crate::submissions::service as submissions;

pub const AUDIT_JOB: &str = "voting.audit";

pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

fn tz(c: &CompetitionRow) -> chrono_tz::Tz {
    c.time_zone.parse().unwrap_or(chrono_tz::UTC)
}

fn state_of(r: &VotingRoundRow, now: NaiveDateTime) -> &'static str {
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

fn bounded(v: Option<i64>, lo: i64, hi: i64, code: &'static str) -> Result<Option<i32>, AppError> {
    match v {
        None => Ok(None),
        Some(n) if (lo..=hi).contains(&n) => Ok(Some(n as i32)),
        Some(_) => Err(AppError::invalid_with(
            code,
            vec![("min", lo.to_string()), ("max", hi.to_string())],
        )),
    }
}

fn parse_round_title(t: &str) -> Result<String, AppError> {
    let t = t.trim();
    if t.is_empty() || t.chars().count() > 120 || t.chars().any(char::is_control) {
        return Err(AppError::invalid("vote.title_invalid"));
    }
    Ok(t.to_string())
}

/// Apply `input` to `r` (of a competition written in `source`); every setting checked.
fn apply(
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
fn default_entries(conn: &mut DbConnection, cid: &str) -> Result<Vec<String>, AppError> {
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

fn check_entries(
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
            accounts::audit(
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
                accounts::audit(conn, Some(&who.user.id), "voting.entries_changed", &r.id, &serde_json::json!({"from": before, "to": ids}), now)?;
            }
            if before != (r.opens_at, r.closes_at) {
                accounts::audit(conn, Some(&who.user.id), "voting.window_changed", &r.id, &serde_json::json!({"from": [utc(before.0), utc(before.1)], "to": [utc(r.opens_at), utc(r.closes_at)]}), now)?;
            }
            let n = store::entries_of(conn, &r.id)?.len();
            Ok(view(&r, &c, n, true))
        })
        .await?;
    state.voting.rounds.invalidate(&out.id);
    state.voting.boards.invalidate(&out.id);
    Ok(out)
}

fn load_info(conn: &mut DbConnection, id: &str) -> Result<RoundInfo, AppError> {
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
        .voting
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

fn day_of(c: &CompetitionRow, t: NaiveDateTime) -> String {
    t.and_utc()
        .with_timezone(&tz(c))
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

/// The facts about the signed-in voter (cached a few seconds; no reads on a hit).
pub async fn voter(state: &AppState, req: &HttpRequest) -> Result<Arc<VoterFacts>, AppError> {
    let token = access_token(req).ok_or(AppError::Unauthorized)?;
    let claims = state
        .jwt
        .verify(&token, Utc::now())
        .map_err(|_| AppError::Unauthorized)?;
    if state.revoked.is_revoked(&claims.sid, &claims.sub) {
        state.voting.voters.invalidate(&claims.sid);
        return Err(AppError::Unauthorized);
    }
    if let Some(f) = state.voting.voters.get(&claims.sid)
        && f.user_id == claims.sub
    {
        return Ok(f);
    }
    let (user, sid, _, _) = crate::accounts::auth::authenticate(state, &token).await?;
    let facts = Arc::new(VoterFacts {
        user_id: user.id.clone(),
        verified: user.email_verified_at.is_some(),
        created_at: user.created_at,
        email_domain: user
            .email
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default(),
    });
    state.voting.voters.insert(sid, facts.clone());
    Ok(facts)
}

fn open_for_voting(i: &RoundInfo, now: NaiveDateTime) -> Result<(), AppError> {
    if !i.competition.is_published() {
        return Err(AppError::NotFound);
    }
    if now < i.row.opens_at {
        return Err(AppError::Conflict {
            code: "vote.not_open",
        });
    }
    if now >= i.row.closes_at {
        return Err(AppError::Conflict {
            code: "vote.closed",
        });
    }
    Ok(())
}

/// A proof-of-work challenge for the signed-in voter in round `id`.
pub async fn challenge(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
) -> Result<altcha::Challenge, AppError> {
    let v = voter(state, req).await?;
    let i = info(state, id).await?;
    open_for_voting(&i, now())?;
    if !v.verified {
        return Err(AppError::refused(
            StatusCode::FORBIDDEN,
            "vote.email_unverified",
        ));
    }
    state
        .voting
        .pow
        .challenge(&i.row.id, &v.user_id, Utc::now().timestamp())
}

/// A listening ticket: the voter started playing `entry` now.
pub async fn listen(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
    input: ListenInput,
) -> Result<ListenTicket, AppError> {
    let v = voter(state, req).await?;
    let i = info(state, id).await?;
    if i.entry(&input.entry_id).is_none() {
        return Err(AppError::invalid("vote.entry_not_in_round"));
    }
    let started = Utc::now();
    Ok(ListenTicket {
        ticket: state.voting.pow.listen_ticket(
            &i.row.id,
            &v.user_id,
            &input.entry_id,
            started.timestamp(),
        ),
        started_at: started,
        counts_from: started + chrono::Duration::seconds(i64::from(i.row.min_listen_secs)),
    })
}

/// Cast a vote. Checks run cheapest first; the vote is acknowledged after COMMIT.
pub async fn cast(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
    input: VoteInput,
) -> Result<VoteReceipt, AppError> {
    let v = voter(state, req).await?;
    let key = idempotency::parse_key(
        req.headers()
            .get("idempotency-key")
            .and_then(|h| h.to_str().ok()),
    )?;
    let i = info(state, id).await?;
    let ip = ratelimit::client_ip(req, &state.settings.server.trusted_proxies);
    let allowlisted =
        domain::allowed(&i.allow, ip) || domain::allowed(&state.voting.global_allow, ip);
    state.voting.check_limits(ip, allowlisted, &v.user_id)?;
    let now_dt = Utc::now();
    let now = now_dt.naive_utc();
    open_for_voting(&i, now)?;
    if !v.verified {
        return Err(AppError::refused(
            StatusCode::FORBIDDEN,
            "vote.email_unverified",
        ));
    }
    if i.withdrawn.contains(&input.entry_id) {
        return Err(AppError::Conflict {
            code: "vote.entry_withdrawn",
        });
    }
    let entry = i
        .entry(&input.entry_id)
        .ok_or_else(|| AppError::invalid("vote.entry_not_in_round"))?;
    if entry.musician_id == v.user_id {
        return Err(AppError::refused(StatusCode::FORBIDDEN, "vote.own_entry"));
    }
    let solved = state.voting.pow.verify(&input.pow, &i.row.id, &v.user_id)?;
    let listened = input
        .listen_ticket
        .as_deref()
        .and_then(|t| {
            state
                .voting
                .pow
                .listening_since(t, &i.row.id, &v.user_id, &entry.id)
        })
        .map(|started| now_dt.timestamp() - started)
        .unwrap_or(0);
    if i.row.min_listen_secs > 0 && listened < i64::from(i.row.min_listen_secs) {
        return Err(AppError::Refused {
            status: StatusCode::CONFLICT,
            code: "vote.listen_first",
            params: vec![
                ("seconds", i.row.min_listen_secs.to_string()),
                (
                    "left",
                    (i64::from(i.row.min_listen_secs) - listened.max(0)).to_string(),
                ),
            ],
        });
    }
    let network = domain::network_of(ip);
    let ua = req
        .headers()
        .get("user-agent")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let fact = VoteFact {
        id: 0,
        voter: v.user_id.clone(),
        entry: entry.id.clone(),
        at: now_dt.timestamp(),
        network: network.clone(),
        ua_hash: domain::ua_hash(ua),
        account_age_secs: (now - v.created_at).num_seconds(),
        email_domain: v.email_domain.clone(),
    };
    let rules = rule_settings(&i.row);
    let mut rule = domain::single_vote_rule(&fact, &rules, allowlisted);
    if rule.is_none()
        && !allowlisted
        && state
            .voting
            .burst(&i.row.id, &network, fact.at, rules.burst_per_minute)
    {
        rule = Some(domain::RULE_BURST);
    }
    let vote = NewVote {
        round_id: i.row.id.clone(),
        voter_id: v.user_id.clone(),
        entry_id: entry.id.clone(),
        cast_at: now,
        day: day_of(&i.competition, now),
        slot: 0,
        entry_slot: 0,
        day_slot: 0,
        idempotency_key: key,
        pow_id: solved.id,
        pow_cost: solved.cost as i32,
        network,
        ua_hash: fact.ua_hash,
        account_age_secs: fact.account_age_secs,
        initial_status: if rule.is_some() {
            domain::QUARANTINED
        } else {
            domain::COUNTED
        }
        .into(),
        initial_rule: rule.map(str::to_string),
    };
    let caps = Caps {
        per_voter: i.row.votes_per_voter as u32,
        per_entry: i.row.votes_per_entry as u32,
        per_day: i.row.votes_per_day.map(|d| d as u32),
    };
    let stored = state.voting.writer.submit(vote, caps).await?;
    state.metrics.vote(stored.replayed);
    Ok(VoteReceipt {
        vote_id: stored.id,
        round_id: i.row.id.clone(),
        entry_id: stored.entry_id,
        status: stored.status,
        cast_at: utc(stored.cast_at),
        remaining: caps.per_voter.saturating_sub(stored.slot as u32),
        replayed: stored.replayed,
    })
}

pub fn rule_settings(r: &VotingRoundRow) -> RuleSettings {
    RuleSettings {
        burst_per_minute: r.burst_per_minute.max(1) as u32,
        new_account_minutes: r.new_account_minutes.max(0) as u32,
        new_accounts: domain::new_account_policy(&r.new_accounts).unwrap_or(domain::NEW_HOLD),
        pattern_min_voters: r.pattern_min_voters.max(2) as u32,
    }
}

async fn board_data(state: &AppState, round: &str) -> Result<Arc<BoardData>, AppError> {
    let (db, key) = (state.db.clone(), round.to_string());
    state
        .voting
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
fn shown(r: &VotingRoundRow, organiser: bool, now: NaiveDateTime) -> bool {
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
    if let Some(kept) = state.voting.board_json.get(&key)
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
    state.voting.board_json.insert(
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

fn board_of(
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
fn current_status(flags: &HashMap<i64, FlagRow>, v: &VoteRow) -> (String, Option<String>) {
    match flags.get(&v.id) {
        Some(f) => (f.status.clone(), f.rule.clone()),
        None => (domain::COUNTED.into(), None),
    }
}

/// Counted votes per entry, as the tally hash covers them.
fn counted_of(tallies: &[TallyRow]) -> BTreeMap<String, u64> {
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

fn integrity_of(
    conn: &mut DbConnection,
    r: &VotingRoundRow,
    base: &str,
    slug: &str,
) -> Result<IntegritySummary, AppError> {
    let tallies = store::tallies_of(conn, &r.id)?;
    let counted = counted_of(&tallies);
    let mut by_rule: BTreeMap<String, u64> = BTreeMap::new();
    for s in [domain::QUARANTINED, domain::INVALIDATED] {
        for f in store::flags_by_status(conn, &r.id, s)? {
            *by_rule
                .entry(f.rule.unwrap_or_else(|| domain::RULE_MANUAL.into()))
                .or_default() += 1;
        }
    }
    // Votes for songs that left the vote (withdrawn, disqualified, or their musician's
    // account erased) stay in the log and the tally hash, and are set aside from the
    // leaderboard, with the reason.
    let ids: Vec<String> = tallies.iter().map(|t| t.entry_id.clone()).collect();
    let rows = submissions::find_entries(conn, &ids)?;
    let gone: Vec<String> = rows
        .values()
        .filter(|e| e.withdrawn_at.is_some())
        .map(|e| e.musician_id.clone())
        .collect();
    let erased = accounts::erased_among(conn, &gone)?;
    let mut set_aside_by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for t in &tallies {
        let reason = match rows.get(&t.entry_id) {
            None => Some("erased"),
            Some(e) if erased.contains(&e.musician_id) => Some("erased"),
            Some(e) if e.review == crate::submissions::model::Review::Disqualified.as_str() => {
                Some("disqualified")
            }
            Some(e) if e.withdrawn_at.is_some() => Some("withdrawn"),
            Some(_) => None,
        };
        if let Some(reason) = reason
            && t.counted > 0
        {
            *set_aside_by_reason.entry(reason.into()).or_default() += t.counted as u64;
        }
    }
    let sum = |f: fn(&TallyRow) -> i64| tallies.iter().map(|t| f(t).max(0) as u64).sum::<u64>();
    let (c, q, inv) = (
        sum(|t| t.counted),
        sum(|t| t.quarantined),
        sum(|t| t.invalidated),
    );
    Ok(IntegritySummary {
        round_id: r.id.clone(),
        closed: r.is_closed(now()),
        votes_cast: c + q + inv,
        counted: c,
        quarantined: q,
        invalidated: inv,
        by_rule,
        set_aside: set_aside_by_reason.values().sum(),
        set_aside_by_reason,
        tally_hash: domain::tally_hash(&counted),
        log_url: format!("{base}/api/v1/voting-rounds/{}/log.csv?c={slug}", r.id),
    })
}

/// The integrity summary: for everyone once the round has closed, for its organiser
/// at any time.
pub async fn integrity(
    state: &AppState,
    who: Option<&AuthUser>,
    id: &str,
) -> Result<IntegritySummary, AppError> {
    let (i, organiser) = visible(state, who, id).await?;
    if !organiser && !i.row.is_closed(now()) {
        return Err(AppError::Conflict {
            code: "vote.not_closed",
        });
    }
    let (row, base, slug) = (
        i.row.clone(),
        state.settings.base_url().to_string(),
        i.competition.slug.clone(),
    );
    state
        .db
        .run(move |conn| integrity_of(conn, &row, &base, &slug))
        .await
}

/// A stable pseudonym of a voter in a round, for the public log.
pub fn pseudonym(key: &[u8], round: &str, voter: &str) -> String {
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key");
    m.update(format!("{round}\n{voter}").as_bytes());
    hex::encode(&m.finalize().into_bytes()[..8])
}

/// One page of the log as CSV lines (public columns, or the organiser's audit columns).
pub fn log_page(
    conn: &mut DbConnection,
    r: &VotingRoundRow,
    key: &[u8],
    after: i64,
    limit: i64,
    audit: bool,
    flags: &HashMap<i64, FlagRow>,
) -> Result<(Vec<u8>, Option<i64>), AppError> {
    let rows = store::votes_of_round(conn, &r.id, after, limit)?;
    let emails: HashMap<String, String> = if audit {
        let ids = domain::distinct(rows.iter().map(|v| v.voter_id.as_str()));
        accounts::users_by_ids(conn, &ids)?
            .into_iter()
            .map(|u| (u.id, u.email))
            .collect()
    } else {
        HashMap::new()
    };
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    for v in &rows {
        let (status, rule) = current_status(flags, v);
        let cast = utc(v.cast_at).format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let rule = rule.unwrap_or_default();
        if audit {
            let email = crate::submissions::moderation::cell(
                emails.get(&v.voter_id).map(String::as_str).unwrap_or(""),
            );
            w.write_record([
                v.id.to_string(),
                cast,
                v.voter_id.clone(),
                email,
                v.entry_id.clone(),
                status,
                rule,
                v.network.clone(),
                v.ua_hash.clone(),
                v.account_age_secs.to_string(),
                v.pow_cost.to_string(),
            ])
        } else {
            w.write_record([
                v.id.to_string(),
                cast,
                pseudonym(key, &r.id, &v.voter_id),
                v.entry_id.clone(),
                status,
                rule,
            ])
        }
        .map_err(AppError::internal)?;
    }
    let bytes = w.into_inner().map_err(AppError::internal)?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|v| v.id))
        .flatten();
    Ok((bytes, next))
}

pub const PUBLIC_LOG_HEADER: &str = "vote_id,cast_at,voter,entry_id,status,rule\n";
pub const AUDIT_LOG_HEADER: &str = "vote_id,cast_at,voter_id,email,entry_id,status,rule,network,ua_hash,account_age_secs,pow_cost\n";

/// Who may read which log: the public one after the close, the audit one by the organiser.
pub async fn log_access(
    state: &AppState,
    who: Option<&AuthUser>,
    id: &str,
    audit: bool,
) -> Result<Arc<RoundInfo>, AppError> {
    let (i, organiser) = visible(state, who, id).await?;
    if audit && !organiser {
        return Err(AppError::NotFound);
    }
    if !audit && !organiser && !i.row.is_closed(now()) {
        return Err(AppError::Conflict {
            code: "vote.not_closed",
        });
    }
    Ok(i)
}

/// Votes held or struck out, for review.
pub async fn review_list(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    status: &str,
) -> Result<Vec<ReviewItem>, AppError> {
    if ![domain::QUARANTINED, domain::INVALIDATED].contains(&status) {
        return Err(AppError::invalid("vote.status_invalid"));
    }
    let (who, id, status) = (who.clone(), id.to_string(), status.to_string());
    let i = info(state, &id).await?;
    state
        .db
        .run(move |conn| {
            competitions::moderated(conn, &who, &i.row.competition_id)?;
            let flags = store::flags_by_status(conn, &i.row.id, &status)?;
            let ids: Vec<i64> = flags.iter().map(|f| f.vote_id).take(5000).collect();
            let mut out = Vec::new();
            for chunk in ids.chunks(500) {
                let votes = store::votes_by_ids(conn, &i.row.id, chunk)?;
                let voters = domain::distinct(votes.iter().map(|v| v.voter_id.as_str()));
                let users: HashMap<String, crate::accounts::model::UserRow> =
                    accounts::users_by_ids(conn, &voters)?
                        .into_iter()
                        .map(|u| (u.id.clone(), u))
                        .collect();
                let fm: HashMap<i64, &FlagRow> = flags.iter().map(|f| (f.vote_id, f)).collect();
                for v in votes {
                    let u = users.get(&v.voter_id);
                    out.push(ReviewItem {
                        vote_id: v.id,
                        entry_title: i
                            .entry(&v.entry_id)
                            .map(|e| e.title.clone())
                            .unwrap_or_default(),
                        entry_id: v.entry_id,
                        voter: u.map(|u| u.display_name.clone()).unwrap_or_default(),
                        voter_email: u.map(|u| u.email.clone()).unwrap_or_default(),
                        cast_at: utc(v.cast_at),
                        network: v.network,
                        ua_hash: v.ua_hash,
                        account_age_secs: v.account_age_secs,
                        status: status.clone(),
                        rule: fm.get(&v.id).and_then(|f| f.rule.clone()),
                    });
                }
            }
            out.sort_by_key(|r| r.vote_id);
            Ok(out)
        })
        .await
}

/// Move votes to a new status; each move is a review record, and the tallies follow
/// in the same transaction.
fn move_votes(
    conn: &mut DbConnection,
    r: &VotingRoundRow,
    ids: &[i64],
    action: &str,
    rule_for_new: Option<&str>,
    reason: &str,
    actor: Option<&str>,
) -> Result<usize, AppError> {
    let target =
        domain::status_after(action).ok_or_else(|| AppError::invalid("vote.action_invalid"))?;
    let flags = store::flags_among(conn, &r.id, ids)?;
    let mut changed = 0;
    let mut deltas: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    let at = now();
    let mut reviews = Vec::new();
    let mut new_flags = Vec::new();
    for chunk in ids.chunks(500) {
        for v in store::votes_by_ids(conn, &r.id, chunk)? {
            let (from, old_rule) = current_status(&flags, &v);
            if from == target {
                continue;
            }
            let rule = old_rule
                .clone()
                .or_else(|| rule_for_new.map(str::to_string))
                .or_else(|| Some(domain::RULE_MANUAL.into()));
            let d = deltas.entry(v.entry_id.clone()).or_default();
            for (s, sign) in [(from.as_str(), -1), (target, 1)] {
                match s {
                    domain::COUNTED => d.0 += sign,
                    domain::QUARANTINED => d.1 += sign,
                    _ => d.2 += sign,
                }
            }
            new_flags.push(FlagRow {
                vote_id: v.id,
                round_id: r.id.clone(),
                status: target.into(),
                rule: rule.clone(),
                reviewed: actor.is_some() || flags.get(&v.id).is_some_and(|f| f.reviewed),
                updated_at: at,
            });
            reviews.push(NewReview {
                vote_id: v.id,
                round_id: r.id.clone(),
                action: action.into(),
                rule,
                reason: reason.into(),
                actor_id: actor.map(str::to_string),
                at,
            });
            changed += 1;
        }
    }
    store::put_flags(conn, &new_flags)?;
    store::insert_reviews(conn, &reviews)?;
    for (entry, (c, q, i)) in deltas {
        store::tally_add(conn, &r.id, &entry, c, q, i)?;
    }
    Ok(changed)
}

/// An organiser restores, invalidates or quarantines votes, with a reason.
pub async fn review(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    input: ReviewInput,
) -> Result<ReviewOutcome, AppError> {
    let reason = input.reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::invalid("vote.reason_required"));
    }
    if domain::status_after(&input.action).is_none() {
        return Err(AppError::invalid("vote.action_invalid"));
    }
    let by_rule = match input.rule.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(rule) => Some(
            domain::RULES
                .into_iter()
                .find(|r| *r == rule)
                .ok_or_else(|| AppError::invalid("vote.rule_unknown"))?,
        ),
    };
    if by_rule.is_some() != input.vote_ids.is_empty() || input.vote_ids.len() > 10_000 {
        return Err(AppError::invalid("vote.selection_invalid"));
    }
    with_managed_round(state, who, id, move |conn, who, r, base, slug| {
        // "Every held vote this rule holds": chosen inside the transaction, so votes
        // held a moment ago are included and none is moved twice.
        let ids = match by_rule {
            Some(rule) => store::flags_by_status(conn, &r.id, domain::QUARANTINED)?
                .into_iter()
                .filter(|f| f.rule.as_deref() == Some(rule))
                .map(|f| f.vote_id)
                .collect(),
            None => input.vote_ids.clone(),
        };
        let changed = move_votes(
            conn,
            r,
            &ids,
            &input.action,
            None,
            &reason,
            Some(&who.user.id),
        )?;
        accounts::audit(
            conn,
            Some(&who.user.id),
            &format!("voting.{}", input.action),
            &r.id,
            &serde_json::json!({"votes": ids, "rule": by_rule, "changed": changed, "reason": reason}),
            now(),
        )?;
        Ok(ReviewOutcome {
            changed,
            integrity: integrity_of(conn, r, base, slug)?,
        })
    })
    .await
}

/// Run `f` in one transaction with voting round `id` (and the site's address and the
/// competition's slug, for links), if `who` runs its competition (else 404); the round's
/// cached leaderboard is dropped afterwards.
async fn with_managed_round<T, F>(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    f: F,
) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection, &AuthUser, &VotingRoundRow, &str, &str) -> Result<T, AppError>
        + Send
        + 'static,
{
    let (who, key) = (who.clone(), id.to_string());
    let base = state.settings.base_url().to_string();
    let out = state
        .db
        .transaction(move |conn| {
            let r = store::find_round(conn, &key)?.ok_or(AppError::NotFound)?;
            // Reviewing, auditing and recounting votes is moderation.
            let c = competitions::moderated(conn, &who, &r.competition_id)?;
            f(conn, &who, &r, &base, &c.slug)
        })
        .await?;
    state.voting.boards.invalidate(id);
    Ok(out)
}

/// The rule inputs of these votes, with each voter's email domain.
fn facts_of(conn: &mut DbConnection, rows: Vec<VoteRow>) -> Result<Vec<VoteFact>, AppError> {
    let voters = domain::distinct(rows.iter().map(|v| v.voter_id.as_str()));
    let mut domains: HashMap<String, String> = HashMap::new();
    for chunk in voters.chunks(1000) {
        for u in accounts::users_by_ids(conn, chunk)? {
            let d = u
                .email
                .rsplit_once('@')
                .map(|(_, d)| d.to_ascii_lowercase())
                .unwrap_or_default();
            domains.insert(u.id, d);
        }
    }
    Ok(rows
        .into_iter()
        .map(|v| VoteFact {
            email_domain: domains.get(&v.voter_id).cloned().unwrap_or_default(),
            ..fact_of(v)
        })
        .collect())
}

/// A vote as the rules that look at more than one vote see it.
fn fact_of(v: VoteRow) -> VoteFact {
    VoteFact {
        id: v.id,
        at: v.cast_at.and_utc().timestamp(),
        voter: v.voter_id,
        entry: v.entry_id,
        network: v.network,
        ua_hash: v.ua_hash,
        account_age_secs: v.account_age_secs,
        email_domain: String::new(),
    }
}

/// Votes the audit looks at in one step (one transaction).
const AUDIT_STEP: i64 = 20_000;

/// What one audit step did.
#[derive(Debug, Default, Clone, Copy)]
pub struct AuditStep {
    pub quarantined: usize,
    /// Nothing more to look at for now.
    pub caught_up: bool,
}

/// One step of the automatic audit of a round: the votes after the audit's mark (up to
/// [`AUDIT_STEP`] of them) go through every rule, and counted votes that a rule catches
/// and no person has reviewed go to quarantine. The result is what running the rules
/// over the whole log would flag (`domain::evaluate`), at the cost of the new votes:
///
/// - the single-vote rules look at the new votes;
/// - bursts look at the new votes with the votes cast in the minute before them: ids
///   follow cast times to within a vote's longest wait for the writer, so a bisection
///   over ids finds where that minute (plus twice that wait) starts, and only the id,
///   time and network of the votes from there on are read;
/// - patterns are kept per voter (`vote_patterns`): the new votes' voters get theirs
///   recomputed from all their votes, and a pattern that reaches the threshold holds its
///   voters' votes (once a group is held, only newcomers need holding).
///
/// The mark only passes votes cast more than `margin` ago: a vote that is still being
/// written when the audit reads may have a smaller id than votes already visible, and it
/// must still be looked at next time. Votes wait at most a few seconds to be written
/// (the writer refuses any older than `writer::MAX_WAIT`), so a margin of a minute or
/// two is safe; votes looked at twice change nothing.
pub fn audit_step(
    conn: &mut DbConnection,
    r: &VotingRoundRow,
    now: NaiveDateTime,
    margin: chrono::Duration,
) -> Result<AuditStep, AppError> {
    let t0 = std::time::Instant::now();
    let from = store::audited_through(conn, &r.id)?;
    let rows = store::votes_of_round(conn, &r.id, from, AUDIT_STEP)?;
    let cutoff = now - margin;
    let settled = rows
        .iter()
        .filter(|v| v.cast_at < cutoff)
        .map(|v| v.id)
        .max()
        .unwrap_or(from);
    let caught_up = (rows.len() as i64) < AUDIT_STEP || settled == from;
    let Some(first_at) = rows.iter().map(|v| v.cast_at).min() else {
        store::advance_audit(conn, &r.id, from, from, now)?;
        return Ok(AuditStep {
            caught_up: true,
            ..Default::default()
        });
    };
    let new = facts_of(conn, rows)?;
    let t_read = t0.elapsed();
    let s = rule_settings(r);
    let allow = domain::parse_allowlist(&r.allowlist()).unwrap_or_default();
    let mut flagged: Vec<(i64, &'static str)> = Vec::new();
    for f in &new {
        let on_venue = domain::network_allowed(&allow, &f.network);
        if let Some(rule) = domain::single_vote_rule(f, &s, on_venue) {
            flagged.push((f.id, rule));
        }
    }

    // Bursts: the new votes and the minute before them, from the same networks.
    let networks: HashSet<&str> = new.iter().map(|f| f.network.as_str()).collect();
    let mut around: Vec<VoteFact> = Vec::new();
    if from > 0 {
        // Ids follow cast times to within a vote's longest wait (`writer::MAX_WAIT`),
        // so the votes cast in the minute before the first new one lie after `lo`.
        let back_to = first_at - chrono::Duration::seconds(60) - super::writer::MAX_WAIT * 2;
        let start = store::id_before_cast(conn, back_to, from)?;
        // Only those networks' votes leave the database (the filter runs there: a minute
        // of a live show is hundreds of thousands of votes, most from other networks).
        let wanted: Vec<&str> = networks.iter().copied().collect();
        for chunk in wanted.chunks(5_000) {
            let mut after = start;
            loop {
                let page = store::network_times(conn, &r.id, after, from, chunk, 50_000)?;
                let Some(&(last, _, _)) = page.last() else {
                    break;
                };
                after = last;
                let full = page.len() == 50_000;
                around.extend(page.into_iter().map(|(id, at, network)| VoteFact {
                    id,
                    at: at.and_utc().timestamp(),
                    network,
                    voter: String::new(),
                    entry: String::new(),
                    ua_hash: String::new(),
                    account_age_secs: i64::MAX,
                    email_domain: String::new(),
                }));
                if !full {
                    break;
                }
            }
        }
    }
    around.extend(new.iter().cloned());
    for id in domain::burst_ids(&around, &s, &|n| domain::network_allowed(&allow, n)) {
        flagged.push((id, domain::RULE_BURST));
    }
    drop(around);
    let t_bursts = t0.elapsed();

    // Patterns of the voters who voted.
    let voters = domain::distinct(new.iter().map(|f| f.voter.as_str()));
    let before_patterns = store::patterns_of(conn, &r.id, &voters)?;
    let mut of_voter: HashMap<String, Vec<VoteFact>> = HashMap::new();
    for v in store::votes_of_voters(conn, &r.id, &voters)? {
        of_voter
            .entry(v.voter_id.clone())
            .or_default()
            .push(fact_of(v));
    }
    let mut patterns: Vec<(String, Option<String>)> = Vec::new();
    let mut joined: HashMap<String, Vec<String>> = HashMap::new();
    for voter in &voters {
        let mut list: Vec<&VoteFact> = of_voter
            .get(voter)
            .map(|l| l.iter().collect())
            .unwrap_or_default();
        let key = domain::pattern_key(&mut list);
        if let Some(k) = &key
            && before_patterns.get(voter) != Some(k)
        {
            joined.entry(k.clone()).or_default().push(voter.clone());
        }
        patterns.push((voter.clone(), key));
    }
    store::set_patterns(conn, &r.id, &patterns)?;
    let keys: Vec<String> = joined.keys().cloned().collect();
    let min = s.pattern_min_voters.max(2) as usize;
    let mut hold: Vec<String> = Vec::new();
    for (key, members) in store::voters_with_patterns(conn, &r.id, &keys)? {
        let newcomers = joined.remove(&key).unwrap_or_default();
        if members.len() < min {
            continue;
        }
        if members.len() - newcomers.len() >= min {
            // Held already: only the newcomers.
            hold.extend(newcomers);
        } else {
            hold.extend(members);
        }
    }
    let known: HashSet<&String> = of_voter.keys().collect();
    let others: Vec<String> = hold
        .iter()
        .filter(|v| !known.contains(v))
        .cloned()
        .collect();
    let mut pattern_ids: Vec<i64> = hold
        .iter()
        .filter_map(|v| of_voter.get(v))
        .flatten()
        .map(|f| f.id)
        .collect();
    pattern_ids.extend(
        store::votes_of_voters(conn, &r.id, &others)?
            .iter()
            .map(|v| v.id),
    );
    flagged.extend(pattern_ids.into_iter().map(|id| (id, domain::RULE_PATTERN)));

    let t_patterns = t0.elapsed();
    // The first rule that caught a vote names it, as in `domain::evaluate`.
    let mut by_vote: BTreeMap<i64, &'static str> = BTreeMap::new();
    for (id, rule) in flagged {
        by_vote.entry(id).or_insert(rule);
    }
    let ids: Vec<i64> = by_vote.keys().copied().collect();
    // A vote with a status record was held, struck out or reviewed already.
    let reviewed = store::flags_among(conn, &r.id, &ids)?;
    let mut by_rule: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (id, rule) in by_vote {
        if !reviewed.contains_key(&id) {
            by_rule.entry(rule).or_default().push(id);
        }
    }
    let mut quarantined = 0;
    for (rule, ids) in by_rule {
        quarantined += move_votes(
            conn,
            r,
            &ids,
            domain::QUARANTINE,
            Some(rule),
            "automatic audit",
            None,
        )?;
    }
    tracing::debug!(
        round = %r.id,
        votes = new.len(),
        quarantined,
        read_ms = t_read.as_millis() as u64,
        bursts_ms = (t_bursts - t_read).as_millis() as u64,
        patterns_ms = (t_patterns - t_bursts).as_millis() as u64,
        settle_ms = (t0.elapsed() - t_patterns).as_millis() as u64,
        "audit step"
    );
    if !store::advance_audit(conn, &r.id, from, settled, now)? {
        // Another auditor got here first: undo this step.
        return Err(AppError::Conflict {
            code: "vote.audit_busy",
        });
    }
    Ok(AuditStep {
        quarantined,
        caught_up,
    })
}

/// Audit a round up to now, one transaction per step; the votes quarantined.
pub async fn audit_round(state: &AppState, r: &VotingRoundRow) -> Result<usize, AppError> {
    let margin = chrono::Duration::seconds(state.settings.voting.audit_margin_secs as i64);
    let mut quarantined = 0;
    loop {
        let r = r.clone();
        let step = state
            .db
            .transaction(move |conn| audit_step(conn, &r, now(), margin))
            .await;
        match step {
            Ok(step) => {
                quarantined += step.quarantined;
                if step.caught_up {
                    break;
                }
            }
            // Another process is auditing this round right now.
            Err(AppError::Conflict {
                code: "vote.audit_busy",
            }) => break,
            Err(e) => return Err(e),
        }
    }
    if quarantined > 0 {
        state.voting.boards.invalidate(&r.id);
    }
    Ok(quarantined)
}

pub async fn run_audit(
    state: &AppState,
    who: &AuthUser,
    id: &str,
) -> Result<AuditOutcome, AppError> {
    let (w, key) = (who.clone(), id.to_string());
    let r = state
        .db
        .run(move |conn| {
            let r = store::find_round(conn, &key)?.ok_or(AppError::NotFound)?;
            competitions::managed(conn, &w, &r.competition_id)?;
            Ok(r)
        })
        .await?;
    let quarantined = audit_round(state, &r).await?;
    with_managed_round(state, who, id, move |conn, _, r, base, slug| {
        Ok(AuditOutcome {
            quarantined,
            integrity: integrity_of(conn, r, base, slug)?,
        })
    })
    .await
}

/// Rebuild statuses and tallies from the log and the review records alone.
pub fn recompute_round(
    conn: &mut DbConnection,
    r: &VotingRoundRow,
) -> Result<RecomputeOutcome, AppError> {
    let mut status: BTreeMap<i64, (String, Option<String>, String)> = BTreeMap::new();
    let mut after = 0;
    loop {
        let rows = store::votes_of_round(conn, &r.id, after, 50_000)?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for v in rows {
            status.insert(v.id, (v.initial_status, v.initial_rule, v.entry_id));
        }
    }
    let mut reviewed: HashSet<i64> = HashSet::new();
    let mut last_at: HashMap<i64, NaiveDateTime> = HashMap::new();
    for rv in store::reviews_of(conn, &r.id)? {
        if let (Some(s), Some(to)) = (
            status.get_mut(&rv.vote_id),
            domain::status_after(&rv.action),
        ) {
            s.0 = to.into();
            if rv.rule.is_some() {
                s.1 = rv.rule.clone();
            }
            if rv.actor_id.is_some() {
                reviewed.insert(rv.vote_id);
            }
            last_at.insert(rv.vote_id, rv.at);
        }
    }
    let mut tallies: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    let mut flags = Vec::new();
    for (id, (s, rule, entry)) in &status {
        let t = tallies.entry(entry.clone()).or_default();
        match s.as_str() {
            domain::COUNTED => t.0 += 1,
            domain::QUARANTINED => t.1 += 1,
            _ => t.2 += 1,
        }
        if s != domain::COUNTED || reviewed.contains(id) || last_at.contains_key(id) {
            flags.push(FlagRow {
                vote_id: *id,
                round_id: r.id.clone(),
                status: s.clone(),
                rule: rule.clone(),
                reviewed: reviewed.contains(id),
                updated_at: last_at.get(id).copied().unwrap_or_else(now),
            });
        }
    }
    let before: BTreeMap<String, (i64, i64, i64)> = store::tallies_of(conn, &r.id)?
        .into_iter()
        .filter(|t| (t.counted, t.quarantined, t.invalidated) != (0, 0, 0))
        .map(|t| (t.entry_id, (t.counted, t.quarantined, t.invalidated)))
        .collect();
    let matched = before == tallies;
    let rows: Vec<TallyRow> = tallies
        .iter()
        .map(|(e, (c, q, i))| TallyRow {
            round_id: r.id.clone(),
            entry_id: e.clone(),
            counted: *c,
            quarantined: *q,
            invalidated: *i,
        })
        .collect();
    store::replace_tallies(conn, &r.id, &rows)?;
    store::delete_flags(conn, &r.id)?;
    store::insert_flags(conn, &flags)?;
    let counted: BTreeMap<String, u64> = tallies
        .iter()
        .map(|(e, t)| (e.clone(), t.0.max(0) as u64))
        .collect();
    Ok(RecomputeOutcome {
        matched,
        tally_hash: domain::tally_hash(&counted),
        counted: counted.values().sum(),
    })
}

pub async fn recompute(
    state: &AppState,
    who: &AuthUser,
    id: &str,
) -> Result<RecomputeOutcome, AppError> {
    with_managed_round(state, who, id, |conn, who, r, _, _| {
        let out = recompute_round(conn, r)?;
        accounts::audit(
            conn,
            Some(&who.user.id),
            "voting.recomputed",
            &r.id,
            &serde_json::json!({"matched": out.matched, "tally_hash": out.tally_hash}),
            now(),
        )?;
        Ok(out)
    })
    .await
}

/// Counted public votes per entry from the competition's last closed voting round, for
/// the results; `None` when no voting round has closed.
pub fn public_votes(
    conn: &mut DbConnection,
    competition_id: &str,
) -> Result<Option<HashMap<String, u64>>, AppError> {
    let now = now();
    let Some(r) = store::rounds_of(conn, competition_id)?
        .into_iter()
        .filter(|r| r.is_closed(now))
        .max_by_key(|r| r.closes_at)
    else {
        return Ok(None);
    };
    Ok(Some(
        store::tallies_of(conn, &r.id)?
            .into_iter()
            .map(|t| (t.entry_id, t.counted.max(0) as u64))
            .collect(),
    ))
}

/// The periodic audit: every round that is open or closed within the last day.
pub async fn audit_job(state: &AppState) -> Result<usize, AppError> {
    let rounds = state
        .db
        .run(|conn| store::rounds_to_audit(conn, now()))
        .await?;
    let mut n = 0;
    for r in rounds {
        n += audit_round(state, &r).await?;
    }
    state.voting.tidy();
    Ok(n)
}

pub fn entry_seed(seed: Option<&str>) -> String {
    seed.filter(|s| !s.is_empty() && s.len() <= 64)
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

/// Every vote the person cast, for their data export.
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
