#!/usr/bin/env bash
# Public voting under a live-show burst, on PostgreSQL with synchronous_commit = on and
# fsync = on, everything on this machine:
#   1. pgbench: the same single-row INSERT … ON CONFLICT DO NOTHING into the vote log
#      (one commit per vote), at 1 client and at the server's pool size;
#   2. wrk: votes over HTTP (distinct voters, each vote with its own solved proof of work
#      and Idempotency-Key) through the group-commit writer; then 20,000 more with every
#      201 counted in Lua and compared with the rows in the log; then two serve processes
#      on the same PostgreSQL, half the connections each;
#   3. 10 million votes in the log, then leaderboard reads (wrk --latency) while votes
#      flow at half the maximum rate (paced by examples/bench_paced_votes.rs).
# Figures go to docs/benchmarks.md.
#
# Usage: scripts/bench-voting.sh   (DURATION=20 CONNS=64 THREADS=2 WRITERS=2 HTTP_WORKERS=1 BULK=10000000 BOARD_CONNS=8;
#   PROFILE=1: top during the vote run; PERF=file: perf samples of the server;
#   PG_EXTRA="-c …": more PostgreSQL settings; KEEP=dir: keep the server's and PostgreSQL's logs)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DURATION=${DURATION:-20}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
POOL=${POOL:-16}
BULK=${BULK:-10000000}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

need() { command -v "$1" >/dev/null || { echo "installing $2"; apt-get install -y "$2" >/dev/null; }; }
need wrk wrk
need /usr/bin/time time
if [ -n "${PERF:-}" ]; then need perf linux-perf; fi
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$PG_BIN/initdb" ] || { apt-get install -y postgresql >/dev/null; PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1); }

RUN=$(mktemp -d /tmp/cadenza-bench-voting.XXXXXX)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" -eq 0 ]; then id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres; chown postgres "$RUN"; fi
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  as_pg "$PG_BIN/pg_ctl" -D "$RUN/pg" -m immediate stop >/dev/null 2>&1 || true
  # KEEP=dir: keep the server's and PostgreSQL's logs there.
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP"; cp "$RUN/pg.log" "$RUN/server.log" "$KEEP/" 2>/dev/null || true; fi
  rm -rf "$RUN"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "== building (release)"
cargo build --release --quiet --bin cadenza --example bench_voting_seed --example bench_paced_votes
BIN=$CARGO_TARGET_DIR/release

echo "== PostgreSQL (fsync on, synchronous_commit on)"
PGPORT=$(free_port)
as_pg "$PG_BIN/initdb" -D "$RUN/pg" -U postgres --auth=trust -E UTF8 >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$RUN/pg" -l "$RUN/pg.log" -w -o "-p $PGPORT -k $RUN -c listen_addresses=127.0.0.1 \
  -c max_connections=300 -c shared_buffers=1GB -c synchronous_commit=on -c fsync=on \
  -c max_wal_size=8GB -c checkpoint_timeout=30min ${PG_STATS:+-c shared_preload_libraries=pg_stat_statements} ${PG_EXTRA:-}" start >/dev/null
