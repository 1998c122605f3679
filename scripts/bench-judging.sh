#!/usr/bin/env bash
# Judging at scale: automatic assignment (k judges per entry, balanced, with conflicts),
# the normalised ranking and the agreement statistics for 1,000 / 10,000 / 50,000 entries.
# Figures go to docs/benchmarks.md.
#
# Usage: scripts/bench-judging.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo test --release --lib judging::assign::bench -- --ignored --nocapture 2>&1 | grep '^BENCH'
