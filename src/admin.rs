//! Operator tools behind `cadenza admin`: a census of what a deployment holds (rows per
//! table, objects, and each voting round's tally hash), the comparison of two censuses
//! (the restore drill's check), and a portable copy of the object store to and from a
//! folder (the object half of a backup, the same for the local store and S3).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::state::AppState;
use crate::storage::StorageError;

/// What a deployment holds, in numbers that must survive a backup and restore.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Census {
    /// Rows per table.
    pub tables: BTreeMap<String, i64>,
    /// Objects in the store, and their total size in bytes.
    pub objects: u64,
    pub object_bytes: u64,
    /// Per voting round: the hash of its counted tallies (as published on its leaderboard).
    pub tally_hashes: BTreeMap<String, String>,
}

pub async fn census(state: &AppState) -> anyhow::Result<Census> {
    let unavailable = |e: crate::error::AppError| anyhow::anyhow!("{e}");
    let names = state
        .db
        .run(crate::db::table_names)
        .await
        .map_err(unavailable)?;
    // One call per table: each count has the whole statement timeout to itself.
    let mut tables = BTreeMap::new();
    for name in names {
        let t = name.clone();
        let n = state
            .db
            .run(move |c| crate::db::count_rows(c, &t))
            .await
            .map_err(unavailable)?;
        tables.insert(name, n);
    }
    let tally_hashes = state
        .db
        .run(crate::voting::service::tally_hashes)
        .await
        .map_err(unavailable)?;
    let objects = state.storage.list("").await?;
    Ok(Census {
        tables,
        objects: objects.len() as u64,
        object_bytes: objects.iter().map(|o| o.size).sum(),
        tally_hashes,
    })
}

/// The differences between an expected census and an actual one, one line each; empty
/// when they agree.
pub fn compare(expected: &Census, actual: &Census) -> Vec<String> {
    let mut out = Vec::new();
    let tables: std::collections::BTreeSet<&String> =
        expected.tables.keys().chain(actual.tables.keys()).collect();
    for t in tables {
        let (e, a) = (expected.tables.get(t), actual.tables.get(t));
        if e != a {
            out.push(format!(
                "table {t}: expected {} rows, found {}",
                e.map_or("no".into(), i64::to_string),
                a.map_or("no table".into(), i64::to_string)
            ));
        }
    }
    if (expected.objects, expected.object_bytes) != (actual.objects, actual.object_bytes) {
        out.push(format!(
            "objects: expected {} ({} bytes), found {} ({} bytes)",
            expected.objects, expected.object_bytes, actual.objects, actual.object_bytes
        ));
    }
    let rounds: std::collections::BTreeSet<&String> = expected
        .tally_hashes
        .keys()
        .chain(actual.tally_hashes.keys())
        .collect();
    for r in rounds {
        let (e, a) = (expected.tally_hashes.get(r), actual.tally_hashes.get(r));
        if e != a {
            out.push(format!(
                "voting round {r}: tally hash expected {}, found {}",
                e.map_or("none", String::as_str),
                a.map_or("none", String::as_str)
            ));
        }
    }
    out
}

/// Copy every object to `dir`, returning (objects, bytes).
pub async fn backup_objects(state: &AppState, dir: &Path) -> anyhow::Result<(u64, u64)> {
    // The folder exists even for an empty store, so a restore of it is an empty restore.
    tokio::fs::create_dir_all(dir).await?;
    let list = state.storage.list("").await?;
    let (mut n, mut bytes) = (0u64, 0u64);
    for o in list {
        // Keys are validated (no `..`, no leading `/`): each is a path inside `dir`.
        let path = dir.join(&o.key);
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        let mut got = state
            .storage
            .get(&o.key, None)
            .await
            .with_context(|| format!("reading {}", o.key))?;
        let mut file = tokio::fs::File::create(&path).await?;
        while let Some(chunk) = got.body.next().await {
            let chunk = chunk?;
            bytes += chunk.len() as u64;
            file.write_all(&chunk).await?;
        }
        file.sync_all().await?;
        n += 1;
    }
    Ok((n, bytes))
}

/// Store every file under `dir` as the object of the same key, returning (objects, bytes).
pub async fn restore_objects(state: &AppState, dir: &Path) -> anyhow::Result<(u64, u64)> {
    let mut stack = vec![dir.to_path_buf()];
    let (mut n, mut bytes) = (0u64, 0u64);
    while let Some(d) = stack.pop() {
        let mut rd = tokio::fs::read_dir(&d).await?;
        while let Some(entry) = rd.next_entry().await? {
            let path = entry.path();
            if entry.file_type().await?.is_dir() {
                stack.push(path);
                continue;
            }
            let key = path
                .strip_prefix(dir)?
                .to_str()
                .context("object file names are UTF-8")?
                .to_string();
            let file = tokio::fs::File::open(&path).await?;
            let body = tokio_util::io::ReaderStream::new(file)
                .map(|r| r.map_err(|e| StorageError::Source(e.to_string())));
            let content_type = mime_guess::from_path(&key).first_or_octet_stream();
            let put = state
                .storage
                .put_stream(&key, Box::pin(body), content_type.essence_str(), None)
                .await
                .with_context(|| format!("storing {key}"))?;
            bytes += put.size;
            n += 1;
        }
    }
    Ok((n, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn census() -> Census {
        Census {
            tables: [("votes".to_string(), 10), ("entries".to_string(), 3)].into(),
            objects: 4,
            object_bytes: 1000,
            tally_hashes: [("r1".to_string(), "abc".to_string())].into(),
        }
    }

    #[test]
    fn equal_censuses_have_no_differences() {
        assert!(compare(&census(), &census()).is_empty());
    }

    #[test]
    fn every_kind_of_difference_is_reported() {
        let mut other = census();
        other.tables.insert("votes".into(), 9);
        other.tables.remove("entries");
        other.objects = 3;
        other.tally_hashes.insert("r1".into(), "abd".into());
        other.tally_hashes.insert("r2".into(), "x".into());
        let d = compare(&census(), &other);
        assert_eq!(d.len(), 5, "{d:#?}");
        assert!(
            d.iter()
                .any(|l| l.contains("votes: expected 10 rows, found 9"))
        );
        assert!(
            d.iter()
                .any(|l| l.contains("entries: expected 3 rows, found no table"))
        );
        assert!(d.iter().any(|l| l.starts_with("objects:")));
        assert!(
            d.iter()
                .any(|l| l.contains("r1: tally hash expected abc, found abd"))
        );
        assert!(
            d.iter()
                .any(|l| l.contains("r2: tally hash expected none, found x"))
        );
    }
}
