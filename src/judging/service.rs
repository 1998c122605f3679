//! Organisers' use cases: rounds, the panel, assignment (automatic, manual, top-up),
//! progress, closing a round with its ranking, advancement, reminders and the scores
//! CSV. Final results are in `results.rs`.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;

use super::assign::{self, Plan, Problem};
use super::domain::{self, default_rubric, reminder_due};
use super::model::*;
use super::scoring::{self, Advancement, Basis, JudgeScore};
use super::store;
use crate::accounts::model::AuthUser;
use crate::accounts::model::UserRow;
use crate::competitions::model::CompetitionRow;
use crate::competitions::service as competitions;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::mail::{self, MailAction, MailContent};
use crate::state::AppState;
use crate::submissions::model::EntryRow;
use crate::submissions::service as submissions;

pub const RENDER_JOB: &str = "judging.render";
pub const REMIND_JOB: &str = "judging.remind";

pub use crate::time::now;

pub(super) fn audit(
    conn: &mut DbConnection,
    who: Option<&str>,
    action: &str,
    subject: &str,
    details: serde_json::Value,
) -> Result<(), AppError> {
    crate::accounts::service::audit(conn, who, action, subject, &details, now())
}

/// The round `id` and its competition, if `who` runs that competition (else 404).
pub fn managed_round(
    conn: &mut DbConnection,
    who: &AuthUser,
    id: &str,
) -> Result<(CompetitionRow, RoundRow), AppError> {
    let r = store::find_round(conn, id)?.ok_or(AppError::NotFound)?;
    let c = competitions::managed(conn, who, &r.competition_id)?;
    Ok((c, r))
}

/// Run `f` in one transaction with round `id` and its competition, if `who` runs it (else 404).
async fn with_round<T, F>(state: &AppState, who: &AuthUser, id: &str, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection, &AuthUser, CompetitionRow, RoundRow) -> Result<T, AppError>
        + Send
        + 'static,
{
    let (who, id) = (who.clone(), id.to_string());
    state
        .db
        .transaction(move |conn| {
            let (c, r) = managed_round(conn, &who, &id)?;
            f(conn, &who, c, r)
        })
        .await
}

/// Run `f` in one transaction with competition `id`, if `who` runs it (else 404).
pub(super) async fn with_competition<T, F>(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    f: F,
) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection, &AuthUser, CompetitionRow) -> Result<T, AppError> + Send + 'static,
{
    let (who, id) = (who.clone(), id.to_string());
    state
        .db
        .transaction(move |conn| {
            let c = competitions::managed(conn, &who, &id)?;
            f(conn, &who, c)
        })
        .await
}

/// The finalists: the entries the last decided standard round advanced, in its order.
/// `None` while no round has been decided (there are no finalists yet).
pub fn finalists(conn: &mut DbConnection, cid: &str) -> Result<Option<Vec<String>>, AppError> {
    let last = store::rounds_of(conn, cid)?
        .into_iter()
        .filter(|r| r.kind == STANDARD && r.status == DECIDED)
        .max_by_key(|r| r.position);
    let Some(r) = last else { return Ok(None) };
    Ok(Some(
        store::round_entries_of(conn, &r.id)?
            .into_iter()
            .filter(|e| !e.anchor && e.advanced == Some(true))
            .map(|e| e.entry_id)
            .collect(),
    ))
}

