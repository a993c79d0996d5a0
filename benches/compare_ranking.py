#!/usr/bin/env python3
"""The ranking of benches/ranking.rs done as a user would without SPECTRA: in DuckDB SQL and in
polars, over the same bundled data and the same synthetic regions, then printed next to the
criterion figures of the same run (read from target/criterion).

Run through benches/compare_ranking.sh, which runs `cargo bench --bench ranking` first.

Both engines get the hourly data preloaded (as a service would keep it) and answer one request:
rank every region at 2024-01-01 12:00 UTC for 10 instances x 7.97 W at $0.096/h, weights
carbon 0.5 / latency 0.3 / cost 0.2, current region aws-us-east-1 (synthetic catalogs: syn-00000). Method
as in spectra-core's optimizer: life-cycle intensity at the hour or the annual figure, x PUE;
min-max normalisation; order by score then code.
"""
import csv
import json
import os
import pathlib
import statistics
import sys
import time
import tomllib
from datetime import datetime

import duckdb
import polars as pl

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
AT = datetime(2024, 1, 1, 12)
INSTANCES, WATTS, USD, HOURS = 10, 7.97, 0.096, 730.0
W_CARBON, W_LATENCY, W_COST = 0.5, 0.3, 0.2
VANTAGE = "us-east-1"


def bundled_regions():
    catalog = tomllib.loads((DATA / "regions.toml").read_text())["region"]
    with open(DATA / "reference/latency/aws_cloudping_p50_1y_matrix.csv") as f:
        rows = {r["from\\to"]: r for r in csv.DictReader(f)}
    latency = rows[VANTAGE]
    out = []
    for r in catalog:
        ms = r.get("baseline_latency_ms") or float(latency[r.get("latency_proxy") or r["cloud_region"]])
        out.append(dict(code=r["code"], zone=r["zone"], annual=r["annual_intensity_g_per_kwh"], pue=r["pue"],
                        price_factor=r["price_factor"], latency_ms=ms))
    return out


def synthetic(base, n):
    """Same rule as benches/ranking.rs."""
    out = []
    for i in range(n):
        r = dict(base[i % len(base)])
        r["code"] = f"syn-{i:05}"
        r["latency_ms"] += (i % 97) * 0.5
        out.append(r)
    return out


def duckdb_rank(con, current):
    return con.execute(
        """
        WITH c AS (
          SELECT r.code, r.pue, r.latency_ms, r.price_factor, coalesce(h.lifecycle, r.annual) AS g
          FROM regions r LEFT JOIN hourly h ON h.zone = r.zone AND h.hour = $at
        ), f AS (
          SELECT code, latency_ms, g,
                 $n * $w / 1000 * pue * $hours * g / 1000 AS kg,
                 $n * $usd * price_factor * $hours AS usd
          FROM c
        ), n AS (
          SELECT *,
            CASE WHEN max(kg) OVER () - min(kg) OVER () > 1e-12
                 THEN (kg - min(kg) OVER ()) / (max(kg) OVER () - min(kg) OVER ()) ELSE 0 END AS kn,
            CASE WHEN max(latency_ms) OVER () - min(latency_ms) OVER () > 1e-12
                 THEN (latency_ms - min(latency_ms) OVER ()) / (max(latency_ms) OVER () - min(latency_ms) OVER ()) ELSE 0 END AS ln,
            CASE WHEN max(usd) OVER () - min(usd) OVER () > 1e-12
                 THEN (usd - min(usd) OVER ()) / (max(usd) OVER () - min(usd) OVER ()) ELSE 0 END AS cn
          FROM f
        )
        SELECT code, g, kg, usd, latency_ms, $wc * kn + $wl * ln + $wk * cn AS score,
               (SELECT kg FROM f WHERE code = $cur) - kg AS saving_kg
        FROM n ORDER BY score, code
        """,
        dict(at=AT, n=INSTANCES, w=WATTS, hours=HOURS, usd=USD, wc=W_CARBON, wl=W_LATENCY, wk=W_COST, cur=current),
    ).fetchall()


