//! PostgreSQL stopped and frozen under vote load.

use super::*;

/// Fault: PostgreSQL stops at once (as in a crash) under vote load and comes back.
#[tokio::test]
async fn postgres_stopped_under_vote_load_fails_fast_and_recovers() {
    let Some(Loaded {
        cluster,
        app,
        server,
        round,
        t0,
        stop,
        tasks,
    }) = under_vote_load("pg-stop", 30).await
    else {
        return;
    };
    let http = client();

    cluster.stop_immediate();
    let down_at = t0.elapsed();
    let mut readyz_503 = None;
    while t0.elapsed() < down_at + Duration::from_secs(6) {
        assert_eq!(
            status_of(&http, &format!("{}/livez", server.url)).await,
            200
        );
        if readyz_503.is_none() && status_of(&http, &format!("{}/readyz", server.url)).await == 503
        {
            readyz_503 = Some(t0.elapsed() - down_at);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cluster.start_again();
    let up_at = t0.elapsed();
    tokio::time::sleep(Duration::from_secs(8)).await;
    let tries = stop_load(&stop, tasks).await;

    let readyz_503 = readyz_503.expect("/readyz turns 503 while the database is down");
    // Requests that began while it was down (after the first second) and ended before it was back.
    let during: Vec<&Try> = tries
        .iter()
        .map(|(_, t)| t)
        .filter(|t| t.started > down_at + Duration::from_millis(500) && t.started + t.took < up_at)
        .collect();
    let slowest = during.iter().map(|t| t.slowest).max().unwrap_or_default();
    let failed_after_return = tries
        .iter()
        .map(|(_, t)| t)
        .filter(|t| t.status != 201 && t.started > up_at)
        .map(|t| t.started + t.took - up_at)
        .max()
        .unwrap_or_default();
    let before = tries
        .iter()
        .filter(|(_, t)| t.started < down_at && t.status == 201)
        .count();
    println!(
        "pg down {down_at:?}..{up_at:?}: {} votes before, {} attempts while down, slowest {slowest:?}; \
         /readyz 503 after {readyz_503:?}; last failure {failed_after_return:?} after its return",
        before,
        during.len()
    );
    assert!(before > 0, "votes were being recorded");
    assert!(!during.is_empty());
    assert!(during.iter().all(|t| t.status == 503), "{during:?}");
    assert!(
        slowest <= Duration::from_secs(2),
        "slowest failure {slowest:?}"
    );
    assert!(readyz_503 <= Duration::from_secs(5));
    assert!(
        failed_after_return <= Duration::from_secs(5),
        "errors stop within 5 s: {failed_after_return:?}"
    );
    assert!(
        recorded_since(&tries, up_at + Duration::from_secs(5)) > 0,
        "votes are recorded again"
    );
    assert_acknowledged_votes_kept(&app, &round, &tries).await;
}

/// Fault: the database hangs (every process of the cluster stopped with SIGSTOP). Each
/// request ends within its timeouts; after SIGCONT everything works again.
#[tokio::test]
async fn database_hung_requests_end_within_their_timeouts_and_recover() {
    let Some(Loaded {
        cluster,
        app,
        server,
        round,
        t0,
        stop,
        tasks,
    }) = under_vote_load("pg-hang", 20).await
    else {
        return;
    };

    cluster.signal_all("STOP");
    let hung_at = t0.elapsed();
    // Reads of several kinds while it hangs, each timed.
    let http = client();
    let paths = [
        "/readyz".to_string(),
        "/api/v1/competitions".to_string(),
        format!("/api/v1/voting-rounds/{round}/leaderboard"),
        "/".to_string(),
        "/api/v1/me".to_string(),
    ];
    let mut reads = Vec::new();
    for p in &paths {
        let (http, url) = (http.clone(), format!("{}{p}", server.url));
        reads.push(tokio::spawn(async move {
            let s = Instant::now();
            let st = status_of(&http, &url).await;
            (url, st, s.elapsed())
        }));
    }
    let mut read_results = Vec::new();
    for r in reads {
        read_results.push(r.await.unwrap());
    }
    tokio::time::sleep(Duration::from_secs(9)).await;
    cluster.signal_all("CONT");
    let thawed_at = t0.elapsed();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let tries = stop_load(&stop, tasks).await;

    // The longest any request may take: a database call's deadline (pool checkout 2 s +
    // statement timeout 5 s + 1 s), then a second for the fast failures of further calls
    // (a vote may queue behind a batch that was waiting on the database).
    let limit = Duration::from_secs(9);
    for (url, st, took) in &read_results {
        println!("while hung: {url} answered {st} in {took:?}");
        assert!(*took <= limit, "{url} took {took:?}");
        assert!(*st > BROKEN, "{url} got no answer");
    }
    let during: Vec<&Try> = tries
        .iter()
        .map(|(_, t)| t)
        .filter(|t| t.started > hung_at && t.started < thawed_at)
        .collect();
    let slowest = during.iter().map(|t| t.slowest).max().unwrap_or_default();
    println!(
        "hung {hung_at:?}..{thawed_at:?}: {} vote attempts, slowest {slowest:?}",
        during.len()
    );
    assert!(!during.is_empty());
    assert!(slowest <= limit, "slowest {slowest:?}");
    assert!(
        during.iter().all(|t| t.status > BROKEN),
        "every request answered"
    );
    assert!(
        recorded_since(&tries, thawed_at + Duration::from_secs(3)) > 0,
        "votes are recorded again after SIGCONT"
    );
    assert_acknowledged_votes_kept(&app, &round, &tries).await;
}
