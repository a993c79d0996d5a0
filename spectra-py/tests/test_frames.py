"""Tables: every *_df DataFrame holds exactly the typed rows; pyarrow reads the same tables."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
import pytest

import spectra


def dicts(rows: list[Any]) -> list[dict[str, Any]]:
    return [r.to_dict() for r in rows]


def test_each_frame_equals_its_rows(fresh: spectra.Spectra) -> None:
    now = fresh.now()
    week = (now - timedelta(days=7), now)
    fresh.execute_migration("aws-eu-central-1", "aws-eu-north-1")
    fresh.detect_anomalies()
    pairs: list[tuple[pl.DataFrame, list[Any]]] = [
        (fresh.signals_latest_df(), fresh.signals_latest()),
        (fresh.signals_history_df("aws-eu-west-2", *week), fresh.signals_history("aws-eu-west-2", *week)),
        (fresh.latency_latest_df(), fresh.latency_latest()),
        (fresh.latency_history_df("aws-eu-west-2", week[0], now + timedelta(hours=1)),
         fresh.latency_history("aws-eu-west-2", week[0], now + timedelta(hours=1))),
        (fresh.migrations_df(), fresh.migrations()),
        (fresh.instances_df(), fresh.instances()),
        (fresh.anomalies_df(), fresh.anomalies()),
        (fresh.fleet_emissions_df(*week, ["team", "region", "day"]), fresh.fleet_emissions(*week, ["team", "region", "day"])),
        (fresh.budgets_df(), fresh.budgets()),
        (fresh.job_recommendations_df(), fresh.job_recommendations()),
        (fresh.settings_df(), fresh.settings()),
    ]
    for df, rows in pairs:
        assert isinstance(df, pl.DataFrame)
        assert rows, f"{df.columns}: no rows to compare"
        assert df.columns == type(rows[0])._fields
        assert df.to_dicts() == dicts(rows), df.columns


def test_rank_regions_frame_flattens_saving(demo: spectra.Spectra) -> None:
    ranking = demo.rank_regions(current_region="aws-us-east-1")
    df = demo.rank_regions_df(current_region="aws-us-east-1")
    assert df.height == len(ranking.rows)
    for got, row in zip(df.to_dicts(), ranking.rows):
        want = row.to_dict()
        saving = want.pop("saving")
        assert {k: got[k] for k in want} == want
        assert saving is not None
        assert got["saving_kg_co2e_per_month"] == saving.kg_co2e_per_month
        assert got["saving_carbon_pct"] == saving.carbon_pct
        assert got["saving_usd_per_month"] == saving.usd_per_month
    no_current = demo.rank_regions_df()
    assert no_current["saving_carbon_pct"].null_count() == no_current.height


def test_types_and_time_zone(demo: spectra.Spectra) -> None:
    start = demo.now()
    df = demo.signals_history_df("aws-eu-west-2", start, start + timedelta(days=1))
    assert df.schema["hour"] == pl.Datetime("us", "UTC")
    assert df["hour"][0] == start
    emissions = demo.fleet_emissions_df(start - timedelta(days=2), start, ["day"])
    assert emissions.schema["day"] == pl.Date
    assert demo.job_recommendations_df().schema["allowed_regions"] == pl.List(pl.String)


def test_pyarrow_reads_the_same_tables(demo: spectra.Spectra) -> None:
    table = demo.instances_table()
    assert table.num_rows == len(table) == 50
    assert table.column_names == list(spectra.Instance._fields)
    arrow = pa.table(table)
    assert arrow.num_rows == 50
    assert arrow.column("id").to_pylist() == [i.id for i in demo.instances()]
    # The same table object can be read again: each read is a new stream.
    assert pl.DataFrame(table).equals(pl.from_arrow(pa.table(table)))  # type: ignore[arg-type]
    assert "50 rows" in repr(table)


def test_empty_tables_keep_their_schema(demo: spectra.Spectra) -> None:
    never = datetime(2030, 1, 1, tzinfo=demo.now().tzinfo)
    df = demo.signals_history_df("aws-eu-west-2", never, never + timedelta(hours=1))
    assert df.height == 0 and df.columns == list(spectra.CarbonIntensityHour._fields)


@pytest.mark.parametrize("method", ["instances_df", "budgets_df", "settings_df"])
def test_frames_are_independent_copies(demo: spectra.Spectra, method: str) -> None:
    first = getattr(demo, method)()
    second = getattr(demo, method)()
    assert first.equals(second)
