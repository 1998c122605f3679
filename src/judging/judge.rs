//! Judges' use cases: their rounds and queues, one entry with its player data, the
//! clean audio rendition, listening coverage, scores, comments, conflicts, the other
//! judges' scores (when the round allows), calibration, and affiliations.
//!
//! Everything goes through the judge's own active assignment, found by its alias: an
//! entry outside it does not exist for the judge (404). In a blind round nothing that
//! identifies the musician leaves this module.

use std::collections::HashMap;

use super::assignments::top_up_after;
use super::domain;
use super::model::*;
use super::scoring;
use super::service::{comment_view, now};
use super::store;
use crate::accounts::model::AuthUser;
use crate::competitions::model::CompetitionRow;
use crate::competitions::service as competitions;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;
use crate::storage::GetObject;
use crate::submissions::model::{EntryRow, report_value};
use crate::submissions::service as submissions;

struct Ctx {
    a: AssignmentRow,
    r: RoundRow,
    c: CompetitionRow,
    e: EntryRow,
}

/// The judge's own assignment behind `alias`, or 404.
fn mine(conn: &mut DbConnection, who: &AuthUser, alias: &str) -> Result<Ctx, AppError> {
    if !domain::is_alias(alias) {
        return Err(AppError::NotFound);
    }
    let a = store::find_assignment_by_alias(conn, alias)?
        .filter(|a| a.judge_id == who.user.id && a.state == ACTIVE)
        .ok_or(AppError::NotFound)?;
    let r = store::find_round(conn, &a.round_id)?.ok_or(AppError::NotFound)?;
    if r.status == DRAFT {
        return Err(AppError::NotFound);
    }
    let c = competitions::find(conn, &r.competition_id)?.ok_or(AppError::NotFound)?;
    // A judge who left the panel keeps nothing.
    if !crate::accounts::service::is_judge_of(conn, &who.user.id, &c.id)? {
        return Err(AppError::NotFound);
    }
    let e = submissions::find_entry(conn, &a.entry_id)?.ok_or(AppError::NotFound)?;
    Ok(Ctx { a, r, c, e })
}

/// Run `f` in one transaction with the judge's own assignment behind `alias` (else 404).
async fn with_mine<T, F>(state: &AppState, who: &AuthUser, alias: &str, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection, &AuthUser, Ctx) -> Result<T, AppError> + Send + 'static,
{
    let (who, alias) = (who.clone(), alias.to_string());
    state
        .db
        .transaction(move |conn| {
            let ctx = mine(conn, &who, &alias)?;
            f(conn, &who, ctx)
        })
        .await
}

fn window_open(r: &RoundRow) -> Result<(), AppError> {
    if r.scoring_open(now()) {
        Ok(())
    } else {
        Err(AppError::invalid("judging.window_closed"))
    }
}

fn judge_round(
    conn: &mut DbConnection,
    who: &str,
    r: &RoundRow,
    c: &CompetitionRow,
) -> Result<JudgeRound, AppError> {
    let mine: Vec<AssignmentRow> = store::assignments_of_round(conn, &r.id)?
        .into_iter()
        .filter(|a| a.judge_id == who && a.state == ACTIVE)
        .collect();
    let done: std::collections::HashSet<String> = store::scores_of_round(conn, &r.id)?
        .into_iter()
        .map(|(s, _)| s.assignment_id)
        .collect();
    let scored = mine.iter().filter(|a| done.contains(&a.id)).count();
    Ok(JudgeRound {
        id: r.id.clone(),
        name: r.name.clone(),
        kind: r.kind.clone(),
        competition_title: c.title.clone(),
        competition_translations: crate::i18n::content::Translations::from_stored(&c.translations),
        time_zone: c.time_zone.clone(),
        blind: r.blind,
        status: r.status.clone(),
        opens_at: r.opens_at.map(utc),
        closes_at: r.closes_at.map(utc),
        scoring_open: r.scoring_open(now()),
        rubric: r.rubric(),
        min_listen_percent: r.min_listen_permille / 10,
        assigned: mine.len(),
        scored,
    })
}

