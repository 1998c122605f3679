//! The stem-usage check: landmarks of stems, remixes and songs open to remixes, and the
//! job that tells organisers which of a source's stems a remix uses, and where.

use std::collections::HashMap;

use super::model::*;
use super::service::{now, utc};
use super::store;
use crate::accounts::model::AuthUser;
use crate::competitions::service as competitions;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;
use crate::submissions::service as submissions;

pub fn enqueue_check(conn: &mut DbConnection, entry_id: &str) -> Result<(), AppError> {
    crate::jobs::enqueue(
        conn,
        &super::jobs::CheckStems {
            entry_id: entry_id.to_string(),
        },
        now(),
        None,
    )?;
    Ok(())
}

/// Whether an entry's landmarks are worth keeping: it is a remix, or open to remixes.
/// (They take about 1.4 KB a second of audio; other entries do not need them.)
fn needs_landmarks(conn: &mut DbConnection, entry_id: &str) -> Result<bool, AppError> {
    Ok(store::source_of(conn, entry_id)?.is_some()
        || store::permission(conn, entry_id)?.is_some_and(|p| p.allowed))
}

/// An entry's analysis finished (new audio): keep its landmarks if it needs them, and
/// check it against its source; remixes of it are checked again.
pub fn entry_analysed(
    conn: &mut DbConnection,
    entry_id: &str,
    landmarks: Option<&str>,
) -> Result<(), AppError> {
    store::delete_landmarks(conn, entry_id)?;
    let Some(data) = landmarks else {
        return Ok(());
    };
    if !needs_landmarks(conn, entry_id)? {
        return Ok(());
    }
    store::put_landmarks(conn, entry_id, data, now())?;
    after_landmarks(conn, entry_id)
}

/// Landmarks of `entry_id` are new: check it, and the remixes that name it.
pub fn after_landmarks(conn: &mut DbConnection, entry_id: &str) -> Result<(), AppError> {
    if store::source_of(conn, entry_id)?.is_some() {
        enqueue_check(conn, entry_id)?;
    }
    for r in store::remixes_of(conn, entry_id)? {
        if store::landmarks(conn, &r)?.is_some() {
            enqueue_check(conn, &r)?;
        }
    }
    Ok(())
}

/// Make sure an analysed entry has landmarks: check now if it has, else fingerprint it.
pub(super) fn ensure_landmarks(conn: &mut DbConnection, entry_id: &str) -> Result<(), AppError> {
    if store::landmarks(conn, entry_id)?.is_some() {
        return after_landmarks(conn, entry_id);
    }
    let analysed = submissions::find_entry(conn, entry_id)?
        .is_some_and(|e| e.upload_id.is_some() && e.report.is_some());
    if analysed {
        crate::jobs::enqueue(
            conn,
            &super::jobs::Landmarks {
                entry_id: entry_id.to_string(),
            },
            now(),
            None,
        )?;
    }
    Ok(())
}

/// A stem a remix's source offers for comparison.
struct SourceStem {
    id: String,
    name: String,
    landmarks: Option<String>,
}

/// The stems a remix's source offers (a published song counts as one stem), and whether
/// some are still being analysed.
fn source_stems(
    conn: &mut DbConnection,
    s: &SourceRow,
) -> Result<(Vec<SourceStem>, bool), AppError> {
    let mut out = Vec::new();
    let mut waiting = false;
    if let Some(p) = &s.pack_id {
        for f in store::files_of(conn, p)?
            .into_iter()
            .filter(|f| f.kind == STEM)
        {
            waiting |= f.status == PENDING;
            let landmarks = store::landmarks(conn, &f.id)?;
            out.push(SourceStem {
                id: f.id,
                name: f.name,
                landmarks,
            });
        }
    }
    if let Some(e) = &s.source_entry_id
        && let Some(src) = submissions::find_entry(conn, e)?
    {
        let landmarks = store::landmarks(conn, &src.id)?;
        waiting |= landmarks.is_none();
        out.push(SourceStem {
            id: src.id,
            name: src.title,
            landmarks,
        });
    }
    Ok((out, waiting))
}