pub fn round_view(conn: &mut DbConnection, r: &RoundRow) -> Result<RoundView, AppError> {
    let entries = store::round_entries_of(conn, &r.id)?.len();
    let active: Vec<AssignmentRow> = store::assignments_of_round(conn, &r.id)?
        .into_iter()
        .filter(|a| a.state == ACTIVE)
        .collect();
    let scored_ids: HashSet<String> = store::scores_of_round(conn, &r.id)?
        .into_iter()
        .map(|(s, _)| s.assignment_id)
        .collect();
    Ok(RoundView {
        id: r.id.clone(),
        competition_id: r.competition_id.clone(),
        position: r.position,
        name: r.name.clone(),
        kind: r.kind.clone(),
        status: r.status.clone(),
        opens_at: r.opens_at.map(utc),
        closes_at: r.closes_at.map(utc),
        rubric: r.rubric(),
        blind: r.blind,
        judges_per_entry: r.judges_per_entry,
        advancement: r.advancement(),
        ranking_basis: r.ranking_basis.clone(),
        min_listen_percent: r.min_listen_permille / 10,
        others_scores: r.others_scores.clone(),
        feedback_release: r.feedback_release.clone(),
        reminder_hours: r.reminder_hours,
        entries,
        scored: active.iter().filter(|a| scored_ids.contains(&a.id)).count(),
        assignments: active.len(),
    })
}

pub(super) fn tz(c: &CompetitionRow) -> chrono_tz::Tz {
    c.time_zone.parse().unwrap_or(chrono_tz::UTC)
}

fn has_scores(conn: &mut DbConnection, round_id: &str) -> Result<bool, AppError> {
    Ok(!store::scores_of_round(conn, round_id)?.is_empty())
}

/// Put the calibration anchors in a round that has no assignments yet.
fn set_anchors(
    conn: &mut DbConnection,
    c: &CompetitionRow,
    r: &RoundRow,
    anchors: &[String],
) -> Result<(), AppError> {
    if !store::assignments_of_round(conn, &r.id)?.is_empty() {
        return Err(AppError::Conflict {
            code: "judging.round_started",
        });
    }
    let ok: HashSet<String> = submissions::judgeable_entries(conn, &c.id)?
        .into_iter()
        .map(|e| e.id)
        .collect();
    if anchors.is_empty() || anchors.len() > 20 || anchors.iter().any(|a| !ok.contains(a)) {
        return Err(AppError::invalid("judging.anchors_invalid"));
    }
    store::delete_round_entries(conn, &r.id)?;
    let mut seen = HashSet::new();
    for a in anchors.iter().filter(|a| seen.insert(a.to_string())) {
        insert_with_code(conn, &r.id, a, true)?;
    }
    Ok(())
}

fn insert_with_code(
    conn: &mut DbConnection,
    round_id: &str,
    entry_id: &str,
    anchor: bool,
) -> Result<(), AppError> {
    let taken: HashSet<String> = store::round_entries_of(conn, round_id)?
        .into_iter()
        .map(|r| r.code)
        .collect();
    let code = std::iter::repeat_with(domain::new_code)
        .find(|c| !taken.contains(c))
        .unwrap_or_else(domain::new_alias);
    store::insert_round_entry(
        conn,
        &RoundEntryRow {
            round_id: round_id.into(),
            entry_id: entry_id.into(),
            code,
            anchor,
            placement: None,
            result: None,
            advanced: None,
            decided_by: None,
            created_at: now(),
        },
    )
}

pub async fn create_round(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
    input: RoundInput,
) -> Result<RoundView, AppError> {
    with_competition(state, who, competition_id, move |conn, who, c| {
        let existing = store::rounds_of(conn, &c.id)?;
        let now = now();
        let mut row = RoundRow {
            id: uuid::Uuid::now_v7().to_string(),
            competition_id: c.id.clone(),
            position: existing.iter().map(|r| r.position).max().unwrap_or(0) + 1,
            name: String::new(),
            kind: STANDARD.into(),
            status: DRAFT.into(),
            opens_at: None,
            closes_at: None,
            rubric: serde_json::to_string(&default_rubric()).map_err(AppError::internal)?,
            blind: true,
            judges_per_entry: 3,
            advancement: r#"{"kind":"manual"}"#.into(),
            ranking_basis: Basis::Normalised.as_str().into(),
            min_listen_permille: 0,
            others_scores: "after_scoring".into(),
            feedback_release: "round".into(),
            reminder_hours: 24,
            reminded_at: None,
            closed_at: None,
            decided_at: None,
            created_at: now,
            updated_at: now,
        };
        if input.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            return Err(AppError::invalid("judging.round_name_missing"));
        }
        domain::apply_round_input(&mut row, &input, tz(&c), false)?;
        store::insert_round(conn, &row)?;
        if let Some(a) = &input.anchors {
            if !row.is_calibration() {
                return Err(AppError::invalid("judging.anchors_invalid"));
            }
            set_anchors(conn, &c, &row, a)?;
        }
        audit(
            conn,
            Some(&who.user.id),
            "round.created",
            &row.id,
            serde_json::json!({ "competition": c.id }),
        )?;
        round_view(conn, &row)
    })
    .await
}

