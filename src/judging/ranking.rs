//! A round's ranking (raw, median and normalised, with judge agreement), closing a
//! round, advancing entries, and every score as CSV.

use std::collections::{HashMap, HashSet};

use super::domain::{self};
use super::model::*;
use super::scoring::{self, Advancement, Basis, JudgeScore};
use super::service::{audit, now, round_view, with_round};
use super::store;
use crate::accounts::model::AuthUser;
use crate::competitions::service as competitions;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::mail::{self, MailAction, MailContent};
use crate::state::AppState;
use crate::submissions::model::EntryRow;
use crate::submissions::service as submissions;

/// The scores that count in a round: those of active assignments.
fn counted_scores(conn: &mut DbConnection, r: &RoundRow) -> Result<Vec<JudgeScore>, AppError> {
    Ok(store::scores_of_round(conn, &r.id)?
        .into_iter()
        .filter(|(_, a)| a.state == ACTIVE)
        .map(|(s, a)| JudgeScore {
            total: s.total(),
            judge: a.judge_id,
            entry: a.entry_id,
        })
        .collect())
}

/// The ranking of a round, with raw, median and normalised scores side by side.
/// Whether an entry is still in the competition (not disqualified, not withdrawn).
fn still_in(e: &EntryRow) -> bool {
    e.review != "disqualified" && e.withdrawn_at.is_none()
}

pub fn ranking_of(conn: &mut DbConnection, r: &RoundRow) -> Result<Ranking, AppError> {
    let re = store::round_entries_of(conn, &r.id)?;
    let scores = counted_scores(conn, r)?;
    let basis = Basis::parse(&r.ranking_basis).unwrap_or(Basis::Normalised);
    let order: Vec<String> = re.iter().map(|x| x.entry_id.clone()).collect();
    let ranked = scoring::rank(&order, &scores, basis);
    let entries: HashMap<String, EntryRow> = submissions::find_entries(conn, &order)?;
    let people: Vec<String> = entries.values().map(|e| e.musician_id.clone()).collect();
    let musicians = crate::accounts::service::display_names(conn, &people)?;
    let categories: HashMap<String, String> =
        crate::competitions::service::categories_of(conn, &r.competition_id)?
            .into_iter()
            .map(|k| (k.id, k.name))
            .collect();
    let category_of: HashMap<String, Option<String>> = entries
        .values()
        .map(|e| (e.id.clone(), e.category_id.clone()))
        .collect();
    // Disqualified or withdrawn entries keep their place in the table but never advance.
    let eligible: Vec<scoring::EntryStanding> = ranked
        .iter()
        .filter(|x| entries.get(&x.entry).is_some_and(still_in))
        .cloned()
        .collect();
    let rule: HashSet<String> = scoring::advance_by_rule(&r.advancement(), &eligible, &category_of)
        .into_iter()
        .collect();
    let code_of: HashMap<&str, &RoundEntryRow> =
        re.iter().map(|x| (x.entry_id.as_str(), x)).collect();
    let out = ranked
        .into_iter()
        .map(|s| {
            let e = entries.get(&s.entry);
            RankedEntry {
                entry_id: s.entry.clone(),
                code: code_of
                    .get(s.entry.as_str())
                    .map(|x| x.code.clone())
                    .unwrap_or_default(),
                title: e.map(|e| e.title.clone()).unwrap_or_default(),
                musician: e
                    .and_then(|e| musicians.get(&e.musician_id).cloned())
                    .unwrap_or_default(),
                category: e
                    .and_then(|e| e.category_id.as_ref())
                    .and_then(|k| categories.get(k).cloned()),
                by_rule: rule.contains(&s.entry),
                advanced: code_of.get(s.entry.as_str()).and_then(|x| x.advanced),
                standing: s,
            }
        })
        .collect();
    let (agreements, overall) = scoring::agreement(&scores);
    let ids: Vec<String> = agreements.iter().map(|a| a.judge.clone()).collect();
    let names = crate::accounts::service::display_names(conn, &ids)?;
    let judges = agreements
        .into_iter()
        .map(|a| JudgeStanding {
            name: names.get(&a.judge).cloned().unwrap_or_default(),
            agreement: a,
        })
        .collect();
    Ok(Ranking {
        round: round_view(conn, r)?,
        basis: basis.as_str().into(),
        entries: out,
        judges,
        agreement: overall,
    })
}

pub async fn ranking(
    state: &AppState,
    who: &AuthUser,
    round_id: &str,
) -> Result<Ranking, AppError> {
    with_round(state, who, round_id, move |conn, _, _, r| {
        ranking_of(conn, &r)
    })
    .await
}

