//! Object storage: one abstraction with streaming put and get (ranged), head, delete
//! and list by prefix. Backends: a local directory (the embedded default) and any
//! S3-compatible server. Bodies are streams end to end: a large object is never held
//! whole in memory.

mod local;
mod s3;

use std::pin::Pin;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};

use crate::config::{StorageBackend, StorageSettings};

pub use local::LocalStore;
pub use s3::S3Store;

/// A stream of body chunks.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, StorageError>> + Send>>;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object not found")]
    NotFound,
    #[error("object is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("invalid object key")]
    InvalidKey,
    #[error("requested range is outside the object")]
    InvalidRange,
    /// The store cannot be reached or refused service; worth retrying later.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Reading the body that was being stored failed (the client went away).
    #[error("reading the upload failed: {0}")]
    Source(String),
    #[error("storage error: {0}")]
    Backend(String),
}

/// What `head` and `list` tell about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    pub last_modified: Option<DateTime<Utc>>,
}

/// What a completed `put` stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutResult {
    pub size: u64,
    /// Lower-case hex SHA-256 of the stored bytes.
    pub sha256: String,
}

/// An inclusive byte range, as in HTTP `Range: bytes=start-end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    /// Inclusive end; `None` means to the end of the object.
    pub end: Option<u64>,
}

impl ByteRange {
    /// Clamp to an object of `size` bytes: `(start, end_inclusive)`.
    pub fn resolve(&self, size: u64) -> Result<(u64, u64), StorageError> {
        if size == 0 || self.start >= size {
            return Err(StorageError::InvalidRange);
        }
        let end = self.end.map_or(size - 1, |e| e.min(size - 1));
        if end < self.start {
            return Err(StorageError::InvalidRange);
        }
        Ok((self.start, end))
    }
}

/// A body being read: the object's total size, the range served, and the bytes.
pub struct GetObject {
    pub total_size: u64,
    /// `(start, end_inclusive)` of the bytes in `body`; the whole object without a range.
    pub range: Option<(u64, u64)>,
    pub body: ByteStream,
}

impl GetObject {
    pub fn content_length(&self) -> u64 {
        match self.range {
            Some((s, e)) => e - s + 1,
            None => self.total_size,
        }
    }
}

#[derive(Clone)]
pub enum ObjectStore {
    Local(LocalStore),
    S3(S3Store),
}

