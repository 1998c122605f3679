//! Audio uploads. Streamed to the object store under a random key with the size cap
//! enforced as bytes arrive; the first bytes must look like audio; the SHA-256 of the
//! stored bytes refuses an identical file at once. The upload row is `pending` while
//! bytes flow (the sweeper removes it if the server dies); the entry is switched to
//! the new audio and its analysis enqueued in one transaction. A retried request with
//! the same `Idempotency-Key` gets the first answer again.

use chrono::Duration;
use futures_util::StreamExt;

use super::model::{EntryRow, PENDING, Review, STORED, Status, UploadRow};
use super::service::{Viewer, check_account, now, own_editable, view};
use super::store;
use crate::accounts::model::AuthUser;
use crate::db::idempotency::{self, Begin};
use crate::error::AppError;
use crate::http::body::peek;
use crate::i18n::Locale;
use crate::media::{audio_mime as mime_of, check_audio_head as check_head, sanitise_file_name};
use crate::state::AppState;
use crate::storage::{ByteRange, ByteStream, PutResult, StorageError};

pub const ANALYSE_JOB: &str = "entry.analyse";

/// A JSON answer: status and body (stored for idempotent replays).
pub type Answer = (u16, String);

/// Run `work` under an idempotency key: a replay answers from the record, a failure
/// forgets the key so the client may retry.
async fn with_key<F, Fut>(
    state: &AppState,
    who: &AuthUser,
    key: &str,
    fingerprint: String,
    work: F,
) -> Result<Answer, AppError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Answer, AppError>>,
{
    let (uid, k, ttl) = (
        who.user.id.clone(),
        key.to_string(),
        state.settings.uploads.idempotency_ttl_secs as i64,
    );
    let begun = state
        .db
        .run(move |conn| idempotency::begin(conn, &uid, &k, &fingerprint, now(), ttl))
        .await?;
    match begun {
        Begin::Replay { status, body } => return Ok((status, body)),
        Begin::InProgress => {
            return Err(AppError::Conflict {
                code: "idempotency.in_progress",
            });
        }
        Begin::Mismatch => return Err(AppError::invalid("idempotency.key_reused")),
        Begin::Started => {}
    }
    let result = work().await;
    if result.is_err() {
        let (uid, k) = (who.user.id.clone(), key.to_string());
        let _ = state
            .db
            .run(move |conn| idempotency::abandon(conn, &uid, &k))
            .await;
    }
    result
}

/// What the client said about the body.
pub struct UploadMeta {
    pub entry_id: String,
    pub file_name: String,
    pub content_length: Option<u64>,
    pub idempotency_key: Option<String>,
}

/// Stream `body` as the new audio of an entry.
pub async fn upload(
    state: &AppState,
    who: &AuthUser,
    meta: UploadMeta,
    body: ByteStream,
    locale: Locale,
) -> Result<Answer, AppError> {
    check_account(who)?;
    let key = idempotency::parse_key(meta.idempotency_key.as_deref())?;
    let max = state.settings.uploads.max_bytes;
    if meta.content_length.is_some_and(|n| n > max) {
        return Err(AppError::PayloadTooLarge { limit: max });
    }
    let fingerprint = format!(
        "PUT /entries/{}/audio {:?}",
        meta.entry_id, meta.content_length
    );
    with_key(state, who, &key, fingerprint, || async {
        let (head, rest) = peek(body, 64).await?;
        check_head(&head)?;
        let name = sanitise_file_name(&meta.file_name);
        let upload = begin_upload(state, who, &meta.entry_id, &name, mime_of(&head)).await?;
        let first: ByteStream = Box::pin(futures_util::stream::once(async move { Ok(head) }));
        let stream: ByteStream = Box::pin(first.chain(rest));
        let put = state
            .storage
            .put_stream(
                &upload.object_key,
                stream,
                "application/octet-stream",
                Some(max),
            )
            .await;
        match put {
            Ok(stored) => finalize(state, who, upload, stored, &key, locale).await,
            Err(e) => {
                discard(state, &upload).await;
                Err(match e {
                    e @ StorageError::Source(_) => crate::http::body::interrupted(&e),
                    other => other.into(),
                })
            }
        }
    })
    .await
}