PSQL=("$PG_BIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qAt)
"${PSQL[@]}" -c "CREATE DATABASE cadenza"
DB="postgres://postgres@127.0.0.1:$PGPORT/cadenza"

PORT=$(free_port)
cat > "$RUN/bench.toml" <<TOML
data_dir = "$RUN/data"
[server]
port = $PORT
# One HTTP worker: the two cores are shared with PostgreSQL and the load generator, and a
# second worker thread only adds context switches (decision 0022). HTTP_WORKERS=0: one
# per core, the server's default.
http_workers = ${HTTP_WORKERS:-1}
[database]
url = "$DB"
pool_size = $POOL
[jobs]
workers = 0
[log]
level = "warn"
[auth]
secret = "benchmark-secret-benchmark-secret-0123456789"
access_token_minutes = 240
[voting]
# The browser's work is not what is measured here: one PBKDF2 iteration, counter 0.
pow_cost = 1
pow_max_counter = 1
voter_per_minute = 1000000
voter_cache_secs = 3600
writers = ${WRITERS:-2}
TOML

# Four slices of distinct votes: the throughput run (more than it can cast), an exact
# run whose every answer arrives (to compare 201s with rows), the two-server run, the
# half-rate run.
FAST=$(( DURATION * ${MAX_RATE_GUESS:-25000} )); EXACT=20000; HALF=$(( DURATION * ${HALF_RATE_GUESS:-10000} ))
VOTERS=${VOTERS:-$(( (2 * FAST + EXACT + HALF) / 2 + 1 ))}
echo "== seeding $VOTERS voters × 2 votes"
CADENZA_CONFIG="$RUN/bench.toml" CADENZA__DATABASE__STATEMENT_TIMEOUT_MS=600000 "$BIN/examples/bench_voting_seed" "$VOTERS" 2 "$RUN/votes.tsv" > "$RUN/round.txt"
ROUND=$(tail -n 1 "$RUN/round.txt")
# The two-server slice is cut in halves, one per server, each voter's votes in one half
# (the seed writes a voter's votes one after the other), as a load balancer that keeps a
# phone's connection on one server would.
awk -v a="$FAST" -v b="$(( FAST + EXACT ))" -v c="$(( FAST + EXACT + FAST / 2 ))" -v d="$(( 2 * FAST + EXACT ))" -v dir="$RUN" \
  '{ print > (dir "/" (NR <= a ? "fast" : NR <= b ? "exact" : NR <= c ? "two-a" : NR <= d ? "two-b" : "half") ".tsv") }' "$RUN/votes.tsv"

"$BIN/cadenza" --config "$RUN/bench.toml" serve > "$RUN/server.log" 2>&1 &
SERVER_PID=$!
SERVER_PIDS=$SERVER_PID
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$PORT"

echo "== warming the voter cache (every voter asks for a challenge, as a browser does)"
wrk -t$THREADS -c32 -d$(( VOTERS / 4000 + 3 ))s -s scripts/bench/challenges.lua "$URL" -- "$RUN/votes.tsv" "$ROUND" $THREADS >/dev/null

cat > "$RUN/pgbench.sql" <<SQL
\set v random(1, 2000000000)
INSERT INTO votes (round_id, voter_id, entry_id, cast_at, day, slot, entry_slot, day_slot, idempotency_key,
  pow_id, pow_cost, network, ua_hash, account_age_secs, initial_status)
VALUES ('pgbench', 'pgb-' || :client_id || '-' || :v, 'be-1', now(), '2026-11-29', 1, 1, 1, 'k-' || :v,
  'pgb-' || :client_id || '-' || :v, 1, '127.0.0.0/24', 'ua', 86400, 'counted')
ON CONFLICT DO NOTHING;
SQL
pgbench() {
  "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PGPORT" -U postgres -n -f "$RUN/pgbench.sql" -c "$1" -j "$THREADS" -T "$DURATION" cadenza 2>/dev/null \
    | awk '/^tps/ {printf "%.0f", $3} /latency average/ {lat=$4}'
}
# pgbench's rows go to a round of their own that closed days ago, so the audit stage below
# measures only the live round (pgbench writes straight to the table, no window applies).
"${PSQL[@]}" -d cadenza -c "INSERT INTO voting_rounds (id, competition_id, title, opens_at, closes_at, created_at, updated_at)
  VALUES ('pgbench', 'bench-c', 'pgbench', now() - interval '3 days', now() - interval '2 days', now(), now())"
echo "== pgbench, one commit per vote (same table, same indexes)"
PGB1=$(pgbench 1); echo "   1 client:  $PGB1 inserts/s"
PGBP=$(pgbench "$POOL"); echo "   $POOL clients: $PGBP inserts/s (the server's pool size)"
PGBC=$(pgbench "$CONNS"); echo "   $CONNS clients: $PGBC inserts/s"

# Fresh statistics, as a live database has them (the tables were just filled).
"${PSQL[@]}" -d cadenza -c "VACUUM ANALYZE"
# CPU time (clock ticks, user + system) of the server, and of PostgreSQL: the postmaster,
# its live children and the children it has reaped.
CLK=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
cpu_of_server() { local t=0 p; for p in $SERVER_PIDS; do t=$(( t + $(ticks "$p") )); done; echo "$t"; }
cpu_of_pg() {
  local pm t c; pm=$(head -n 1 "$RUN/pg/postmaster.pid")
  t=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat")
  for c in $(pgrep -P "$pm"); do t=$(( t + $(ticks "$c") )); done
  echo "$t"
}
field() { echo "$1" | sed -n "s/.*$2=\([0-9.]*\).*/\1/p"; }
echo "== wrk: votes over HTTP, group commit ($CONNS connections, ${DURATION}s)"
TOP_PID=""
if [ -n "${PROFILE:-}" ]; then (sleep 3; top -b -n 2 -d 4 | awk '/^top -/{n++} n==2' | sed -n '7,13p' > "$RUN/top.txt") & TOP_PID=$!; fi
# PERF=file.data: sample the server's stacks during the vote run (perf from linux-perf).
if [ -n "${PERF:-}" ]; then perf record -e cpu-clock -F 199 --call-graph dwarf,16384 -o "$PERF" -p "$SERVER_PID" -- sleep $(( DURATION - 2 )) >/dev/null 2>&1 & fi
# PG_STATS=1: what PostgreSQL spent its time on during the vote run (pg_stat_statements).
if [ -n "${PG_STATS:-}" ]; then "${PSQL[@]}" -d cadenza -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()" >/dev/null; fi
# The presenter screen follows the round's show stream through the burst (issue 26).
python3 scripts/bench/show_probe.py "$URL" "$ROUND" "$DURATION" > "$RUN/show.txt" 2>&1 &
SHOW_PID=$!
CPU0_S=$(cpu_of_server); CPU0_P=$(cpu_of_pg)
OUT=$(wrk -t$THREADS -c"$CONNS" -d"${DURATION}s" --latency -s scripts/bench/votes.lua "$URL" -- "$RUN/fast.tsv" "$ROUND" 0 $THREADS)
CPU1_S=$(cpu_of_server); CPU1_P=$(cpu_of_pg)
wait "$SHOW_PID" || true
sed 's/^SHOW/   presenter screen during the burst:/' "$RUN/show.txt"
if [ -n "$TOP_PID" ]; then wait "$TOP_PID"; sed 's/^/   cpu: /' "$RUN/top.txt"; fi
echo "$OUT" | grep -E "Requests/sec|RESULT"
if [ -n "${PG_STATS:-}" ]; then
  "${PSQL[@]}" -d cadenza -F ' | ' -c "SELECT calls, rows, round(total_exec_time::numeric, 0) AS ms, round((total_exec_time / greatest(rows, 1) * 1000)::numeric, 1) AS us_per_row, left(regexp_replace(query, '\s+', ' ', 'g'), 90)
    FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 8" | sed 's/^/   pg: /'
fi
CREATED=$(field "$OUT" created); SECS=$(field "$OUT" secs); IDLE=$(field "$OUT" idle); P99=$(field "$OUT" p99_ms); P50=$(field "$OUT" p50_ms)
RATE=$(python3 -c "print(round($CREATED / $SECS))")
[ "$IDLE" = "0" ] || echo "   (the seed ran out: $IDLE idle requests; raise MAX_RATE_GUESS)"
US_S=$(python3 -c "print(round(($CPU1_S - $CPU0_S) / $CLK * 1e6 / $CREATED, 1))")
US_P=$(python3 -c "print(round(($CPU1_P - $CPU0_P) / $CLK * 1e6 / $CREATED, 1))")
echo "   CPU per vote: server $US_S µs, PostgreSQL $US_P µs (user + system time over the run / votes)"
echo "   votes/s = $RATE (p50 ${P50} ms, p99 ${P99} ms); × pgbench(1) = $(python3 -c "print(round($RATE/$PGB1,2))"); × pgbench($POOL) = $(python3 -c "print(round($RATE/$PGBP,2))"); × pgbench($CONNS) = $(python3 -c "print(round($RATE/$PGBC,2))")"

echo "== every acknowledged vote is in the log: $EXACT votes, every answer awaited"
sleep 1
BEFORE=$("${PSQL[@]}" -d cadenza -c "SELECT count(*) FROM votes WHERE round_id = '$ROUND'")
OUT=$(WRK_TALLY=1 wrk -t$THREADS -c"$CONNS" -d"$(( EXACT / 2000 + 4 ))s" -s scripts/bench/votes.lua "$URL" -- "$RUN/exact.tsv" "$ROUND" 0 $THREADS)
AFTER=$("${PSQL[@]}" -d cadenza -c "SELECT count(*) FROM votes WHERE round_id = '$ROUND'")
CREATED_EXACT=$(field "$OUT" created); ROWS=$(( AFTER - BEFORE ))
echo "   acknowledged (201) = $CREATED_EXACT, rows added to the log = $ROWS, other answers = $(field "$OUT" refused)"
[ "$CREATED_EXACT" = "$ROWS" ] && echo "   OK: as many rows as 201s" || echo "   MISMATCH"

echo "== two serve processes on one PostgreSQL ($CONNS connections in all, ${DURATION}s)"
# A second process with the same settings on another port; each gets half the
# connections from a load generator of its own, and its voters asked it for their
# challenges first. Both share the machine's two cores with PostgreSQL and the load
# generators, so this measures that the writers of two processes add up without waiting
# for each other, and their CPU per vote; docs/scaling.md does the arithmetic for more.
PORT2=$(free_port)
sed "s/^port = $PORT\$/port = $PORT2/" "$RUN/bench.toml" > "$RUN/bench2.toml"
"$BIN/cadenza" --config "$RUN/bench2.toml" serve > "$RUN/server2.log" 2>&1 &
SERVER2_PID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT2/readyz" >/dev/null && break; sleep 0.1; done
URL2="http://127.0.0.1:$PORT2"
wrk -t1 -c32 -d$(( FAST / 8000 + 3 ))s -s scripts/bench/challenges.lua "$URL" -- "$RUN/two-a.tsv" "$ROUND" 1 >/dev/null
wrk -t1 -c32 -d$(( FAST / 8000 + 3 ))s -s scripts/bench/challenges.lua "$URL2" -- "$RUN/two-b.tsv" "$ROUND" 1 >/dev/null
SERVER_PIDS="$SERVER_PID $SERVER2_PID"
BEFORE=$("${PSQL[@]}" -d cadenza -c "SELECT count(*) FROM votes WHERE round_id = '$ROUND'")
CPU0_S=$(cpu_of_server); CPU0_P=$(cpu_of_pg)
wrk -t1 -c"$(( CONNS / 2 ))" -d"${DURATION}s" --latency -s scripts/bench/votes.lua "$URL" -- "$RUN/two-a.tsv" "$ROUND" 0 1 > "$RUN/two-a.txt" &
WA=$!
wrk -t1 -c"$(( CONNS / 2 ))" -d"${DURATION}s" --latency -s scripts/bench/votes.lua "$URL2" -- "$RUN/two-b.tsv" "$ROUND" 0 1 > "$RUN/two-b.txt"
wait $WA
CPU1_S=$(cpu_of_server); CPU1_P=$(cpu_of_pg)
sleep 1
AFTER=$("${PSQL[@]}" -d cadenza -c "SELECT count(*) FROM votes WHERE round_id = '$ROUND'")
OUT_A=$(grep RESULT "$RUN/two-a.txt"); OUT_B=$(grep RESULT "$RUN/two-b.txt")
C_A=$(field "$OUT_A" created); C_B=$(field "$OUT_B" created)
RATE2=$(python3 -c "print(round($C_A / $(field "$OUT_A" secs) + $C_B / $(field "$OUT_B" secs)))")
echo "   server 1: $OUT_A"
echo "   server 2: $OUT_B"
echo "   CPU per vote: servers $(python3 -c "print(round(($CPU1_S - $CPU0_S) / $CLK * 1e6 / ($C_A + $C_B), 1))") µs, PostgreSQL $(python3 -c "print(round(($CPU1_P - $CPU0_P) / $CLK * 1e6 / ($C_A + $C_B), 1))") µs"
echo "   votes/s: one server $RATE, two servers $RATE2 (× $(python3 -c "print(round($RATE2 / $RATE, 2))")); rows added $(( AFTER - BEFORE )) for $(( C_A + C_B )) acknowledged"
kill "$SERVER2_PID"; wait "$SERVER2_PID" 2>/dev/null || true
SERVER_PIDS=$SERVER_PID

echo "== filling the log to $BULK votes"
HAVE=$("${PSQL[@]}" -d cadenza -c "SELECT count(*) FROM votes")
T0=$(date +%s)
LEFT=$(( BULK - HAVE )); STEP=1000000; START=1
while [ "$LEFT" -gt 0 ]; do
  N=$(( LEFT < STEP ? LEFT : STEP ))
  "${PSQL[@]}" -d cadenza -c "INSERT INTO votes (round_id, voter_id, entry_id, cast_at, day, slot, entry_slot, day_slot,
      idempotency_key, pow_id, pow_cost, network, ua_hash, account_age_secs, initial_status)
    SELECT '$ROUND', 'bulk-' || g, 'be-' || (1 + g % 24), now(), '2026-11-29', 1, 1, 1, 'k', 'bulk-' || g, 1,
      '10.' || (g % 250) || '.0.0/24', 'ua', 86400, 'counted' FROM generate_series($START, $(( START + N - 1 ))) g"
  START=$(( START + N )); LEFT=$(( LEFT - N ))
