#!/usr/bin/env bash
# Fuzz every operation of Cadenza's OpenAPI document with schemathesis: generated valid
# and invalid requests (examples, boundary values, random data), as an organiser and as
# nobody. It fails on any server error (5xx) and on any response that breaks the
# documented schema. The server runs on its embedded defaults in a throwaway folder.
#
# Usage: scripts/fuzz-api.sh [MAX_EXAMPLES]     (default 25 per operation)
# Environment: CADENZA_BIN (default: the debug build), SCHEMATHESIS (default: on PATH).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EXAMPLES=${1:-25}
ST=${SCHEMATHESIS:-schemathesis}
if [ -z "${CADENZA_BIN:-}" ]; then
  target=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  CADENZA_BIN="$target/debug/cadenza"
fi
command -v "$ST" >/dev/null || { echo "schemathesis is not installed (pip install schemathesis)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/cadenza-fuzz.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
URL="http://127.0.0.1:$PORT"
export CADENZA__SERVER__PORT=$PORT CADENZA__SERVER__PUBLIC_URL=$URL
export CADENZA__AUTH__ARGON2_MEMORY_KIB=1024 CADENZA__AUTH__ARGON2_ITERATIONS=1
export CADENZA__LOG__LEVEL=warn CADENZA__JOBS__POLL_INTERVAL_MS=100
(cd "$WORK" && exec "$CADENZA_BIN" serve >"$WORK/server.log" 2>&1) &
SERVER=$!
cleanup() { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
# POST JSON, print the answer (python3 rather than curl: a fresh Debian has it).
post() { # path, json, [token]
  python3 - "$URL$1" "$2" "${3:-}" <<'PY'
import sys, urllib.request
url, body, token = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
if token:
    req.add_header("Authorization", "Bearer " + token)
print(urllib.request.urlopen(req, timeout=30).read().decode())
PY
}
for _ in $(seq 1 300); do
  python3 -c "import urllib.request; urllib.request.urlopen('$URL/readyz', timeout=1)" 2>/dev/null && break
  sleep 0.1
done

# An organiser with a published competition, so operations have something to work on.
link=$(cd "$WORK" && "$CADENZA_BIN" admin create-organiser --email fuzz@example.org | grep -o 'https\?://[^ ]*token=[^ ]*')
post /api/v1/account/password-setup "{\"token\":\"${link##*token=}\",\"password\":\"baton and score 42\"}" >/dev/null
TOKEN=$(post /api/v1/auth/sign-in '{"email":"fuzz@example.org","password":"baton and score 42"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
post /api/v1/competitions '{"title":"Fuzz","slug":"fuzz","summary":"s","time_zone":"UTC","prompts":[{"title":"P","story":"S"}]}' "$TOKEN" >/dev/null

run() { # label, extra args...
  local label=$1; shift
  echo "== schemathesis ($label), $EXAMPLES examples per operation"
  # From the throwaway folder: schemathesis keeps a cache in its working directory.
  (cd "$WORK" && "$ST" run "$URL/api/v1/openapi.json" \
    --checks not_a_server_error,response_schema_conformance \
    --phases examples,coverage,fuzzing --max-examples "$EXAMPLES" --workers 2 \
    --seed 20261130 --generation-deterministic --request-timeout 30 \
    --warnings off "$@")
}
rc=0
run "anonymous" || rc=1
# Signed in: everything but the two operations that would end the organiser's session.
run "organiser" -H "Authorization: Bearer $TOKEN" \
  --exclude-path /api/v1/me/delete --exclude-path /api/v1/auth/sign-out-everywhere || rc=1
if grep -q "panicked" "$WORK/server.log"; then
  echo "the server log records a panic:" >&2
  grep -B2 -A10 "panicked" "$WORK/server.log" >&2
  rc=1
fi
exit $rc
