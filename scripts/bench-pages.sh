#!/usr/bin/env bash
# Page weight and speed on a phone (issue 25): the home page, a prompt page (the QR
# code's target), the vote gallery, a song page and the leaderboard, each loaded cold in
# Chromium on an emulated slow mobile network with the CPU slowed 4×. Prints bytes
# transferred, Largest Contentful Paint, Cumulative Layout Shift and the time until the
# Vote button works, against the budgets (150 KB, 2.5 s, 0.1); exits 1 if a page is over.
# Figures go to docs/benchmarks.md. See tests/e2e/page-weight.mjs for what is measured.
#
# Usage: scripts/bench-pages.sh [RUNS]     (default 3 cold loads per page; the median is shown)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
[ -x /usr/bin/chromium ] || [ -n "${CHROMIUM_PATH:-}" ] || { echo "needs Chromium (apt-get install chromium)"; exit 1; }
command -v npm >/dev/null || { echo "needs Node.js and npm (apt-get install nodejs npm)"; exit 1; }
cargo build --release --quiet --bin cadenza
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
cd tests/e2e
CADENZA_BIN="$TARGET/release/cadenza" RUNS="${1:-3}" exec node page-weight.mjs
