//! Integrity and review: the round's integrity summary and tally hash, the vote logs
//! (public and for the audit), and organisers restoring, striking or holding votes.

use super::VotingState as _;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use hmac::{Hmac, Mac};

use super::RoundInfo;
use super::domain::{self};
use super::model::*;
use super::service::*;
use super::store;
use crate::accounts::model::AuthUser;
use crate::accounts::service as accounts;
use crate::competitions::service as competitions;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;
use crate::submissions::service as submissions;

pub(super) fn integrity_of(
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
            let email =
                crate::http::csv::cell(emails.get(&v.voter_id).map(String::as_str).unwrap_or(""));
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
pub(super) fn move_votes(
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
        crate::db::audit::record(
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
pub(super) async fn with_managed_round<T, F>(
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
    state.voting().boards.invalidate(id);
    Ok(out)
}
