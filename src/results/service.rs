//! Final results: computing them from the last closed judging round and the public
//! vote (combined by `scoring`); the embargo and publication; the announcement email;
//! what musicians see once results are public; the results CSV. Judging and voting are
//! read through their services; whether results are out is a phase of the competition
//! (`competitions::service::results_out`), which this feature writes.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;

use super::model::*;
use super::scoring::{self, Finalist};
use super::store;
use crate::accounts::model::AuthUser;
use crate::competitions::model::CompetitionRow;
use crate::competitions::service::{self as competitions, with_managed};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::judging::model::{CLOSED, CommentView, DECIDED, RankedEntry, RoundRow, STANDARD};
use crate::judging::service as judging;
use crate::mail::{self, MailAction, MailContent};
use crate::state::AppState;
use crate::submissions::model::EntryRow;
use crate::submissions::service as submissions;
use crate::time::{now, utc};

pub const ANNOUNCE_JOB: &str = "results.announce";

fn results_settings(row: Option<&ResultsRow>) -> ResultsSettings {
    row.and_then(|r| serde_json::from_str(&r.settings).ok())
        .unwrap_or_default()
}

/// The final standard round that has been closed: the finalists and the jury's ranking.
fn final_round(conn: &mut DbConnection, cid: &str) -> Result<Option<RoundRow>, AppError> {
    Ok(judging::rounds_of(conn, cid)?
        .into_iter()
        .filter(|r| r.kind == STANDARD && (r.status == CLOSED || r.status == DECIDED))
        .max_by_key(|r| r.position))
}

fn compute_standings(
    conn: &mut DbConnection,
    c: &CompetitionRow,
    settings: &ResultsSettings,
) -> Result<Vec<Standing>, AppError> {
    let r = final_round(conn, &c.id)?.ok_or(AppError::Conflict {
        code: "judging.no_closed_round",
    })?;
    let mut ranking = judging::ranking_of(conn, &r)?;
    // A decided round's finalists are the entries it advanced: the others were out
    // before the final results (and were never in the public vote).
    if r.status == DECIDED {
        let advanced: HashSet<String> = judging::round_entries_of(conn, &r.id)?
            .into_iter()
            .filter(|e| e.advanced == Some(true))
            .map(|e| e.entry_id)
            .collect();
        if !advanced.is_empty() {
            ranking.entries.retain(|x| advanced.contains(&x.entry_id));
            // Jury ranks among the finalists (ties stay ties).
            let ranks: Vec<usize> = ranking.entries.iter().map(|x| x.standing.rank).collect();
            for x in &mut ranking.entries {
                x.standing.rank = 1 + ranks.iter().filter(|r| **r < x.standing.rank).count();
            }
        }
    }
    // Counted votes of the last closed public vote, if there was one.
    let public = crate::voting::service::public_votes(conn, &c.id)?;
    let mut finalists = Vec::new();
    let mut ai_use = HashMap::new();
    for x in &ranking.entries {
        let entry = submissions::find_entry(conn, &x.entry_id)?;
        let submitted = entry
            .as_ref()
            .map(|e| e.created_at.and_utc().timestamp_millis())
            .unwrap_or(i64::MAX);
        ai_use.insert(
            x.entry_id.clone(),
            entry.and_then(|e| crate::competitions::domain::ai::decode(e.ai_use.as_deref())),
        );
        finalists.push(Finalist {
            entry: x.entry_id.clone(),
            jury_rank: x.standing.rank,
            jury_score: match ranking.basis.as_str() {
                "mean" => x.standing.mean,
                "median" => x.standing.median,
                _ => x.standing.normalised,
            },
            jury_median: x.standing.median,
            public_votes: public
                .as_ref()
                .map(|p| p.get(&x.entry_id).copied().unwrap_or(0)),
            submitted,
        });
    }
    let placings = scoring::combine(
        &finalists,
        settings.method,
        settings.jury_weight,
        settings.public_weight,
        &settings.tie_breaks,
    );
    let by_id: HashMap<&str, &RankedEntry> = ranking
        .entries
        .iter()
        .map(|e| (e.entry_id.as_str(), e))
        .collect();
    Ok(placings
        .into_iter()
        .map(|p| {
            let e = by_id.get(p.entry.as_str());
            Standing {
                entry_id: p.entry.clone(),
                title: e.map(|e| e.title.clone()).unwrap_or_default(),
                musician: e.map(|e| e.musician.clone()).unwrap_or_default(),
                category: e.and_then(|e| e.category.clone()),
                ai_use: ai_use.remove(&p.entry).flatten(),
                placing: p,
            }
        })
        .collect())
}