/// Record a pending upload for an entry the musician may still change.
async fn begin_upload(
    state: &AppState,
    who: &AuthUser,
    entry_id: &str,
    name: &str,
    content_type: &'static str,
) -> Result<UploadRow, AppError> {
    let (who, id, name) = (who.clone(), entry_id.to_string(), name.to_string());
    let consent_age = state.settings.auth.age_of_digital_consent;
    state
        .db
        .transaction(move |conn| {
            let (mut e, c) = own_editable(conn, &who, &id)?;
            let now = now();
            // A guardian who withdrew consent stops new audio too.
            crate::accounts::domain::consent_check(
                &who.user,
                c.consent_age_or(consent_age),
                now.date(),
            )?;
            let row = UploadRow {
                id: uuid::Uuid::now_v7().simple().to_string(),
                entry_id: e.id.clone(),
                // 128 random bits, nothing from the user.
                object_key: format!("entries/{}", uuid::Uuid::new_v4().simple()),
                state: PENDING.into(),
                size_bytes: None,
                sha256: None,
                original_name: name,
                content_type: content_type.into(),
                created_at: now,
                stored_at: None,
            };
            store::insert_upload(conn, &row)?;
            if e.upload_id.is_none() {
                e.status = Status::Uploading.as_str().into();
                e.updated_at = now;
                store::save_entry(conn, &e)?;
            }
            Ok(row)
        })
        .await
}

/// Remove an upload that will not be used: its object and its row; an entry left
/// "uploading" with nothing else arriving goes back to draft.
pub async fn discard(state: &AppState, upload: &UploadRow) {
    let _ = state.storage.delete(&upload.object_key).await;
    let u = upload.clone();
    let _ = state
        .db
        .transaction(move |conn| {
            store::delete_upload(conn, &u.id)?;
            if let Some(mut e) = store::find_entry(conn, &u.entry_id)?
                && e.status == Status::Uploading.as_str()
                && e.upload_id.is_none()
                && !store::other_pending(conn, &e.id, &u.id)?
            {
                e.status = Status::Draft.as_str().into();
                store::save_entry(conn, &e)?;
            }
            Ok(())
        })
        .await;
}

enum Finalized {
    Stored {
        answer: Answer,
        old_key: Option<String>,
    },
    Duplicate,
    Unchanged(Answer),
}

