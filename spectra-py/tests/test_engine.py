"""Every engine operation through the Python API, on the bundled demo data."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

import spectra
from spectra import Constraints, Weights, Workload

UTC = timezone.utc
START = datetime(2024, 1, 1, tzinfo=UTC)


def test_import_counts_and_idempotence() -> None:
    engine = spectra.Spectra()
    steps: list[tuple[int, str]] = []
    report = engine.import_(progress=lambda n, name: steps.append((n, name)))
    assert report.counts.carbon_hours.inserted == 280_656
    assert report.counts.instances.inserted == 50
    assert report.counts.regions.inserted == len(engine.signals_latest())
    assert report.zones == 17
    assert report.at == START
    assert [n for n, _ in steps] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert steps[1][1].startswith("carbon intensity")
    again = engine.import_()
    assert again.counts.carbon_hours.inserted == 0
    assert again.counts.carbon_hours.skipped == 280_656
    assert "ImportReport(counts=ImportCounts(regions=StepCount(inserted=" in repr(report)


def test_progress_exception_is_raised_after_the_import() -> None:
    engine = spectra.Spectra()

    def fail(n: int, name: str) -> None:
        raise RuntimeError(f"stop at {n}")

    with pytest.raises(RuntimeError, match="stop at 1"):
        engine.import_(progress=fail)
    # The import itself ran to completion.
    assert len(engine.instances()) == 50


def test_clock_now_and_tick(fresh: spectra.Spectra) -> None:
    assert fresh.now() == START + timedelta(hours=12)
    assert fresh.now().tzinfo is not None and fresh.now().utcoffset() == timedelta(0)
    assert fresh.tick(3) == START + timedelta(hours=15)
    assert fresh.tick() == START + timedelta(hours=16)
    with pytest.raises(OverflowError):
        fresh.tick(-1)


def test_rank_regions_defaults_and_options(demo: spectra.Spectra) -> None:
    ranking = demo.rank_regions(current_region="aws-us-east-1", workload=Workload(instances=10))
    rows = ranking.rows
    assert len(ranking) == len(rows) == 33
    assert [r.rank for r in rows] == list(range(1, 34))
    assert rows == sorted(rows, key=lambda r: r.score)
    assert ranking.at == demo.now()
    assert ranking.current is not None and ranking.current.region == "aws-us-east-1"
    assert ranking.weights == Weights(0.5, 0.3, 0.2)
    assert ranking.rows is ranking.rows  # made once, not per access
    current = ranking.row("aws-us-east-1")
    assert current is not None and current.recommendation in {"current", "stay"}
    assert ranking.row("nowhere") is None
    assert rows[0].recommendation in {"migrate", "stay"}
    assert rows[0].saving is not None and rows[0].saving.carbon_pct == pytest.approx(
        100 * rows[0].saving.kg_co2e_per_month / ranking.current.kg_co2e_per_month
    )
    assert rows[0].reason
    assert {r.intensity_basis for r in rows} <= {"hourly", "hourly_estimated", "annual_fallback"}
    assert ranking.row("aws-eu-west-1").intensity_basis == "annual_fallback"  # type: ignore[union-attr]
    assert repr(rows[0]).startswith(f"RankedRegion(rank=1, region='{rows[0].region}'")

    carbon_only = demo.rank_regions(weights=Weights(carbon=1, latency=0, cost=0))
    intensities = [r.intensity_g_per_kwh * r.pue for r in carbon_only.rows]
    assert intensities == sorted(intensities)
    assert carbon_only.rows[0].saving is None and carbon_only.rows[0].recommendation == "best"

    near = demo.rank_regions(constraints=Constraints(max_latency_ms=100, allowed_providers=["aws"]))
    assert near.rows and all(r.latency_ms <= 100 and r.provider == "aws" for r in near.rows)
    assert near.excluded == 33 - len(near.rows)
    only = demo.rank_regions(constraints=Constraints(allowed_regions=["aws-eu-north-1", "aws-eu-west-2"]))
    assert sorted(r.region for r in only.rows) == ["aws-eu-north-1", "aws-eu-west-2"]

    later = demo.rank_regions(at="2024-06-01T12:00:00Z", horizon_hours=24)
    assert later.at == datetime(2024, 6, 1, 12, tzinfo=UTC)


def test_rank_regions_errors(demo: spectra.Spectra) -> None:
    with pytest.raises(spectra.InvalidInputError, match="weights"):
        demo.rank_regions(weights=Weights(0, 0, 0))
    with pytest.raises(spectra.InvalidInputError, match="provider"):
        demo.rank_regions(constraints=Constraints(allowed_providers=["ibm"]))
    with pytest.raises(spectra.InvalidInputError, match="workload.instances"):
        demo.rank_regions(workload=Workload(instances=0))
    with pytest.raises(spectra.InvalidInputError, match="horizon_hours"):
        demo.rank_regions(horizon_hours=0)
    with pytest.raises(spectra.InvalidInputError, match="naive"):
        demo.rank_regions(at=datetime(2024, 1, 1))
    with pytest.raises(spectra.InvalidInputError, match="RFC 3339"):
        demo.rank_regions(at="tomorrow")
    with pytest.raises(TypeError):
        demo.rank_regions(weights={"carbon": 1})  # type: ignore[arg-type]


def test_best_window(demo: spectra.Spectra) -> None:
    now = demo.now()
    choice = demo.best_window(
        "aws-eu-central-1", 4, now + timedelta(hours=48), power_kw=2.0, candidate_regions=["aws-eu-north-1", "aws-eu-west-2"]
    )
    assert choice.best
    for w in choice.best:
        assert w.region in {"aws-eu-central-1", "aws-eu-north-1", "aws-eu-west-2"}
        assert now <= w.start <= now + timedelta(hours=44)
        assert w.kg_co2e == pytest.approx(choice.best[0].kg_co2e)
    assert choice.baseline.region == "aws-eu-central-1" and choice.baseline.start == now
    assert choice.saving_kg_co2e == pytest.approx(choice.baseline.kg_co2e - choice.best[0].kg_co2e)
    assert choice.saving_kg_co2e >= 0
    here = demo.best_window("aws-eu-central-1", 4, now + timedelta(hours=48), earliest_start=now + timedelta(hours=6))
    assert all(w.region == "aws-eu-central-1" and w.start >= now + timedelta(hours=6) for w in here.best)
    with pytest.raises(spectra.NotFoundError):
        demo.best_window("nowhere", 4, now + timedelta(hours=48))
    with pytest.raises(spectra.InvalidInputError):
        demo.best_window("aws-eu-central-1", 0, now + timedelta(hours=48))
    with pytest.raises(spectra.InvalidInputError):
        demo.best_window("aws-eu-central-1", 10, now + timedelta(hours=2))


def test_signals(demo: spectra.Spectra) -> None:
    latest = demo.signals_latest()
    assert len(latest) == 33
    fr = next(s for s in latest if s.region == "aws-eu-west-2")
    assert fr.zone == "GB" and fr.at == demo.now() and fr.basis == "hourly" and fr.latency_ms > 0
    day = demo.signals_history("aws-eu-west-2", START, START + timedelta(days=1))
    assert [h.hour for h in day] == [START + timedelta(hours=i) for i in range(24)]
    assert all(h.zone == "GB" and h.source == "csv" and h.lifecycle_g_per_kwh > 0 for h in day)
    assert day[0].lifecycle_g_per_kwh == pytest.approx(fr.intensity_g_per_kwh)
    # An offset-aware start is converted: 00:00+01:00 is 23:00 UTC the day before.
    before = demo.signals_history("aws-eu-west-2", "2024-01-01T00:00:00+01:00", START)
    assert [h.hour for h in before] == [START - timedelta(hours=1)]
    with pytest.raises(spectra.NotFoundError, match="nowhere"):
        demo.signals_history("nowhere", START, START + timedelta(days=1))
    with pytest.raises(spectra.InvalidInputError):
        demo.signals_history("aws-eu-west-2", START + timedelta(days=1), START)


def test_latency(fresh: spectra.Spectra) -> None:
    latest = fresh.latency_latest()
    assert len(latest) == 33 and all(s.source == "baseline" for s in latest)
    refreshed = fresh.refresh_latency()
    assert len(refreshed) == 33 and all(s.time == fresh.now() for s in refreshed)
    history = fresh.latency_history("aws-eu-west-2", START, fresh.now() + timedelta(hours=1))
    assert [s.time for s in history] == [START, fresh.now()]
    with pytest.raises(spectra.NotFoundError):
        fresh.latency_history("nowhere", START, fresh.now())
    # No Electricity Maps key: no live carbon source, nothing to fetch.
    assert fresh.refresh_carbon() == 0


def test_migrations(fresh: spectra.Spectra) -> None:
    instances = fresh.instances()
    assert len(instances) == 50 and len({i.id for i in instances}) == 50
    source = instances[0]
    team = [i.id for i in instances if i.region == source.region and i.team == source.team]
    target = "aws-eu-north-1" if source.region != "aws-eu-north-1" else "aws-eu-west-2"
    moved = fresh.execute_migration(source.region, target, team=source.team)
    assert moved.id == 1 and moved.status == "completed" and sorted(moved.instance_ids) == sorted(team)
    assert moved.executed_at == fresh.now()
    assert fresh.migrations() == [moved]
    assert all(i.region == target for i in fresh.instances() if i.id in team)
    with pytest.raises(spectra.NotFoundError):
        fresh.execute_migration(source.region, target, team=source.team)  # nobody left to move
    with pytest.raises(spectra.InvalidInputError, match="same"):
        fresh.execute_migration(target, target)
    with pytest.raises(spectra.NotFoundError):
        fresh.execute_migration("nowhere", target)
    with pytest.raises(spectra.InvalidInputError, match="not both"):
        fresh.execute_migration(target, source.region, team="x", instance_ids=["y"])
    back = fresh.execute_migration(target, source.region, instance_ids=team[:1])
    assert back.id == 2 and back.instance_ids == team[:1]


def test_anomalies_budgets_and_jobs(fresh: spectra.Spectra) -> None:
    stored = fresh.anomalies()
    assert all(a.kind in {"idle_instance", "emission_spike", "budget_at_risk"} for a in stored)
    found = fresh.detect_anomalies()
    assert found, "the demo fleet has idle instances"
    assert {a.kind for a in found} >= {"idle_instance"}
    assert all(a.detected_at == fresh.now() and a.evidence for a in found)
    assert len(fresh.anomalies()) >= len(found)
    budgets = fresh.budgets()
    assert {b.team for b in budgets} == {i.team for i in fresh.instances()}
    assert all(b.quarter == "2024-Q1" and b.state in {"on_track", "at_risk", "over"} for b in budgets)
    assert all(b.used_pct == pytest.approx(100 * b.used_kg_co2e / b.budget_kg_co2e) for b in budgets)
    jobs = fresh.job_recommendations()
    assert {j.job for j in jobs} == {"nightly-etl", "ml-training", "monthly-report"}
    assert all(j.expected_kg_co2e <= j.baseline_kg_co2e + 1e-9 for j in jobs)


def test_fleet_emissions(demo: spectra.Spectra, week: tuple[datetime, datetime]) -> None:
    start, end = week
    by_team = demo.fleet_emissions(start, end)
    assert by_team and all(r.team is not None and r.instance is None and r.day is None for r in by_team)
    assert all(r.total_kg_co2e == pytest.approx(r.operational_kg_co2e + r.embodied_kg_co2e) for r in by_team)
    by_day = demo.fleet_emissions(start, end, ["team", "day"])
    assert all(isinstance(r.day, date) for r in by_day)
    assert sum(r.total_kg_co2e for r in by_day) == pytest.approx(sum(r.total_kg_co2e for r in by_team))
    assert sum(r.instance_hours for r in demo.fleet_emissions(start, end, ("instance",))) == sum(
        r.instance_hours for r in by_team
    )
    with pytest.raises(spectra.InvalidInputError, match="group_by"):
        demo.fleet_emissions(start, end, ["planet"])
    with pytest.raises(TypeError):
        demo.fleet_emissions(start, end, "team")


def test_settings_keep_secrets(fresh: spectra.Spectra) -> None:
    keys = {s.key: s for s in fresh.settings()}
    assert keys["optimizer.weight.carbon"].value == "0.5"
    assert keys["electricity_maps.api_key"].secret and keys["electricity_maps.api_key"].value is None
    fresh.set_setting("electricity_maps.api_key", "sk-do-not-show", secret=True)
    fresh.set_setting("anomaly.idle_cpu_pct", "7")
    after = {s.key: s for s in fresh.settings()}
    assert after["electricity_maps.api_key"].is_set and after["electricity_maps.api_key"].value is None
    assert after["anomaly.idle_cpu_pct"].value == "7"
    assert "sk-do-not-show" not in repr(fresh.settings()) + repr(fresh) + str(fresh.settings_df())
    with pytest.raises(spectra.InvalidInputError, match="key"):
        fresh.set_setting("has space", "x")


def test_health(demo: spectra.Spectra) -> None:
    health = demo.health()
    assert health.ok and health.store == "memory" and health.store_error is None and health.now == demo.now()
    signals = {s.signal: s for s in health.signals}
    assert set(signals) >= {"carbon", "latency", "fleet", "cost"}
    assert signals["carbon"].freshest is not None and signals["carbon"].freshest.tzinfo is not None
    # Demo mode: no live source is configured, so none has failed or served.
    for s in signals.values():
        assert not s.live and s.configured is None and s.failures == 0 and s.last_success is None


def test_options_and_secrets_in_repr(tmp_path: object) -> None:
    engine = spectra.Spectra(
        sim_start=datetime(2024, 3, 1, 1, tzinfo=timezone(timedelta(hours=1))),
        latency_vantage_region="eu-west-1",
        electricity_maps_api_key="sk-very-secret",
        aws_secret_access_key="aws-very-secret",
    )
    assert engine.now() == datetime(2024, 3, 1, tzinfo=UTC)
    text = repr(engine)
    assert "sk-very-secret" not in text and "aws-very-secret" not in text
    assert "electricity_maps_api_key" in text and "store=\"memory\"" in text
    # The vantage region changes the baseline latencies.
    east = {s.region: s.latency_ms for s in spectra.Spectra().signals_latest()}
    west = {s.region: s.latency_ms for s in engine.signals_latest()}
    assert west["aws-eu-west-2"] < east["aws-eu-west-2"]
    with pytest.raises(spectra.ConfigError, match="data_dir"):
        spectra.Spectra(data_dir=str(tmp_path))
    with pytest.raises(spectra.InvalidInputError, match="sim_start"):
        spectra.Spectra(sim_start="soon")


def test_csv_dir_errors_name_the_problem(tmp_path: object) -> None:
    engine = spectra.Spectra(csv_dir=f"{tmp_path}/absent")
    with pytest.raises(spectra.SpectraError) as err:
        engine.import_()
    assert "absent" in str(err.value)


def test_exception_hierarchy() -> None:
    from spectra import exceptions

    for name in exceptions.__all__:
        cls = getattr(exceptions, name)
        assert issubclass(cls, spectra.SpectraError) and issubclass(cls, Exception)
        assert getattr(spectra, name) is cls
    assert spectra.NotFoundError.__module__ == "spectra"  # tracebacks say spectra.NotFoundError


@pytest.mark.skipif(spectra.HAS_DUCKDB, reason="this build has DuckDB")
def test_database_needs_the_duckdb_build(tmp_path: object) -> None:
    with pytest.raises(spectra.ConfigError, match="duckdb-prebuilt"):
        spectra.Spectra(database=f"{tmp_path}/spectra.duckdb")


@pytest.mark.skipif(not spectra.HAS_DUCKDB, reason="built without DuckDB")
def test_database_persists_across_reopen(tmp_path: object) -> None:
    path = f"{tmp_path}/spectra.duckdb"
    first = spectra.Spectra.demo(database=path)
    assert first.health().store == "duckdb"
    first.tick(5)
    moved = first.execute_migration("aws-eu-central-1", "aws-eu-north-1")
    with pytest.raises(spectra.ConflictError):
        spectra.Spectra(database=path)  # one writer per file
    del first
    import gc

    gc.collect()
    again = spectra.Spectra(database=path)
    assert again.now() == START + timedelta(hours=5)
    assert again.migrations() == [moved]
    assert again.import_().counts.carbon_hours.inserted == 0