/// Close a round: scoring stops, and each entry's figures and place are kept.
pub async fn close_round(
    state: &AppState,
    who: &AuthUser,
    round_id: &str,
) -> Result<Ranking, AppError> {
    with_round(state, who, round_id, move |conn, who, _, mut r| {
        if r.status != OPEN {
            return Err(AppError::Conflict {
                code: if r.status == DRAFT {
                    "judging.round_not_open"
                } else {
                    "judging.round_closed"
                },
            });
        }
        let now = now();
        r.status = CLOSED.into();
        r.closed_at = Some(now);
        r.updated_at = now;
        store::save_round(conn, &r)?;
        let ranking = ranking_of(conn, &r)?;
        let mut rows: HashMap<String, RoundEntryRow> = store::round_entries_of(conn, &r.id)?
            .into_iter()
            .map(|y| (y.entry_id.clone(), y))
            .collect();
        for x in &ranking.entries {
            if let Some(mut re) = rows.remove(&x.entry_id) {
                re.placement = Some(x.standing.rank as i32);
                re.result = Some(serde_json::to_string(&x.standing).map_err(AppError::internal)?);
                store::save_round_entry(conn, &re)?;
            }
        }
        audit(
            conn,
            Some(&who.user.id),
            "round.closed",
            &r.id,
            serde_json::json!({}),
        )?;
        ranking_of(conn, &r)
    })
    .await
}

/// Decide who goes on: by the round's rule, or by the organiser's own choice (which
/// needs a reason when it differs from the rule, and is audit-logged). Musicians are
/// emailed either way.
pub async fn advance(
    state: &AppState,
    who: &AuthUser,
    round_id: &str,
    input: AdvanceInput,
) -> Result<Ranking, AppError> {
    let base = state.settings.base_url().to_string();
    with_round(state, who, round_id, move |conn, who, c, mut r| {
            match r.status.as_str() {
                CLOSED => {}
                DECIDED => return Err(AppError::Conflict { code: "judging.already_decided" }),
                _ => return Err(AppError::Conflict { code: "judging.round_not_closed" }),
            }
            if r.is_calibration() {
                return Err(AppError::Conflict { code: "judging.calibration_has_no_advancement" });
            }
            let ranking = ranking_of(conn, &r)?;
            if ranking.entries.iter().all(|e| e.standing.scores == 0) {
                // Nobody judged: deciding now would tell every musician they did not advance.
                return Err(AppError::Conflict { code: "judging.no_scores" });
            }
            let rule: HashSet<String> = ranking.entries.iter().filter(|e| e.by_rule).map(|e| e.entry_id.clone()).collect();
            let in_round: HashSet<String> = ranking.entries.iter().map(|e| e.entry_id.clone()).collect();
            let chosen: HashSet<String> = match &input.entries {
                Some(list) => {
                    if let Some(bad) = list.iter().find(|e| !in_round.contains(*e)) {
                        return Err(AppError::invalid_with("judging.entry_not_in_round", vec![("entry", bad.clone())]));
                    }
                    let found = submissions::find_entries(conn, list)?;
                    if let Some(out) = list.iter().find(|e| !found.get(*e).is_some_and(still_in)) {
                        return Err(AppError::invalid_with(
                            "judging.entry_not_eligible",
                            vec![("entry", out.clone())],
                        ));
                    }
                    list.iter().cloned().collect()
                }
                None => {
                    if matches!(r.advancement(), Advancement::Manual) {
                        return Err(AppError::invalid("judging.choose_entries"));
                    }
                    rule.clone()
                }
            };
            let manual = chosen != rule;
            let reason = input.reason.as_deref().map(str::trim).unwrap_or("");
            if manual && reason.is_empty() {
                return Err(AppError::invalid("judging.reason_required"));
            }
            if reason.chars().count() > domain::MAX_COMMENT {
                return Err(AppError::invalid_with("judging.comment_too_long", vec![("max", domain::MAX_COMMENT.to_string())]));
            }
            let now = now();
            for mut re in store::round_entries_of(conn, &r.id)? {
                re.advanced = Some(chosen.contains(&re.entry_id));
                re.decided_by = Some(if manual { "manual" } else { "rule" }.into());
                store::save_round_entry(conn, &re)?;
            }
            r.status = DECIDED.into();
            r.decided_at = Some(now);
            r.updated_at = now;
            store::save_round(conn, &r)?;
            let mut sorted_chosen: Vec<&String> = chosen.iter().collect();
            sorted_chosen.sort();
            let mut sorted_rule: Vec<&String> = rule.iter().collect();
            sorted_rule.sort();
            if manual {
                audit(conn, Some(&who.user.id), "round.advanced_manually", &r.id, serde_json::json!({ "reason": reason, "chosen": sorted_chosen, "rule": sorted_rule }))?;
            } else {
                audit(conn, Some(&who.user.id), "round.advanced_by_rule", &r.id, serde_json::json!({ "chosen": sorted_chosen }))?;
            }
            // Tell every musician in the round.
            let next = store::rounds_of(conn, &c.id)?.into_iter().find(|x| x.kind == STANDARD && x.position > r.position);
            for x in &ranking.entries {
                let Some(e) = submissions::find_entry(conn, &x.entry_id)? else { continue };
                let Some(u) = crate::accounts::service::find_user(conn, &e.musician_id)? else { continue };
                let l = u.language();
                let went = chosen.contains(&x.entry_id);
                let next_name = next.as_ref().map(|n| n.name.clone()).unwrap_or_else(|| l.t("judging.the_final_results").to_string());
                let competition = c.title_in(l);
                let args = [("title", e.title.as_str()), ("round", r.name.as_str()), ("competition", competition.as_str()), ("next", next_name.as_str())];
                let m = MailContent {
                    locale: l,
                    to: u.email.clone(),
                    subject: l.tf(if went { "mail.advanced_subject" } else { "mail.not_advanced_subject" }, &args),
                    paragraphs: vec![l.tf(if went { "mail.advanced_body" } else { "mail.not_advanced_body" }, &args)],
                    action: Some(MailAction {
                        label: l.t("mail.see_entry").to_string(),
                        url: format!("{base}/entries/{}", e.id),
                    }),
                }
                .render()?;
                mail::enqueue(conn, &m, now)?;
            }
            ranking_of(conn, &r)
        })
        .await
}

