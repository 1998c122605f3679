//! The JSON API of judging: organisers' rounds, panel, assignment, progress, ranking,
//! advancement and the scores CSV; judges' queues, entries, audio, scores and comments.
//! (Results are `results::routes`.)

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};

use super::judge::{self, JudgeAudioFetch};
use super::model::*;
use super::service;
use crate::accounts::model::AuthUser;
use crate::error::{AppError, ErrorBody};
use crate::http::files::{audio_response, bad_range_response};
use crate::state::AppState;

use crate::http::no_store;

/// Create a round in a competition.
#[utoipa::path(post, path = "/api/v1/competitions/{id}/rounds", tag = "judging", request_body = RoundInput,
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 201, description = "Created", body = RoundView),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 422, description = "A setting is not valid", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/competitions/{id}/rounds")]
pub async fn create_round(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<RoundInput>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Created()
        .json(service::create_round(&state, &who, &id, input.into_inner()).await?))
}

/// A competition's rounds, in order.
#[utoipa::path(get, path = "/api/v1/competitions/{id}/rounds", tag = "judging",
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 200, description = "Rounds", body = Vec<RoundView>),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/competitions/{id}/rounds")]
pub async fn list_rounds(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(service::list_rounds(&state, &who, &id).await?))
}

#[utoipa::path(get, path = "/api/v1/rounds/{id}", tag = "judging",
    params(("id" = String, Path, description = "Round id")),
    responses((status = 200, description = "The round", body = RoundView),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/rounds/{id}")]
pub async fn get_round(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(service::get_round(&state, &who, &id).await?))
}

/// Change a round's settings (the rubric is fixed once a score exists).
#[utoipa::path(patch, path = "/api/v1/rounds/{id}", tag = "judging", request_body = RoundInput,
    params(("id" = String, Path, description = "Round id")),
    responses((status = 200, description = "Saved", body = RoundView),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 409, description = "The round is closed, or the rubric is in use", body = ErrorBody),
        (status = 422, description = "A setting is not valid", body = ErrorBody)),
    security(("bearer" = [])))]
#[actix_web::patch("/api/v1/rounds/{id}")]
pub async fn update_round(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<RoundInput>,
) -> Result<HttpResponse, AppError> {
    Ok(
        HttpResponse::Ok()
            .json(service::update_round(&state, &who, &id, input.into_inner()).await?),
    )
}

/// Assign judges automatically: k per entry, balanced, avoiding conflicts and shared
/// affiliations; tops up entries that lost a judge. Judges are emailed.
#[utoipa::path(post, path = "/api/v1/rounds/{id}/assign", tag = "judging",
    params(("id" = String, Path, description = "Round id")),
    responses((status = 200, description = "Assigned", body = AssignResult),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 409, description = "Closed, or the previous round is undecided", body = ErrorBody),
        (status = 422, description = "No judges or no entries", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/rounds/{id}/assign")]
pub async fn assign_round(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(service::assign_round(&state, &who, &id).await?))
}

/// Assign one judge to one entry by hand.
#[utoipa::path(post, path = "/api/v1/rounds/{id}/assignments", tag = "judging", request_body = ManualAssignInput,
    params(("id" = String, Path, description = "Round id")),
    responses((status = 200, description = "Assigned", body = RoundView),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 409, description = "Already assigned, a conflict of interest, or closed", body = ErrorBody),
        (status = 422, description = "Not on the panel, or not in the round", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/rounds/{id}/assignments")]
pub async fn add_assignment(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<ManualAssignInput>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(service::add_assignment(&state, &who, &id, input.into_inner()).await?))
}

/// Take an assignment away by hand.
#[utoipa::path(delete, path = "/api/v1/rounds/{id}/assignments/{alias}", tag = "judging",
    params(("id" = String, Path, description = "Round id"), ("alias" = String, Path, description = "Assignment alias")),
    responses((status = 200, description = "Removed", body = RoundView),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 409, description = "The round is closed", body = ErrorBody)),
    security(("bearer" = [])))]
