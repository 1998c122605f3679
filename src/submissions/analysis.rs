//! The analysis job: copy the stored audio to a temporary file, run the sandboxed
//! engine on it, keep the report and the policy's verdict, flag recordings that match
//! other entries, and tell the musician by email in their language.

use serde::{Deserialize, Serialize};

use super::duplicates;
use super::model::{AnalysisFailure, Flag, Status};
use super::service::now;
use super::store;
use crate::audio::policy::{Outcome, Verdict};
use crate::audio::report::Fingerprint;
use crate::audio::sandbox::{analyze_isolated, probe_isolated};
use crate::audio::{AnalysisError, fingerprint};
use crate::db::backend::HEAVY_LANE;
use crate::engine::{copy_to_temp, sandbox_config};
use crate::i18n::Locale;
use crate::jobs::{Job, JobError, JobRow, retry};
use crate::mail::{self, MailAction, MailContent};
use crate::state::AppState;

/// Analyse an entry's new audio (`entry.analyse`).
#[derive(Debug, Serialize, Deserialize)]
pub struct Analyse {
    pub entry_id: String,
    pub upload_id: String,
}

impl Job for Analyse {
    const NAME: &'static str = super::upload::ANALYSE_JOB;

    async fn run(self, state: AppState, job: JobRow) -> Result<(), JobError> {
        run(state, job, self).await
    }
}

