//! SIGKILL during uploads, and many maximum-size uploads at once.

use super::*;

/// Fault: SIGKILL of the server while 50 uploads stream in, then a restart. Every upload
/// that was answered 201 is stored and analysed; no entry points at a missing object;
/// the jobs the dead process held are run by the new one; the sweeper removes what the
/// interrupted uploads left behind.
#[tokio::test]
async fn killed_during_fifty_uploads_then_restarted_loses_nothing_acknowledged() {
    let mut app = spawn_app_with(TestEnv::new(), |b| b).await;
    let call = open_call(&app, "kill9", json!({ "entries_per_musician": 5 })).await;
    let mut targets = Vec::new();
    for m in 0..10 {
        let t = musician(&app, &format!("k9-{m}@example.org")).await;
        for e in 0..5 {
            let id = entry_id(&app, &t, &call, &format!("Song {m}.{e}")).await;
            targets.push((t.clone(), id));
        }
    }
    let vars = [
        ("CADENZA__JOBS__WORKERS", "2".to_string()),
        ("CADENZA__JOBS__LEASE_SECS", "3".to_string()),
    ];
    let mut server = Server::start(&app.env, &["serve"], &vars).await;
    let http = client();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, (token, entry)) in targets.iter().cloned().enumerate() {
        let (http, url, acked) = (http.clone(), server.url.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(40 * i as u64)).await;
            let body = trickled(wav(4.0, i as u32, 0.3), 8, Duration::from_millis(100));
            let res = http
                .put(format!(
                    "{url}/api/v1/entries/{entry}/audio?file_name=song.wav"
                ))
                .bearer_auth(&token)
                .header("Idempotency-Key", format!("k9-{i}"))
                .body(body)
                .send()
                .await;
            if let Ok(r) = res
                && r.status() == 201
            {
                acked.lock().unwrap().push(entry);
            }
        }));
    }
    // Some uploads are done, some are streaming, some have not started.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    server.kill9();
    let killed_at = started.elapsed();
    for t in tasks {
        let _ = t.await;
    }
    let acked: Vec<String> = acked.lock().unwrap().clone();
    println!(
        "killed after {killed_at:?}: {} of 50 uploads acknowledged",
        acked.len()
    );
    assert!(
        !acked.is_empty() && acked.len() < 50,
        "the kill lands mid-way"
    );

    // Restart; unfinished uploads and unreferenced objects are old at once for the sweeper.
    let vars = [
        ("CADENZA__JOBS__WORKERS", "2".to_string()),
        ("CADENZA__UPLOADS__PENDING_TTL_SECS", "1".to_string()),
        ("CADENZA__UPLOADS__ORPHAN_GRACE_SECS", "1".to_string()),
    ];
    let server = Server::start(&app.env, &["serve"], &vars).await;
    app.address = server.url.clone();
    let all_done = eventually(Duration::from_secs(90), || async {
        job_counts(&app, "entry.analyse")
            .await
            .iter()
            .all(|(s, _)| s == "done")
    })
    .await;
    assert!(
        all_done,
        "analysis jobs: {:?}",
        job_counts(&app, "entry.analyse").await
    );

    // Every acknowledged upload is there and analysed.
    for entry in &acked {
        let e = entry.clone();
        let (upload, analysed): (Option<String>, Option<chrono::NaiveDateTime>) = app
            .state
            .db
            .run(move |c| {
                Ok(entries::table
                    .find(e)
                    .select((entries::upload_id, entries::analysed_at))
                    .first(c)?)
            })
            .await
            .unwrap();
        assert!(upload.is_some(), "acknowledged upload of {entry} is kept");
        assert!(
            analysed.is_some(),
            "acknowledged upload of {entry} analysed"
        );
    }
    // No entry points at an upload that is not stored, nor at a missing object.
    let stored: Vec<(String, String)> = app
        .state
        .db
        .run(|c| {
            Ok(entries::table
                .inner_join(uploads::table.on(uploads::id.nullable().eq(entries::upload_id)))
                .select((uploads::object_key, uploads::state))
                .load(c)?)
        })
        .await
        .unwrap();
    for (key, state) in &stored {
        assert_eq!(state, "stored", "{key}");
        assert!(app.state.storage.head(key).await.is_ok(), "{key} exists");
    }
    println!("{} entries have audio after the restart", stored.len());

    // The sweeper: run it as an operator would, with the same settings.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cadenza"))
        .arg("--config")
        .arg(&app.env.config_path)
        .args(["admin", "sweep"])
        .env("CADENZA__UPLOADS__PENDING_TTL_SECS", "1")
        .env("CADENZA__UPLOADS__ORPHAN_GRACE_SECS", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("sweep: {}", String::from_utf8_lossy(&out.stdout).trim());
    let referenced: HashSet<String> = app
        .state
        .db
        .run(|c| {
            Ok(uploads::table
                .select(uploads::object_key)
                .load::<String>(c)?)
        })
        .await
        .unwrap()
        .into_iter()
        .collect();
    let pending: i64 = app
        .state
        .db
        .run(|c| {
            Ok(uploads::table
                .filter(uploads::state.ne("stored"))
                .count()
                .get_result(c)?)
        })
        .await
        .unwrap();
    assert_eq!(pending, 0, "no unfinished upload is left");
    let objects = app.state.storage.list("entries/").await.unwrap();
    for o in &objects {
        assert!(referenced.contains(&o.key), "orphan {} was swept", o.key);
    }
    assert_eq!(objects.len(), stored.len());
}