#[delete("/api/v1/rounds/{id}/assignments/{alias}")]
pub async fn remove_assignment(
    state: web::Data<AppState>,
    who: AuthUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, alias) = path.into_inner();
    Ok(HttpResponse::Ok().json(service::remove_assignment(&state, &who, &id, &alias).await?))
}

/// Progress per judge and per entry: assigned, scored, listened, conflicts.
#[utoipa::path(get, path = "/api/v1/rounds/{id}/progress", tag = "judging",
    params(("id" = String, Path, description = "Round id")),
    responses((status = 200, description = "Progress", body = Progress),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/rounds/{id}/progress")]
pub async fn progress(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(service::progress(&state, &who, &id).await?))
}

/// The ranking: raw mean, median and normalised score side by side, judges' agreement.
#[utoipa::path(get, path = "/api/v1/rounds/{id}/ranking", tag = "judging",
    params(("id" = String, Path, description = "Round id")),
    responses((status = 200, description = "Ranking", body = Ranking),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/rounds/{id}/ranking")]
pub async fn ranking(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(service::ranking(&state, &who, &id).await?))
}

/// Close the round: scoring stops and places are kept.
#[utoipa::path(post, path = "/api/v1/rounds/{id}/close", tag = "judging",
    params(("id" = String, Path, description = "Round id")),
    responses((status = 200, description = "Closed", body = Ranking),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 409, description = "Not open", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/rounds/{id}/close")]
pub async fn close_round(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(service::close_round(&state, &who, &id).await?))
}

/// Decide who advances: by the rule, or a manual choice with a reason (audit-logged).
#[utoipa::path(post, path = "/api/v1/rounds/{id}/advance", tag = "judging", request_body = AdvanceInput,
    params(("id" = String, Path, description = "Round id")),
    responses((status = 200, description = "Decided; musicians are emailed", body = Ranking),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 409, description = "Not closed, or already decided", body = ErrorBody),
        (status = 422, description = "A reason is needed, or an entry is not in the round", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/rounds/{id}/advance")]
pub async fn advance(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<AdvanceInput>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(service::advance(&state, &who, &id, input.into_inner()).await?))
}

/// The panel of a competition, with affiliations and loads.
#[utoipa::path(get, path = "/api/v1/competitions/{id}/panel", tag = "judging",
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 200, description = "Judges", body = Vec<PanelJudge>),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/competitions/{id}/panel")]
pub async fn panel(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(service::panel(&state, &who, &id).await?))
}

/// A judge drops out: their unscored entries are reassigned.
#[utoipa::path(delete, path = "/api/v1/competitions/{id}/panel/{judge}", tag = "judging",
    params(("id" = String, Path, description = "Competition id"), ("judge" = String, Path, description = "Judge's user id")),
    responses((status = 200, description = "Removed; the number of reassigned entries", body = Object),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[delete("/api/v1/competitions/{id}/panel/{judge}")]
pub async fn remove_judge(
    state: web::Data<AppState>,
    who: AuthUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, judge) = path.into_inner();
    let n = service::remove_judge(&state, &who, &id, &judge).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "reassigned": n })))
}

/// Record a conflict between a judge and an entry (the entry is reassigned).
#[utoipa::path(post, path = "/api/v1/competitions/{id}/conflicts", tag = "judging", request_body = OrganiserConflictInput,
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 200, description = "Recorded", body = Object),
        (status = 404, description = "Not found or not yours", body = ErrorBody),
        (status = 422, description = "Not a judge of it, or not its entry", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/competitions/{id}/conflicts")]
pub async fn add_conflict(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    input: web::Json<OrganiserConflictInput>,
) -> Result<HttpResponse, AppError> {
    let n = service::add_conflict(&state, &who, &id, input.into_inner()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "reassigned": n })))
}

/// Every score of every round, as CSV.
#[utoipa::path(get, path = "/api/v1/competitions/{id}/scores.csv", tag = "judging",
    params(("id" = String, Path, description = "Competition id")),
    responses((status = 200, description = "CSV", content_type = "text/csv"),
        (status = 404, description = "Not found or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/competitions/{id}/scores.csv")]
pub async fn scores_csv(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(crate::http::csv::download(
        service::scores_csv(&state, &who, &id).await?,
    ))
}

