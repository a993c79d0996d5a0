"""One engine shared by many Python threads: no crash, no torn state, the same answers."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import spectra


def test_concurrent_reads_match_serial_reads(demo: spectra.Spectra) -> None:
    now = demo.now()

    def work(i: int) -> tuple[list[str], float, int]:
        ranking = demo.rank_regions(current_region="aws-us-east-1")
        emissions = demo.fleet_emissions(now - timedelta(days=3), now, ["team"])
        frame = demo.instances_df()
        return [r.region for r in ranking.rows], sum(r.total_kg_co2e for r in emissions), frame.height

    serial = work(0)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(64)))
    assert all(r == serial for r in results)


def test_concurrent_writes_are_atomic() -> None:
    engine = spectra.Spectra()
    start = engine.now()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: engine.tick(1), range(200)))
    assert engine.now() == start + timedelta(hours=200)


def test_concurrent_imports_on_one_engine_insert_once() -> None:
    engine = spectra.Spectra()
    with ThreadPoolExecutor(max_workers=4) as pool:
        reports = list(pool.map(lambda _: engine.import_(), range(4)))
    assert sum(r.counts.carbon_hours.inserted for r in reports) == 280_656
    assert len(engine.instances()) == 50


def test_the_gil_is_released_during_calls() -> None:
    # The import's progress callback marks the moment the work enters Rust (the carbon step's
    # parse follows); from then on this thread counts loop turns until the import is done. Were
    # the GIL held during the Rust work, this thread could not run at all until it finished.
    engine = spectra.Spectra()
    entered = threading.Event()

    def progress(n: int, name: str) -> None:
        if n == 2:
            entered.set()

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(engine.import_, progress)
        entered.wait()
        turns = 0
        while not future.done():
            turns += 1
        assert future.result().counts.carbon_hours.inserted == 280_656
    assert turns > 1_000, f"only {turns} turns of Python while Rust worked"