pub async fn update_round(
    state: &AppState,
    who: &AuthUser,
    round_id: &str,
    input: RoundInput,
) -> Result<RoundView, AppError> {
    with_round(state, who, round_id, move |conn, _, c, mut r| {
        if r.status == CLOSED || r.status == DECIDED {
            return Err(AppError::Conflict {
                code: "judging.round_closed",
            });
        }
        let scored = has_scores(conn, &r.id)?;
        if input.kind.as_ref().is_some_and(|k| *k != r.kind)
            && !store::assignments_of_round(conn, &r.id)?.is_empty()
        {
            return Err(AppError::Conflict {
                code: "judging.round_started",
            });
        }
        domain::apply_round_input(&mut r, &input, tz(&c), scored)?;
        r.updated_at = now();
        store::save_round(conn, &r)?;
        if let Some(a) = &input.anchors {
            if !r.is_calibration() {
                return Err(AppError::invalid("judging.anchors_invalid"));
            }
            set_anchors(conn, &c, &r, a)?;
        }
        round_view(conn, &r)
    })
    .await
}

pub async fn list_rounds(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
) -> Result<Vec<RoundView>, AppError> {
    with_competition(state, who, competition_id, move |conn, _, c| {
        store::rounds_of(conn, &c.id)?
            .iter()
            .map(|r| round_view(conn, r))
            .collect()
    })
    .await
}

pub async fn get_round(
    state: &AppState,
    who: &AuthUser,
    round_id: &str,
) -> Result<RoundView, AppError> {
    with_round(state, who, round_id, move |conn, _, _, r| {
        round_view(conn, &r)
    })
    .await
}

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
        crate::jobs::store::enqueue(
            conn,
            RENDER_JOB,
            &serde_json::json!({ "upload_id": u }),
            now,
            None,
        )?;
    }
    Ok(())
}

