#!/usr/bin/env bash
# The screenshots in docs/screenshots/, made by the browser tests themselves (so what the
# docs show is what the tests saw): the live show's presenter screen and show control, and a song's comment lane.
# Re-run after changing those pages, and look at the pictures before committing them.
#
# Usage: scripts/docs-screenshots.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
[ -x /usr/bin/chromium ] || [ -n "${CHROMIUM_PATH:-}" ] || { echo "needs Chromium (apt-get install chromium fonts-noto-cjk)"; exit 1; }
command -v npm >/dev/null || { echo "needs Node.js and npm (apt-get install nodejs npm)"; exit 1; }
cargo build --quiet --bin cadenza
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
OUT="$ROOT/docs/screenshots"
mkdir -p "$OUT"
cd tests/e2e
CADENZA_BIN="$TARGET/debug/cadenza" SCREENSHOT_DIR="$OUT" node --test --test-concurrency=1 show.test.mjs comments.test.mjs album.test.mjs
ls -1 "$OUT"
