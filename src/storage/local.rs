//! The local-directory store: objects are files under a root folder. A put writes a
//! temporary file, syncs it and renames it into place, so a reader never sees half an
//! object and a crash leaves only a temporary file (cleaned at the next start).

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use tokio::fs;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::{ByteRange, GetObject, Hashing, ObjectMeta, PutResult, StorageError};

const TMP_DIR: &str = ".tmp";
const CHUNK: usize = 64 * 1024;
/// Chunks waiting for the writer thread (bounds memory per upload).
const WRITE_QUEUE: usize = 16;
/// Ask the disk to flush after this many bytes, so the final sync is short.
const FLUSH_EVERY: u64 = 32 * 1024 * 1024;

/// Write the chunks to a new file at `path`, flushing along the way and syncing at the end.
fn write_file(
    path: &Path,
    mut rx: tokio::sync::mpsc::Receiver<bytes::Bytes>,
) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    let mut unsynced = 0u64;
    while let Some(chunk) = rx.blocking_recv() {
        file.write_all(&chunk)?;
        unsynced += chunk.len() as u64;
        if unsynced >= FLUSH_EVERY {
            file.sync_data()?;
            unsynced = 0;
        }
    }
    file.sync_all()
}

#[derive(Clone, Debug)]
pub struct LocalStore {
    root: PathBuf,
}

fn io_err(e: std::io::Error) -> StorageError {
    match e.kind() {
        std::io::ErrorKind::NotFound => StorageError::NotFound,
        _ => StorageError::Backend(e.to_string()),
    }
}

