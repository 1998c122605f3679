//! The fraud audit: the rules re-run over a round's vote log in steps, recomputing the
//! tallies from the log, and the public votes the results read.

use super::VotingState as _;
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDateTime;

use super::domain::{self, VoteFact};
use super::model::*;
use super::service::*;
use super::store;
use crate::accounts::model::AuthUser;
use crate::accounts::service as accounts;
use crate::competitions::service as competitions;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;

/// The rule inputs of these votes, with each voter's email domain.
pub(super) fn facts_of(
    conn: &mut DbConnection,
    rows: Vec<VoteRow>,
) -> Result<Vec<VoteFact>, AppError> {
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
pub(super) fn fact_of(v: VoteRow) -> VoteFact {
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
pub(super) const AUDIT_STEP: i64 = 20_000;

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
        state.voting().boards.invalidate(&r.id);
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
        crate::db::audit::record(
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

/// The periodic audit (every two minutes, `voting.audit`).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct AuditVotes {}

impl crate::jobs::Job for AuditVotes {
    const NAME: &'static str = super::service::AUDIT_JOB;

    async fn run(
        self,
        state: AppState,
        _job: crate::jobs::JobRow,
    ) -> Result<(), crate::jobs::JobError> {
        audit_job(&state).await?;
        Ok(())
    }
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
    state.voting().tidy();
    Ok(n)
}