impl ObjectStore {
    /// Build the configured backend. S3 bucket creation (if asked for) happens here.
    pub async fn from_settings(settings: &StorageSettings) -> Result<ObjectStore, StorageError> {
        Ok(match settings.backend {
            StorageBackend::Local => ObjectStore::Local(LocalStore::new(&settings.local_root)?),
            StorageBackend::S3 => ObjectStore::S3(S3Store::new(&settings.s3).await?),
        })
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            ObjectStore::Local(_) => "local",
            ObjectStore::S3(_) => "s3",
        }
    }

    /// Store `body` under `key`, streaming. Fails with `TooLarge` as soon as more than
    /// `max_size` bytes arrive, leaving nothing behind.
    pub async fn put_stream(
        &self,
        key: &str,
        body: ByteStream,
        content_type: &str,
        max_size: Option<u64>,
    ) -> Result<PutResult, StorageError> {
        validate_key(key)?;
        let hashed = Hashing::new(body, max_size);
        match self {
            ObjectStore::Local(s) => s.put_stream(key, hashed).await,
            ObjectStore::S3(s) => s.put_stream(key, hashed, content_type).await,
        }
    }

    /// Convenience for small bodies.
    pub async fn put_bytes(
        &self,
        key: &str,
        bytes: Bytes,
        content_type: &str,
    ) -> Result<PutResult, StorageError> {
        let body: ByteStream = Box::pin(futures_util::stream::once(async move { Ok(bytes) }));
        self.put_stream(key, body, content_type, None).await
    }

    /// Read an object, or part of it. A missing key is `NotFound`.
    pub async fn get(
        &self,
        key: &str,
        range: Option<ByteRange>,
    ) -> Result<GetObject, StorageError> {
        validate_key(key)?;
        match self {
            ObjectStore::Local(s) => s.get(key, range).await,
            ObjectStore::S3(s) => s.get(key, range).await,
        }
    }

    /// A small object whole (an image), or `TooLarge` once more than `max` bytes arrive.
    pub async fn read_small(&self, key: &str, max: usize) -> Result<Vec<u8>, StorageError> {
        let mut obj = self.get(key, None).await?;
        let mut bytes = Vec::with_capacity((obj.total_size as usize).min(max));
        while let Some(chunk) = obj.body.next().await {
            bytes.extend_from_slice(&chunk?);
            if bytes.len() > max {
                return Err(StorageError::TooLarge { limit: max as u64 });
            }
        }
        Ok(bytes)
    }

    /// Size and SHA-256 of a stored object, read back (for objects a client put directly).
    pub async fn digest(&self, key: &str) -> Result<PutResult, StorageError> {
        let obj = self.get(key, None).await?;
        let mut hashed = Hashing::new(obj.body, None);
        while let Some(chunk) = hashed.next_chunk().await {
            chunk?;
        }
        hashed.finish().await
    }

    pub async fn head(&self, key: &str) -> Result<ObjectMeta, StorageError> {
        validate_key(key)?;
        match self {
            ObjectStore::Local(s) => s.head(key).await,
            ObjectStore::S3(s) => s.head(key).await,
        }
    }

    /// Delete an object. Deleting a missing key succeeds.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        validate_key(key)?;
        match self {
            ObjectStore::Local(s) => s.delete(key).await,
            ObjectStore::S3(s) => s.delete(key).await,
        }
    }

    /// Every object whose key starts with `prefix`, sorted by key.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StorageError> {
        if !prefix.is_empty() {
            validate_prefix(prefix)?;
        }
        let mut out = match self {
            ObjectStore::Local(s) => s.list(prefix).await?,
            ObjectStore::S3(s) => s.list(prefix).await?,
        };
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// A presigned URL to PUT `key` directly to the store (S3 only; `None` for local).
    pub async fn presign_put(
        &self,
        key: &str,
        expiry_secs: u32,
    ) -> Result<Option<String>, StorageError> {
        validate_key(key)?;
        match self {
            ObjectStore::Local(_) => Ok(None),
            ObjectStore::S3(s) => s.presign_put(key, expiry_secs).await.map(Some),
        }
    }

    /// A cheap check that the store answers, for `/readyz`.
    pub async fn check(&self) -> Result<(), StorageError> {
        match self {
            ObjectStore::Local(s) => s.check().await,
            ObjectStore::S3(s) => s.check().await,
        }
    }
}

/// Keys are ours (random, no user input), so the rule can be strict: ASCII letters,
/// digits and `-_./`, no empty, `.` or `..` segment, at most 512 bytes.
pub fn validate_key(key: &str) -> Result<(), StorageError> {
    validate_prefix(key)?;
    if key.ends_with('/') {
        return Err(StorageError::InvalidKey);
    }
    Ok(())
}

fn validate_prefix(key: &str) -> Result<(), StorageError> {
    let ok_chars = key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
    let segments_ok = key
        .trim_end_matches('/')
        .split('/')
        .all(|s| !s.is_empty() && s != "." && s != "..");
    if key.is_empty() || key.len() > 512 || !ok_chars || !segments_ok || key.starts_with('.') {
        return Err(StorageError::InvalidKey);
    }
    Ok(())
}

/// Where a pulled body reports how it ended: the result, or the error that stopped it.
pub(crate) type PutOutcome =
    std::sync::Arc<std::sync::Mutex<Option<Result<PutResult, StorageError>>>>;

/// Wraps a body: counts bytes, hashes them, and stops with `TooLarge` past the limit.
///
/// The hash runs on a thread of its own, fed the chunks as they arrive (a `Bytes` clone
/// shares the buffer), so receiving, hashing and writing overlap: an upload takes about
/// the time of the slowest of the three, not their sum. SHA-256 is the most expensive
/// step of a local upload (ring's assembly, SHA extensions where the CPU has them).
pub(crate) struct Hashing {
    inner: ByteStream,
    hasher: HashThread,
    size: u64,
    max_size: Option<u64>,
}

/// Chunks waiting for the hashing thread (bounds the memory an upload holds).
const HASH_QUEUE: usize = 16;

struct HashThread {
    tx: tokio::sync::mpsc::Sender<Bytes>,
    done: tokio::task::JoinHandle<ring::digest::Digest>,
}

