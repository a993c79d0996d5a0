#!/usr/bin/env python3
"""Reading all bundled Electricity Maps exports as a user would without SPECTRA, printed next to
the criterion figures of `benches/import.rs` from the same run (read from target/criterion):

- DuckDB: `CREATE TABLE ... AS SELECT ... FROM read_csv('data/electricitymaps/*.csv')` into an
  in-memory database, parsing timestamps, dropping rows without a value (as SPECTRA does);
- polars: `pl.read_csv` of the same files, timestamps parsed, rows without a value dropped.

Neither validates what SPECTRA validates (zones against the catalog, ranges, duplicate hours, a
typed error per bad cell) nor writes idempotently. Run through benches/compare_import.sh.
"""
import json
import os
import pathlib
import statistics
import sys
import time

import duckdb
import polars as pl

ROOT = pathlib.Path(__file__).resolve().parent.parent
CSV = ROOT / "data" / "electricitymaps"
LCA = "Carbon Intensity gCO₂eq/kWh (LCA)"


def duckdb_read_csv():
    con = duckdb.connect()
    con.execute(
        f"""CREATE TABLE carbon AS
        SELECT "Zone Id" AS zone, "Datetime (UTC)"::TIMESTAMP AS hour, "{LCA}" AS lifecycle,
               "Carbon Intensity gCO₂eq/kWh (direct)" AS direct, "Low Carbon Percentage" AS low_carbon,
               "Renewable Percentage" AS renewable, "Data Estimated" AS estimated
        FROM read_csv('{CSV}/*.csv', header = true) WHERE "{LCA}" IS NOT NULL"""
    )
    n = con.execute("SELECT count(*) FROM carbon").fetchone()[0]
    assert n == 280_656, n
    con.close()


def polars_read_csv():
    df = pl.read_csv(sorted(CSV.glob("*.csv")), try_parse_dates=False).filter(pl.col(LCA).is_not_null())
    df = df.with_columns(pl.col("Datetime (UTC)").str.to_datetime("%Y-%m-%d %H:%M:%S"))
    assert df.height == 280_656, df.height


def timeit(fn, runs=10):
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t)
    return statistics.median(times)


def criterion_median(name):
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    est = target / "criterion" / "import_bundled" / name / "new" / "estimates.json"
    return json.loads(est.read_text())["median"]["point_estimate"] if est.exists() else None


def ms(ns):
    return "n/a" if ns is None else f"{ns / 1e6:.0f} ms"


def main():
    duck, polars = timeit(duckdb_read_csv), timeit(polars_read_csv)
    print(f"duckdb {duckdb.__version__}, polars {pl.__version__}, python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print()
    print("| what (32 files, 280,656 hours) | median |")
    print("|---|---:|")
    print(f"| SPECTRA: parse and validate (`ElectricityMapsCsv::load`) | {ms(criterion_median('parse'))} |")
    print(f"| SPECTRA: parse, validate and import into DuckDB (`DuckDbStore::import`) | {ms(criterion_median('parse_and_store_duckdb'))} |")
    print(f"| DuckDB `read_csv` into a table | {ms(duck)} |")
    print(f"| polars `read_csv` | {ms(polars)} |")


if __name__ == "__main__":
    main()
