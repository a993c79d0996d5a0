#!/usr/bin/env bash
# Ranking benchmark, SPECTRA beside DuckDB SQL and polars, in one run:
#   bash benches/compare_ranking.sh
# Installs duckdb, polars and pyarrow into a virtualenv under ~/.cache (once), runs the criterion
# bench, then the Python equivalents, and prints one table for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${SPECTRA_BENCH_VENV:-$HOME/.cache/spectra-bench-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q duckdb polars pyarrow
cargo bench --bench ranking -- --noplot
"$venv/bin/python" benches/compare_ranking.py