/// The rounds the judge has work in, newest competition first.
pub async fn my_rounds(state: &AppState, who: &AuthUser) -> Result<Vec<JudgeRound>, AppError> {
    let uid = who.user.id.clone();
    state
        .db
        .run(move |conn| {
            let mut ids: Vec<String> = store::assignments_of_judge(conn, &uid)?
                .into_iter()
                .map(|a| a.round_id)
                .collect();
            ids.dedup();
            let mut out = Vec::new();
            for id in ids {
                let Some(r) = store::find_round(conn, &id)? else {
                    continue;
                };
                if r.status == DRAFT {
                    continue;
                }
                let Some(c) = competitions::find(conn, &r.competition_id)? else {
                    continue;
                };
                if !crate::accounts::service::is_judge_of(conn, &uid, &c.id)? {
                    continue;
                }
                out.push((r.created_at, judge_round(conn, &uid, &r, &c)?));
            }
            out.sort_by_key(|x| std::cmp::Reverse(x.0));
            Ok(out.into_iter().map(|(_, r)| r).collect())
        })
        .await
}

fn round_entry_code(
    conn: &mut DbConnection,
    round_id: &str,
    entry_id: &str,
) -> Result<String, AppError> {
    Ok(store::round_entries_of(conn, round_id)?
        .into_iter()
        .find(|x| x.entry_id == entry_id)
        .map(|x| x.code)
        .unwrap_or_default())
}

/// The judge's queue in a round, in their own random order.
pub async fn queue(state: &AppState, who: &AuthUser, round_id: &str) -> Result<Queue, AppError> {
    let (uid, rid) = (who.user.id.clone(), round_id.to_string());
    state
        .db
        .run(move |conn| {
            let r = store::find_round(conn, &rid)?
                .filter(|r| r.status != DRAFT)
                .ok_or(AppError::NotFound)?;
            let mine: Vec<AssignmentRow> = store::assignments_of_judge(conn, &uid)?
                .into_iter()
                .filter(|a| a.round_id == r.id)
                .collect();
            if mine.is_empty() {
                return Err(AppError::NotFound);
            }
            let c = competitions::find(conn, &r.competition_id)?.ok_or(AppError::NotFound)?;
            if !crate::accounts::service::is_judge_of(conn, &uid, &c.id)? {
                return Err(AppError::NotFound);
            }
            let codes: HashMap<String, String> = store::round_entries_of(conn, &r.id)?
                .into_iter()
                .map(|x| (x.entry_id, x.code))
                .collect();
            // A few queries for the whole queue, not a few per entry.
            let ids: Vec<String> = mine.iter().map(|a| a.entry_id.clone()).collect();
            let entries = submissions::find_entries(conn, &ids)?;
            let scores: HashMap<String, ScoreRow> = store::scores_of_round(conn, &r.id)?
                .into_iter()
                .map(|(s, _)| (s.assignment_id.clone(), s))
                .collect();
            let prompts: HashMap<String, String> = competitions::prompts_of(conn, &c.id)?
                .into_iter()
                .map(|p| (p.id, p.title))
                .collect();
            let names = if r.blind {
                HashMap::new()
            } else {
                let musicians: Vec<String> =
                    entries.values().map(|e| e.musician_id.clone()).collect();
                crate::accounts::service::display_names(conn, &musicians)?
            };
            let mut items = Vec::new();
            for a in &mine {
                let e = entries.get(&a.entry_id).ok_or(AppError::NotFound)?;
                let score = scores.get(&a.id);
                let prompt = e.prompt_id.as_ref().and_then(|p| prompts.get(p).cloned());
                let musician = if r.blind {
                    None
                } else {
                    names.get(&e.musician_id).cloned()
                };
                items.push(QueueItem {
                    alias: a.alias.clone(),
                    code: codes.get(&a.entry_id).cloned().unwrap_or_default(),
                    title: (!r.blind).then(|| e.title.clone()),
                    musician,
                    prompt,
                    scored: score.is_some(),
                    total: score.map(|s| s.total()),
                    listened_percent: (a.listened_permille / 10) as u32,
                });
            }
            Ok(Queue {
                round: judge_round(conn, &uid, &r, &c)?,
                items,
            })
        })
        .await
}