fn results_view(c: &CompetitionRow, row: Option<&ResultsRow>) -> ResultsView {
    let now = now();
    ResultsView {
        competition_id: c.id.clone(),
        competition_title: c.title.clone(),
        competition_slug: c.slug.clone(),
        settings: results_settings(row),
        publish_at: row.and_then(|r| r.publish_at).map(utc),
        published: row.and_then(|r| r.publish_at).is_some_and(|t| t <= now),
        computed_at: row.and_then(|r| r.computed_at).map(utc),
        standings: row
            .and_then(|r| r.standings.as_deref())
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default(),
    }
}

/// Set how results are formed (and when they go public), and compute them from the
/// final closed round.
pub async fn put_results(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
    input: ResultsInput,
) -> Result<ResultsView, AppError> {
    with_managed(state, who, competition_id, move |conn, who, c| {
        if !competitions::may_own(who, &c) {
            return Err(competitions::owner_only());
        }
        let existing = store::find_results(conn, &c.id)?;
        let mut settings = results_settings(existing.as_ref());
        if let Some(m) = input.method {
            settings.method = m;
        }
        if let Some(w) = input.jury_weight {
            settings.jury_weight =
                u32::try_from(w).map_err(|_| AppError::invalid("results.weights_invalid"))?;
        }
        if let Some(w) = input.public_weight {
            settings.public_weight =
                u32::try_from(w).map_err(|_| AppError::invalid("results.weights_invalid"))?;
        }
        if settings.jury_weight + settings.public_weight != 100 || settings.jury_weight > 100 {
            return Err(AppError::invalid("results.weights_invalid"));
        }
        if let Some(t) = input.tie_breaks {
            let mut seen = HashSet::new();
            if t.iter().any(|x| !seen.insert(*x)) {
                return Err(AppError::invalid("results.tie_breaks_invalid"));
            }
            settings.tie_breaks = t;
        }
        let mut publish_at = existing.as_ref().and_then(|r| r.publish_at);
        if let Some(p) = &input.publish_at {
            publish_at = crate::competitions::domain::parse_time(p, c.tz())?;
        }
        let standings = compute_standings(conn, &c, &settings)?;
        let now = now();
        // The results page plays every song: from clean public renditions.
        let ids: Vec<String> = standings.iter().map(|s| s.entry_id.clone()).collect();
        submissions::request_public_audio(conn, &ids, now)?;
        let row = ResultsRow {
            competition_id: c.id.clone(),
            settings: serde_json::to_string(&settings).map_err(AppError::internal)?,
            standings: Some(serde_json::to_string(&standings).map_err(AppError::internal)?),
            computed_at: Some(now),
            publish_at,
            updated_at: now,
        };
        let previous = existing.as_ref().and_then(|r| r.publish_at);
        store::put_results(conn, &row)?;
        if let Some(t) = publish_at
            && previous != publish_at
        {
            schedule_announcement(conn, &c.id, t, now)?;
        }
        crate::db::audit::record(
            conn,
            Some(&who.user.id),
            "results.computed",
            &c.id,
            &serde_json::json!({ "publish_at": publish_at.map(utc) }),
            now,
        )?;
        Ok(results_view(&c, Some(&row)))
    })
    .await
}

/// Publish now (an embargo time is set with `put_results`).
pub async fn publish_results(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
) -> Result<ResultsView, AppError> {
    with_managed(state, who, competition_id, move |conn, who, c| {
        if !competitions::may_own(who, &c) {
            return Err(competitions::owner_only());
        }
        let mut row = store::find_results(conn, &c.id)?.ok_or(AppError::Conflict {
            code: "results.not_computed",
        })?;
        let now = now();
        row.publish_at = Some(now);
        row.updated_at = now;
        store::put_results(conn, &row)?;
        schedule_announcement(conn, &c.id, now, now)?;
        crate::db::audit::record(
            conn,
            Some(&who.user.id),
            "results.published",
            &c.id,
            &serde_json::json!({}),
            now,
        )?;
        Ok(results_view(&c, Some(&row)))
    })
    .await
}

/// Tell the musicians when results go public (at `publish_at`, by a job due then).
fn schedule_announcement(
    conn: &mut DbConnection,
    competition_id: &str,
    publish_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    crate::jobs::enqueue(
        conn,
        &super::jobs::Announce {
            competition_id: competition_id.to_string(),
            publish_at: utc(publish_at),
        },
        now,
        Some(publish_at.max(now)),
    )?;
    Ok(())
}

