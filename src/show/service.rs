//! The show: the presenter screen's state for everyone, and the organiser's presses.

use super::domain::{self, Finalist};
use super::model::*;
use super::store;
use crate::accounts::model::AuthUser;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::results::service as results;
use crate::state::AppState;
use crate::time::now;
use crate::voting::service as voting;

/// What the presenter screen shows now (any reader of a published competition).
pub async fn view(state: &AppState, id: &str, l: Locale) -> Result<ShowView, AppError> {
    let (i, _) = voting::visible(state, None, id).await?;
    let board = voting::leaderboard(state, None, id, None).await?;
    let total_votes = voting::votes_so_far(state, id).await?;
    let key = i.row.id.clone();
    let row = state.db.run(move |conn| store::find(conn, &key)).await?;
    let reveal = match row {
        Some(r) if r.reveal_step > 0 => {
            let list: Vec<Finalist> =
                serde_json::from_str(&r.standings).map_err(AppError::internal)?;
            Some(domain::at(&list, r.reveal_step as u32))
        }
        _ => None,
    };
    let top = board.lines.iter().map(|l| l.votes).max().unwrap_or(0);
    let shown = board.counts_visible;
    Ok(ShowView {
        round_id: i.row.id.clone(),
        title: i.row.title_in(l),
        competition_title: i.competition.title_in(l),
        competition_slug: i.competition.slug.clone(),
        state: board.state.clone(),
        opens_at: i.row.opens_at.and_utc(),
        closes_at: i.row.closes_at.and_utc(),
        counts_visible: shown,
        total_votes,
        lines: board
            .lines
            .iter()
            .map(|b| ShowLine {
                entry_id: b.entry_id.clone(),
                title: b.title.clone(),
                musician: b.musician.clone(),
                votes: shown.then_some(b.votes),
                share: shown.then(|| {
                    if top == 0 {
                        0.0
                    } else {
                        b.votes as f64 / top as f64
                    }
                }),
            })
            .collect(),
        reveal,
    })
}

/// The show as its organiser controls it (the same state; refused to anyone else).
pub async fn control(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    l: Locale,
) -> Result<ShowView, AppError> {
    let i = voting::info(state, id).await?;
    results::organiser_results(state, who, &i.competition.id).await?;
    view(state, id, l).await
}

/// The scan link for the round's vote (a counted poster link) and its QR code.
pub async fn vote_link(
    state: &AppState,
    id: &str,
    l: Locale,
) -> Result<(String, String), AppError> {
    let (_, p) = crate::exhibition::service::poster(state, None, "vote", id, l).await?;
    Ok((p.scan_url, p.qr_svg_url))
}

/// The songs to reveal, from the results as computed: refused while the vote is still
/// open, before results are computed, or when they were computed before the vote closed
/// (the public's votes would be missing).
fn finalists_of(
    r: &crate::results::model::ResultsView,
    closed_at: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Finalist>, AppError> {
    let stale = match r.computed_at {
        None => {
            return Err(AppError::Conflict {
                code: "show.results_missing",
            });
        }
        Some(t) => t < closed_at,
    };
    if r.standings.is_empty() {
        return Err(AppError::Conflict {
            code: "show.results_missing",
        });
    }
    if stale {
        return Err(AppError::Conflict {
            code: "show.results_stale",
        });
    }
    Ok(r.standings
        .iter()
        .map(|s| {
            let p = &s.placing;
            let (jury, public) = Finalist::split(
                p.points,
                p.jury_points,
                p.public_points,
                r.settings.jury_weight,
            );
            Finalist {
                entry_id: s.entry_id.clone(),
                title: s.title.clone(),
                musician: s.musician.clone(),
                place: p.place,
                jury_rank: p.jury_rank,
                jury,
                public,
            }
        })
        .collect())
}

/// A press on the show control: `next`, `back` or `restart`. The first `next` takes the
/// results as computed now; later presses walk through them. Audited.
pub async fn reveal(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    action: &str,
    l: Locale,
) -> Result<ShowView, AppError> {
    let i = voting::info(state, id).await?;
    // Only the competition's organisers; the results as they stand (not necessarily
    // published: a live reveal usually comes before the publishing).
    let r = results::organiser_results(state, who, &i.competition.id).await?;
    let action = match action.trim() {
        a @ ("next" | "back" | "restart") => a.to_string(),
        _ => return Err(AppError::invalid("show.action_invalid")),
    };
    let now = now();
    let closed = i.row.is_closed(now);
    let closed_at = i.row.closes_at.and_utc();
    let (uid, key) = (who.user.id.clone(), i.row.id.clone());
    state
        .db
        .transaction(move |conn| {
            let mut row = store::find(conn, &key)?.unwrap_or(ShowRow {
                round_id: key.clone(),
                reveal_step: 0,
                standings: "[]".into(),
                updated_at: now,
            });
            match action.as_str() {
                "next" => {
                    if row.reveal_step == 0 {
                        if !closed {
                            return Err(AppError::Conflict {
                                code: "show.vote_open",
                            });
                        }
                        let list = finalists_of(&r, closed_at)?;
                        row.standings = serde_json::to_string(&list).map_err(AppError::internal)?;
                    }
                    let list: Vec<Finalist> =
                        serde_json::from_str(&row.standings).map_err(AppError::internal)?;
                    if row.reveal_step as u32 >= domain::steps(&list) {
                        return Err(AppError::Conflict {
                            code: "show.reveal_done",
                        });
                    }
                    row.reveal_step += 1;
                }
                "back" => row.reveal_step = (row.reveal_step - 1).max(0),
                _ => {
                    row.reveal_step = 0;
                    row.standings = "[]".into();
                }
            }
            row.updated_at = now;
            store::save(conn, &row)?;
            crate::db::audit::record(
                conn,
                Some(&uid),
                "show.reveal",
                &key,
                &serde_json::json!({ "action": action, "step": row.reveal_step }),
                now,
            )
        })
        .await?;
    view(state, id, l).await
}