fn others_visible(r: &RoundRow, has_own_score: bool) -> bool {
    match r.others_scores.as_str() {
        "always" => true,
        "after_scoring" => has_own_score,
        _ => false,
    }
}

fn audio_of(conn: &mut DbConnection, ctx: &Ctx) -> Result<JudgeAudio, AppError> {
    let report: Option<serde_json::Value> = ctx
        .e
        .report
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok());
    let num = |path: &[&str]| {
        report
            .as_ref()
            .and_then(|r| report_value(r, path))
            .and_then(|v| v.as_f64())
    };
    let waveform = report
        .as_ref()
        .and_then(|r| r.get("waveform"))
        .and_then(|w| {
            let list = |k: &str| {
                w.get(k).and_then(|v| v.as_array()).map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_f64())
                        .map(|x| x as f32)
                        .collect::<Vec<f32>>()
                })
            };
            Some(Waveform {
                min: list("min")?,
                max: list("max")?,
            })
        });
    let ready = match &ctx.e.upload_id {
        Some(u) => store::find_rendition(conn, u)?.is_some(),
        None => false,
    };
    Ok(JudgeAudio {
        url: format!("/api/v1/judging/assignments/{}/audio", ctx.a.alias),
        ready,
        duration_secs: num(&["format", "duration_secs"]),
        gain_db: crate::submissions::service::gain_of(&ctx.e),
        reference_lufs: domain::REFERENCE_LUFS,
        waveform,
    })
}

/// One entry as its judge sees it.
pub async fn view(
    state: &AppState,
    who: &AuthUser,
    alias: &str,
) -> Result<AssignmentView, AppError> {
    with_mine(state, who, alias, move |conn, who, ctx| {
        let uid = who.user.id.clone();
        let list: Vec<AssignmentRow> = store::assignments_of_judge(conn, &uid)?
            .into_iter()
            .filter(|a| a.round_id == ctx.r.id)
            .collect();
        let pos = list.iter().position(|a| a.id == ctx.a.id).unwrap_or(0);
        let score = store::find_score(conn, &ctx.a.id)?;
        let comments = store::comments_of(conn, std::slice::from_ref(&ctx.a.id))?
            .into_iter()
            .map(comment_view)
            .collect();
        let (prompt, prompt_story) = match &ctx.e.prompt_id {
            Some(p) => match competitions::find_prompt(conn, p)? {
                Some(p) => (Some(p.title), Some(p.story)),
                None => (None, None),
            },
            None => (None, None),
        };
        let category = match &ctx.e.category_id {
            Some(k) => competitions::categories_of(conn, &ctx.c.id)?
                .into_iter()
                .find(|x| &x.id == k)
                .map(|x| x.name),
            None => None,
        };
        let blind = ctx.r.blind;
        let musician = if blind {
            None
        } else {
            crate::accounts::service::find_user(conn, &ctx.e.musician_id)?.map(|u| u.display_name)
        };
        Ok(AssignmentView {
            alias: ctx.a.alias.clone(),
            code: round_entry_code(conn, &ctx.r.id, &ctx.e.id)?,
            round: judge_round(conn, &uid, &ctx.r, &ctx.c)?,
            title: (!blind).then(|| ctx.e.title.clone()),
            musician,
            description: (!blind).then(|| ctx.e.description.clone()),
            prompt,
            prompt_story,
            category,
            lyrics: ctx.e.lyrics.clone(),
            ai_use: crate::competitions::domain::ai::decode(ctx.e.ai_use.as_deref()),
            audio: audio_of(conn, &ctx)?,
            others_visible: others_visible(&ctx.r, score.is_some()),
            score: score.map(|s| MyScore {
                criteria: s.values(),
                total: s.total(),
                updated_at: utc(s.updated_at),
            }),
            comments,
            listened_percent: (ctx.a.listened_permille / 10) as u32,
            position: pos + 1,
            of: list.len(),
            previous: pos
                .checked_sub(1)
                .and_then(|i| list.get(i))
                .map(|a| a.alias.clone()),
            next: list.get(pos + 1).map(|a| a.alias.clone()),
        })
    })
    .await
}

