//! Putting judges on entries: the automatic plan for a round (from `assign`'s
//! algorithm, with conflicts, affiliations and calibration anchors), adding and
//! removing one assignment, topping up after a judge leaves, the rendition each
//! assignment needs, and the email that tells a judge.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;

use super::assign::{self, Plan, Problem};
use super::domain::{self};
use super::model::*;
use super::service::{audit, insert_with_code, now, round_view, with_round};
use super::store;
use crate::accounts::model::AuthUser;
use crate::accounts::model::UserRow;
use crate::competitions::model::CompetitionRow;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::mail::{self, MailAction, MailContent};
use crate::state::AppState;
use crate::submissions::model::EntryRow;
use crate::submissions::service as submissions;

/// The entries of a round: anchors for calibration; every judgeable entry for the first
/// round; the entries the previous round advanced for a later one.
fn populate(
    conn: &mut DbConnection,
    c: &CompetitionRow,
    r: &RoundRow,
) -> Result<Vec<RoundEntryRow>, AppError> {
    let existing = store::round_entries_of(conn, &r.id)?;
    if !existing.is_empty() {
        return Ok(existing);
    }
    if r.is_calibration() {
        return Err(AppError::invalid("judging.anchors_invalid"));
    }
    let previous = store::rounds_of(conn, &c.id)?
        .into_iter()
        .filter(|p| p.kind == STANDARD && p.position < r.position)
        .max_by_key(|p| p.position);
    let judgeable = submissions::judgeable_entries(conn, &c.id)?;
    let ids: Vec<String> = match previous {
        None => judgeable.iter().map(|e| e.id.clone()).collect(),
        Some(p) => {
            if p.status != DECIDED {
                return Err(AppError::Conflict {
                    code: "judging.previous_round_undecided",
                });
            }
            let ok: HashSet<&str> = judgeable.iter().map(|e| e.id.as_str()).collect();
            store::round_entries_of(conn, &p.id)?
                .into_iter()
                .filter(|re| re.advanced == Some(true) && ok.contains(re.entry_id.as_str()))
                .map(|re| re.entry_id)
                .collect()
        }
    };
    if ids.is_empty() {
        return Err(AppError::invalid("judging.no_entries"));
    }
    for id in &ids {
        insert_with_code(conn, &r.id, id, false)?;
    }
    store::round_entries_of(conn, &r.id)
}

/// Pairs that must not meet: declared conflicts, shared affiliations, own entries.
fn forbidden_pairs(
    conn: &mut DbConnection,
    c: &CompetitionRow,
    judges: &[UserRow],
    entries: &[EntryRow],
) -> Result<HashSet<(String, String)>, AppError> {
    let mut out: HashSet<(String, String)> = store::conflicts_of(conn, &c.id)?
        .into_iter()
        .map(|x| (x.judge_id, x.entry_id))
        .collect();
    let mut users: Vec<String> = judges.iter().map(|j| j.id.clone()).collect();
    users.extend(entries.iter().map(|e| e.musician_id.clone()));
    let mut aff: HashMap<String, HashSet<(String, String)>> = HashMap::new();
    for a in store::affiliations_of(conn, &users)? {
        aff.entry(a.user_id)
            .or_default()
            .insert((a.kind, a.value_key));
    }
    let empty = HashSet::new();
    for j in judges {
        let ja = aff.get(&j.id).unwrap_or(&empty);
        for e in entries {
            let ea = aff.get(&e.musician_id).unwrap_or(&empty);
            if j.id == e.musician_id || !ja.is_disjoint(ea) {
                out.insert((j.id.clone(), e.id.clone()));
            }
        }
    }
    Ok(out)
}

/// Fill every entry of the round up to its number of judges (first assignment, or a
/// top-up after a conflict or a judge leaving). Returns the plan that was applied.
fn fill(
    conn: &mut DbConnection,
    c: &CompetitionRow,
    r: &mut RoundRow,
    base: &str,
) -> Result<Plan, AppError> {
    let re = populate(conn, c, r)?;
    let judges = crate::accounts::service::judges_of(conn, &c.id)?;
    if judges.is_empty() {
        return Err(AppError::invalid("judging.no_judges"));
    }
    let ids: Vec<String> = re.iter().map(|x| x.entry_id.clone()).collect();
    let mut found = submissions::find_entries(conn, &ids)?;
    let entries: Vec<EntryRow> = ids.iter().filter_map(|id| found.remove(id)).collect();
    let forbidden = forbidden_pairs(conn, c, &judges, &entries)?;
    let all = store::assignments_of_round(conn, &r.id)?;
    let existing: Vec<(String, String)> = all
        .iter()
        .filter(|a| a.state == ACTIVE)
        .map(|a| (a.judge_id.clone(), a.entry_id.clone()))
        .collect();
    let k = if r.is_calibration() {
        judges.len()
    } else {
        r.judges_per_entry as usize
    };
    let plan = assign::assign(&Problem {
        entries: entries.iter().map(|e| e.id.clone()).collect(),
        judges: judges.iter().map(|j| j.id.clone()).collect(),
        k,
        forbidden,
        existing,
        seed: r.id.clone(),
    });
    let now = now();
    for (j, e) in &plan.new {
        let earlier = all.iter().find(|a| &a.judge_id == j && &a.entry_id == e);
        put_on(conn, r, j, e, earlier.cloned(), now)?;
    }
    // Judges hear clean renditions; make the missing ones.
    for e in &entries {
        request_rendition(conn, e, now)?;
    }
    notify_assigned(conn, c, r, base)?;
    Ok(plan)
}

