#!/usr/bin/env bash
# Upload benchmark: a 500 MiB WAV PUT through `cadenza serve` (release build, embedded
# defaults: SQLite + local store) while the server's RSS is sampled every 20 ms; and
# the same file copied with `cp` into the same folder, for the throughput ratio.
# Figures go to docs/benchmarks.md.
#
# Usage: scripts/bench-upload.sh [SIZE_MIB] [RUNS]    (default 500 MiB, 3 runs; medians shown)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
cargo build --release --quiet --bin cadenza
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
exec python3 scripts/bench_upload.py "$TARGET/release/cadenza" "${1:-500}" "${2:-3}"