/// The clean rendition's object, for streaming (with an optional byte range).
pub enum JudgeAudioFetch {
    Audio(GetObject),
    BadRange(u64),
}

pub async fn audio(
    state: &AppState,
    who: &AuthUser,
    alias: &str,
    range: Option<&str>,
) -> Result<JudgeAudioFetch, AppError> {
    let (who, alias) = (who.clone(), alias.to_string());
    let header = range.map(str::to_string);
    let found = state
        .db
        .transaction(move |conn| {
            let mut ctx = mine(conn, &who, &alias)?;
            let u = ctx.e.upload_id.clone().ok_or(AppError::NotFound)?;
            let rendition = store::find_rendition(conn, &u)?.ok_or(AppError::Conflict {
                code: "judging.audio_preparing",
            })?;
            let size = rendition.size_bytes as u64;
            let Ok(range) = crate::http::files::parse_range(header.as_deref(), size) else {
                return Ok(Err(size));
            };
            // What the server sends is the proof of listening (with the time since).
            let (start, end) = match range {
                Some(r) => r.resolve(size).unwrap_or((0, 0)),
                None => (0, size.saturating_sub(1)),
            };
            if size > 0 {
                let now = now();
                ctx.a.streamed = domain::add_streamed(&ctx.a.streamed, size, start, end);
                ctx.a.first_streamed_at = ctx.a.first_streamed_at.or(Some(now));
                store::save_assignment(conn, &ctx.a)?;
            }
            Ok(Ok((rendition, range)))
        })
        .await?;
    let (rendition, range) = match found {
        Ok(r) => r,
        Err(size) => return Ok(JudgeAudioFetch::BadRange(size)),
    };
    Ok(JudgeAudioFetch::Audio(
        state.storage.get(&rendition.object_key, range).await?,
    ))
}

/// Record that the player reports `from..to` seconds played. Coverage counts only what
/// the server also streamed to this judge, within the time since it first did.
pub async fn listened(
    state: &AppState,
    who: &AuthUser,
    alias: &str,
    input: ListenInput,
) -> Result<u32, AppError> {
    with_mine(state, who, alias, move |conn, _, mut ctx| {
        window_open(&ctx.r)?;
        let duration = ctx
            .e
            .report
            .as_deref()
            .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok())
            .and_then(|r| report_value(&r, &["format", "duration_secs"]).and_then(|v| v.as_f64()))
            .unwrap_or(0.0);
        let (map, _) =
            domain::add_listening(&ctx.a.listened, duration, input.from_secs, input.to_secs);
        let now = now();
        let elapsed = ctx
            .a
            .first_streamed_at
            .map(|t| (now - t).num_milliseconds() as f64 / 1000.0)
            .unwrap_or(0.0);
        let permille = if ctx.a.first_streamed_at.is_some() {
            domain::proven_permille(&map, &ctx.a.streamed, duration, elapsed)
        } else {
            0
        };
        ctx.a.listened = map;
        // Coverage never goes down (a later, shorter proof does not undo an earlier one).
        ctx.a.listened_permille = ctx.a.listened_permille.max(permille);
        let permille = ctx.a.listened_permille;
        ctx.a.updated_at = now;
        store::save_assignment(conn, &ctx.a)?;
        Ok((permille / 10) as u32)
    })
    .await
}

/// Score (or re-score) an entry while the round is open.
pub async fn score(
    state: &AppState,
    who: &AuthUser,
    alias: &str,
    input: ScoreInput,
) -> Result<MyScore, AppError> {
    with_mine(state, who, alias, move |conn, _, ctx| {
        window_open(&ctx.r)?;
        if ctx.a.listened_permille < ctx.r.min_listen_permille {
            return Err(AppError::invalid_with(
                "judging.listen_more",
                vec![
                    ("percent", (ctx.r.min_listen_permille / 10).to_string()),
                    ("heard", (ctx.a.listened_permille / 10).to_string()),
                ],
            ));
        }
        let rubric = ctx.r.rubric();
        let values = domain::parse_score(&rubric, &input)?;
        let total = scoring::weighted_total(&rubric, &values)
            .ok_or_else(|| AppError::invalid("judging.score_missing"))?;
        let now = now();
        let existing = store::find_score(conn, &ctx.a.id)?;
        let row = ScoreRow {
            assignment_id: ctx.a.id.clone(),
            criteria: serde_json::to_string(&values).map_err(AppError::internal)?,
            total_milli: (total * 1000.0).round() as i32,
            created_at: existing.map(|s| s.created_at).unwrap_or(now),
            updated_at: now,
        };
        store::put_score(conn, &row)?;
        Ok(MyScore {
            criteria: values,
            total: row.total(),
            updated_at: utc(now),
        })
    })
    .await
}

