//! Seeds a PostgreSQL database for `scripts/bench-voting.sh`: a published competition
//! with entries, an open voting round, and `VOTERS` verified voters with sign-in
//! sessions. Writes one line per vote to cast — access token, entry, a solved proof of
//! work for that voter, an Idempotency-Key — for wrk's Lua script, and prints the round
//! id. Tokens and challenges are made with the server's own keys (same configuration),
//! exactly as the server would issue them.
//!
//! Usage: CADENZA_CONFIG=bench.toml cargo run --release --example bench_voting_seed -- VOTERS VOTES_PER_VOTER OUT

use std::io::Write;

use cadenza::config::Settings;
use cadenza::startup::build_state;
use cadenza::voting::VotingState as _;
use chrono::Utc;

const ENTRIES: usize = 24;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let voters: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(40_000);
    let per: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2);
    let out = args.get(3).cloned().unwrap_or_else(|| "votes.tsv".into());
    let config = std::env::var("CADENZA_CONFIG").ok();
    let settings = Settings::load(config.as_deref().map(std::path::Path::new))?;
    let state = build_state(settings, None).await?;
    let round = uuid::Uuid::now_v7().to_string();
    let r = round.clone();
    let n = voters as i64;
    state
        .db
        .run(move |conn| {
            use diesel::connection::SimpleConnection;
            let sql = format!(
                "INSERT INTO users (id, email, display_name, created_at, updated_at, email_verified_at)
                   SELECT 'bm-' || g, 'bm' || g || '@example.org', 'Singer ' || g, now(), now(), now()
                   FROM generate_series(1, {ENTRIES}) g;
                 INSERT INTO competitions (id, slug, title, status, created_at, updated_at, published_at)
                   VALUES ('bench-c', 'bench-' || '{r}', 'Benchmark', 'published', now(), now(), now());
                 INSERT INTO entries (id, competition_id, musician_id, title, status, created_at, updated_at, upload_id)
                   SELECT 'be-' || g, 'bench-c', 'bm-' || g, 'Song ' || g, 'accepted', now(), now(), 'bu-' || g
                   FROM generate_series(1, {ENTRIES}) g;
                 INSERT INTO voting_rounds (id, competition_id, title, opens_at, closes_at, votes_per_voter,
                     votes_per_entry, counts_visible, allowlist, new_account_minutes, burst_per_minute, created_at, updated_at)
                   VALUES ('{r}', 'bench-c', 'Live show', now() - interval '1 minute', now() + interval '1 day', 20, 20,
                     'live', '[\"127.0.0.0/8\"]', 0, 1000000000, now(), now());
                 INSERT INTO voting_round_entries (round_id, entry_id, position)
                   SELECT '{r}', 'be-' || g, g FROM generate_series(1, {ENTRIES}) g;
                 INSERT INTO users (id, email, display_name, created_at, updated_at, email_verified_at)
                   SELECT 'bv-' || g, 'bv' || g || '@example.org', 'Voter ' || g,
                     now() - interval '2 days', now(), now() - interval '2 days'
                   FROM generate_series(1, {n}) g;
                 INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at)
                   SELECT 'bs-' || g, 'bv-' || g, now(), now(), now() + interval '1 day'
                   FROM generate_series(1, {n}) g;"
            );
            conn.batch_execute(&sql).map_err(Into::into)
        })
        .await?;
    let now = Utc::now();
    let mut w = std::io::BufWriter::new(std::fs::File::create(&out)?);
    for v in 1..=voters {
        let user = format!("bv-{v}");
        let token = state.jwt.issue(&user, &format!("bs-{v}"), now);
        for k in 0..per {
            let c = state
                .voting()
                .pow
                .challenge(&round, &user, now.timestamp())?;
            let pow =
                cadenza::voting::pow::solve(&c).ok_or_else(|| anyhow::anyhow!("unsolvable"))?;
            let entry = format!("be-{}", 1 + (v + k * 7) % ENTRIES);
            writeln!(w, "{token}\t{entry}\t{pow}\tbench-{v}-{k}")?;
        }
    }
    w.flush()?;
    println!("{round}");
    Ok(())
}
