#!/usr/bin/env python3
"""The work of benches/accounting.rs done in DuckDB SQL and in polars over the same bundled data
and the same synthetic fleet, printed next to the criterion figures of the same run.

- best window: lowest mean intensity x PUE over 4 consecutive hours with data, across every
  catalog region, (a) starting in the 48 hours from 2024-01-01 12:00, (b) over 2023-2024;
- fleet emissions: 10,000 instances x 720 hours from 2024-01-01, grouped by team (rule in
  benches/accounting.rs), intensity at each hour or the region's annual figure.

Run through benches/compare_accounting.sh.
"""
import json
import os
import pathlib
import statistics
import sys
import time
import tomllib
from datetime import datetime, timedelta

import duckdb
import polars as pl

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
T0 = datetime(2024, 1, 1)
TEAMS = ["platform", "data", "ml", "web", "payments"]
LCA = "Carbon Intensity gCO₂eq/kWh (LCA)"


def timeit(fn, budget_s=3.0, min_runs=5):
    fn()
    times, start = [], time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < budget_s and len(times) < 10_000):
        t = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t)
    return statistics.median(times)


def criterion_median(group, name):
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    est = target / "criterion" / group / name / "new" / "estimates.json"
    return json.loads(est.read_text())["median"]["point_estimate"] if est.exists() else None


def fmt(ns):
    if ns is None:
        return "n/a"
    return f"{ns / 1e3:.1f} µs" if ns < 1e6 else f"{ns / 1e6:.2f} ms"


def main():
    regions = tomllib.loads((DATA / "regions.toml").read_text())["region"]
    con = duckdb.connect()
    con.execute(f"""CREATE TABLE hourly AS SELECT "Zone Id" AS zone, "Datetime (UTC)"::TIMESTAMP AS hour, "{LCA}" AS g
        FROM read_csv('{DATA}/electricitymaps/*.csv', header = true) WHERE "{LCA}" IS NOT NULL ORDER BY zone, hour""")
    con.execute("CREATE TABLE regions (idx INTEGER, code VARCHAR, zone VARCHAR, pue DOUBLE, annual DOUBLE)")
    con.executemany("INSERT INTO regions VALUES (?, ?, ?, ?, ?)",
                    [(i, r["code"], r["zone"], r["pue"], r["annual_intensity_g_per_kwh"]) for i, r in enumerate(regions)])
    hourly = con.sql("SELECT * FROM hourly").pl()
    regions_df = con.sql("SELECT * FROM regions").pl()

    def duck_window(lo, hi):
        # Windows of 4 consecutive hours inside [lo, hi), all with data (count = 4 and the 4th
        # row is exactly 3 hours later), the lowest mean x PUE across regions.
        return con.execute("""
            WITH w AS (
              SELECT zone, hour, avg(g) OVER f AS mean, count(*) OVER f AS n, max(hour) OVER f AS last
              FROM hourly WHERE hour >= $lo AND hour < $hi
              WINDOW f AS (PARTITION BY zone ORDER BY hour ROWS BETWEEN CURRENT ROW AND 3 FOLLOWING))
            SELECT r.code, w.hour, w.mean * r.pue AS eff FROM w JOIN regions r USING (zone)
            WHERE n = 4 AND last = hour + INTERVAL 3 HOUR ORDER BY eff, hour, code LIMIT 1""",
            dict(lo=lo, hi=hi)).fetchone()

    def polars_window(lo, hi):
        w = (hourly.lazy().filter((pl.col("hour") >= lo) & (pl.col("hour") < hi)).sort("zone", "hour")
             .with_columns(mean=pl.col("g").rolling_mean(4).shift(-3).over("zone"),
                           last=pl.col("hour").shift(-3).over("zone"))
             .filter(pl.col("last") == pl.col("hour") + timedelta(hours=3))
             .join(regions_df.lazy(), on="zone").with_columns(eff=pl.col("mean") * pl.col("pue"))
             .sort("eff", "hour", "code").head(1).collect())
        return w.row(0)

    next48 = (T0 + timedelta(hours=12), T0 + timedelta(hours=60))
    every = (datetime(2023, 1, 1), datetime(2025, 1, 1))
    for lo, hi in (next48, every):
        d, p = duck_window(lo, hi), polars_window(lo, hi)
        assert d[1] == p[1], (d, p)

    # The synthetic fleet, built the same way as in benches/accounting.rs.
    n = len(regions)
    con.execute(f"""CREATE TABLE instances AS SELECT i, i % {n} AS ridx, ['platform','data','ml','web','payments'][i % 5 + 1] AS team,
        [2, 4, 8][i % 3 + 1] AS vcpus FROM range(10000) t(i)""")
    instances = con.sql("SELECT * FROM instances").pl()

    def duck_fleet():
        return con.execute(f"""
            SELECT team, sum((vcpus * (0.74 + ((7 * i + 13 * h) % 100) / 100.0 * 2.76) + vcpus * 4 * 0.392) / 1000.0
                             * r.pue * coalesce(hr.g, r.annual)) / 1000.0 AS kg
            FROM instances JOIN regions r ON r.idx = ridx CROSS JOIN range(720) t(h)
            LEFT JOIN hourly hr ON hr.zone = r.zone AND hr.hour = TIMESTAMP '2024-01-01' + h * INTERVAL 1 HOUR
            GROUP BY team ORDER BY team""").fetchall()

    hours = pl.DataFrame({"h": range(720)})
    month = hourly.filter((pl.col("hour") >= T0) & (pl.col("hour") < T0 + timedelta(hours=720)))

    def polars_fleet():
        return (instances.lazy().join(regions_df.lazy(), left_on="ridx", right_on="idx").join(hours.lazy(), how="cross")
                .with_columns(hour=pl.lit(T0) + pl.duration(hours=pl.col("h")),
                              cpu=((7 * pl.col("i") + 13 * pl.col("h")) % 100).cast(pl.Float64))
                .join(month.lazy(), on=["zone", "hour"], how="left")
                .with_columns(g=pl.coalesce("g", "annual"))
                .with_columns(kg=(pl.col("vcpus") * (0.74 + pl.col("cpu") / 100 * 2.76) + pl.col("vcpus") * 4 * 0.392)
                              / 1000 * pl.col("pue") * pl.col("g") / 1000)
                .group_by("team").agg(pl.col("kg").sum()).sort("team").collect())

    d, p = duck_fleet(), polars_fleet()
    assert all(abs(a[1] - b) < 1e-6 * a[1] for a, b in zip(d, p["kg"].to_list())), (d, p)

    rows = [
        ("best 4-hour window, next 48 h, all regions", criterion_median("best_window", "next_48h_all_regions"),
         timeit(lambda: duck_window(*next48)), timeit(lambda: polars_window(*next48))),
        ("best 4-hour window, all bundled hours, all regions", criterion_median("best_window", "all_hours_all_regions"),
         timeit(lambda: duck_window(*every)), timeit(lambda: polars_window(*every))),
        ("fleet emissions, 10k instances x 720 h, by team", criterion_median("fleet_emissions", "10k_instances_x_720h_by_team"),
         timeit(duck_fleet), timeit(polars_fleet)),
    ]
    print(f"duckdb {duckdb.__version__}, polars {pl.__version__}, python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print()
    print("| work | SPECTRA (criterion median) | DuckDB SQL (median) | polars (median) |")
    print("|---|---:|---:|---:|")
    for name, rust, duck, polars in rows:
        print(f"| {name} | {fmt(rust)} | {fmt(duck)} | {fmt(polars)} |")


if __name__ == "__main__":
    main()
