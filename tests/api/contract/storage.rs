//! The storage contract: one suite, run against the local folder and a real
//! S3-compatible server over HTTP.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use cadenza::config::{S3Settings, StorageBackend, StorageSettings};
use cadenza::storage::{ByteRange, ByteStream, ObjectStore, StorageError};
use futures_util::StreamExt;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use crate::helpers::require_env;

const MIB: u64 = 1024 * 1024;

async fn local() -> (ObjectStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let settings = StorageSettings {
        backend: StorageBackend::Local,
        local_root: dir.path().join("objects"),
        ..StorageSettings::default()
    };
    (ObjectStore::from_settings(&settings).await.unwrap(), dir)
}

fn s3_settings(endpoint: String) -> Option<S3Settings> {
    Some(S3Settings {
        endpoint,
        bucket: require_env("CADENZA_TEST_S3_BUCKET")?,
        access_key: SecretString::from(require_env("CADENZA_TEST_S3_ACCESS_KEY")?),
        secret_key: SecretString::from(require_env("CADENZA_TEST_S3_SECRET_KEY")?),
        path_style: true,
        prefix: format!("contract-{}", uuid::Uuid::new_v4().simple()),
        create_bucket: true,
        ..S3Settings::default()
    })
}

async fn s3() -> Option<ObjectStore> {
    let s3 = s3_settings(require_env("CADENZA_TEST_S3_ENDPOINT")?)?;
    let settings = StorageSettings {
        backend: StorageBackend::S3,
        s3,
        ..StorageSettings::default()
    };
    Some(
        ObjectStore::from_settings(&settings)
            .await
            .expect("S3 store connects"),
    )
}

/// Deterministic pseudo-random bytes, `total` long, in 64 KiB chunks; also returns the SHA-256.
fn generated(total: u64, seed: u64) -> (ByteStream, String) {
    let mut hasher = Sha256::new();
    let mut state = seed;
    let mut chunks = Vec::new();
    let mut left = total;
    // Hash first (cheap), then stream the same bytes lazily.
    while left > 0 {
        let n = left.min(64 * 1024);
        let chunk = next_chunk(&mut state, n as usize);
        hasher.update(&chunk);
        left -= n;
        chunks.push(n);
    }
    let expected = hex::encode(hasher.finalize());
    let mut state = seed;
    let stream = futures_util::stream::iter(chunks)
        .map(move |n| Ok(Bytes::from(next_chunk(&mut state, n as usize))));
    (Box::pin(stream), expected)
}

fn next_chunk(state: &mut u64, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(n);
    out
}

async fn read_all(
    store: &ObjectStore,
    key: &str,
    range: Option<ByteRange>,
) -> Result<Vec<u8>, StorageError> {
    let mut obj = store.get(key, range).await?;
    let mut out = Vec::new();
    while let Some(c) = obj.body.next().await {
        out.extend_from_slice(&c?);
    }
    Ok(out)
}

async fn basic_contract(store: &ObjectStore) {
    let key = "uploads/ab/object-1.bin";
    let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let put = store
        .put_bytes(key, Bytes::from(data.clone()), "application/octet-stream")
        .await
        .unwrap();
    assert_eq!(put.size, 1000);
    assert_eq!(put.sha256, hex::encode(Sha256::digest(&data)));

    let head = store.head(key).await.unwrap();
    assert_eq!(head.size, 1000);
    assert_eq!(head.key, key);
    assert_eq!(read_all(store, key, None).await.unwrap(), data);

    // Ranged reads, for seeking in audio.
    let obj = store
        .get(
            key,
            Some(ByteRange {
                start: 100,
                end: Some(199),
            }),
        )
        .await
        .unwrap();
    assert_eq!(obj.total_size, 1000);
    assert_eq!(obj.range, Some((100, 199)));
    assert_eq!(obj.content_length(), 100);
    assert_eq!(
        read_all(
            store,
            key,
            Some(ByteRange {
                start: 100,
                end: Some(199)
            })
        )
        .await
        .unwrap(),
        &data[100..200]
    );
    assert_eq!(
        read_all(
            store,
            key,
            Some(ByteRange {
                start: 990,
                end: None
            })
        )
        .await
        .unwrap(),
        &data[990..]
    );
    assert_eq!(
        read_all(
            store,
            key,
            Some(ByteRange {
                start: 995,
                end: Some(5000)
            })
        )
        .await
        .unwrap(),
        &data[995..]
    );
    assert!(matches!(
        store
            .get(
                key,
                Some(ByteRange {
                    start: 1000,
                    end: None
                })
            )
            .await,
        Err(StorageError::InvalidRange)
    ));

    // Listing by prefix.
    store
        .put_bytes(
            "uploads/ab/object-2.bin",
            Bytes::from_static(b"two"),
            "text/plain",
        )
        .await
        .unwrap();
    store
        .put_bytes(
            "uploads/cd/object-3.bin",
            Bytes::from_static(b"three"),
            "text/plain",
        )
        .await
        .unwrap();
    let listed: Vec<_> = store
        .list("uploads/ab/")
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.key, m.size))
        .collect();
    assert_eq!(
        listed,
        [
            ("uploads/ab/object-1.bin".to_string(), 1000),
            ("uploads/ab/object-2.bin".to_string(), 3)
        ]
    );
    assert_eq!(store.list("uploads/").await.unwrap().len(), 3);
    assert_eq!(store.list("uploads/a").await.unwrap().len(), 2);
    assert!(store.list("nothing-here/").await.unwrap().is_empty());

    // Overwrite replaces.
    store
        .put_bytes(
            "uploads/ab/object-2.bin",
            Bytes::from_static(b"2"),
            "text/plain",
        )
        .await
        .unwrap();
    assert_eq!(
        read_all(store, "uploads/ab/object-2.bin", None)
            .await
            .unwrap(),
        b"2"
    );

    // Delete; a missing key is a typed not-found everywhere; deleting twice is fine.
    store.delete(key).await.unwrap();
    store.delete(key).await.unwrap();
    assert!(matches!(store.head(key).await, Err(StorageError::NotFound)));
    assert!(matches!(
        store.get(key, None).await,
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        store
            .get(
                "never/was.bin",
                Some(ByteRange {
                    start: 0,
                    end: None
                })
            )
            .await,
        Err(StorageError::NotFound)
    ));

    // Keys are checked.
    for bad in ["../escape", "/abs", "a//b", "spaces here"] {
        assert!(
            matches!(store.head(bad).await, Err(StorageError::InvalidKey)),
            "{bad}"
        );
    }
    store.check().await.unwrap();
}

