//! The public results page (`/c/{slug}/results`) and a published song's public audio
//! (`/api/v1/songs/{id}/audio`: the clean, loudness-matched rendition).

use std::collections::HashSet;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;

use super::model::{ResultsView, Standing};
use super::scoring::TieBreak;
use super::service as results;
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::web::{PageCtx, render};

/// One line of the results, with what the page needs beside the standing.
struct Line {
    s: Standing,
    audio_url: String,
    song_url: String,
    /// How a tie with the line above was settled, in plain words.
    tie_note: Option<String>,
}

/// A winner: overall, or of a category.
struct Winner {
    label: String,
    s: Standing,
    audio_url: String,
    song_url: String,
}

#[derive(Template)]
#[template(path = "results/public.html")]
struct PublicResultsPage {
    ctx: PageCtx,
    v: ResultsView,
    url: String,
    image_url: Option<String>,
    winner_audio: Option<String>,
    lines: Vec<Line>,
    winners: Vec<Winner>,
    /// Whether there was a public vote (its columns are shown).
    public: bool,
    /// The competition's published album, if there is one.
    album_url: Option<String>,
}

fn tie_reason(ctx: &PageCtx, t: TieBreak) -> &'static str {
    ctx.t(match t {
        TieBreak::JuryRank => "results.tie_jury_rank",
        TieBreak::PublicRank => "results.tie_public_rank",
        TieBreak::JuryMedian => "results.tie_jury_median",
        TieBreak::EarliestEntry => "results.tie_earliest_entry",
    })
}

/// Plain-words notes for ties: "Level on points with «A»; «A» is ahead because …",
/// or "Shares 2nd place with «A»: nothing separates them."
fn tie_notes(ctx: &PageCtx, standings: &[Standing]) -> Vec<Option<String>> {
    let mut out = vec![None; standings.len()];
    for i in 1..standings.len() {
        let (above, s) = (&standings[i - 1], &standings[i]);
        if (above.placing.points - s.placing.points).abs() > 1e-9 {
            continue;
        }
        let l = ctx.l;
        out[i] = Some(match s.placing.tie_break {
            Some(t) => l.tf(
                "results.tie_broken",
                &[("other", &above.title), ("reason", tie_reason(ctx, t))],
            ),
            None => l.tf(
                "results.tie_shared",
                &[
                    ("other", &above.title),
                    ("place", &s.placing.place.to_string()),
                ],
            ),
        });
    }
    out
}

#[get("/c/{slug}/results")]
async fn public_results(
    state: web::Data<AppState>,
    ctx: PageCtx,
    who: Option<crate::accounts::model::AuthUser>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut v = results::public_results(&state, &slug).await?;
    let c = crate::competitions::service::public_view(&state, None, &v.competition_slug)
        .await?
        .localised(ctx.l);
    v.competition_title = c.title.clone();
    let base = state.settings.base_url().to_string();
    let notes = tie_notes(&ctx, &v.standings);
    let lines: Vec<Line> = v
        .standings
        .iter()
        .cloned()
        .zip(notes)
        .map(|(s, tie_note)| Line {
            audio_url: format!("/api/v1/songs/{}/audio", s.entry_id),
            song_url: format!("/songs/{}", s.entry_id),
            s,
            tie_note,
        })
        .collect();
    // Overall: everyone in first place; then the best of each category.
    let winner = |label: String, l: &Line| Winner {
        label,
        s: l.s.clone(),
        audio_url: l.audio_url.clone(),
        song_url: l.song_url.clone(),
    };
    let mut winners: Vec<Winner> = lines
        .iter()
        .filter(|l| l.s.placing.place == 1)
        .map(|l| winner(ctx.t("results.overall").to_string(), l))
        .collect();
    let mut seen: HashSet<&str> = HashSet::new();
    if c.categories.len() > 1 {
        for l in &lines {
            if let Some(k) = l.s.category.as_deref()
                && seen.insert(k)
            {
                winners.push(winner(
                    ctx.l.tf("results.category_winner", &[("category", k)]),
                    l,
                ));
            }
        }
    }
    let public = lines.iter().any(|l| l.s.placing.public_rank.is_some());
    let album_url = crate::album::service::published_path(&state, &v.competition_id).await?;
    let ctx = match &who {
        Some(w) => ctx.signed_in(&w.user.display_name),
        None => ctx,
    };
    render(&PublicResultsPage {
        url: format!("{base}/c/{}/results", v.competition_slug),
        image_url: c
            .cover_url
            .as_ref()
            .map(|u| crate::media::picture::url_at(&format!("{base}{u}"), 1280)),
        winner_audio: lines.first().map(|l| format!("{base}{}", l.audio_url)),
        ctx,
        v,
        lines,
        winners,
        public,
        album_url,
    })
}

/// A song's public audio once results are out: the clean rendition (no tags,
/// loudness-matched), never the musician's own file.
#[utoipa::path(get, path = "/api/v1/songs/{id}/audio", tag = "judging",
    params(("id" = String, Path, description = "Entry id")),
    responses((status = 200, description = "WAV audio", content_type = "audio/wav"),
        (status = 206, description = "Part of it"),
        (status = 404, description = "Not a published song", body = ErrorBody),
        (status = 409, description = "Still being prepared", body = ErrorBody),
        (status = 416, description = "The range is outside the file")))]
#[get("/api/v1/songs/{id}/audio")]
pub async fn song_audio(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (upload_id, title) = results::public_song(&state, &id).await?;
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    Ok(crate::http::files::response(
        crate::submissions::service::public_audio(&state, &upload_id, &title, range).await?,
    ))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(public_results).service(song_audio);
}
