//! A competition's judging panel: who is on it, removing a judge (their open
//! assignments go to others), conflicts an organiser records, and the reminders judges
//! get before a round closes.

use std::collections::{HashMap, HashSet};

use super::assignments::{judge_link, top_up_after};
use super::domain::{self, reminder_due};
use super::model::*;
use super::service::{audit, now};
use super::store;
use crate::accounts::model::AuthUser;
use crate::competitions::service as competitions;
use crate::error::AppError;
use crate::mail::{self, MailAction, MailContent};
use crate::state::AppState;
use crate::submissions::service as submissions;

pub async fn panel(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
) -> Result<Vec<PanelJudge>, AppError> {
    competitions::with_managed(state, who, competition_id, move |conn, _, c| {
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
    competitions::with_managed(state, who, competition_id, move |conn, who, c| {
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
    competitions::with_managed(state, who, competition_id, move |conn, who, c| {
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