/// The announcement job: once results are public (and still due at this time), every
/// musician with an entry in a judging round gets an email with the entry's place.
/// Runs once per publication time: a re-scheduled embargo makes older jobs do nothing.
pub async fn announce(
    state: &AppState,
    competition_id: &str,
    publish_at: NaiveDateTime,
) -> Result<usize, AppError> {
    let (cid, base) = (
        competition_id.to_string(),
        state.settings.base_url().to_string(),
    );
    state
        .db
        .transaction(move |conn| {
            let Some(row) = store::find_results(conn, &cid)? else {
                return Ok(0);
            };
            let now = now();
            // The job is for the publication time it was scheduled with; the marker is
            // keyed by the stored time, so two jobs (or a retry) for one publication
            // announce once, whatever second each was asked at.
            let Some(current) = row
                .publish_at
                .filter(|t| (*t - publish_at).num_seconds().abs() < 1 && *t <= now)
            else {
                return Ok(0);
            };
            let marker = format!("results.announced:{}", utc(current).timestamp());
            if crate::db::audit::has(conn, &cid, &marker)? {
                return Ok(0);
            }
            let Some(c) = competitions::find(conn, &cid)? else {
                return Ok(0);
            };
            let standings: Vec<Standing> = row
                .standings
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default();
            let mut entry_ids: Vec<String> = Vec::new();
            for r in judging::rounds_of(conn, &c.id)?
                .into_iter()
                .filter(|r| r.kind == STANDARD)
            {
                for re in judging::round_entries_of(conn, &r.id)? {
                    if !entry_ids.contains(&re.entry_id) {
                        entry_ids.push(re.entry_id);
                    }
                }
            }
            let entries = submissions::find_entries(conn, &entry_ids)?;
            let mut sent = 0;
            for id in &entry_ids {
                let Some(e) = entries.get(id) else { continue };
                let Some(u) = crate::accounts::service::find_user(conn, &e.musician_id)? else {
                    continue;
                };
                let l = u.language();
                let place = standings
                    .iter()
                    .find(|s| &s.entry_id == id)
                    .map(|s| s.placing.place.to_string());
                let competition = c.title_in(l);
                let args = [
                    ("title", e.title.as_str()),
                    ("competition", competition.as_str()),
                    ("place", place.as_deref().unwrap_or("")),
                ];
                let m = MailContent {
                    locale: l,
                    to: u.email.clone(),
                    subject: l.tf("mail.results_subject", &args),
                    paragraphs: vec![l.tf(
                        if place.is_some() {
                            "mail.results_body_place"
                        } else {
                            "mail.results_body"
                        },
                        &args,
                    )],
                    action: Some(MailAction {
                        label: l.t("mail.see_entry").to_string(),
                        url: format!("{base}/entries/{}", e.id),
                    }),
                }
                .render()?;
                mail::enqueue(conn, &m, now)?;
                sent += 1;
            }
            crate::db::audit::record(
                conn,
                None,
                &marker,
                &cid,
                &serde_json::json!({ "emails": sent }),
                now,
            )?;
            Ok(sent)
        })
        .await
}

pub async fn organiser_results(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
) -> Result<ResultsView, AppError> {
    with_managed(state, who, competition_id, move |conn, _, c| {
        let row = store::find_results(conn, &c.id)?;
        Ok(results_view(&c, row.as_ref()))
    })
    .await
}

/// Results for everyone, once their publication time has come (the server's clock).
pub async fn public_results(state: &AppState, slug_or_id: &str) -> Result<ResultsView, AppError> {
    let key = slug_or_id.to_string();
    state
        .db
        .run(move |conn| {
            let c = competitions::find_by_slug_or_id(conn, &key)?.ok_or(AppError::NotFound)?;
            if !c.is_published() {
                return Err(AppError::NotFound);
            }
            let row = store::find_results(conn, &c.id)?;
            let v = results_view(&c, row.as_ref());
            if !v.published {
                return Err(AppError::refused(
                    actix_web::http::StatusCode::NOT_FOUND,
                    "results.not_published",
                ));
            }
            Ok(v)
        })
        .await
}

