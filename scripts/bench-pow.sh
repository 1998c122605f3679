#!/usr/bin/env bash
# Proof of work in real Chromium at the default settings: median and p90 solve time of
# 30 vote challenges in the voting page's Web Worker; and the server's verification cost.
# Figures go to docs/benchmarks.md.
#
# Usage: scripts/bench-pow.sh     (Chromium and Node.js as for the browser tests)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
command -v chromium >/dev/null || apt-get install -y chromium >/dev/null
cargo build --release --quiet --bin cadenza
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
(cd tests/e2e && CADENZA_BIN="$CARGO_TARGET_DIR/release/cadenza" node bench-pow.mjs) | grep '^BENCH'
cargo test --release --quiet --lib voting::pow::tests::verification_cost -- --ignored --nocapture 2>&1 | grep '^BENCH'