impl LocalStore {
    pub fn new(root: &Path) -> Result<LocalStore, StorageError> {
        std::fs::create_dir_all(root.join(TMP_DIR)).map_err(|e| {
            StorageError::Unavailable(format!("cannot create {}: {e}", root.display()))
        })?;
        let store = LocalStore {
            root: root.to_path_buf(),
        };
        store.remove_stale_temporaries(Duration::from_secs(24 * 3600));
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    fn remove_stale_temporaries(&self, older_than: Duration) {
        let Ok(entries) = std::fs::read_dir(self.root.join(TMP_DIR)) else {
            return;
        };
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > older_than);
            if old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    pub(super) async fn put_stream(
        &self,
        key: &str,
        mut body: Hashing,
    ) -> Result<PutResult, StorageError> {
        let tmp = self
            .root
            .join(TMP_DIR)
            .join(uuid::Uuid::new_v4().simple().to_string());
        // Chunks are received here, hashed on the hashing thread (`Hashing`) and written
        // by a writer thread that has the disk flush as it goes: receiving, hashing,
        // writing and flushing overlap, and the final sync has little left to do.
        let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(WRITE_QUEUE);
        let path = tmp.clone();
        let writer = tokio::task::spawn_blocking(move || write_file(&path, rx));
        let mut failed = None;
        while let Some(chunk) = body.next_chunk().await {
            match chunk {
                Ok(c) => {
                    if tx.send(c).await.is_err() {
                        break; // the writer stopped: its error is reported below
                    }
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        drop(tx);
        let written = writer
            .await
            .map_err(|e| StorageError::Backend(e.to_string()))
            .and_then(|r| r.map_err(io_err));
        let result = match (failed, written) {
            (Some(e), _) => Err(e),
            (None, Err(e)) => Err(e),
            (None, Ok(())) => {
                let dest = self.path(key);
                async {
                    if let Some(parent) = dest.parent() {
                        fs::create_dir_all(parent).await.map_err(io_err)?;
                    }
                    fs::rename(&tmp, &dest).await.map_err(io_err)
                }
                .await
            }
        };
        match result {
            Ok(()) => body.finish().await,
            Err(e) => {
                let _ = fs::remove_file(&tmp).await;
                Err(e)
            }
        }
    }

    pub(super) async fn get(
        &self,
        key: &str,
        range: Option<ByteRange>,
    ) -> Result<GetObject, StorageError> {
        let mut file = fs::File::open(self.path(key)).await.map_err(io_err)?;
        let meta = file.metadata().await.map_err(io_err)?;
        if !meta.is_file() {
            return Err(StorageError::NotFound);
        }
        let total = meta.len();
        match range {
            None => Ok(GetObject {
                total_size: total,
                range: None,
                body: Box::pin(map_io(ReaderStream::with_capacity(file, CHUNK))),
            }),
            Some(r) => {
                let (start, end) = r.resolve(total)?;
                file.seek(SeekFrom::Start(start)).await.map_err(io_err)?;
                let limited = file.take(end - start + 1);
                Ok(GetObject {
                    total_size: total,
                    range: Some((start, end)),
                    body: Box::pin(map_io(ReaderStream::with_capacity(limited, CHUNK))),
                })
            }
        }
    }

    pub(super) async fn head(&self, key: &str) -> Result<ObjectMeta, StorageError> {
        let meta = fs::metadata(self.path(key)).await.map_err(io_err)?;
        if !meta.is_file() {
            return Err(StorageError::NotFound);
        }
        Ok(ObjectMeta {
            key: key.to_string(),
            size: meta.len(),
            last_modified: meta.modified().ok().map(DateTime::<Utc>::from),
        })
    }

    pub(super) async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match fs::remove_file(self.path(key)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(e)),
        }
    }

    pub(super) async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StorageError> {
        let root = self.root.clone();
        let prefix = prefix.to_string();
        tokio::task::spawn_blocking(move || list_blocking(&root, &prefix))
            .await
            .map_err(|e| StorageError::Backend(e.to_string()))?
    }

    pub(super) async fn check(&self) -> Result<(), StorageError> {
        let probe = self
            .root
            .join(TMP_DIR)
            .join(format!("ready-{}", uuid::Uuid::new_v4().simple()));
        fs::write(&probe, b"ok")
            .await
            .map_err(|e| StorageError::Unavailable(format!("local store not writable: {e}")))?;
        let _ = fs::remove_file(&probe).await;
        Ok(())
    }
}

fn map_io<S>(s: S) -> impl futures_util::Stream<Item = Result<bytes::Bytes, StorageError>> + Send
where
    S: futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send,
{
    use futures_util::StreamExt;
    s.map(|r| r.map_err(io_err))
}

fn list_blocking(root: &Path, prefix: &str) -> Result<Vec<ObjectMeta>, StorageError> {
    // Walk only the deepest folder the prefix names fully.
    let dir_part = match prefix.rfind('/') {
        Some(i) => &prefix[..i],
        None => "",
    };
    let start = if dir_part.is_empty() {
        root.to_path_buf()
    } else {
        root.join(dir_part)
    };
    let mut out = Vec::new();
    let mut stack = vec![start];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io_err)?;
            let path = entry.path();
            let Ok(rel) = path.strip_prefix(root) else {
                continue;
            };
            let Some(key) = rel.to_str().map(|s| s.replace('\\', "/")) else {
                continue;
            };
            if key == TMP_DIR || key.starts_with(&format!("{TMP_DIR}/")) {
                continue;
            }
            let meta = entry.metadata().map_err(io_err)?;
            if meta.is_dir() {
                stack.push(path);
            } else if key.starts_with(prefix) {
                out.push(ObjectMeta {
                    key,
                    size: meta.len(),
                    last_modified: meta.modified().ok().map(DateTime::<Utc>::from),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temporaries_are_removed_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path()).unwrap();
        let tmp = dir.path().join(TMP_DIR).join("leftover");
        std::fs::write(&tmp, b"x").unwrap();
        store.remove_stale_temporaries(Duration::from_secs(0));
        std::thread::sleep(Duration::from_millis(5));
        store.remove_stale_temporaries(Duration::from_millis(1));
        assert!(!tmp.exists());
    }
}