impl HashThread {
    fn start() -> HashThread {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(HASH_QUEUE);
        let done = tokio::task::spawn_blocking(move || {
            let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
            while let Some(chunk) = rx.blocking_recv() {
                ctx.update(&chunk);
            }
            ctx.finish()
        });
        HashThread { tx, done }
    }
}

impl Hashing {
    fn new(inner: ByteStream, max_size: Option<u64>) -> Hashing {
        Hashing {
            inner,
            hasher: HashThread::start(),
            size: 0,
            max_size,
        }
    }

    /// The next chunk, already counted and handed to the hashing thread.
    pub(crate) async fn next_chunk(&mut self) -> Option<Result<Bytes, StorageError>> {
        let chunk = match self.inner.next().await? {
            Ok(c) => c,
            Err(e) => return Some(Err(e)),
        };
        self.size += chunk.len() as u64;
        if let Some(limit) = self.max_size
            && self.size > limit
        {
            return Some(Err(StorageError::TooLarge { limit }));
        }
        if self.hasher.tx.send(chunk.clone()).await.is_err() {
            return Some(Err(StorageError::Backend(
                "the hashing thread stopped".into(),
            )));
        }
        Some(Ok(chunk))
    }

    /// Size and hash, once every chunk is hashed.
    pub(crate) async fn finish(self) -> Result<PutResult, StorageError> {
        let HashThread { tx, done } = self.hasher;
        drop(tx);
        let digest = done
            .await
            .map_err(|e| StorageError::Backend(format!("hashing: {e}")))?;
        Ok(PutResult {
            size: self.size,
            sha256: hex::encode(digest.as_ref()),
        })
    }

    /// This body as an `AsyncRead`, for clients that pull (rust-s3). The counters are
    /// shared back through the returned handle.
    pub(crate) fn into_reader(self) -> (impl tokio::io::AsyncRead + Unpin + Send, PutOutcome) {
        let outcome = std::sync::Arc::new(std::sync::Mutex::new(None));
        let out = outcome.clone();
        let stream = futures_util::stream::unfold(Some(self), move |state| {
            let out = out.clone();
            async move {
                let mut h = state?;
                match h.next_chunk().await {
                    Some(Ok(chunk)) => Some((Ok::<Bytes, std::io::Error>(chunk), Some(h))),
                    Some(Err(e)) => {
                        let io = std::io::Error::other(e.to_string());
                        if let Ok(mut slot) = out.lock() {
                            *slot = Some(Err(e));
                        }
                        Some((Err(io), None))
                    }
                    None => {
                        let r = h.finish().await;
                        if let Ok(mut slot) = out.lock() {
                            *slot = Some(r);
                        }
                        None
                    }
                }
            }
        });
        (tokio_util::io::StreamReader::new(Box::pin(stream)), outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_strict() {
        for good in ["a", "uploads/2026/abc.wav", "x-y_z.1/2"] {
            assert!(validate_key(good).is_ok(), "{good}");
        }
        for bad in [
            "", "/abs", "a/../b", "a//b", "a/", ".hidden", "a b", "ключ", "a\\b", "./a",
        ] {
            assert!(validate_key(bad).is_err(), "{bad:?}");
        }
        assert!(validate_key(&"a".repeat(513)).is_err());
    }

    #[test]
    fn ranges_resolve_inside_the_object() {
        let r = ByteRange {
            start: 10,
            end: Some(19),
        };
        assert_eq!(r.resolve(100).unwrap(), (10, 19));
        assert_eq!(
            ByteRange {
                start: 90,
                end: None
            }
            .resolve(100)
            .unwrap(),
            (90, 99)
        );
        assert_eq!(
            ByteRange {
                start: 90,
                end: Some(500)
            }
            .resolve(100)
            .unwrap(),
            (90, 99)
        );
        assert!(
            ByteRange {
                start: 100,
                end: None
            }
            .resolve(100)
            .is_err()
        );
        assert!(
            ByteRange {
                start: 5,
                end: Some(4)
            }
            .resolve(100)
            .is_err()
        );
        assert!(
            ByteRange {
                start: 0,
                end: None
            }
            .resolve(0)
            .is_err()
        );
    }
}