/// Every score of every round, as CSV.
pub async fn scores_csv(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
) -> Result<(String, String), AppError> {
    use crate::http::csv::cell;
    let (slug, rows) = competitions::with_managed(state, who, competition_id, move |conn, _, c| {
        let mut rows: Vec<Vec<String>> = Vec::new();
        for r in store::rounds_of(conn, &c.id)? {
            let codes: HashMap<String, String> = store::round_entries_of(conn, &r.id)?
                .into_iter()
                .map(|x| (x.entry_id, x.code))
                .collect();
            let scored: HashMap<String, ScoreRow> = store::scores_of_round(conn, &r.id)?
                .into_iter()
                .map(|(s, _)| (s.assignment_id.clone(), s))
                .collect();
            let all = store::assignments_of_round(conn, &r.id)?;
            let ids: Vec<String> = codes.keys().cloned().collect();
            let entries = submissions::find_entries(conn, &ids)?;
            let mut people: Vec<String> = entries.values().map(|e| e.musician_id.clone()).collect();
            people.extend(all.iter().map(|a| a.judge_id.clone()));
            people.sort();
            people.dedup();
            let names = crate::accounts::service::display_names(conn, &people)?;
            for a in all {
                let e = entries.get(&a.entry_id);
                let musician = e
                    .and_then(|e| names.get(&e.musician_id).cloned())
                    .unwrap_or_default();
                let judge = names.get(&a.judge_id).cloned().unwrap_or_default();
                let s = scored.get(&a.id);
                rows.push(vec![
                    r.name.clone(),
                    codes.get(&a.entry_id).cloned().unwrap_or_default(),
                    a.entry_id.clone(),
                    e.map(|e| e.title.clone()).unwrap_or_default(),
                    musician,
                    judge,
                    a.state.clone(),
                    format!("{}", a.listened_permille / 10),
                    s.map(|s| {
                        s.values()
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
                    .unwrap_or_default(),
                    s.map(|s| format!("{:.3}", s.total())).unwrap_or_default(),
                ]);
            }
        }
        Ok((c.slug, rows))
    })
    .await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "round",
        "code",
        "entry_id",
        "title",
        "musician",
        "judge",
        "state",
        "listened_percent",
        "criteria",
        "total",
    ];
    w.write_record(header).map_err(AppError::internal)?;
    for r in rows {
        w.write_record(r.iter().map(|s| cell(s)))
            .map_err(AppError::internal)?;
    }
    let bytes = w.into_inner().map_err(AppError::internal)?;
    Ok((
        format!("{slug}-scores.csv"),
        String::from_utf8(bytes).map_err(AppError::internal)?,
    ))
}