/// The rounds the caller judges.
#[utoipa::path(get, path = "/api/v1/judging/rounds", tag = "judging",
    responses((status = 200, description = "Rounds", body = Vec<JudgeRound>)), security(("bearer" = [])))]
#[get("/api/v1/judging/rounds")]
pub async fn my_rounds(
    state: web::Data<AppState>,
    who: AuthUser,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(judge::my_rounds(&state, &who).await?))
}

/// The caller's queue in a round (their own random order).
#[utoipa::path(get, path = "/api/v1/judging/rounds/{id}/queue", tag = "judging",
    params(("id" = String, Path, description = "Round id")),
    responses((status = 200, description = "Queue", body = Queue),
        (status = 404, description = "Not a judge of this round", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/judging/rounds/{id}/queue")]
pub async fn queue(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(judge::queue(&state, &who, &id).await?))
}

/// Calibration: your scores of the anchors beside the panel's (once you scored them all).
#[utoipa::path(get, path = "/api/v1/judging/rounds/{id}/calibration", tag = "judging",
    params(("id" = String, Path, description = "Round id")),
    responses((status = 200, description = "Comparison", body = Calibration),
        (status = 404, description = "Not a calibration round of yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/judging/rounds/{id}/calibration")]
pub async fn calibration(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(judge::calibration(&state, &who, &id).await?))
}

/// One assigned entry: player data (waveform, gain), your score and comments.
#[utoipa::path(get, path = "/api/v1/judging/assignments/{alias}", tag = "judging",
    params(("alias" = String, Path, description = "Assignment alias")),
    responses((status = 200, description = "The entry", body = AssignmentView),
        (status = 404, description = "Not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/judging/assignments/{alias}")]
pub async fn assignment(
    state: web::Data<AppState>,
    who: AuthUser,
    alias: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(judge::view(&state, &who, &alias).await?))
}

/// The clean rendition of the entry's audio (no tags), with Range support.
#[utoipa::path(get, path = "/api/v1/judging/assignments/{alias}/audio", tag = "judging",
    params(("alias" = String, Path, description = "Assignment alias")),
    responses((status = 200, description = "WAV audio", content_type = "audio/wav"),
        (status = 206, description = "Part of the audio"),
        (status = 404, description = "Not yours", body = ErrorBody),
        (status = 409, description = "Still being prepared", body = ErrorBody),
        (status = 416, description = "The range is outside the file")),
    security(("bearer" = [])))]
#[get("/api/v1/judging/assignments/{alias}/audio")]
pub async fn audio(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AuthUser,
    alias: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let range = req.headers().get("range").and_then(|v| v.to_str().ok());
    Ok(match judge::audio(&state, &who, &alias, range).await? {
        JudgeAudioFetch::Audio(o) => audio_response(o, "audio/wav", &format!("{alias}.wav")),
        JudgeAudioFetch::BadRange(size) => bad_range_response(size),
    })
}

/// Record a stretch of listening (seconds), for coverage.
#[utoipa::path(post, path = "/api/v1/judging/assignments/{alias}/listened", tag = "judging", request_body = ListenInput,
    params(("alias" = String, Path, description = "Assignment alias")),
    responses((status = 200, description = "The share heard so far, percent", body = Object),
        (status = 404, description = "Not yours", body = ErrorBody),
        (status = 422, description = "The round is closed", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/judging/assignments/{alias}/listened")]
pub async fn listened(
    state: web::Data<AppState>,
    who: AuthUser,
    alias: web::Path<String>,
    input: web::Json<ListenInput>,
) -> Result<HttpResponse, AppError> {
    let p = judge::listened(&state, &who, &alias, input.into_inner()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "listened_percent": p })))
}