fn judge_link(state_base: &str, r: &RoundRow) -> String {
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

pub async fn panel(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
) -> Result<Vec<PanelJudge>, AppError> {
    with_competition(state, who, competition_id, move |conn, _, c| {
        let judges = crate::accounts::service::judges_of(conn, &c.id)?;
        let ids: Vec<String> = judges.iter().map(|j| j.id.clone()).collect();
        let aff = store::affiliations_of(conn, &ids)?;
        let mut load: HashMap<String, usize> = HashMap::new();
        for r in store::rounds_of(conn, &c.id)? {
            for a in store::assignments_of_round(conn, &r.id)?
                .into_iter()
                .filter(|a| a.state == ACTIVE)
            {
                *load.entry(a.judge_id).or_default() += 1;
            }
        }
        Ok(judges
            .into_iter()
            .map(|j| PanelJudge {
                affiliations: aff
                    .iter()
                    .filter(|a| a.user_id == j.id)
                    .map(|a| AffiliationItem {
                        kind: a.kind.clone(),
                        value: a.value.clone(),
                    })
                    .collect(),
                assignments: load.get(&j.id).copied().unwrap_or(0),
                id: j.id,
                name: j.display_name,
                email: j.email,
            })
            .collect())
    })
    .await
}

/// A judge drops out: off the panel, and their unscored work goes to others.
pub async fn remove_judge(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
    judge_id: &str,
) -> Result<usize, AppError> {
    let (jid, base) = (judge_id.to_string(), state.settings.base_url().to_string());
    with_competition(state, who, competition_id, move |conn, who, c| {
        if !crate::accounts::service::remove_judge(conn, &jid, &c.id)? {
            return Err(AppError::NotFound);
        }
        let added = top_up_after(conn, &c, &jid, None, REMOVED, &base)?;
        audit(
            conn,
            Some(&who.user.id),
            "judge.removed",
            &c.id,
            serde_json::json!({ "judge": jid, "reassigned": added }),
        )?;
        Ok(added)
    })
    .await
}

/// The organiser records a conflict (e.g. a teacher and student they know of).
pub async fn add_conflict(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
    input: OrganiserConflictInput,
) -> Result<usize, AppError> {
    let base = state.settings.base_url().to_string();
    with_competition(state, who, competition_id, move |conn, who, c| {
        let e = submissions::find_entry(conn, &input.entry_id)?
            .filter(|e| e.competition_id == c.id)
            .ok_or_else(|| AppError::invalid("judging.entry_not_in_round"))?;
        if !crate::accounts::service::judges_of(conn, &c.id)?
            .iter()
            .any(|j| j.id == input.judge_id)
        {
            return Err(AppError::invalid("judging.not_on_panel"));
        }
        store::add_conflict(
            conn,
            &ConflictRow {
                competition_id: c.id.clone(),
                judge_id: input.judge_id.clone(),
                entry_id: e.id.clone(),
                reason: domain::parse_comment(if input.reason.trim().is_empty() {
                    "-"
                } else {
                    &input.reason
                })?,
                declared_by: Some(who.user.id.clone()),
                created_at: now(),
            },
        )?;
        let added = top_up_after(conn, &c, &input.judge_id, Some(&e.id), CONFLICT, &base)?;
        audit(
            conn,
            Some(&who.user.id),
            "conflict.recorded",
            &e.id,
            serde_json::json!({ "judge": input.judge_id }),
        )?;
        Ok(added)
    })
    .await
}

fn listened_percent(xs: &[&AssignmentRow]) -> u32 {
    if xs.is_empty() {
        return 0;
    }
    (xs.iter().map(|a| a.listened_permille as u32).sum::<u32>() / xs.len() as u32) / 10
}

pub async fn progress(
    state: &AppState,
    who: &AuthUser,
    round_id: &str,
) -> Result<Progress, AppError> {
    with_round(state, who, round_id, move |conn, _, c, r| {
        let all = store::assignments_of_round(conn, &r.id)?;
        let scored: HashSet<String> = store::scores_of_round(conn, &r.id)?
            .into_iter()
            .map(|(s, _)| s.assignment_id)
            .collect();
        // The panel first (in its order), then anyone who left it but has assignments.
        let mut judge_ids: Vec<String> = crate::accounts::service::judges_of(conn, &c.id)?
            .into_iter()
            .map(|j| j.id)
            .collect();
        let mut by_judge: HashMap<&str, Vec<&AssignmentRow>> = HashMap::new();
        let mut by_entry: HashMap<&str, Vec<&AssignmentRow>> = HashMap::new();
        for a in &all {
            if !by_judge.contains_key(a.judge_id.as_str()) && !judge_ids.contains(&a.judge_id) {
                judge_ids.push(a.judge_id.clone());
            }
            by_judge.entry(&a.judge_id).or_default().push(a);
            by_entry.entry(&a.entry_id).or_default().push(a);
        }
        let names = crate::accounts::service::display_names(conn, &judge_ids)?;
        // Figures of a set of assignments: (active, scored, listened %, conflicts).
        let figures = |list: Option<&Vec<&AssignmentRow>>| {
            let list: Vec<&AssignmentRow> = list.cloned().unwrap_or_default();
            let active: Vec<&AssignmentRow> =
                list.iter().copied().filter(|a| a.state == ACTIVE).collect();
            (
                active.len(),
                active.iter().filter(|a| scored.contains(&a.id)).count(),
                listened_percent(&active),
                list.iter().filter(|a| a.state == CONFLICT).count(),
            )
        };
        let judges_out = judge_ids
            .iter()
            .map(|j| {
                let (assigned, done, listened, conflicts) = figures(by_judge.get(j.as_str()));
                JudgeProgress {
                    judge_id: j.clone(),
                    name: names.get(j).cloned().unwrap_or_default(),
                    assigned,
                    scored: done,
                    listened_percent: listened,
                    conflicts,
                }
            })
            .collect();
        let round_entries = store::round_entries_of(conn, &r.id)?;
        let ids: Vec<String> = round_entries.iter().map(|x| x.entry_id.clone()).collect();
        let entries = submissions::find_entries(conn, &ids)?;
        let people: Vec<String> = entries.values().map(|e| e.musician_id.clone()).collect();
        let musicians = crate::accounts::service::display_names(conn, &people)?;
        let entries_out: Vec<EntryProgress> = round_entries
            .iter()
            .map(|re| {
                let e = entries.get(&re.entry_id);
                let (judges, done, listened, conflicts) =
                    figures(by_entry.get(re.entry_id.as_str()));
                EntryProgress {
                    entry_id: re.entry_id.clone(),
                    code: re.code.clone(),
                    title: e.map(|e| e.title.clone()).unwrap_or_default(),
                    musician: e
                        .and_then(|e| musicians.get(&e.musician_id).cloned())
                        .unwrap_or_default(),
                    judges,
                    scored: done,
                    listened_percent: listened,
                    conflicts,
                }
            })
            .collect();
        let codes: HashMap<&str, (&str, &str)> = entries_out
            .iter()
            .map(|e| (e.entry_id.as_str(), (e.code.as_str(), e.title.as_str())))
            .collect();
        let assignments = all
            .iter()
            .map(|a| {
                let (code, title) = codes.get(a.entry_id.as_str()).copied().unwrap_or(("", ""));
                AssignmentLine {
                    alias: a.alias.clone(),
                    judge: names.get(&a.judge_id).cloned().unwrap_or_default(),
                    code: code.to_string(),
                    title: title.to_string(),
                    state: a.state.clone(),
                    scored: scored.contains(&a.id),
                    listened_percent: (a.listened_permille / 10) as u32,
                }
            })
            .collect();
        Ok(Progress {
            round: round_view(conn, &r)?,
            judges: judges_out,
            entries: entries_out,
            assignments,
        })
    })
    .await
}

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

/// The reminder job: judges with unfinished work in rounds closing soon.
pub async fn remind(state: &AppState) -> Result<usize, AppError> {
    let base = state.settings.base_url().to_string();
    state
        .db
        .transaction(move |conn| {
            let now = now();
            let mut sent = 0;
            for mut r in store::rounds_to_remind(conn)? {
                if !reminder_due(r.closes_at, r.reminder_hours, now) {
                    continue;
                }
                let Some(c) = competitions::find(conn, &r.competition_id)? else {
                    continue;
                };
                let scored: HashSet<String> = store::scores_of_round(conn, &r.id)?
                    .into_iter()
                    .map(|(s, _)| s.assignment_id)
                    .collect();
                let mut left: HashMap<String, usize> = HashMap::new();
                for a in store::assignments_of_round(conn, &r.id)?
                    .into_iter()
                    .filter(|a| a.state == ACTIVE && !scored.contains(&a.id))
                {
                    *left.entry(a.judge_id).or_default() += 1;
                }
                for (judge, n) in left {
                    let Some(u) = crate::accounts::service::find_user(conn, &judge)? else {
                        continue;
                    };
                    let l = u.language();
                    let closes = r
                        .closes_at
                        .map(|t| crate::competitions::domain::local_label(t, &c.time_zone))
                        .unwrap_or_default();
                    let m = MailContent {
                        locale: l,
                        to: u.email.clone(),
                        subject: l.tf("mail.judge_reminder_subject", &[("round", &r.name)]),
                        paragraphs: vec![l.tf(
                            "mail.judge_reminder_body",
                            &[
                                ("count", &n.to_string()),
                                ("round", &r.name),
                                ("competition", &c.title_in(l)),
                                ("closes", &closes),
                            ],
                        )],
                        action: Some(MailAction {
                            label: l.t("mail.judge_assigned_button").to_string(),
                            url: judge_link(&base, &r),
                        }),
                    }
                    .render()?;
                    mail::enqueue(conn, &m, now)?;
                    sent += 1;
                }
                r.reminded_at = Some(now);
                store::save_round(conn, &r)?;
            }
            Ok(sent)
        })
        .await
}

pub fn comment_view(c: CommentRow) -> CommentView {
    CommentView {
        id: c.id,
        visibility: c.visibility,
        body: c.body,
        at_secs: c.at_ms.map(|m| m as f64 / 1000.0),
        created_at: utc(c.created_at),
    }
}

/// Every score of every round, as CSV.
pub async fn scores_csv(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
) -> Result<(String, String), AppError> {
    use crate::http::csv::cell;
    let (slug, rows) = with_competition(state, who, competition_id, move |conn, _, c| {
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

/// Remove the judges' rendition of an upload (its musician's account is erased); its
/// object key, if there was one.
pub fn forget_rendition(
    conn: &mut DbConnection,
    upload_id: &str,
) -> Result<Option<String>, AppError> {
    store::delete_rendition(conn, upload_id)
}

/// What judging holds about a person, for their data export: affiliations they
/// declared, and as a judge every assignment with its score and comments.
pub fn export_of(conn: &mut DbConnection, user_id: &str) -> Result<serde_json::Value, AppError> {
    let ts = |t: NaiveDateTime| t.and_utc().to_rfc3339();
    let affiliations: Vec<serde_json::Value> = store::affiliations_of(conn, &[user_id.to_string()])?
        .into_iter()
        .map(|a| serde_json::json!({ "kind": a.kind, "value": a.value, "declared_at": ts(a.created_at) }))
        .collect();
    let mut judged = Vec::new();
    for a in store::all_assignments_of_judge(conn, user_id)? {
        let round = store::find_round(conn, &a.round_id)?;
        let score = store::find_score(conn, &a.id)?;
        let comments: Vec<serde_json::Value> =
            store::comments_of(conn, std::slice::from_ref(&a.id))?
                .into_iter()
                .map(|k| {
                    serde_json::json!({
                        "visibility": k.visibility, "body": k.body,
                        "at_secs": k.at_ms.map(|m| f64::from(m) / 1000.0),
                        "written_at": ts(k.created_at), "held_reason": k.held_reason,
                    })
                })
                .collect();
        judged.push(serde_json::json!({
            "round": round.map(|r| r.name), "entry_id": a.entry_id, "state": a.state,
            "listened_percent": a.listened_permille / 10,
            "score": score.map(|s| serde_json::json!({
                "criteria": serde_json::from_str::<serde_json::Value>(&s.criteria).unwrap_or_default(),
                "total": f64::from(s.total_milli) / 1000.0, "scored_at": ts(s.updated_at),
            })),
            "comments": comments,
        }));
    }
    Ok(serde_json::json!({ "affiliations": affiliations, "judging": judged }))
}

/// Judging rounds past their closing time and not closed yet (for the organiser's home).
pub fn count_overdue_rounds(
    conn: &mut DbConnection,
    competition_id: &str,
) -> Result<i64, AppError> {
    store::count_overdue_rounds(conn, competition_id, now())
}

/// The ids of a competition's judging rounds (for reading its audit log).
pub fn round_ids(conn: &mut DbConnection, competition_id: &str) -> Result<Vec<String>, AppError> {
    store::round_ids(conn, competition_id)
}
