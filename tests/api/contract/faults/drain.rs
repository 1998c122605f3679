//! SIGTERM with work in flight.

use super::*;

/// SIGTERM with an upload streaming, votes being cast and a job in hand: the upload and
/// the requests complete (no connection reset), the process exits 0 within the drain
/// timeout, and the job it could not finish is released to the queue.
#[tokio::test]
async fn sigterm_drains_requests_and_uploads_and_releases_job_leases() {
    let env = TestEnv::with_extra(CHEAP_POW);
    let (mut app, round, entries, tokens) = vote_setup(env, "drain", 4).await;
    let call = open_call(&app, "drain-up", json!({})).await;
    let m = musician(&app, "drain-up@example.org").await;
    let entry = entry_id(&app, &m, &call, "Last song").await;
    let vars = [
        ("CADENZA__JOBS__WORKERS", "1".to_string()),
        ("CADENZA__JOBS__SHUTDOWN_GRACE_SECS", "1".to_string()),
        ("CADENZA__SERVER__SHUTDOWN_TIMEOUT_SECS", "15".to_string()),
    ];
    let mut server = Server::start(&app.env, &["serve"], &vars).await;
    app.address = server.url.clone();

    // A job that takes 20 s, taken by the server's worker.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cadenza"))
        .arg("--config")
        .arg(&app.env.config_path)
        .args(["admin", "selftest", "--hold-ms", "20000", "--no-wait"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let taken = eventually(Duration::from_secs(10), || async {
        job_counts(&app, "system.selftest")
            .await
            .contains(&("running".to_string(), 1))
    })
    .await;
    assert!(taken, "{:?}", job_counts(&app, "system.selftest").await);

    let http = client();
    let upload = {
        let (http, url, m, entry) = (http.clone(), server.url.clone(), m.clone(), entry.clone());
        tokio::spawn(async move {
            http.put(format!(
                "{url}/api/v1/entries/{entry}/audio?file_name=last.wav"
            ))
            .bearer_auth(&m)
            .header("Idempotency-Key", "drain-1")
            .body(trickled(wav(4.0, 7, 0.3), 20, Duration::from_millis(150)))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| e.to_string())
        })
    };
    let t0 = Instant::now();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tasks = vote_load(&server.url, &round, &entries, &tokens, t0, stop.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Ten requests whose bodies take 1.5 s to arrive: in flight when the signal comes.
    let slow: Vec<_> = (0..10)
        .map(|i| {
            let (http, url, m) = (http.clone(), server.url.clone(), m.clone());
            tokio::spawn(async move {
                let body = serde_json::to_vec(&json!({
                    "stage_name": format!("Drain {i}"), "bio": "x".repeat(400),
                    "links": [], "language": "en",
                }))
                .unwrap();
                http.put(format!("{url}/api/v1/me/profile"))
                    .bearer_auth(&m)
                    .header("content-type", "application/json")
                    .body(trickled(body, 10, Duration::from_millis(150)))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    signal(server.pid(), "TERM");
    let termed = Instant::now();
    let status = server.wait_exit(Duration::from_secs(20)).await;
    let took = termed.elapsed();
    let tries = stop_load(&stop, tasks).await;
    let upload = upload.await.unwrap();
    let mut slow_answers = Vec::new();
    for s in slow {
        slow_answers.push(s.await.unwrap());
    }
    println!(
        "SIGTERM: exited {status:?} after {took:?}; the upload answered {upload:?}, \
         the slow requests {slow_answers:?}"
    );
    assert_eq!(upload, Ok(201), "the upload in flight completes");
    assert!(
        slow_answers.iter().all(|a| a == &Ok(200)),
        "requests in flight complete: {slow_answers:?}"
    );
    let status = status.expect("the server exits within the drain timeout");
    assert!(status.success(), "exit status {status:?}");
    // Votes in flight when the signal came were answered; later ones found the door
    // closed (refused), none was cut off mid-way.
    let in_flight = tries
        .iter()
        .filter(|(_, t)| t0 + t.started < termed && t0 + t.started + t.took > termed)
        .count();
    let broken: Vec<&Try> = tries
        .iter()
        .map(|(_, t)| t)
        .filter(|t| t.status == BROKEN)
        .collect();
    println!(
        "{in_flight} vote attempts spanned SIGTERM; {} broken",
        broken.len()
    );
    assert!(broken.is_empty(), "connections reset: {broken:?}");
    assert!(
        tries.iter().all(|(_, t)| matches!(t.status, 201 | REFUSED)),
        "{tries:?}"
    );
    assert_acknowledged_votes_kept(&app, &round, &tries).await;
    let jobs_now = job_counts(&app, "system.selftest").await;
    assert_eq!(
        jobs_now,
        vec![("queued".to_string(), 1)],
        "the lease was released"
    );
    let held: i64 = app
        .state
        .db
        .run(|c| {
            Ok(jobs::table
                .filter(jobs::kind.eq("system.selftest"))
                .filter(jobs::locked_by.is_not_null())
                .count()
                .get_result(c)?)
        })
        .await
        .unwrap();
    assert_eq!(held, 0);
    assert!(
        server.log_text().contains("released"),
        "{}",
        server.log_text()
    );
}