/// Resident memory of a process, in bytes.
fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// A WAV upload of exactly `total` bytes, generated as it is sent.
fn big_wav(total: u64, seed: u64) -> reqwest::Body {
    let data = (total - 44) as u32;
    let mut head = Vec::with_capacity(44);
    head.extend_from_slice(b"RIFF");
    head.extend_from_slice(&(36 + data).to_le_bytes());
    head.extend_from_slice(b"WAVEfmt ");
    head.extend_from_slice(&16u32.to_le_bytes());
    head.extend_from_slice(&1u16.to_le_bytes());
    head.extend_from_slice(&2u16.to_le_bytes());
    head.extend_from_slice(&44_100u32.to_le_bytes());
    head.extend_from_slice(&(44_100u32 * 4).to_le_bytes());
    head.extend_from_slice(&4u16.to_le_bytes());
    head.extend_from_slice(&16u16.to_le_bytes());
    head.extend_from_slice(b"data");
    head.extend_from_slice(&data.to_le_bytes());
    const CHUNK: u64 = 64 * 1024;
    let chunks = futures_util::stream::unfold((0u64, seed), move |(sent, mut state)| {
        let head = head.clone();
        async move {
            if sent >= total {
                return None;
            }
            let n = CHUNK.min(total - sent) as usize;
            let mut buf = Vec::with_capacity(n);
            if sent == 0 {
                buf.extend_from_slice(&head);
            }
            while buf.len() < n {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                buf.extend_from_slice(&(state as u16).to_le_bytes());
            }
            buf.truncate(n);
            Some((Ok::<_, std::io::Error>(buf), (sent + n as u64, state)))
        }
    });
    reqwest::Body::wrap_stream(chunks)
}

/// Upload abuse: 20 uploads of the largest allowed size at once. The server streams them
/// to the store a bounded number at a time: its memory stays flat (bounded by the part
/// buffers of the uploads in progress, not by their number or sizes).
#[tokio::test]
async fn twenty_concurrent_maximum_size_uploads_keep_memory_flat() {
    const MAX: u64 = 64 * 1024 * 1024;
    let mut env = TestEnv::new();
    env.replace_in_config("max_bytes = 209715200", &format!("max_bytes = {MAX}"));
    let mut app = spawn_app_with(env, |b| b).await;
    let call = open_call(&app, "max-size", json!({ "entries_per_musician": 5 })).await;
    let mut targets = Vec::new();
    for m in 0..4 {
        let t = musician(&app, &format!("big-{m}@example.org")).await;
        for e in 0..5 {
            targets.push((
                t.clone(),
                entry_id(&app, &t, &call, &format!("Big {m}.{e}")).await,
            ));
        }
    }
    let server = Server::start(&app.env, &["serve"], &[]).await;
    app.address = server.url.clone();
    let pid = server.pid();
    let http = client();
    // Let the server settle before the baseline.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline = rss_of(pid);
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(baseline));
    let sampling = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_of(pid), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let started = Instant::now();
    let uploads: Vec<_> = targets
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, (token, entry))| {
            let (http, url) = (http.clone(), server.url.clone());
            tokio::spawn(async move {
                http.put(format!(
                    "{url}/api/v1/entries/{entry}/audio?file_name=big.wav"
                ))
                .bearer_auth(&token)
                .header("Idempotency-Key", format!("big-{i}"))
                .body(big_wav(MAX, i as u64 + 1))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for u in uploads {
        statuses.push(u.await.unwrap());
    }
    let took = started.elapsed();
    sampling.abort();
    let peak = peak.load(std::sync::atomic::Ordering::Relaxed);
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "20 × {} MiB uploads in {took:?} ({:.0} MiB/s): server memory {:.1} MiB before, peak {:.1} MiB (+{:.1} MiB)",
        MAX >> 20,
        mib(20 * MAX) / took.as_secs_f64(),
        mib(baseline),
        mib(peak),
        mib(peak.saturating_sub(baseline))
    );
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    // 1,280 MiB went through; at most `storage.s3.max_concurrent_uploads` (8) stream at
    // once, each holding its parts (about 24 MiB): the rest wait their turn.
    assert!(
        peak.saturating_sub(baseline) < (8 * 32 + 64) * 1024 * 1024,
        "memory grew by {:.1} MiB",
        mib(peak.saturating_sub(baseline))
    );
}
