#!/usr/bin/env bash
# Scheduling and accounting benchmarks, SPECTRA beside DuckDB SQL and polars, in one run:
#   bash benches/compare_accounting.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${SPECTRA_BENCH_VENV:-$HOME/.cache/spectra-bench-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q duckdb polars pyarrow
cargo bench --bench accounting -- --noplot
"$venv/bin/python" benches/compare_accounting.py