pub async fn comment(
    state: &AppState,
    who: &AuthUser,
    alias: &str,
    input: CommentInput,
) -> Result<CommentView, AppError> {
    with_mine(state, who, alias, move |conn, _, ctx| {
        window_open(&ctx.r)?;
        let body = domain::parse_comment(&input.body)?;
        let visibility = domain::parse_visibility(input.visibility.as_deref())?;
        let at_ms = match input.at_secs {
            Some(s) if s.is_finite() && (0.0..=86_400.0).contains(&s) => {
                Some((s * 1000.0).round() as i32)
            }
            Some(_) => return Err(AppError::invalid("judging.comment_time_invalid")),
            None => None,
        };
        let row = CommentRow {
            id: uuid::Uuid::now_v7().to_string(),
            assignment_id: ctx.a.id.clone(),
            visibility: visibility.into(),
            body,
            at_ms,
            created_at: now(),
            held_reason: None,
            held_at: None,
        };
        store::insert_comment(conn, &row)?;
        Ok(comment_view(row))
    })
    .await
}

/// The judge declares a conflict: the entry goes to another judge.
pub async fn conflict(
    state: &AppState,
    who: &AuthUser,
    alias: &str,
    input: ConflictInput,
) -> Result<(), AppError> {
    let base = state.settings.base_url().to_string();
    with_mine(state, who, alias, move |conn, who, ctx| {
        if ctx.r.status != OPEN {
            return Err(AppError::invalid("judging.window_closed"));
        }
        let reason = input.reason.trim();
        if reason.chars().count() > domain::MAX_COMMENT {
            return Err(AppError::invalid_with(
                "judging.comment_too_long",
                vec![("max", domain::MAX_COMMENT.to_string())],
            ));
        }
        store::add_conflict(
            conn,
            &ConflictRow {
                competition_id: ctx.c.id.clone(),
                judge_id: who.user.id.clone(),
                entry_id: ctx.e.id.clone(),
                reason: reason.to_string(),
                declared_by: Some(who.user.id.clone()),
                created_at: now(),
            },
        )?;
        let added = top_up_after(conn, &ctx.c, &who.user.id, Some(&ctx.e.id), CONFLICT, &base)?;
        crate::db::audit::record(
            conn,
            Some(&who.user.id),
            "conflict.declared",
            &ctx.e.id,
            &serde_json::json!({ "round": ctx.r.id, "reassigned": added }),
            now(),
        )
    })
    .await
}

/// The other judges' scores on this entry, if the round lets this judge see them now.
pub async fn panel_scores(
    state: &AppState,
    who: &AuthUser,
    alias: &str,
) -> Result<Vec<PanelScore>, AppError> {
    with_mine(state, who, alias, move |conn, _, ctx| {
        let own = store::find_score(conn, &ctx.a.id)?.is_some();
        if !others_visible(&ctx.r, own) {
            return Err(AppError::refused(
                actix_web::http::StatusCode::FORBIDDEN,
                "judging.others_hidden",
            ));
        }
        let others: Vec<AssignmentRow> = store::assignments_of_round(conn, &ctx.r.id)?
            .into_iter()
            .filter(|a| a.entry_id == ctx.e.id && a.state == ACTIVE && a.id != ctx.a.id)
            .collect();
        let mut out = Vec::new();
        for (i, a) in others.iter().enumerate() {
            let Some(s) = store::find_score(conn, &a.id)? else {
                continue;
            };
            let comments = store::comments_of(conn, std::slice::from_ref(&a.id))?
                .into_iter()
                .filter(|c| c.visibility == "panel")
                .map(comment_view)
                .collect();
            out.push(PanelScore {
                judge: format!("{}", i + 1),
                total: s.total(),
                criteria: s.values(),
                comments,
            });
        }
        Ok(out)
    })
    .await
}

