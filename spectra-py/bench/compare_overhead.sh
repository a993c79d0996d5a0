#!/usr/bin/env bash
# Python call overhead of rank_regions beside the Rust call, in one run (BENCHMARKS.md, issue 6):
#   bash spectra-py/bench/compare_overhead.sh
# Builds and installs the wheel (.ci/test-python's venv), runs criterion's rank_regions/33, then
# the Python timings of the same request.
set -euo pipefail
cd "$(dirname "$0")/../.."
source .ci/duckdb-env
venv="${SPECTRA_VENV:-$HOME/.cache/spectra-venv}"
[ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import spectra" 2>/dev/null || bash .ci/test-python
cargo bench --bench ranking -- --noplot 'rank_regions/33$'
"$venv/bin/python" spectra-py/bench/overhead.py