/// Put judge `j` on entry `e` in round `r`: reactivate an earlier assignment of the pair,
/// or make a new one with a fresh alias and the judge's own sort key. Opens a draft round.
fn put_on(
    conn: &mut DbConnection,
    r: &mut RoundRow,
    j: &str,
    e: &str,
    earlier: Option<AssignmentRow>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    match earlier {
        Some(mut a) => {
            a.state = ACTIVE.into();
            a.notified_at = None;
            a.updated_at = now;
            store::save_assignment(conn, &a)?;
        }
        None => {
            let id = uuid::Uuid::now_v7().to_string();
            store::insert_assignment(
                conn,
                &AssignmentRow {
                    sort_key: format!("{:016x}", assign::tie(&r.id, j, &id)),
                    id,
                    round_id: r.id.clone(),
                    entry_id: e.to_string(),
                    judge_id: j.to_string(),
                    alias: domain::new_alias(),
                    state: ACTIVE.into(),
                    listened: String::new(),
                    listened_permille: 0,
                    notified_at: None,
                    created_at: now,
                    updated_at: now,
                    streamed: String::new(),
                    first_streamed_at: None,
                },
            )?;
        }
    }
    if r.status == DRAFT {
        r.status = OPEN.into();
        r.updated_at = now;
        store::save_round(conn, r)?;
    }
    Ok(())
}

/// Queue the clean rendition of the entry's audio unless it exists.
fn request_rendition(
    conn: &mut DbConnection,
    e: &EntryRow,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    if let Some(u) = &e.upload_id
        && store::find_rendition(conn, u)?.is_none()
    {
        crate::jobs::enqueue(
            conn,
            &super::jobs::RenderForJudges {
                upload_id: u.clone(),
            },
            now,
            None,
        )?;
    }
    Ok(())
}

pub(super) fn judge_link(state_base: &str, r: &RoundRow) -> String {
    format!("{state_base}/judge/rounds/{}", r.id)
}

/// Email each judge who has assignments they were not told about yet.
fn notify_assigned(
    conn: &mut DbConnection,
    c: &CompetitionRow,
    r: &RoundRow,
    base: &str,
) -> Result<(), AppError> {
    let mut by_judge: HashMap<String, Vec<AssignmentRow>> = HashMap::new();
    for a in store::assignments_of_round(conn, &r.id)?
        .into_iter()
        .filter(|a| a.state == ACTIVE && a.notified_at.is_none())
    {
        by_judge.entry(a.judge_id.clone()).or_default().push(a);
    }
    let now = now();
    for (judge, list) in by_judge {
        let Some(u) = crate::accounts::service::find_user(conn, &judge)? else {
            continue;
        };
        let l = u.language();
        let closes = r
            .closes_at
            .map(|t| crate::competitions::domain::local_label(t, &c.time_zone))
            .unwrap_or_else(|| l.t("judging.no_deadline").to_string());
        let competition = c.title_in(l);
        let m = MailContent {
            locale: l,
            to: u.email.clone(),
            subject: l.tf(
                "mail.judge_assigned_subject",
                &[("round", &r.name), ("competition", &competition)],
            ),
            paragraphs: vec![l.tf(
                "mail.judge_assigned_body",
                &[
                    ("count", &list.len().to_string()),
                    ("round", &r.name),
                    ("competition", &competition),
                    ("closes", &closes),
                ],
            )],
            action: Some(MailAction {
                label: l.t("mail.judge_assigned_button").to_string(),
                url: judge_link(base, r),
            }),
        }
        .render()?;
        mail::enqueue(conn, &m, now)?;
        for mut a in list {
            a.notified_at = Some(now);
            store::save_assignment(conn, &a)?;
        }
    }
    Ok(())
}

fn assign_result(
    conn: &mut DbConnection,
    r: &RoundRow,
    plan: Plan,
) -> Result<AssignResult, AppError> {
    Ok(AssignResult {
        round: round_view(conn, r)?,
        assigned: plan.new.len(),
        short: plan
            .short
            .into_iter()
            .map(|(entry_id, missing)| ShortEntry { entry_id, missing })
            .collect(),
    })
}

