//! The S3 store (rust-s3). Puts stream through a multipart upload with at most two
//! chunks in flight, so memory stays bounded whatever the object's size; gets stream
//! the response body. S3 errors arrive as raw XML: `<Code>` is parsed once, here.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use s3::command::Command;
use s3::creds::Credentials;
use s3::error::S3Error;
use s3::request::Request;
use s3::request::tokio_backend::ReqwestRequest;
use s3::{Bucket, BucketConfiguration, Region};
use secrecy::ExposeSecret;

use super::{ByteRange, GetObject, Hashing, ObjectMeta, PutResult, StorageError};
use crate::config::S3Settings;

#[derive(Clone)]
pub struct S3Store {
    bucket: Box<Bucket>,
    /// Prepended to every key (with a `/`), so deployments can share a bucket.
    prefix: String,
    /// Streamed uploads in progress (each buffers its parts): bounded, so memory is.
    uploads: std::sync::Arc<tokio::sync::Semaphore>,
    upload_wait: std::time::Duration,
}

/// The `<Code>` of an S3 XML error body, if any.
pub fn s3_error_code(body: &str) -> Option<&str> {
    let start = body.find("<Code>")? + "<Code>".len();
    let end = body[start..].find("</Code>")? + start;
    Some(body[start..end].trim())
}

