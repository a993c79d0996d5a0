"""A typed use of the API, checked with `mypy --strict` by test_typing.py (never imported)."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

import spectra
from spectra import Constraints, Weights, Workload


def best_region(engine: spectra.Spectra) -> str:
    ranking: spectra.Ranking = engine.rank_regions(
        weights=Weights(carbon=0.7, latency=0.2, cost=0.1),
        constraints=Constraints(max_latency_ms=120.0, allowed_providers=["aws"]),
        current_region="aws-eu-central-1",
        workload=Workload(instances=10),
    )
    first: spectra.RankedRegion = ranking.rows[0]
    saving: float = first.saving.carbon_pct if first.saving is not None else 0.0
    return f"{first.region} {saving:.1f}%"


def week_of_emissions(engine: spectra.Spectra) -> pl.DataFrame:
    now: datetime = engine.now()
    rows: list[spectra.EmissionsRow] = engine.fleet_emissions(now - timedelta(days=7), now, ["team", "day"])
    total: float = sum(r.total_kg_co2e for r in rows)
    assert total >= 0
    return engine.fleet_emissions_df(now - timedelta(days=7), now, ["team"])


def schedule(engine: spectra.Spectra) -> datetime:
    choice = engine.best_window("aws-us-east-1", 4, engine.now() + timedelta(hours=24), power_kw=2.0)
    return choice.best[0].start


def errors(engine: spectra.Spectra) -> str | None:
    try:
        engine.signals_history("nowhere", engine.now(), engine.now() + timedelta(hours=1))
    except spectra.NotFoundError as e:
        return str(e)
    return None


def main() -> None:
    engine = spectra.Spectra.demo()
    report: spectra.ImportReport = engine.import_(progress=lambda n, step: print(n, step))
    print(report.counts.carbon_hours.inserted, best_region(engine), schedule(engine), errors(engine))
    print(week_of_emissions(engine), engine.health().ok, engine.tick(1))