/// Assign judges automatically (and top up what is missing).
pub async fn assign_round(
    state: &AppState,
    who: &AuthUser,
    round_id: &str,
) -> Result<AssignResult, AppError> {
    let base = state.settings.base_url().to_string();
    with_round(state, who, round_id, move |conn, who, c, mut r| {
        if r.status == CLOSED || r.status == DECIDED {
            return Err(AppError::Conflict {
                code: "judging.round_closed",
            });
        }
        let plan = fill(conn, &c, &mut r, &base)?;
        audit(
            conn,
            Some(&who.user.id),
            "round.assigned",
            &r.id,
            serde_json::json!({ "new": plan.new.len(), "short": plan.short.len() }),
        )?;
        assign_result(conn, &r, plan)
    })
    .await
}

/// Assign one judge to one entry by hand.
pub async fn add_assignment(
    state: &AppState,
    who: &AuthUser,
    round_id: &str,
    input: ManualAssignInput,
) -> Result<RoundView, AppError> {
    let base = state.settings.base_url().to_string();
    with_round(state, who, round_id, move |conn, who, c, mut r| {
        if r.status == CLOSED || r.status == DECIDED {
            return Err(AppError::Conflict {
                code: "judging.round_closed",
            });
        }
        populate(conn, &c, &r)?;
        let judges = crate::accounts::service::judges_of(conn, &c.id)?;
        let judge = judges
            .iter()
            .find(|j| j.id == input.judge_id)
            .ok_or_else(|| AppError::invalid("judging.not_on_panel"))?;
        if !store::round_entries_of(conn, &r.id)?
            .iter()
            .any(|x| x.entry_id == input.entry_id)
        {
            return Err(AppError::invalid("judging.entry_not_in_round"));
        }
        let e = submissions::find_entry(conn, &input.entry_id)?.ok_or(AppError::NotFound)?;
        if forbidden_pairs(
            conn,
            &c,
            std::slice::from_ref(judge),
            std::slice::from_ref(&e),
        )?
        .contains(&(judge.id.clone(), e.id.clone()))
        {
            return Err(AppError::Conflict {
                code: "judging.conflict_of_interest",
            });
        }
        let now = now();
        let earlier = store::find_assignment(conn, &r.id, &e.id, &judge.id)?;
        if earlier.as_ref().is_some_and(|a| a.state == ACTIVE) {
            return Err(AppError::Conflict {
                code: "judging.already_assigned",
            });
        }
        put_on(conn, &mut r, &judge.id, &e.id, earlier, now)?;
        request_rendition(conn, &e, now)?;
        notify_assigned(conn, &c, &r, &base)?;
        audit(
            conn,
            Some(&who.user.id),
            "round.assignment_added",
            &r.id,
            serde_json::json!({ "judge": judge.id, "entry": e.id }),
        )?;
        round_view(conn, &r)
    })
    .await
}

/// Take an assignment away by hand (its score, if any, stops counting).
pub async fn remove_assignment(
    state: &AppState,
    who: &AuthUser,
    round_id: &str,
    alias: &str,
) -> Result<RoundView, AppError> {
    let alias = alias.to_string();
    with_round(state, who, round_id, move |conn, who, _, r| {
        if r.status == CLOSED || r.status == DECIDED {
            return Err(AppError::Conflict {
                code: "judging.round_closed",
            });
        }
        let mut a = store::find_assignment_by_alias(conn, &alias)?
            .filter(|a| a.round_id == r.id)
            .ok_or(AppError::NotFound)?;
        a.state = REMOVED.into();
        a.updated_at = now();
        store::save_assignment(conn, &a)?;
        audit(
            conn,
            Some(&who.user.id),
            "round.assignment_removed",
            &r.id,
            serde_json::json!({ "judge": a.judge_id, "entry": a.entry_id }),
        )?;
        round_view(conn, &r)
    })
    .await
}

/// After `judge` left or declared a conflict: their unscored assignments in rounds still
/// open are taken away (or marked), and every such round is topped up.
pub fn top_up_after(
    conn: &mut DbConnection,
    c: &CompetitionRow,
    judge: &str,
    only_entry: Option<&str>,
    state: &str,
    base: &str,
) -> Result<usize, AppError> {
    let mut added = 0;
    for mut r in store::rounds_of(conn, &c.id)? {
        if r.status != OPEN && r.status != DRAFT {
            continue;
        }
        let mut changed = false;
        for mut a in store::assignments_of_round(conn, &r.id)? {
            if a.judge_id != judge
                || a.state != ACTIVE
                || only_entry.is_some_and(|e| e != a.entry_id)
            {
                continue;
            }
            // A conflict always withdraws the assignment; a departing judge's finished work stays.
            if state == REMOVED && store::find_score(conn, &a.id)?.is_some() {
                continue;
            }
            a.state = state.into();
            a.updated_at = now();
            store::save_assignment(conn, &a)?;
            changed = true;
        }
        if changed && r.status == OPEN {
            added += fill(conn, c, &mut r, base)?.new.len();
        }
    }
    Ok(added)
}