/// The bytes are stored: refuse an identical file, else switch the entry to them and
/// enqueue the analysis, all in one transaction with the idempotent answer.
async fn finalize(
    state: &AppState,
    who: &AuthUser,
    upload: UploadRow,
    stored: PutResult,
    idem_key: &str,
    locale: Locale,
) -> Result<Answer, AppError> {
    let (u, uid, k) = (upload.clone(), who.user.id.clone(), idem_key.to_string());
    let result = state
        .db
        .transaction(move |conn| {
            let now = now();
            let mut e: EntryRow =
                store::find_entry(conn, &u.entry_id)?.ok_or(AppError::NotFound)?;
            if store::same_bytes_elsewhere(conn, &stored.sha256, &e.id)?.is_some() {
                return Ok(Finalized::Duplicate);
            }
            let current = match &e.upload_id {
                Some(id) => store::find_upload(conn, id)?,
                None => None,
            };
            if current.as_ref().and_then(|c| c.sha256.as_deref()) == Some(stored.sha256.as_str()) {
                let body = json(&view(conn, &e, Viewer::Musician, locale)?)?;
                idempotency::finish(conn, &uid, &k, 200, &body)?;
                return Ok(Finalized::Unchanged((200, body)));
            }
            let mut row = store::find_upload(conn, &u.id)?.ok_or(AppError::NotFound)?;
            row.state = STORED.into();
            row.size_bytes = Some(stored.size as i64);
            row.sha256 = Some(stored.sha256.clone());
            row.stored_at = Some(now);
            row.content_type = u.content_type.clone();
            store::save_upload(conn, &row)?;
            let old_key = match current {
                Some(c) => {
                    store::delete_upload(conn, &c.id)?;
                    Some(c.object_key)
                }
                None => None,
            };
            e.upload_id = Some(row.id.clone());
            e.status = Status::Uploaded.as_str().into();
            e.report = None;
            e.verdict = None;
            e.analysis_error = None;
            e.fingerprint = None;
            super::duplicates::unindex(conn, &e.id)?;
            e.flags = "[]".into();
            e.analysed_at = None;
            if e.review == Review::ChangesRequested.as_str()
                || e.review == Review::Accepted.as_str()
            {
                // New audio is looked at afresh.
                e.review = Review::Pending.as_str().into();
            }
            e.updated_at = now;
            store::save_entry(conn, &e)?;
            let job = crate::jobs::enqueue(
                conn,
                &super::analysis::Analyse {
                    entry_id: e.id.clone(),
                    upload_id: row.id.clone(),
                },
                now,
                None,
            )?;
            // One running analysis per musician: a burst of uploads from one account
            // cannot take every worker.
            crate::jobs::store::set_lane(
                conn,
                job,
                None,
                Some(&format!("analysis:{}", e.musician_id)),
            )?;
            let body = json(&view(conn, &e, Viewer::Musician, locale)?)?;
            idempotency::finish(conn, &uid, &k, 201, &body)?;
            Ok(Finalized::Stored {
                answer: (201, body),
                old_key,
            })
        })
        .await;
    match result {
        Ok(Finalized::Stored { answer, old_key }) => {
            if let Some(k) = old_key {
                // If this fails the sweeper removes it later: no row refers to it.
                let _ = state.storage.delete(&k).await;
            }
            Ok(answer)
        }
        Ok(Finalized::Unchanged(answer)) => {
            discard(state, &upload).await;
            Ok(answer)
        }
        Ok(Finalized::Duplicate) => {
            discard(state, &upload).await;
            Err(AppError::Conflict {
                code: "entry.duplicate_file",
            })
        }
        Err(e) => {
            discard(state, &upload).await;
            Err(e)
        }
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, AppError> {
    serde_json::to_string(v).map_err(AppError::internal)
}

/// Offer a direct-to-S3 upload: a pending upload row and a presigned PUT URL.
pub async fn presign(
    state: &AppState,
    who: &AuthUser,
    entry_id: &str,
    file_name: &str,
    size: u64,
) -> Result<super::model::PresignedUpload, AppError> {
    check_account(who)?;
    let max = state.settings.uploads.max_bytes;
    if size > max {
        return Err(AppError::PayloadTooLarge { limit: max });
    }
    if state.storage.backend_name() != "s3" {
        return Err(AppError::Conflict {
            code: "entry.presign_unavailable",
        });
    }
    let upload = begin_upload(
        state,
        who,
        entry_id,
        &sanitise_file_name(file_name),
        "application/octet-stream",
    )
    .await?;
    let expiry = state.settings.uploads.presign_expiry_secs;
    match state.storage.presign_put(&upload.object_key, expiry).await {
        Ok(Some(url)) => Ok(super::model::PresignedUpload {
            upload_id: upload.id,
            url,
            method: "PUT".into(),
            expires_at: (now() + Duration::seconds(expiry as i64)).and_utc(),
            max_bytes: max,
        }),
        Ok(None) => {
            discard(state, &upload).await;
            Err(AppError::Conflict {
                code: "entry.presign_unavailable",
            })
        }
        Err(e) => {
            discard(state, &upload).await;
            Err(e.into())
        }
    }
}

/// The client has PUT the bytes to S3: run the same checks as a streamed upload.
pub async fn complete(
    state: &AppState,
    who: &AuthUser,
    entry_id: &str,
    upload_id: &str,
    idempotency_key: Option<&str>,
    locale: Locale,
) -> Result<Answer, AppError> {
    check_account(who)?;
    let key = idempotency::parse_key(idempotency_key)?;
    let fingerprint = format!("POST /entries/{entry_id}/audio/complete {upload_id}");
    with_key(state, who, &key, fingerprint, || async {
        let (w, eid, uid) = (who.clone(), entry_id.to_string(), upload_id.to_string());
        let upload = state
            .db
            .run(move |conn| {
                let (e, _) = own_editable(conn, &w, &eid)?;
                let u = store::find_upload(conn, &uid)?.ok_or(AppError::NotFound)?;
                if u.entry_id != e.id || u.state != PENDING {
                    return Err(AppError::NotFound);
                }
                Ok(u)
            })
            .await?;
        let max = state.settings.uploads.max_bytes;
        let meta = match state.storage.head(&upload.object_key).await {
            Ok(m) => m,
            Err(StorageError::NotFound) => return Err(AppError::invalid("entry.upload_missing")),
            Err(e) => return Err(e.into()),
        };
        if meta.size > max {
            discard(state, &upload).await;
            return Err(AppError::PayloadTooLarge { limit: max });
        }
        if meta.size == 0 {
            discard(state, &upload).await;
            return Err(AppError::invalid("entry.audio_empty"));
        }
        // Check the type from the first bytes, then hash what was stored (the client's
        // word is not taken).
        let first = state
            .storage
            .get(
                &upload.object_key,
                Some(ByteRange {
                    start: 0,
                    end: Some(63),
                }),
            )
            .await?;
        let (head, _) = peek(first.body, 64).await?;
        if let Err(e) = check_head(&head) {
            discard(state, &upload).await;
            return Err(e);
        }
        let stored = state.storage.digest(&upload.object_key).await?;
        let upload = UploadRow {
            content_type: mime_of(&head).into(),
            ..upload
        };
        finalize(state, who, upload, stored, &key, locale).await
    })
    .await
}
