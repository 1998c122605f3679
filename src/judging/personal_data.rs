//! What judging holds about a person: affiliations and judging in their data export,
//! and the renditions of their uploads on erasure.

use chrono::NaiveDateTime;

use super::store;
use crate::db::DbConnection;
use crate::error::AppError;

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

/// Judging's part of a person's data: affiliations and judging in the export; on
/// erasure the renditions judges heard of the person's uploads (asked before
/// submissions, which removes the uploads).
pub struct JudgingData;

impl crate::accounts::service::PersonalData for JudgingData {
    fn export(
        &self,
        conn: &mut DbConnection,
        user_id: &str,
        out: &mut serde_json::Map<String, serde_json::Value>,
    ) -> Result<Vec<(String, String)>, AppError> {
        if let serde_json::Value::Object(o) = export_of(conn, user_id)? {
            out.extend(o);
        }
        Ok(Vec::new())
    }

    fn erase(
        &self,
        conn: &mut DbConnection,
        user_id: &str,
        _now: NaiveDateTime,
    ) -> Result<Vec<String>, AppError> {
        let mut keys = Vec::new();
        for u in crate::submissions::service::uploads_of_musician(conn, user_id)? {
            keys.extend(store::delete_rendition(conn, &u)?);
        }
        Ok(keys)
    }
}
