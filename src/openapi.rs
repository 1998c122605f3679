//! The OpenAPI document, generated from the handlers' annotations and served at
//! `/api/v1/openapi.json`, with Swagger UI (bundled, works offline) at `/api/docs/`.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cadenza API",
        description = "Music creativity competitions: submissions, judging and public voting. \
                       Errors have the body `{\"error\":{\"code\",\"message\",\"details\",\"request_id\"}}` \
                       with a stable `code` and a message in English or Simplified Chinese (Accept-Language).",
        license(name = "MIT")
    ),
    paths(
        crate::http::health::livez,
        crate::http::health::readyz,
        crate::http::health::metrics,
        crate::competitions::routes::list_competitions,
        crate::competitions::routes::create_competition,
        crate::competitions::routes::get_competition,
        crate::competitions::routes::update_competition,
        crate::competitions::routes::publish,
        crate::competitions::routes::unpublish,
        crate::competitions::routes::my_competitions,
        crate::competitions::routes::put_cover,
        crate::competitions::routes::put_prompt_image,
        crate::submissions::routes::create_entry,
        crate::submissions::routes::my_entries,
        crate::submissions::routes::get_entry,
        crate::submissions::routes::update_entry,
        crate::submissions::routes::withdraw_entry,
        crate::submissions::routes::put_audio,
        crate::submissions::routes::presign_audio,
        crate::submissions::routes::complete_audio,
        crate::submissions::routes::get_audio,
        crate::submissions::routes::moderation_list,
        crate::submissions::routes::review_entry,
        crate::submissions::routes::export_entries,
        crate::voting::routes::create_round,
        crate::voting::routes::list_rounds,
        crate::voting::routes::get_round,
        crate::voting::routes::update_round,
        crate::voting::routes::gallery,
        crate::voting::routes::audio,
        crate::voting::routes::challenge,
        crate::voting::routes::listen,
        crate::voting::routes::vote,
        crate::voting::routes::leaderboard,
        crate::voting::routes::stream,
        crate::voting::routes::integrity,
        crate::voting::routes::public_log,
        crate::voting::routes::audit_log,
        crate::voting::routes::review_list,
        crate::voting::routes::review,
        crate::voting::routes::run_audit,
        crate::voting::routes::recompute,
        crate::judging::routes::create_round,
        crate::judging::routes::list_rounds,
        crate::judging::routes::get_round,
        crate::judging::routes::update_round,
        crate::judging::routes::assign_round,
        crate::judging::routes::add_assignment,
        crate::judging::routes::remove_assignment,
        crate::judging::routes::progress,
        crate::judging::routes::ranking,
        crate::judging::routes::close_round,
        crate::judging::routes::advance,
        crate::judging::routes::panel,
        crate::judging::routes::remove_judge,
        crate::judging::routes::add_conflict,
        crate::judging::routes::put_results,
        crate::judging::routes::publish_results,
        crate::judging::routes::get_results,
        crate::judging::routes::scores_csv,
        crate::judging::routes::results_csv,
        crate::judging::routes::my_rounds,
        crate::judging::routes::queue,
        crate::judging::routes::calibration,
        crate::judging::routes::assignment,
        crate::judging::routes::audio,
        crate::judging::routes::listened,
        crate::judging::routes::score,
        crate::judging::routes::comment,
        crate::judging::routes::conflict,
        crate::judging::routes::panel_scores,
        crate::judging::routes::get_affiliations,
        crate::judging::routes::put_affiliations,
        crate::judging::routes::my_results,
        crate::accounts::routes::password_setup_api,
        crate::accounts::api::register,
        crate::accounts::api::verify_email,
        crate::accounts::api::guardian_consent,
        crate::accounts::api::sign_in,
        crate::accounts::api::refresh,
        crate::accounts::api::sign_out,
        crate::accounts::api::sign_out_everywhere,
        crate::accounts::api::me,
        crate::accounts::api::password_reset,
        crate::accounts::api::password_reset_confirm,
        crate::accounts::api::change_password,
        crate::accounts::api::change_email,
        crate::accounts::api::change_email_confirm,
        crate::accounts::api::resend_verification,
        crate::accounts::api::magic_link,
        crate::accounts::api::magic_link_sign_in,
        crate::accounts::account_api::get_profile,
        crate::accounts::account_api::put_profile,
        crate::accounts::account_api::put_avatar,
        crate::accounts::account_api::get_avatar,
        crate::accounts::account_api::list_sessions,
        crate::accounts::account_api::delete_session,
        crate::accounts::account_api::export,
        crate::accounts::account_api::delete_me,
        crate::accounts::account_api::invite_judge,
        crate::accounts::account_api::accept_invitation,
        crate::exhibition::routes::get_poster,
        crate::exhibition::routes::list_posters,
    ),
    modifiers(&BearerAuth),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
    tags(
        (name = "health", description = "Liveness, readiness and metrics"),
        (name = "competitions", description = "Competitions and their calls for entries"),
        (name = "accounts", description = "Accounts and sign-in"),
        (name = "submissions", description = "Entries, their audio, analysis reports and moderation"),
        (name = "judging", description = "Rounds, panels, assignment, scoring, rankings, advancement and results"),
        (name = "exhibition", description = "Posters with QR codes for an exhibition, and their scans"),
        (name = "voting", description = "Public voting: rounds, proof of work, votes, live leaderboards, integrity and review"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme the protected operations refer to.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