def polars_rank(regions, hourly, current):
    at_hour = hourly.filter(pl.col("hour") == AT)
    f = (
        regions.join(at_hour, on="zone", how="left")
        .with_columns(g=pl.coalesce("lifecycle", "annual"))
        .with_columns(
            kg=INSTANCES * WATTS / 1000 * pl.col("pue") * HOURS * pl.col("g") / 1000,
            usd=INSTANCES * USD * pl.col("price_factor") * HOURS,
        )
    )

    def norm(c):
        span = pl.col(c).max() - pl.col(c).min()
        return pl.when(span > 1e-12).then((pl.col(c) - pl.col(c).min()) / span).otherwise(0.0)

    cur_kg = f.filter(pl.col("code") == current).select("kg").item()
    return (
        f.with_columns(score=W_CARBON * norm("kg") + W_LATENCY * norm("latency_ms") + W_COST * norm("usd"))
        .with_columns(saving_kg=cur_kg - pl.col("kg"))
        .sort(["score", "code"])
        .select("code", "g", "kg", "usd", "latency_ms", "score", "saving_kg")
    )


def timeit(fn, budget_s=2.0, min_runs=20):
    fn()  # warm up
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < budget_s:
        t = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t)
        if len(times) >= 100_000:
            break
    return statistics.median(times)


def criterion_median(n):
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    est = target / "criterion" / "rank_regions" / str(n) / "new" / "estimates.json"
    if not est.exists():
        return None
    return json.loads(est.read_text())["median"]["point_estimate"]


def fmt(ns):
    if ns is None:
        return "n/a"
    if ns < 1_000:
        return f"{ns:.0f} ns"
    if ns < 1_000_000:
        return f"{ns / 1_000:.2f} µs"
    return f"{ns / 1_000_000:.2f} ms"


def main():
    base = bundled_regions()
    con = duckdb.connect()
    con.execute(
        f"""CREATE TABLE hourly AS
        SELECT "Zone Id" AS zone, "Datetime (UTC)"::TIMESTAMP AS hour, "Carbon Intensity gCO₂eq/kWh (LCA)" AS lifecycle
        FROM read_csv('{DATA}/electricitymaps/*.csv', header = true)
        WHERE "Carbon Intensity gCO₂eq/kWh (LCA)" IS NOT NULL
        ORDER BY hour, zone"""
    )
    hourly = con.sql("SELECT * FROM hourly").pl()
    rows = []
    for n in (18, len(base), 1_000, 10_000):
        regions = base if n == len(base) else synthetic(base, n)
        current = "aws-us-east-1" if n == len(base) else "syn-00000"
        con.execute("CREATE OR REPLACE TABLE regions (code VARCHAR, zone VARCHAR, annual DOUBLE, pue DOUBLE, price_factor DOUBLE, latency_ms DOUBLE)")
        con.executemany("INSERT INTO regions VALUES (?, ?, ?, ?, ?, ?)",
                        [(r["code"], r["zone"], r["annual"], r["pue"], r["price_factor"], r["latency_ms"]) for r in regions])
        regions_df = pl.DataFrame(regions)
        d = duckdb_rank(con, current)
        p = polars_rank(regions_df, hourly, current)
        # Same answer from both, to the last code.
        assert [r[0] for r in d] == p["code"].to_list(), "DuckDB and polars disagree"
        rows.append((n, d[0][0], criterion_median(n), timeit(lambda: duckdb_rank(con, current)),
                     timeit(lambda: polars_rank(regions_df, hourly, current))))
    print(f"duckdb {duckdb.__version__}, polars {pl.__version__}, python {sys.version.split()[0]}")
    print()
    print("| regions | first | SPECTRA (criterion median) | DuckDB SQL (median) | polars (median) |")
    print("|---:|---|---:|---:|---:|")
    for n, first, rust, duck, polars in rows:
        print(f"| {n:,} | {first} | {fmt(rust)} | {fmt(duck)} | {fmt(polars)} |")


if __name__ == "__main__":
    main()
