//! Two servers and two workers behind a round-robin proxy.

use super::*;

/// A TCP proxy that hands each new connection to the next backend in turn.
async fn round_robin_proxy(backends: Vec<String>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut next = 0usize;
        while let Ok((mut inbound, _)) = listener.accept().await {
            let backend = backends[next % backends.len()].clone();
            next += 1;
            tokio::spawn(async move {
                let host = backend.trim_start_matches("http://").to_string();
                if let Ok(mut out) = tokio::net::TcpStream::connect(host).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                }
            });
        }
    });
    format!("http://{addr}")
}

/// Scale-out: two `serve` processes (no workers) and two `worker` processes on one
/// PostgreSQL and one S3 server, behind a round-robin proxy (a new connection per
/// request, so requests alternate). Uploads are analysed by the workers, a judged
/// round gets its renditions and scores, votes are recorded; the sign-in rate limit, the
/// vote velocity limit and the vote caps hold for the deployment, not per process; no
/// job is run to completion twice.
#[tokio::test]
async fn two_servers_and_two_workers_behind_a_proxy_share_work_and_limits() {
    use crate::judging::{invited_judge, round};
    use crate::submissions::put_audio;
    use crate::voting::{vote, voter, voting_round};
    let mut env = TestEnv::with_extra(
        "[voting]\npow_cost = 10\npow_max_counter = 4\nvoter_per_minute = 10\n",
    );
    env.replace_in_config(
        "http_workers = 2\n",
        "http_workers = 2\ntrusted_proxies = [\"127.0.0.1\"]\n",
    );
    env.replace_in_config(
        "argon2_iterations = 1\n",
        "argon2_iterations = 1\nmail_per_ip_per_hour = 100000\nsign_in_per_ip_per_minute = 6\n",
    );
    let mut app = spawn_app_with(env, |b| b).await;
    // Accounts and drafts, made in-process (their emails are captured here).
    let call = open_call(&app, "scale", json!({})).await;
    let mut entries = Vec::new();
    for i in 0..4 {
        let t = musician(&app, &format!("scale-{i}@example.org")).await;
        let id = entry_id(&app, &t, &call, &format!("Scale song {i}")).await;
        entries.push((t, id));
    }
    let judge = invited_judge(&app, &call, "scale-judge@example.org", "Judge").await;
    let voters = [
        voter(&app, "scale-v1@example.org").await,
        voter(&app, "scale-v2@example.org").await,
    ];

    let quiet = [("CADENZA__JOBS__WORKERS", "0".to_string())];
    let s1 = Server::start(&app.env, &["serve"], &quiet).await;
    let s2 = Server::start(&app.env, &["serve"], &quiet).await;
    let w1 = Server::start(&app.env, &["worker", "--workers", "2"], &[]).await;
    let w2 = Server::start(&app.env, &["worker", "--workers", "2"], &[]).await;
    let proxy = round_robin_proxy(vec![s1.url.clone(), s2.url.clone()]).await;
    app.address = proxy.clone();
    app.client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Uploads through either server; the worker processes analyse them.
    for (i, (t, id)) in entries.iter().enumerate() {
        let res = put_audio(
            &app,
            t,
            id,
            wav(3.0, 40 + i as u32, 0.3),
            &format!("scale-{i}"),
        )
        .await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    }
    let analysed = eventually(Duration::from_secs(60), || async {
        let mut all = true;
        for (t, id) in &entries {
            let (_, e) =
                crate::submissions::get_json(&app, t, &format!("/api/v1/entries/{id}")).await;
            all &= e["status"] == "accepted" || e["status"] == "needs_attention";
        }
        all
    })
    .await;
    assert!(analysed, "the workers analysed every upload");

    // Judging: a round, renditions made by the workers, scores through either server.
    let setup = crate::judging::Setup {
        call,
        entries: Vec::new(),
        judges: Vec::new(),
    };
    let r = round(&app, &setup, json!({ "judges_per_entry": 1 })).await;
    let rid = r["id"].as_str().unwrap().to_string();
    let res = crate::judging::post(
        &app,
        &setup.call.org,
        &format!("/api/v1/rounds/{rid}/assign"),
        json!({}),
    )
    .await;
    assert!(res.status().is_success());
    let judge = crate::judging::Judge {
        token: judge,
        id: String::new(),
        email: "scale-judge@example.org".into(),
    };
    let items = crate::judging::queue(&app, &judge, &rid).await;
    assert_eq!(items.len(), 4);
    let rendered = eventually(Duration::from_secs(60), || async {
        let mut all = true;
        for it in &items {
            let alias = it["alias"].as_str().unwrap();
            let (_, a) = crate::submissions::get_json(
                &app,
                &judge.token,
                &format!("/api/v1/judging/assignments/{alias}"),
            )
            .await;
            all &= a["audio"]["ready"] == true;
        }
        all
    })
    .await;
    assert!(rendered, "the workers made every rendition");
    for (i, it) in items.iter().enumerate() {
        let alias = it["alias"].as_str().unwrap();
        let res = crate::judging::score(&app, &judge, alias, 3 + i as i64, 5).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }

    // Votes: caps hold across servers (2 per entry), and so does the velocity limit
    // (10 a minute per voter for the deployment; each server keeps its share).
    let live_serve = eventually(Duration::from_secs(20), || async {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cadenza"))
            .arg("--config")
            .arg(&app.env.config_path)
            .args(["admin", "processes"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.lines().filter(|l| l.starts_with("serve")).count() == 3
            && text.lines().filter(|l| l.starts_with("worker")).count() == 2
    })
    .await;
    assert!(
        live_serve,
        "three serve processes (two and the test's) and two workers are listed"
    );
    // One more heartbeat, so each server has shared out the limits.
    tokio::time::sleep(cadenza::processes::BEAT + Duration::from_secs(1)).await;
    let ids: Vec<&str> = entries.iter().map(|e| e.1.as_str()).collect();
    let vr = voting_round(
        &app,
        &setup,
        json!({ "votes_per_voter": 100, "votes_per_entry": 2, "entry_ids": ids }),
    )
    .await;
    let vid = vr["id"].as_str().unwrap().to_string();
    let vr = voting_round(
        &app,
        &setup,
        json!({ "title": "Quick fingers", "votes_per_voter": 100, "votes_per_entry": 100, "entry_ids": ids }),
    )
    .await;
    let quick = vr["id"].as_str().unwrap().to_string();
    let entry = entries[0].1.clone();
    let mut capped = Vec::new();
    for _ in 0..6 {
        capped.push(vote(&app, &voters[0], &vid, &entry).await.status().as_u16());
    }
    assert_eq!(
        capped.iter().filter(|s| **s == 201).count(),
        2,
        "the cap of 2 votes for one entry holds: {capped:?}"
    );
    let mut fast = Vec::new();
    for i in 0..20 {
        let e = &entries[1 + i % 3].1;
        fast.push(vote(&app, &voters[1], &quick, e).await.status().as_u16());
        // A vote is two requests (challenge, cast); one more makes the casts alternate.
        app.get("/livez").await;
    }
    let accepted = fast.iter().filter(|s| **s == 201).count();
    println!("velocity: {accepted} of 20 quick votes accepted (limit 10 a minute): {fast:?}");
    assert!(
        fast.contains(&429),
        "the velocity limit answers 429: {fast:?}"
    );
    assert!(
        accepted <= 10,
        "the deployment's limit holds: {accepted} accepted"
    );

    // Sign-in attempts from one (forwarded) address: 6 a minute for the deployment.
    let minute = chrono::Utc::now().timestamp() / 60;
    let mut codes = Vec::new();
    for _ in 0..12 {
        let res = app
            .client
            .post(format!("{proxy}/api/v1/auth/sign-in"))
            .header("X-Forwarded-For", "203.0.113.7")
            .json(&json!({ "email": "nobody@example.org", "password": "not the password" }))
            .send()
            .await
            .unwrap();
        codes.push(res.status().as_u16());
    }
    let let_through = codes.iter().filter(|c| **c != 429).count();
    println!("sign-in: {let_through} of 12 attempts let through (limit 6 a minute): {codes:?}");
    if chrono::Utc::now().timestamp() / 60 == minute {
        assert_eq!(let_through, 6, "{codes:?}");
    } else {
        assert!(let_through <= 12 && codes.contains(&429), "{codes:?}");
    }

    // No job ran to completion twice: each finished job is logged once, by one worker.
    drop((s1, s2));
    // Logs to a file are plain text (colours only on a terminal): `… job done job.id=7 …`.
    let logs = format!("{}{}", w1.log_text(), w2.log_text());
    let mut done = std::collections::HashMap::<u64, usize>::new();
    for line in logs.lines().filter(|l| l.contains("job done")) {
        if let Some(id) = line
            .split("job.id=")
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
        {
            *done.entry(id).or_default() += 1;
        }
    }
    let twice: Vec<_> = done.iter().filter(|(_, n)| **n > 1).collect();
    println!(
        "{} jobs done by the workers ({} by the first, {} by the second)",
        done.len(),
        w1.log_text().matches("job done").count(),
        w2.log_text().matches("job done").count()
    );
    assert!(
        done.len() >= 8,
        "analyses and renditions ran in the workers: {done:?}"
    );
    assert!(twice.is_empty(), "jobs done twice: {twice:?}");
}