/// Score each criterion; editable until the round closes.
#[utoipa::path(put, path = "/api/v1/judging/assignments/{alias}/score", tag = "judging", request_body = ScoreInput,
    params(("alias" = String, Path, description = "Assignment alias")),
    responses((status = 200, description = "Saved", body = MyScore),
        (status = 404, description = "Not yours", body = ErrorBody),
        (status = 422, description = "Off the scale, missing, not listened enough, or closed", body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/api/v1/judging/assignments/{alias}/score")]
pub async fn score(
    state: web::Data<AppState>,
    who: AuthUser,
    alias: web::Path<String>,
    input: web::Json<ScoreInput>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(judge::score(&state, &who, &alias, input.into_inner()).await?))
}

/// A comment: private to the panel, or feedback for the musician; optionally at a time.
#[utoipa::path(post, path = "/api/v1/judging/assignments/{alias}/comments", tag = "judging", request_body = CommentInput,
    params(("alias" = String, Path, description = "Assignment alias")),
    responses((status = 201, description = "Saved", body = CommentView),
        (status = 404, description = "Not yours", body = ErrorBody),
        (status = 422, description = "Empty, too long, or closed", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/judging/assignments/{alias}/comments")]
pub async fn comment(
    state: web::Data<AppState>,
    who: AuthUser,
    alias: web::Path<String>,
    input: web::Json<CommentInput>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Created()
        .json(judge::comment(&state, &who, &alias, input.into_inner()).await?))
}

/// Declare a conflict of interest: the entry goes to another judge.
#[utoipa::path(post, path = "/api/v1/judging/assignments/{alias}/conflict", tag = "judging", request_body = ConflictInput,
    params(("alias" = String, Path, description = "Assignment alias")),
    responses((status = 204, description = "Declared; reassigned"),
        (status = 404, description = "Not yours", body = ErrorBody),
        (status = 422, description = "The round is closed", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/api/v1/judging/assignments/{alias}/conflict")]
pub async fn conflict(
    state: web::Data<AppState>,
    who: AuthUser,
    alias: web::Path<String>,
    input: web::Json<ConflictInput>,
) -> Result<HttpResponse, AppError> {
    judge::conflict(&state, &who, &alias, input.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The other judges' scores on this entry, when the round allows it.
#[utoipa::path(get, path = "/api/v1/judging/assignments/{alias}/panel", tag = "judging",
    params(("alias" = String, Path, description = "Assignment alias")),
    responses((status = 200, description = "Scores", body = Vec<PanelScore>),
        (status = 403, description = "Hidden until you have scored (or always)", body = ErrorBody),
        (status = 404, description = "Not yours", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/api/v1/judging/assignments/{alias}/panel")]
pub async fn panel_scores(
    state: web::Data<AppState>,
    who: AuthUser,
    alias: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(judge::panel_scores(&state, &who, &alias).await?))
}

/// Your affiliations (school, label, teacher, studio): judges never get entries of
/// musicians who share one.
#[utoipa::path(get, path = "/api/v1/me/affiliations", tag = "judging",
    responses((status = 200, description = "Affiliations", body = Affiliations)), security(("bearer" = [])))]
#[get("/api/v1/me/affiliations")]
pub async fn get_affiliations(
    state: web::Data<AppState>,
    who: AuthUser,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(judge::get_affiliations(&state, &who).await?))
}

#[utoipa::path(put, path = "/api/v1/me/affiliations", tag = "judging", request_body = Affiliations,
    responses((status = 200, description = "Saved", body = Affiliations),
        (status = 422, description = "Unknown kind, or too many", body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/api/v1/me/affiliations")]
pub async fn put_affiliations(
    state: web::Data<AppState>,
    who: AuthUser,
    input: web::Json<Affiliations>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(judge::put_affiliations(&state, &who, input.into_inner()).await?))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_round)
        .service(list_rounds)
        .service(get_round)
        .service(update_round)
        .service(assign_round)
        .service(add_assignment)
        .service(remove_assignment)
        .service(progress)
        .service(ranking)
        .service(close_round)
        .service(advance)
        .service(panel)
        .service(remove_judge)
        .service(add_conflict)
        .service(scores_csv)
        .service(my_rounds)
        .service(queue)
        .service(calibration)
        .service(assignment)
        .service(audio)
        .service(listened)
        .service(score)
        .service(comment)
        .service(conflict)
        .service(panel_scores)
        .service(get_affiliations)
        .service(put_affiliations);
}