/// A calibration round: how the judge's scores of the anchors compare with the panel.
pub async fn calibration(
    state: &AppState,
    who: &AuthUser,
    round_id: &str,
) -> Result<Calibration, AppError> {
    let (uid, rid) = (who.user.id.clone(), round_id.to_string());
    state
        .db
        .run(move |conn| {
            let r = store::find_round(conn, &rid)?
                .filter(|r| r.is_calibration() && r.status != DRAFT)
                .ok_or(AppError::NotFound)?;
            let all = store::assignments_of_round(conn, &r.id)?;
            if !all.iter().any(|a| a.judge_id == uid && a.state == ACTIVE) {
                return Err(AppError::NotFound);
            }
            let c = competitions::find(conn, &r.competition_id)?.ok_or(AppError::NotFound)?;
            let scores = store::scores_of_round(conn, &r.id)?;
            let mut lines = Vec::new();
            let mut complete = true;
            let mut diffs = Vec::new();
            for re in store::round_entries_of(conn, &r.id)? {
                let yours = scores
                    .iter()
                    .find(|(_, a)| a.entry_id == re.entry_id && a.judge_id == uid)
                    .map(|(s, _)| s.total());
                complete &= yours.is_some();
                let panel: Vec<f64> = scores
                    .iter()
                    .filter(|(_, a)| a.entry_id == re.entry_id && a.state == ACTIVE)
                    .map(|(s, _)| s.total())
                    .collect();
                let panel_mean =
                    (!panel.is_empty()).then(|| panel.iter().sum::<f64>() / panel.len() as f64);
                let difference = yours
                    .zip(panel_mean)
                    .map(|(y, m)| ((y - m) * 100.0).round() / 100.0);
                if let Some(d) = difference {
                    diffs.push(d);
                }
                lines.push(CalibrationLine {
                    code: re.code,
                    yours,
                    panel_mean,
                    difference,
                });
            }
            // Until the judge has scored every anchor, the panel's figures stay hidden.
            if !complete {
                for l in &mut lines {
                    l.panel_mean = None;
                    l.difference = None;
                }
                diffs.clear();
            }
            Ok(Calibration {
                round: judge_round(conn, &uid, &r, &c)?,
                complete,
                offset: (!diffs.is_empty()).then(|| {
                    ((diffs.iter().sum::<f64>() / diffs.len() as f64) * 100.0).round() / 100.0
                }),
                lines,
            })
        })
        .await
}

pub async fn get_affiliations(state: &AppState, who: &AuthUser) -> Result<Affiliations, AppError> {
    let uid = who.user.id.clone();
    state
        .db
        .run(move |conn| {
            Ok(Affiliations {
                items: store::affiliations_of(conn, std::slice::from_ref(&uid))?
                    .into_iter()
                    .map(|a| AffiliationItem {
                        kind: a.kind,
                        value: a.value,
                    })
                    .collect(),
            })
        })
        .await
}

pub async fn put_affiliations(
    state: &AppState,
    who: &AuthUser,
    input: Affiliations,
) -> Result<Affiliations, AppError> {
    let parsed = domain::parse_affiliations(&input.items)?;
    let uid = who.user.id.clone();
    state
        .db
        .transaction(move |conn| {
            let now = now();
            let rows: Vec<AffiliationRow> = parsed
                .into_iter()
                .map(|(kind, value_key, value)| AffiliationRow {
                    user_id: uid.clone(),
                    kind,
                    value_key,
                    value,
                    created_at: now,
                })
                .collect();
            store::replace_affiliations(conn, &uid, &rows)?;
            Ok(Affiliations {
                items: rows
                    .into_iter()
                    .map(|a| AffiliationItem {
                        kind: a.kind,
                        value: a.value,
                    })
                    .collect(),
            })
        })
        .await
}