/// The published results of competition `id`, in order (`None` until they are public).
pub fn published_standings(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Option<Vec<Standing>>, AppError> {
    let Some(c) = competitions::find(conn, id)? else {
        return Ok(None);
    };
    let row = store::find_results(conn, &c.id)?;
    let v = results_view(&c, row.as_ref());
    Ok((c.is_published() && v.published).then_some(v.standings))
}

/// A song anyone may hear: an entry in its competition's published results, not
/// withdrawn or disqualified since. Returns its upload and title.
pub async fn public_song(state: &AppState, entry_id: &str) -> Result<(String, String), AppError> {
    let id = entry_id.to_string();
    state
        .db
        .run(move |conn| {
            let e = submissions::find_entry(conn, &id)?.ok_or(AppError::NotFound)?;
            let c = competitions::find(conn, &e.competition_id)?.ok_or(AppError::NotFound)?;
            if !c.is_published()
                || e.withdrawn_at.is_some()
                || e.review == crate::submissions::model::Review::Disqualified.as_str()
            {
                return Err(AppError::NotFound);
            }
            let row = store::find_results(conn, &c.id)?;
            let v = results_view(&c, row.as_ref());
            if !v.published || !v.standings.iter().any(|s| s.entry_id == e.id) {
                return Err(AppError::NotFound);
            }
            let upload = e.upload_id.ok_or(AppError::NotFound)?;
            Ok((upload, e.title))
        })
        .await
}

/// A musician's outcomes, for entries in competitions whose results are public.
pub async fn my_outcomes(state: &AppState, who: &AuthUser) -> Result<Vec<EntryOutcome>, AppError> {
    let uid = who.user.id.clone();
    state
        .db
        .run(move |conn| outcomes_of(conn, &uid, None))
        .await
}

/// Outcomes of `musician`'s entries (or just `only`): places once the results are
/// published, and the judges' feedback of every round whose feedback is released
/// (decided, set to `round`; or any round once the results are out). Comments an
/// organiser held back, and those of judges who declared a conflict or were removed,
/// are never included.
pub fn outcomes_of(
    conn: &mut DbConnection,
    musician: &str,
    only: Option<&str>,
) -> Result<Vec<EntryOutcome>, AppError> {
    let entries: Vec<EntryRow> = submissions::entries_of_musician(conn, musician)?
        .into_iter()
        .filter(|e| only.is_none_or(|o| o == e.id))
        .collect();
    let cids: Vec<String> = entries.iter().map(|e| e.competition_id.clone()).collect();
    let published: HashMap<String, ResultsRow> = store::published_results(conn, &cids, now())?
        .into_iter()
        .map(|r| (r.competition_id.clone(), r))
        .collect();
    let mut out = Vec::new();
    for e in entries {
        let res = published.get(&e.competition_id);
        let Some(c) = competitions::find(conn, &e.competition_id)? else {
            continue;
        };
        let rounds = judging::rounds_of(conn, &c.id)?;
        let released: Vec<String> = rounds
            .iter()
            .filter(|r| {
                r.kind == STANDARD && crate::judging::domain::feedback_released(r, res.is_some())
            })
            .map(|r| r.id.clone())
            .collect();
        if res.is_none() && released.is_empty() {
            continue;
        }
        let standings: Vec<Standing> = res
            .and_then(|r| r.standings.as_deref())
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        let mut lines = Vec::new();
        if res.is_some() {
            for re in judging::rounds_of_entry(conn, &e.id)? {
                let Some(r) = rounds
                    .iter()
                    .find(|r| r.id == re.round_id && r.kind == STANDARD)
                else {
                    continue;
                };
                lines.push((
                    r.position,
                    RoundOutcome {
                        round: r.name.clone(),
                        placement: re.placement,
                        of: judging::round_entries_of(conn, &r.id)?.len(),
                        advanced: re.advanced,
                    },
                ));
            }
        }
        lines.sort_by_key(|(p, _)| *p);
        let feedback: Vec<CommentView> = judging::feedback_for_entry(conn, &e.id, &released)?
            .into_iter()
            .map(judging::comment_view)
            .collect();
        if res.is_none() && feedback.is_empty() {
            continue;
        }
        out.push(EntryOutcome {
            entry_id: e.id.clone(),
            title: e.title.clone(),
            competition_title: c.title.clone(),
            competition_slug: c.slug.clone(),
            rounds: lines.into_iter().map(|(_, l)| l).collect(),
            place: standings
                .iter()
                .find(|s| s.entry_id == e.id)
                .map(|s| s.placing.place),
            feedback,
        });
    }
    Ok(out)
}

pub async fn results_csv(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
) -> Result<(String, String), AppError> {
    use crate::http::csv::cell;
    let v = organiser_results(state, who, competition_id).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "place",
        "entry_id",
        "title",
        "musician",
        "category",
        "points",
        "jury_rank",
        "jury_points",
        "public_rank",
        "public_points",
        "tie_break",
    ])
    .map_err(AppError::internal)?;
    for s in &v.standings {
        let p = &s.placing;
        let row = [
            p.place.to_string(),
            s.entry_id.clone(),
            s.title.clone(),
            s.musician.clone(),
            s.category.clone().unwrap_or_default(),
            format!("{:.3}", p.points),
            p.jury_rank.to_string(),
            format!("{:.3}", p.jury_points),
            p.public_rank.map(|x| x.to_string()).unwrap_or_default(),
            p.public_points
                .map(|x| format!("{x:.3}"))
                .unwrap_or_default(),
            p.tie_break
                .map(|t| {
                    serde_json::to_value(t)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                })
                .unwrap_or_default(),
        ];
        w.write_record(row.iter().map(|s| cell(s)))
            .map_err(AppError::internal)?;
    }
    let bytes = w.into_inner().map_err(AppError::internal)?;
    Ok((
        format!("{}-results.csv", v.competition_slug),
        String::from_utf8(bytes).map_err(AppError::internal)?,
    ))
}
