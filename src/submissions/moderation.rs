//! The organiser's side: the list of entries with filters, decisions (accept, request
//! changes, disqualify with a reason) emailed to the musician in their language, and
//! a CSV export.

use super::model::{EntryView, Review, ReviewInput, Status, report_value};
use super::service::{Viewer, now, view};
use super::store::{self, EntryFilter};
use crate::accounts::model::AuthUser;
use crate::competitions::service as competitions;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::mail::{self, MailAction, MailContent};
use crate::state::AppState;

pub async fn list(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
    filter: EntryFilter,
    locale: Locale,
) -> Result<Vec<EntryView>, AppError> {
    if let Some(s) = &filter.status
        && Status::parse(s).is_none()
    {
        return Err(AppError::invalid("entry.filter_invalid"));
    }
    if let Some(r) = &filter.review
        && Review::parse(r).is_none()
    {
        return Err(AppError::invalid("entry.filter_invalid"));
    }
    let (who, cid) = (who.clone(), competition_id.to_string());
    state
        .db
        .run(move |conn| {
            competitions::moderated(conn, &who, &cid)?;
            let rows = store::list_for_competition(conn, &cid, &filter, 1000)?;
            rows.iter()
                .map(|e| view(conn, e, Viewer::Organiser, locale))
                .collect()
        })
        .await
}

pub async fn review(
    state: &AppState,
    who: &AuthUser,
    entry_id: &str,
    input: ReviewInput,
    locale: Locale,
) -> Result<EntryView, AppError> {
    let decision = match input.action.as_str() {
        "accept" => Review::Accepted,
        "request_changes" => Review::ChangesRequested,
        "disqualify" => Review::Disqualified,
        _ => return Err(AppError::invalid("entry.review_action_invalid")),
    };
    let reason = input.reason.trim().to_string();
    if decision != Review::Accepted && reason.is_empty() {
        return Err(AppError::invalid("entry.review_reason_required"));
    }
    if reason.chars().count() > 2000 {
        return Err(AppError::invalid_with(
            "entry.text_too_long",
            vec![("max", "2000".into())],
        ));
    }
    let (who, id, st) = (who.clone(), entry_id.to_string(), state.clone());
    state
        .db
        .transaction(move |conn| {
            let mut e = store::find_entry(conn, &id)?.ok_or(AppError::NotFound)?;
            let c = competitions::moderated(conn, &who, &e.competition_id)?;
            if e.withdrawn_at.is_some() {
                return Err(AppError::invalid("entry.withdrawn"));
            }
            let now = now();
            e.review = decision.as_str().into();
            e.review_reason = (!reason.is_empty()).then(|| reason.clone());
            e.updated_at = now;
            store::save_entry(conn, &e)?;
            crate::db::audit::record(
                conn,
                Some(&who.user.id),
                &format!("entry.review.{}", decision.as_str()),
                &e.id,
                &serde_json::json!({ "reason": reason }),
                now,
            )?;
            if let Some(user) = crate::accounts::service::find_user(conn, &e.musician_id)? {
                let l = user.language();
                let key = decision.as_str();
                let mut paragraphs = vec![l.tf(
                    &format!("mail.review_{key}_body"),
                    &[("title", &e.title), ("competition", &c.title_in(l))],
                )];
                if !reason.is_empty() {
                    paragraphs.push(l.tf("mail.review_reason", &[("reason", &reason)]));
                }
                let m = MailContent {
                    locale: l,
                    to: user.email.clone(),
                    subject: l.tf(
                        &format!("mail.review_{key}_subject"),
                        &[("title", &e.title)],
                    ),
                    paragraphs,
                    action: Some(MailAction {
                        label: l.t("mail.analysis_done_button").to_string(),
                        url: format!("{}/entries/{}", st.settings.base_url(), e.id),
                    }),
                }
                .render()?;
                mail::enqueue(conn, &m, now)?;
            }
            view(conn, &e, Viewer::Organiser, locale)
        })
        .await
}

use crate::http::csv::cell;

/// Every entry of a competition as CSV.
pub async fn export_csv(
    state: &AppState,
    who: &AuthUser,
    competition_id: &str,
) -> Result<(String, String), AppError> {
    let (who, cid) = (who.clone(), competition_id.to_string());
    let (slug, rows) = state
        .db
        .run(move |conn| {
            let c = competitions::moderated(conn, &who, &cid)?;
            let rows = store::list_for_competition(conn, &cid, &EntryFilter::default(), 100_000)?;
            let views = rows
                .iter()
                .map(|e| view(conn, e, Viewer::Organiser, Locale::En))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((c.slug, views))
        })
        .await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "entry_id",
        "title",
        "musician",
        "prompt",
        "category",
        "status",
        "review",
        "review_reason",
        "file_name",
        "size_bytes",
        "sha256",
        "duration_secs",
        "integrated_lufs",
        "true_peak_dbtp",
        "duplicate_flags",
        "created_at",
        "analysed_at",
    ];
    w.write_record(header).map_err(AppError::internal)?;
    for v in rows {
        let num = |path: &[&str]| -> String {
            v.report
                .as_ref()
                .and_then(|r| report_value(r, path))
                .and_then(|x| x.as_f64())
                .map(|x| x.to_string())
                .unwrap_or_default()
        };
        let status = serde_json::to_value(v.status)
            .ok()
            .and_then(|s| s.as_str().map(String::from))
            .unwrap_or_default();
        let review = serde_json::to_value(v.review)
            .ok()
            .and_then(|s| s.as_str().map(String::from))
            .unwrap_or_default();
        let record = [
            v.id.clone(),
            cell(&v.title),
            cell(v.musician.as_deref().unwrap_or("")),
            cell(v.prompt.as_ref().map(|p| p.name.as_str()).unwrap_or("")),
            cell(v.category.as_ref().map(|p| p.name.as_str()).unwrap_or("")),
            status,
            review,
            cell(v.review_reason.as_deref().unwrap_or("")),
            cell(v.audio.as_ref().map(|a| a.file_name.as_str()).unwrap_or("")),
            v.audio
                .as_ref()
                .map(|a| a.size_bytes.to_string())
                .unwrap_or_default(),
            v.audio
                .as_ref()
                .map(|a| a.sha256.clone())
                .unwrap_or_default(),
            num(&["format", "duration_secs"]),
            num(&["loudness", "integrated_lufs"]),
            num(&["peaks", "true_peak_dbtp"]),
            v.flags.len().to_string(),
            v.created_at.to_rfc3339(),
            v.analysed_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        ];
        w.write_record(record).map_err(AppError::internal)?;
    }
    let bytes = w.into_inner().map_err(AppError::internal)?;
    Ok((
        format!("{slug}-entries.csv"),
        String::from_utf8(bytes).map_err(AppError::internal)?,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn formulas_are_defused() {
        assert_eq!(super::cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(super::cell("-1+1"), "'-1+1");
        assert_eq!(super::cell("Moonlight"), "Moonlight");
    }
}