async fn run(state: AppState, job: JobRow, p: Analyse) -> Result<(), JobError> {
    // Still the audio in force? (It may have been replaced or withdrawn since.)
    let (eid, uid) = (p.entry_id.clone(), p.upload_id.clone());
    let upload = state
        .db
        .transaction(move |conn| {
            let Some(mut e) = store::find_entry(conn, &eid)? else {
                return Ok(None);
            };
            if e.upload_id.as_deref() != Some(uid.as_str()) || e.withdrawn_at.is_some() {
                return Ok(None);
            }
            e.status = Status::Analysing.as_str().into();
            store::save_entry(conn, &e)?;
            // The competition's longest accepted recording, when longer ones are refused.
            let max_secs = crate::competitions::service::find(conn, &e.competition_id)?
                .map(|c| c.policy().duration)
                .filter(|d| d.severity == crate::audio::policy::Severity::Reject)
                .and_then(|d| d.max_secs);
            Ok(store::find_upload(conn, &uid)?.map(|u| (u, max_secs)))
        })
        .await
        .map_err(retry("loading the entry"))?;
    let Some((upload, max_secs)) = upload else {
        tracing::info!(entry = %p.entry_id, "analysis skipped: the audio was replaced or withdrawn");
        return Ok(());
    };

    // Copy the object to a private temporary file for the child to read.
    let tmp = copy_to_temp(&state, &upload.object_key).await?;
    let cfg = sandbox_config(&state);
    let result = match probe_isolated(&cfg, tmp.path()).await {
        Ok(probe) => match cost_decision(&state, &job, &probe, max_secs) {
            Cost::Refuse(e) => Err(e),
            Cost::Heavy => {
                requeue_heavy(&state, &job).await?;
                tracing::info!(
                    entry = %p.entry_id,
                    samples = probe.samples(),
                    "analysis moved to the heavy lane"
                );
                return Ok(());
            }
            Cost::Run => {
                // Stopped at once if the audio is replaced or the entry withdrawn meanwhile.
                tokio::select! {
                    r = analyze_isolated(&cfg, tmp.path()) => r,
                    () = superseded(&state, &p.entry_id, &p.upload_id) => {
                        tracing::info!(entry = %p.entry_id, "analysis stopped: the audio was replaced or withdrawn");
                        return Ok(());
                    }
                }
            }
        },
        Err(e) => Err(e),
    };
    drop(tmp);
    if let Err(AnalysisError::Crashed(m)) = &result
        && m.starts_with("cannot start the analyser")
    {
        return Err(JobError::Retry(m.clone()));
    }
    let min_match = state.settings.analysis.duplicate_min_secs;
    let (dup_flags, dup_keys) = match &result {
        Ok(report) => {
            find_duplicates(&state, &p.entry_id, report.fingerprint.as_ref(), min_match).await?
        }
        Err(_) => (Vec::new(), Vec::new()),
    };
    let st = state.clone();
    let done = state
        .db
        .transaction(move |conn| {
            let Some(mut e) = store::find_entry(conn, &p.entry_id)? else {
                return Ok(None);
            };
            if e.upload_id.as_deref() != Some(p.upload_id.as_str()) || e.withdrawn_at.is_some() {
                return Ok(None);
            }
            let c = crate::competitions::service::find(conn, &e.competition_id)?
                .ok_or(crate::error::AppError::NotFound)?;
            let now = now();
            let mut verdict_made: Option<Verdict> = None;
            match &result {
                Ok(report) => {
                    let verdict = c.policy().evaluate(report);
                    e.status = match verdict.outcome {
                        Outcome::Pass => Status::Accepted,
                        Outcome::Warn => Status::NeedsAttention,
                        Outcome::Reject => Status::Rejected,
                    }
                    .as_str()
                    .into();
                    let mut stored = report.clone();
                    let fp = stored.fingerprint.take();
                    let landmarks = stored.landmarks.take();
                    crate::remix::service::entry_analysed(
                        conn,
                        &e.id,
                        landmarks.as_ref().map(|l| l.data.as_str()),
                    )?;
                    duplicates::index(conn, &e.id, &dup_keys)?;
                    e.flags = serde_json::to_string(&dup_flags)
                        .map_err(crate::error::AppError::internal)?;
                    e.fingerprint = fp.map(|f| f.data);
                    e.report = Some(
                        serde_json::to_string(&stored).map_err(crate::error::AppError::internal)?,
                    );
                    e.verdict = Some(
                        serde_json::to_string(&verdict)
                            .map_err(crate::error::AppError::internal)?,
                    );
                    e.analysis_error = None;
                    verdict_made = Some(verdict);
                }
                Err(err) => {
                    duplicates::unindex(conn, &e.id)?;
                    e.status = Status::Rejected.as_str().into();
                    let failure = AnalysisFailure {
                        code: err.code().into(),
                        en: err.message(Locale::En),
                        zh_cn: err.message(Locale::ZhCn),
                    };
                    e.analysis_error = Some(
                        serde_json::to_string(&failure)
                            .map_err(crate::error::AppError::internal)?,
                    );
                    e.report = None;
                    e.verdict = None;
                }
            }
            e.analysed_at = Some(now);
            e.updated_at = now;
            store::save_entry(conn, &e)?;
            // Tell the musician.
            if let Some(user) = crate::accounts::service::find_user(conn, &e.musician_id)? {
                let l = user.language();
                let status_key = format!("entry.status_{}", e.status);
                let mut paragraphs = vec![l.tf(
                    "mail.analysis_done_body",
                    &[("title", &e.title), ("status", l.t(&status_key))],
                )];
                match (&verdict_made, &result) {
                    (Some(verdict), _) => {
                        for r in verdict.rules.iter().filter(|r| r.outcome != Outcome::Pass) {
                            paragraphs.push(format!("• {}", r.message(l)));
                        }
                        if verdict.outcome == Outcome::Pass {
                            paragraphs.push(l.t("mail.analysis_all_good").to_string());
                        }
                    }
                    (None, Err(err)) => paragraphs.push(format!("• {}", err.message(l))),
                    (None, Ok(_)) => {}
                }
                let m = MailContent {
                    locale: l,
                    to: user.email.clone(),
                    subject: l.tf("mail.analysis_done_subject", &[("title", &e.title)]),
                    paragraphs,
                    action: Some(MailAction {
                        label: l.t("mail.analysis_done_button").to_string(),
                        url: format!("{}/entries/{}", st.settings.base_url(), e.id),
                    }),
                }
                .render()?;
                mail::enqueue(conn, &m, now)?;
            }
            Ok(Some(e.status))
        })
        .await
        .map_err(retry("saving the report"))?;
    tracing::info!(entry = %upload.entry_id, status = ?done, "analysis finished");
    Ok(())
}