async fn limits_contract(store: &ObjectStore) {
    // Over the limit: refused while streaming, nothing left behind.
    let (body, _) = generated(5000, 7);
    let res = store
        .put_stream(
            "limits/too-big.bin",
            body,
            "application/octet-stream",
            Some(1000),
        )
        .await;
    assert!(
        matches!(res, Err(StorageError::TooLarge { limit: 1000 })),
        "{:?}",
        res.err()
    );
    assert!(matches!(
        store.head("limits/too-big.bin").await,
        Err(StorageError::NotFound)
    ));

    // The body fails half way (the client went away): nothing left behind either.
    let failing: ByteStream = Box::pin(futures_util::stream::iter(vec![
        Ok(Bytes::from(vec![1u8; 10_000])),
        Err(StorageError::Source("connection reset".into())),
    ]));
    assert!(
        store
            .put_stream(
                "limits/broken.bin",
                failing,
                "application/octet-stream",
                None
            )
            .await
            .is_err()
    );
    assert!(matches!(
        store.head("limits/broken.bin").await,
        Err(StorageError::NotFound)
    ));

    // Exactly at the limit is fine.
    let (body, sha) = generated(1000, 9);
    let put = store
        .put_stream(
            "limits/exact.bin",
            body,
            "application/octet-stream",
            Some(1000),
        )
        .await
        .unwrap();
    assert_eq!((put.size, put.sha256), (1000, sha));
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// Samples the process's resident memory until stopped; returns the peak.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start() -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_bytes()));
        let (s, p) = (stop.clone(), peak.clone());
        let handle = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_bytes(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        RssSampler {
            stop,
            peak,
            handle: Some(handle),
        }
    }

    fn peak(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

/// Memory is measured for the whole process, so the large-object tests take turns.
static LARGE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn large_object_contract(store: &ObjectStore) {
    let _turn = LARGE.lock().await;
    let size = 100 * MIB;
    let (body, expected) = generated(size, 42);
    let before = rss_bytes();
    let sampler = RssSampler::start();
    let put = store
        .put_stream(
            "large/100mib.bin",
            body,
            "application/octet-stream",
            Some(200 * MIB),
        )
        .await
        .unwrap();
    let put_peak = sampler.peak();
    assert_eq!(put.size, size);
    assert_eq!(put.sha256, expected);
    assert_eq!(store.head("large/100mib.bin").await.unwrap().size, size);

    let sampler = RssSampler::start();
    let mut obj = store.get("large/100mib.bin", None).await.unwrap();
    let mut hasher = Sha256::new();
    let mut got = 0u64;
    while let Some(c) = obj.body.next().await {
        let c = c.unwrap();
        got += c.len() as u64;
        hasher.update(&c);
    }
    let get_peak = sampler.peak();
    assert_eq!(got, size);
    assert_eq!(hex::encode(hasher.finalize()), expected);

    let grew_put = put_peak.saturating_sub(before);
    let grew_get = get_peak.saturating_sub(before);
    eprintln!(
        "{} store, 100 MiB object: resident memory grew {:.1} MiB during put, {:.1} MiB during get",
        store.backend_name(),
        grew_put as f64 / MIB as f64,
        grew_get as f64 / MIB as f64
    );
    // Flat: a fraction of the object, never the object. An S3 put keeps at most two
    // 8 MiB parts in flight, each with its signed request copy: about 32-40 MiB.
    // The process's RSS is only meaningful when no other test runs beside this one:
    // the storage leg sets CADENZA_TEST_MEMORY and runs the contract alone.
    if std::env::var_os("CADENZA_TEST_MEMORY").is_none() {
        store.delete("large/100mib.bin").await.unwrap();
        return;
    }
    assert!(
        grew_put < 48 * MIB,
        "put grew resident memory by {grew_put} bytes"
    );
    assert!(
        grew_get < 48 * MIB,
        "get grew resident memory by {grew_get} bytes"
    );
    store.delete("large/100mib.bin").await.unwrap();
}

#[tokio::test]
async fn local_basic() {
    let (store, _dir) = local().await;
    basic_contract(&store).await;
}

#[tokio::test]
async fn local_limits() {
    let (store, _dir) = local().await;
    limits_contract(&store).await;
}

#[tokio::test]
async fn local_large_object_streams_with_flat_memory() {
    let (store, _dir) = local().await;
    large_object_contract(&store).await;
}

#[tokio::test]
async fn s3_basic() {
    let Some(store) = s3().await else { return };
    basic_contract(&store).await;
}

#[tokio::test]
async fn s3_limits() {
    let Some(store) = s3().await else { return };
    limits_contract(&store).await;
}

#[tokio::test]
async fn s3_large_object_streams_with_flat_memory() {
    let Some(store) = s3().await else { return };
    large_object_contract(&store).await;
}

#[tokio::test]
async fn s3_unreachable_server_is_unavailable() {
    let Some(mut s3) = s3_settings("http://127.0.0.1:9".into()) else {
        return;
    };
    s3.create_bucket = false;
    s3.request_timeout_secs = 2;
    let settings = StorageSettings {
        backend: StorageBackend::S3,
        s3,
        ..StorageSettings::default()
    };
    let store = ObjectStore::from_settings(&settings).await.unwrap();
    assert!(matches!(
        store.check().await,
        Err(StorageError::Unavailable(_))
    ));
    assert!(matches!(
        store.head("x").await,
        Err(StorageError::Unavailable(_))
    ));
}

/// A private S3 server (s3s-fs) on `port` over `root`, for a test that stops it.
fn start_s3s_fs(root: &std::path::Path, port: u16) -> Option<crate::contract::process::Killed> {
    let child = std::process::Command::new("s3s-fs")
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", &require_env("CADENZA_TEST_S3_ACCESS_KEY")?])
        .args(["--secret-key", &require_env("CADENZA_TEST_S3_SECRET_KEY")?])
        .arg(root)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let start = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "s3s-fs starts");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(crate::contract::process::Killed(child))
}

/// Fault: the S3 server stops. Uploads answer 503 and leave the entry as it was (no
/// audio, no pending upload), readiness says so, and once the server is back uploads
/// work again without restarting Cadenza.
#[tokio::test]
async fn storage_stopped_uploads_answer_503_and_recover_without_a_restart() {
    use crate::helpers::{TestEnv, spawn_app_with};
    use crate::submissions::{code, entry_id, get_json, musician, open_call, put_audio, wav};
    let Some(bucket) = require_env("CADENZA_TEST_S3_BUCKET") else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join(&bucket)).unwrap();
    let port = crate::contract::process::free_port();
    let Some(server) = start_s3s_fs(root.path(), port) else {
        return;
    };
    let env = TestEnv::with_extra(&format!(
        "[storage]\nbackend = \"s3\"\n[storage.s3]\nendpoint = \"http://127.0.0.1:{port}\"\n\
         bucket = \"{bucket}\"\naccess_key = \"{}\"\nsecret_key = \"{}\"\npath_style = true\n\
         prefix = \"fault\"\ncreate_bucket = true\nrequest_timeout_secs = 2\n",
        require_env("CADENZA_TEST_S3_ACCESS_KEY").unwrap(),
        require_env("CADENZA_TEST_S3_SECRET_KEY").unwrap(),
    ));
    let app = spawn_app_with(env, |b| b).await;
    let call = open_call(&app, "s3-down", serde_json::json!({})).await;
    let t = musician(&app, "s3down@example.org").await;
    let id = entry_id(&app, &t, &call, "While the store is down").await;

    drop(server);
    let started = std::time::Instant::now();
    let res = put_audio(&app, &t, &id, wav(3.0, 1, 0.4), "fault-1").await;
    assert_eq!(code(res).await, (503, "service.unavailable".into()));
    assert!(started.elapsed() < Duration::from_secs(10), "it fails fast");
    println!(
        "store down: the upload answered 503 in {:?}",
        started.elapsed()
    );
    let (_, e) = get_json(&app, &t, &format!("/api/v1/entries/{id}")).await;
    assert_eq!(e["status"], "draft", "no audio, nothing half-written");
    assert!(e["audio"].is_null());
    assert_eq!(app.get("/readyz").await.status(), 503);
    assert_eq!(app.get("/livez").await.status(), 200);

    let _server = start_s3s_fs(root.path(), port).expect("s3s-fs restarts");
    let res = put_audio(&app, &t, &id, wav(3.0, 1, 0.4), "fault-2").await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    assert_eq!(app.get("/readyz").await.status(), 200);
}