fn map_err(e: S3Error) -> StorageError {
    match e {
        S3Error::HttpFailWithBody(status, body) => {
            let code = s3_error_code(&body).unwrap_or("").to_string();
            match (status, code.as_str()) {
                (404, _) | (_, "NoSuchKey") => StorageError::NotFound,
                (416, _) | (_, "InvalidRange") => StorageError::InvalidRange,
                (s, _) if s >= 500 || s == 429 => {
                    StorageError::Unavailable(format!("S3 answered {s} {code}"))
                }
                (s, _) => StorageError::Backend(format!("S3 answered {s} {code}")),
            }
        }
        S3Error::Reqwest(e) => StorageError::Unavailable(format!("S3 unreachable: {e}")),
        S3Error::Io(e) => StorageError::Source(e.to_string()),
        other => StorageError::Backend(other.to_string()),
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_rfc2822(s))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Whether the bucket exists, by listing at most one key (ListBuckets needs more
/// permissions, and some servers answer it in a shape rust-s3 cannot read).
async fn bucket_exists(bucket: &Bucket) -> Result<bool, StorageError> {
    match bucket
        .list_page(String::new(), None, None, None, Some(1))
        .await
    {
        Ok(_) => Ok(true),
        Err(S3Error::HttpFailWithBody(404, _)) => Ok(false),
        Err(S3Error::HttpFailWithBody(_, body)) if s3_error_code(&body) == Some("NoSuchBucket") => {
            Ok(false)
        }
        Err(e) => Err(map_err(e)),
    }
}

impl S3Store {
    pub async fn new(settings: &S3Settings) -> Result<S3Store, StorageError> {
        let region = if settings.endpoint.is_empty() {
            settings
                .region
                .parse::<Region>()
                .map_err(|e| StorageError::Backend(format!("storage.s3.region: {e}")))?
        } else {
            Region::Custom {
                region: settings.region.clone(),
                endpoint: settings.endpoint.trim_end_matches('/').to_string(),
            }
        };
        let ak = settings.access_key.expose_secret();
        let sk = settings.secret_key.expose_secret();
        let credentials = if ak.is_empty() {
            Credentials::default()
                .map_err(|e| StorageError::Backend(format!("S3 credentials: {e}")))?
        } else {
            Credentials::new(Some(ak), Some(sk), None, None, None)
                .map_err(|e| StorageError::Backend(format!("S3 credentials: {e}")))?
        };
        let mut bucket =
            Bucket::new(&settings.bucket, region.clone(), credentials.clone()).map_err(map_err)?;
        if settings.path_style {
            bucket = bucket.with_path_style();
        }
        bucket = bucket
            .with_request_timeout(Duration::from_secs(settings.request_timeout_secs.max(1)))
            .map_err(map_err)?;
        if settings.create_bucket && !bucket_exists(&bucket).await? {
            tracing::info!(bucket = %settings.bucket, "creating bucket");
            let created = if settings.path_style {
                Bucket::create_with_path_style(
                    &settings.bucket,
                    region,
                    credentials,
                    BucketConfiguration::private(),
                )
                .await
            } else {
                Bucket::create(
                    &settings.bucket,
                    region,
                    credentials,
                    BucketConfiguration::private(),
                )
                .await
            };
            match created {
                Ok(_) => {}
                Err(S3Error::HttpFailWithBody(_, body))
                    if matches!(
                        s3_error_code(&body),
                        Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
                    ) => {}
                Err(e) => return Err(map_err(e)),
            }
        }
        let prefix = settings.prefix.trim_matches('/').to_string();
        Ok(S3Store {
            bucket,
            prefix,
            uploads: std::sync::Arc::new(tokio::sync::Semaphore::new(
                settings.max_concurrent_uploads.max(1),
            )),
            upload_wait: std::time::Duration::from_secs(settings.request_timeout_secs.max(1)),
        })
    }

    fn full_key(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }

    fn strip_prefix<'a>(&self, full: &'a str) -> &'a str {
        if self.prefix.is_empty() {
            full
        } else {
            full.strip_prefix(&self.prefix)
                .and_then(|k| k.strip_prefix('/'))
                .unwrap_or(full)
        }
    }

    pub(super) async fn put_stream(
        &self,
        key: &str,
        body: Hashing,
        content_type: &str,
    ) -> Result<PutResult, StorageError> {
        // The body is not read until a turn comes, so a waiting upload holds no memory.
        let _turn = tokio::time::timeout(self.upload_wait, self.uploads.acquire())
            .await
            .map_err(|_| StorageError::Unavailable("too many uploads at once".into()))?
            .map_err(|_| StorageError::Unavailable("the store is closing".into()))?;
        let (mut reader, outcome) = body.into_reader();
        let path = self.full_key(key);
        let res = self
            .bucket
            .put_object_stream_builder(&path)
            .with_content_type(content_type)
            .with_max_concurrent_chunks(1)
            .execute_stream(&mut reader)
            .await;
        let outcome = outcome.lock().ok().and_then(|mut o| o.take());
        match (res, outcome) {
            (Ok(_), Some(Ok(result))) => Ok(result),
            // The body failed (too large, client gone): that error wins, and nothing may remain.
            (_, Some(Err(e))) => {
                let _ = self.bucket.delete_object(&path).await;
                Err(e)
            }
            (Err(e), _) => Err(map_err(e)),
            (Ok(_), None) => Err(StorageError::Backend("upload ended before the body".into())),
        }
    }

    pub(super) async fn head(&self, key: &str) -> Result<ObjectMeta, StorageError> {
        let (head, _) = self
            .bucket
            .head_object(self.full_key(key))
            .await
            .map_err(map_err)?;
        Ok(ObjectMeta {
            key: key.to_string(),
            size: head.content_length.unwrap_or(0).max(0) as u64,
            last_modified: head.last_modified.as_deref().and_then(parse_time),
        })
    }

    pub(super) async fn get(
        &self,
        key: &str,
        range: Option<ByteRange>,
    ) -> Result<GetObject, StorageError> {
        let meta = self.head(key).await?;
        let path = self.full_key(key);
        let (command, resolved) = match range {
            None => (Command::GetObject, None),
            Some(r) => {
                let (start, end) = r.resolve(meta.size)?;
                (
                    Command::GetObjectRange {
                        start,
                        end: Some(end),
                    },
                    Some((start, end)),
                )
            }
        };
        let request = ReqwestRequest::new(&self.bucket, &path, command)
            .await
            .map_err(map_err)?;
        let stream = request.response_data_to_stream().await.map_err(map_err)?;
        let body = stream.bytes.map(|r| r.map_err(map_err));
        Ok(GetObject {
            total_size: meta.size,
            range: resolved,
            body: Box::pin(body),
        })
    }

    pub(super) async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.bucket.delete_object(self.full_key(key)).await {
            Ok(_) => Ok(()),
            Err(e) => match map_err(e) {
                StorageError::NotFound => Ok(()),
                other => Err(other),
            },
        }
    }

    pub(super) async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StorageError> {
        let full = if self.prefix.is_empty() {
            prefix.to_string()
        } else {
            format!("{}/{prefix}", self.prefix)
        };
        let pages = self.bucket.list(full, None).await.map_err(map_err)?;
        Ok(pages
            .into_iter()
            .flat_map(|p| p.contents)
            .map(|o| ObjectMeta {
                key: self.strip_prefix(&o.key).to_string(),
                size: o.size,
                last_modified: parse_time(&o.last_modified),
            })
            .collect())
    }

    /// A URL a client may PUT the object's bytes to, valid for `expiry_secs`.
    pub(super) async fn presign_put(
        &self,
        key: &str,
        expiry_secs: u32,
    ) -> Result<String, StorageError> {
        self.bucket
            .presign_put(self.full_key(key), expiry_secs, None, None)
            .await
            .map_err(map_err)
    }

    pub(super) async fn check(&self) -> Result<(), StorageError> {
        // A one-key listing proves the endpoint, the credentials and the bucket.
        let probe = if self.prefix.is_empty() {
            "readyz-probe".to_string()
        } else {
            format!("{}/readyz-probe", self.prefix)
        };
        self.bucket
            .list_page(probe, None, None, None, Some(1))
            .await
            .map(|_| ())
            .map_err(map_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_read_from_xml() {
        let body =
            "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>x</Message></Error>";
        assert_eq!(s3_error_code(body), Some("NoSuchKey"));
        assert_eq!(s3_error_code("garbage"), None);
        assert!(matches!(
            map_err(S3Error::HttpFailWithBody(404, String::new())),
            StorageError::NotFound
        ));
        assert!(matches!(
            map_err(S3Error::HttpFailWithBody(
                503,
                "<Error><Code>SlowDown</Code></Error>".into()
            )),
            StorageError::Unavailable(_)
        ));
        assert!(matches!(
            map_err(S3Error::HttpFailWithBody(403, "<Code>AccessDenied</Code>".into())),
            StorageError::Backend(m) if m.contains("AccessDenied")
        ));
    }
}