/// Run the check of `entry_id` now (the job's body).
pub fn check_now(
    conn: &mut DbConnection,
    entry_id: &str,
) -> Result<Option<StemCheckView>, AppError> {
    use crate::audio::landmarks;
    let Some(source) = store::source_of(conn, entry_id)? else {
        return Ok(None);
    };
    let Some(mine) = store::landmarks(conn, entry_id)? else {
        return Ok(None);
    };
    let decode = |data: &str| {
        landmarks::decode(&crate::audio::report::Fingerprint {
            algorithm: landmarks::ALGORITHM.into(),
            data: data.to_string(),
            item_secs: 0.0,
        })
        .unwrap_or_default()
    };
    let mix = decode(&mine);
    let (stems, waiting) = source_stems(conn, &source)?;
    let mut uses = Vec::new();
    for SourceStem {
        id,
        name,
        landmarks: lm,
    } in stems
    {
        let ranges: Vec<UseRange> = match lm {
            Some(data) => landmarks::find(&mix, &decode(&data))
                .into_iter()
                .map(|u| UseRange {
                    start_secs: (u.start_secs * 10.0).round() / 10.0,
                    end_secs: (u.end_secs * 10.0).round() / 10.0,
                    stem_start_secs: (u.stem_start_secs * 10.0).round() / 10.0,
                    matches: u.matches,
                })
                .collect(),
            None => Vec::new(),
        };
        uses.push(StemUseView {
            stem_id: id,
            name,
            detected: !ranges.is_empty(),
            ranges,
        });
    }
    let status = if waiting {
        "waiting"
    } else if uses.is_empty() {
        "no_stems"
    } else {
        "done"
    };
    let now = now();
    let v = StemCheckView {
        entry_id: entry_id.to_string(),
        status: status.into(),
        checked_at: Some(utc(now)),
        none_detected: status == "done" && uses.iter().all(|u| !u.detected),
        stems: uses,
    };
    store::put_check(
        conn,
        &CheckRow {
            entry_id: entry_id.to_string(),
            result: serde_json::to_string(&v).map_err(AppError::internal)?,
            checked_at: now,
        },
    )?;
    Ok(Some(v))
}

/// The check of a remix, for the competition's organisers.
pub async fn stem_check(
    state: &AppState,
    who: &AuthUser,
    entry_id: &str,
) -> Result<StemCheckView, AppError> {
    let (who, id) = (who.clone(), entry_id.to_string());
    state
        .db
        .run(move |conn| {
            let e = submissions::find_entry(conn, &id)?.ok_or(AppError::NotFound)?;
            competitions::managed(conn, &who, &e.competition_id)?;
            check_view(conn, &e.id)
        })
        .await
}

pub fn check_view(conn: &mut DbConnection, entry_id: &str) -> Result<StemCheckView, AppError> {
    match store::check_of(conn, entry_id)? {
        Some(c) => serde_json::from_str(&c.result).map_err(AppError::internal),
        None => Ok(StemCheckView {
            entry_id: entry_id.to_string(),
            status: "waiting".into(),
            checked_at: None,
            stems: Vec::new(),
            none_detected: false,
        }),
    }
}

/// Checks of a competition's remixes, by entry (for the organiser's pages).
pub fn checks_of(
    conn: &mut DbConnection,
    entry_ids: &[String],
) -> Result<HashMap<String, StemCheckView>, AppError> {
    let mut out = HashMap::new();
    for id in entry_ids {
        if store::source_of(conn, id)?.is_some() {
            out.insert(id.clone(), check_view(conn, id)?);
        }
    }
    Ok(out)
}

/// Entries of a pack whose check should run again (a stem finished its analysis).
pub fn recheck_pack(conn: &mut DbConnection, pack: &str) -> Result<(), AppError> {
    for id in store::remixes_of_pack(conn, pack)? {
        if store::landmarks(conn, &id)?.is_some() {
            enqueue_check(conn, &id)?;
        }
    }
    Ok(())
}
