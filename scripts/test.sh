#!/usr/bin/env bash
# Cadenza's whole test suite, every leg:
#   fmt, clippy, unit tests, the API suite on SQLite (local store) and on PostgreSQL
#   (S3 store), the storage contract on the local store and a real S3 server, the SMTP
#   mailer against a real SMTP server, faults played against the real binary (SIGKILL
#   during uploads, PostgreSQL stopped and frozen under vote load, SIGTERM), the audio engine (EBU conformance, an ffmpeg
#   cross-check, isolation, 2,000 malformed files), schemathesis fuzzing every operation of the
#   OpenAPI document, and the browser tests in real Chromium.
#
# It installs what a fresh Debian machine lacks (PostgreSQL server, s3s-fs, aiosmtpd,
# Chromium, Node) and starts throwaway instances of the services on free ports; it
# stops what it started. With CI=true a leg that cannot run fails the run.
#
# Usage: scripts/test.sh [LEG...]     (no argument: every leg)
# Legs:  fmt clippy unit api-sqlite api-postgres storage smtp faults audio fuzz browser
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
CI=${CI:-false}
TOOLS=${CADENZA_TOOLS_DIR:-$HOME/.cache/cadenza-test-tools}
RUN=$(mktemp -d /tmp/cadenza-test.XXXXXX)
chmod 755 "$RUN"
mkdir -p "$TOOLS"
ALL_LEGS=(fmt clippy unit api-sqlite api-postgres storage smtp faults audio fuzz browser)
if [ $# -gt 0 ]; then LEGS=("$@"); else LEGS=("${ALL_LEGS[@]}"); fi

PIDS=()
PG_DATA=""
PG_BIN=""
declare -a RESULTS=()
PASSED=0
FAILED=0

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }

