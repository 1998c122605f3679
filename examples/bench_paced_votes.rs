//! A paced vote load for scripts/bench-voting.sh: sends votes from a seed file at a fixed
//! rate (open loop, on a schedule that does not wait for answers, as an audience does),
//! and reports latency measured from each vote's scheduled time, so a stalled server
//! shows up as latency instead of as a slower schedule.
//!
//! Usage: bench_paced_votes <base url> <seed file> <round id> <votes per second> <seconds>
//! [max in flight]. Seed lines: token, entry, proof of work, Idempotency-Key (tabs).
//! Prints `RESULT created=… refused=… failed=… rate=… p50_ms=… p99_ms=… max_ms=…`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, Semaphore};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        eprintln!(
            "usage: bench_paced_votes <url> <seed file> <round> <votes/s> <seconds> [in flight]"
        );
        std::process::exit(2);
    }
    let url = format!("{}/api/v1/voting-rounds/{}/votes", args[1], args[3]);
    let rate: f64 = args[4].parse()?;
    let secs: f64 = args[5].parse()?;
    let in_flight: usize = args.get(6).map(|s| s.parse()).transpose()?.unwrap_or(256);
    let total = (rate * secs) as usize;
    let seed: Vec<(String, String, String, String)> = std::fs::read_to_string(&args[2])?
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((
                f.next()?.to_string(),
                f.next()?.to_string(),
                f.next()?.to_string(),
                f.next()?.to_string(),
            ))
        })
        .take(total)
        .collect();
    if seed.len() < total {
        eprintln!("the seed has {} votes; {total} needed", seed.len());
        std::process::exit(2);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(in_flight)
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let gate = Arc::new(Semaphore::new(in_flight));
        let results = Arc::new(Mutex::new(Vec::with_capacity(total)));
        let start = Instant::now() + Duration::from_millis(100);
        let mut tasks = Vec::with_capacity(total);
        for (i, (token, entry, pow, key)) in seed.into_iter().enumerate() {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
            let (client, url, gate, results) =
                (client.clone(), url.clone(), gate.clone(), results.clone());
            tasks.push(tokio::spawn(async move {
                let _slot = gate.acquire().await.expect("open");
                let status = client
                    .post(&url)
                    .bearer_auth(token)
                    .header("Idempotency-Key", key)
                    .json(&serde_json::json!({ "entry_id": entry, "pow": pow }))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                results.lock().await.push((status, due.elapsed()));
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let results = results.lock().await;
        let created = results.iter().filter(|(s, _)| *s == 201).count();
        let failed = results.iter().filter(|(s, _)| *s == 0).count();
        let refused = results.len() - created - failed;
        let mut lat: Vec<Duration> = results.iter().map(|(_, d)| *d).collect();
        lat.sort();
        let pct = |p: f64| {
            lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
                .map(|d| d.as_secs_f64() * 1000.0)
                .unwrap_or(0.0)
        };
        println!(
            "RESULT created={created} refused={refused} failed={failed} rate={:.0} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
            results.len() as f64 / elapsed,
            pct(0.50),
            pct(0.99),
            lat.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0),
        );
    });
    Ok(())
}