done
"${PSQL[@]}" -d cadenza -c "UPDATE vote_tallies t SET counted = c.n FROM (SELECT entry_id, count(*) n FROM votes WHERE round_id = '$ROUND' GROUP BY entry_id) c WHERE t.round_id = '$ROUND' AND t.entry_id = c.entry_id"
"${PSQL[@]}" -d cadenza -c "VACUUM ANALYZE votes"
TOTAL=$("${PSQL[@]}" -d cadenza -c "SELECT count(*) FROM votes")
echo "   $TOTAL votes in the log ($(( $(date +%s) - T0 )) s to load)"

echo "== leaderboard reads while votes flow at half the maximum rate"
# Votes at exactly RATE / 2 per second, on a schedule (bench_paced_votes, open loop);
# leaderboard reads with wrk meanwhile.
HALF_RATE=$(( RATE / 2 ))
MARK=$("${PSQL[@]}" -d cadenza -c "SELECT max(id) FROM votes")
"$BIN/examples/bench_paced_votes" "$URL" "$RUN/half.tsv" "$ROUND" "$HALF_RATE" "$DURATION" > "$RUN/half.txt" &
VPID=$!
sleep 1
BOARD=$(wrk -t1 -c"${BOARD_CONNS:-8}" -d"$(( DURATION - 2 ))s" --latency "$URL/api/v1/voting-rounds/$ROUND/leaderboard")
wait $VPID
echo "$BOARD" | grep -E "Requests/sec|50%|99%"
grep -E "RESULT" "$RUN/half.txt" | sed 's/^/   votes meanwhile: /'
echo "   (pgbench: 1 client $PGB1/s, $POOL clients $PGBP/s, $CONNS clients $PGBC/s)"

echo "== the periodic fraud audit at $TOTAL votes: the votes cast since its previous run"
# As if the audit had kept up until the half-rate run began: it looks at those votes, the
# minute before them and their voters' other votes (decision 0011), not the whole log.
"${PSQL[@]}" -d cadenza -c "UPDATE voting_rounds SET audited_through = $MARK WHERE id = '$ROUND'"
NEW=$("${PSQL[@]}" -d cadenza -c "SELECT count(*) FROM votes WHERE round_id = '$ROUND' AND id > $MARK")
"${PSQL[@]}" -d cadenza -c "INSERT INTO jobs (kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at)
  VALUES ('voting.audit', '{}', 'queued', 0, 1, now(), now(), now())"
T0=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$RUN/audit.rss" "$BIN/cadenza" --config "$RUN/bench.toml" admin run-jobs >/dev/null
T1=$(date +%s.%N)
echo "   $NEW new votes audited in $(python3 -c "print(round($T1 - $T0, 2))") s (the whole command: start, migrations check, the job), peak memory $(( $(cat "$RUN/audit.rss") / 1024 )) MiB"