enum Cost {
    Run,
    /// Expensive: run it in the heavy lane.
    Heavy,
    /// Refused from the header alone.
    Refuse(AnalysisError),
}

/// What a file's header says its analysis will cost, against the configured bounds and
/// the competition's longest accepted recording.
fn cost_decision(
    state: &AppState,
    job: &JobRow,
    probe: &crate::audio::Probe,
    max_secs: Option<f64>,
) -> Cost {
    let a = &state.settings.analysis;
    if probe.samples() > a.max_samples {
        return Cost::Refuse(AnalysisError::TooCostly {
            minutes: probe.secs() / 60.0,
            rate: probe.sample_rate,
            channels: probe.channels,
        });
    }
    if let Some(max) = max_secs
        && probe.declared
        && probe.secs() > max + 1.0
    {
        return Cost::Refuse(AnalysisError::LongerThanAllowed {
            minutes: probe.secs() / 60.0,
            limit_minutes: max / 60.0,
        });
    }
    if probe.samples() > a.heavy_samples && job.lane.as_deref() != Some(HEAVY_LANE) {
        return Cost::Heavy;
    }
    Cost::Run
}

/// Queue the same analysis again in the heavy lane (this job then ends).
async fn requeue_heavy(state: &AppState, job: &JobRow) -> Result<(), JobError> {
    let payload: serde_json::Value = serde_json::from_str(&job.payload)
        .map_err(|e| JobError::Fatal(format!("bad analysis payload: {e}")))?;
    let key = job.concurrency_key.clone();
    state
        .db
        .transaction(move |conn| {
            let id = crate::jobs::store::enqueue(
                conn,
                super::upload::ANALYSE_JOB,
                &payload,
                now(),
                None,
            )?;
            crate::jobs::store::set_lane(conn, id, Some(HEAVY_LANE), key.as_deref())
        })
        .await
        .map_err(retry("queueing the analysis"))
}

/// Resolves once the entry no longer has this audio in force (replaced, withdrawn or
/// deleted): checked every second, from any process.
async fn superseded(state: &AppState, entry_id: &str, upload_id: &str) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let (eid, uid) = (entry_id.to_string(), upload_id.to_string());
        let current = state
            .db
            .run(move |conn| {
                Ok(store::find_entry(conn, &eid)?.is_some_and(|e| {
                    e.upload_id.as_deref() == Some(uid.as_str()) && e.withdrawn_at.is_none()
                }))
            })
            .await;
        if let Ok(false) = current {
            return;
        }
    }
}

/// The duplicate flags of a freshly analysed recording and its index keys: candidates
/// from the index on a read connection, compared on the blocking pool, no write lock
/// held (see [`super::duplicates`]).
async fn find_duplicates(
    state: &AppState,
    entry_id: &str,
    fp: Option<&Fingerprint>,
    min_secs: f64,
) -> Result<(Vec<Flag>, Vec<i32>), JobError> {
    let Some(fp) = fp else {
        return Ok((Vec::new(), Vec::new()));
    };
    let Some(raw) = fingerprint::decode(fp) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let me = duplicates::prepare_items(&raw, fp.item_secs);
    if !duplicates::comparable(&me, min_secs) {
        // Silence, or too little music to ever match: nothing to index or compare.
        return Ok((Vec::new(), Vec::new()));
    }
    let keys = duplicates::keys(&raw);
    let (id, k) = (entry_id.to_string(), keys.clone());
    let candidates = state
        .db
        .run(move |conn| duplicates::candidates(conn, &id, &k))
        .await
        .map_err(retry("looking for duplicates"))?;
    let flags = tokio::task::spawn_blocking(move || duplicates::flags(&me, &candidates, min_secs))
        .await
        .map_err(|e| JobError::Retry(format!("comparing fingerprints: {e}")))?;
    Ok((flags, keys))
}
