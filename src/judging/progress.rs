//! A round's progress for its organiser: per judge and per entry, what is scored and
//! how much was heard.

use std::collections::{HashMap, HashSet};

use super::model::*;
use super::service::{round_view, with_round};
use super::store;
use crate::accounts::model::AuthUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::submissions::service as submissions;

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