cleanup() {
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  if [ -n "$PG_DATA" ] && [ -f "$PG_DATA/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate stop >/dev/null 2>&1
  fi
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wants() { local l; for l in "${LEGS[@]}"; do [ "$l" = "$1" ] && return 0; done; return 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_port() { # host port seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

APT_UPDATED=false
apt_install() { # packages... ; download first, then install, in small groups (see DESIGN.md)
  command -v apt-get >/dev/null || { note "apt-get not available to install: $*"; return 1; }
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if [ "$APT_UPDATED" = false ]; then $sudo apt-get update -qq >/dev/null 2>&1; APT_UPDATED=true; fi
  local p
  for p in "$@"; do
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --download-only "$p" >/dev/null 2>&1
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$p" >/dev/null 2>&1 || {
      note "apt-get install $p failed"; return 1; }
  done
}

# Run a leg: name, then the command. Records passed / failed / skipped.
leg() {
  local name=$1; shift
  say "leg: $name"
  local start=$SECONDS
  "$@"
  local rc=$?
  local took=$((SECONDS - start))
  if [ $rc -eq 0 ]; then
    RESULTS+=("passed   $name (${took}s)"); PASSED=$((PASSED + 1))
  else
    RESULTS+=("FAILED   $name (${took}s)"); FAILED=$((FAILED + 1))
  fi
}

# A leg whose service could not be provided: skipped locally, failed under CI.
cannot_run() {
  local name=$1 why=$2
  say "leg: $name"
  if [ "$CI" = true ]; then
    note "cannot run: $why (CI=true: this fails the run)"
    RESULTS+=("FAILED   $name (cannot run: $why)"); FAILED=$((FAILED + 1))
  else
    note "skipped: $why"
    RESULTS+=("skipped  $name ($why)")
  fi
}

# ---------------------------------------------------------------- services

as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_postgres() {
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
    note "installing PostgreSQL server"
    apt_install postgresql || return 1
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  fi
  [ -x "$PG_BIN/initdb" ] || return 1
  # The fault tests create (and stop, and freeze) clusters of their own with these programs.
  export CADENZA_TEST_PG_BIN="$PG_BIN"
  if [ -n "${CADENZA_TEST_PG_URL:-}" ]; then note "using CADENZA_TEST_PG_URL"; return 0; fi
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then useradd --system --no-create-home postgres || return 1; fi
  # Everything of the cluster lives in one folder the server's user owns.
  local home="$RUN/postgres"
  PG_DATA="$home/data"
  mkdir -p "$home"
  [ "$(id -u)" -eq 0 ] && chown postgres "$home"
  as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --no-sync >"$RUN/initdb.log" 2>&1 || {
    cat "$RUN/initdb.log"; PG_DATA=""; return 1; }
  local port; port=$(free_port)
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$home/server.log" -w -o \
    "-p $port -k $home -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null || {
    cat "$home/server.log"; return 1; }
  export CADENZA_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  note "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on port $port"
}

start_s3() {
  if ! command -v s3s-fs >/dev/null; then
    note "installing s3s-fs 0.14.1 (cargo install; a few minutes the first time)"
    cargo install s3s-fs@0.14.1 --features binary --locked --quiet || return 1
  fi
  local port; port=$(free_port)
  mkdir -p "$RUN/s3/cadenza-test"
  s3s-fs --host 127.0.0.1 --port "$port" --access-key cadenza-test --secret-key cadenza-test-secret "$RUN/s3" \
    >"$RUN/s3.log" 2>&1 &
  PIDS+=($!)
  wait_port 127.0.0.1 "$port" 20 || { cat "$RUN/s3.log"; return 1; }
  export CADENZA_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
  export CADENZA_TEST_S3_BUCKET=cadenza-test
  export CADENZA_TEST_S3_ACCESS_KEY=cadenza-test
  export CADENZA_TEST_S3_SECRET_KEY=cadenza-test-secret
  note "s3s-fs on port $port"
}

smtp_python() {
  local py
  for py in python3 /usr/bin/python3 "$TOOLS/venv/bin/python"; do
    if command -v "$py" >/dev/null && "$py" -c 'import aiosmtpd' 2>/dev/null; then echo "$py"; return 0; fi
  done
  note "installing aiosmtpd" >&2
  if python3 -m venv "$TOOLS/venv" >/dev/null 2>&1 && "$TOOLS/venv/bin/pip" install -q aiosmtpd >/dev/null 2>&1; then
    echo "$TOOLS/venv/bin/python"; return 0
  fi
  apt_install python3-aiosmtpd >&2 && /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null && { echo /usr/bin/python3; return 0; }
  return 1
}

start_smtp() {
  local py; py=$(smtp_python) || return 1
  local port; port=$(free_port)
  mkdir -p "$RUN/maildir/tmp" "$RUN/maildir/new" "$RUN/maildir/cur"
  "$py" -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Mailbox "$RUN/maildir" >"$RUN/smtp.log" 2>&1 &
  PIDS+=($!)
  wait_port 127.0.0.1 "$port" 20 || { cat "$RUN/smtp.log"; return 1; }
  export CADENZA_TEST_SMTP_HOST=127.0.0.1
  export CADENZA_TEST_SMTP_PORT=$port
  export CADENZA_TEST_SMTP_MAILDIR="$RUN/maildir"
  # Tests that stop the server start their own sink with the same Python.
  export CADENZA_TEST_SMTP_PYTHON="$py"
  note "aiosmtpd on port $port"
}

prepare_audio() {
  command -v ffmpeg >/dev/null && return 0
  note "installing ffmpeg"
  apt_install ffmpeg && command -v ffmpeg >/dev/null
}

SCHEMATHESIS_VERSION=4.32.5
prepare_fuzz() {
  local st="$TOOLS/st-venv/bin/schemathesis"
  if [ ! -x "$st" ] || ! "$st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    note "installing schemathesis $SCHEMATHESIS_VERSION"
    python3 -m venv "$TOOLS/st-venv" >/dev/null 2>&1 || apt_install python3-venv >/dev/null 2>&1
    python3 -m venv "$TOOLS/st-venv" >/dev/null 2>&1 || return 1
    "$TOOLS/st-venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION" >/dev/null 2>&1 || return 1
  fi
  export SCHEMATHESIS="$st"
}

run_fuzz() {
  cargo build --bin cadenza --quiet || return 1
  local target; target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  # SQLite (the embedded defaults) and PostgreSQL (a fresh database on the suite's
  # server) at the same time: each pass has its own server, and both mostly wait on
  # schemathesis, so side by side they take little more than the longer one.
  local db="cadenza_fuzz_$$" psql out; out=$(mktemp)
  psql=$(ls -d /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1)
  "${psql:-psql}" "$CADENZA_TEST_PG_URL" -qc "CREATE DATABASE $db" >/dev/null || return 1
  CADENZA_BIN="$target/debug/cadenza" scripts/fuzz-api.sh 25 >"$out" 2>&1 &
  local sqlite_pid=$! pg=0 lite=0
  CADENZA__DATABASE__URL="${CADENZA_TEST_PG_URL%/*}/$db" CADENZA_BIN="$target/debug/cadenza" \
    scripts/fuzz-api.sh 25 >"$out.pg" 2>&1 || pg=$?
  wait "$sqlite_pid" || lite=$?
  note "on SQLite (the embedded defaults)"; cat "$out"
  note "on PostgreSQL"; cat "$out.pg"
  rm -f "$out" "$out.pg"
  [ "$lite" -eq 0 ] && [ "$pg" -eq 0 ]
}

prepare_browser() {
  if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM_PATH:-}" ]; then
    note "installing Chromium"
    apt_install chromium || return 1
  fi
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    note "installing Node.js"
    apt_install nodejs npm || return 1
  fi
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || return 1
}

# ---------------------------------------------------------------- legs

cargo_test_api() { # extra env is already exported by the caller
  cargo test --test api "$@"
}

run_faults() {
  env CADENZA_TEST_DB=postgres CADENZA_TEST_STORE=s3 \
    cargo test --test api contract::faults -- --test-threads=1 --nocapture || return 1
  # The faults that need no PostgreSQL, again on the embedded defaults (SQLite, local store).
  env CADENZA_TEST_DB=sqlite CADENZA_TEST_STORE=local \
    cargo test --test api contract::faults -- --test-threads=1 --nocapture \
    --skip postgres_stopped --skip database_hung --skip two_servers
}

run_browser() {
  cargo build --bin cadenza --quiet || return 1
  local target; target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  # A test that hangs (a page that never answers, a browser that never starts) fails
  # after five minutes instead of holding the run.
  (cd tests/e2e && CADENZA_BIN="$target/debug/cadenza" node --test --test-concurrency=1 --test-timeout=300000)
}

say "preparing services"
NEED_PG=false; NEED_S3=false
{ wants api-sqlite || wants api-postgres || wants faults || wants fuzz; } && NEED_PG=true
{ wants api-postgres || wants storage || wants faults; } && NEED_S3=true
PG_OK=false; S3_OK=false; SMTP_OK=false; AUDIO_OK=false; FUZZ_OK=false; BROWSER_OK=false
if [ "$NEED_PG" = true ]; then start_postgres && PG_OK=true; fi
if [ "$NEED_S3" = true ]; then start_s3 && S3_OK=true; fi
if wants smtp; then start_smtp && SMTP_OK=true; fi
if wants audio; then prepare_audio && AUDIO_OK=true; fi
if wants fuzz; then prepare_fuzz && FUZZ_OK=true; fi
if wants browser; then prepare_browser && BROWSER_OK=true; fi

wants fmt && leg fmt cargo fmt --check
wants clippy && leg clippy cargo clippy --all-targets --quiet -- -D warnings
wants unit && leg unit cargo test --lib --bins

if wants api-sqlite; then
  if [ "$PG_OK" = true ]; then
    leg api-sqlite env CADENZA_TEST_DB=sqlite CADENZA_TEST_STORE=local cargo test --test api -- --skip contract::
  else
    cannot_run api-sqlite "no PostgreSQL for the schema-parity test"
  fi
fi
if wants api-postgres; then
  if [ "$PG_OK" = true ] && [ "$S3_OK" = true ]; then
    leg api-postgres env CADENZA_TEST_DB=postgres CADENZA_TEST_STORE=s3 cargo test --test api -- --skip contract::
  else
    cannot_run api-postgres "PostgreSQL or the S3 server could not be started"
  fi
fi
if wants storage; then
  if [ "$S3_OK" = true ]; then
    leg storage env CADENZA_TEST_MEMORY=1 cargo test --test api contract::storage -- --test-threads=1
  else
    cannot_run storage "the S3 server could not be started"
  fi
fi
if wants smtp; then
  if [ "$SMTP_OK" = true ]; then
    leg smtp cargo test --test api contract::smtp
  else
    cannot_run smtp "the SMTP sink could not be started"
  fi
fi
if wants faults; then
  if [ "$PG_OK" = true ] && [ "$S3_OK" = true ]; then
    leg faults run_faults
  else
    cannot_run faults "PostgreSQL or the S3 server could not be started"
  fi
fi
if wants audio; then
  if [ "$AUDIO_OK" = true ]; then
    leg audio cargo test --test audio -- --nocapture --test-threads=2
  else
    cannot_run audio "ffmpeg could not be installed"
  fi
fi
if wants fuzz; then
  if [ "$FUZZ_OK" = true ] && [ "$PG_OK" = true ]; then
    leg fuzz run_fuzz
  else
    cannot_run fuzz "schemathesis or PostgreSQL could not be installed"
  fi
fi
if wants browser; then
  if [ "$BROWSER_OK" = true ]; then
    leg browser run_browser
  else
    cannot_run browser "Chromium or Node could not be installed"
  fi
fi

say "summary"
for r in "${RESULTS[@]}"; do note "$r"; done
echo
echo "legs: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
