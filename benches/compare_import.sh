#!/usr/bin/env bash
# Import benchmark, SPECTRA beside DuckDB's read_csv and polars' read_csv, in one run:
#   bash benches/compare_import.sh
# Needs the prebuilt DuckDB (fetched by .ci/duckdb-env) and a virtualenv with duckdb and polars.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/duckdb-env
venv="${SPECTRA_BENCH_VENV:-$HOME/.cache/spectra-bench-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q duckdb polars pyarrow
cargo bench --features duckdb-prebuilt --bench import -- --noplot
"$venv/bin/python" benches/compare_import.py
