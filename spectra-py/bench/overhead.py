"""Python call overhead of `rank_regions` against the Rust call (BENCHMARKS.md, issue 6).

    python spectra-py/bench/overhead.py          # after installing the wheel

Same work as `cargo bench --bench ranking` (rank_regions/33): every bundled region at
2024-01-01 12:00 UTC for ten m5.large-sized instances currently in aws-us-east-1. Prints the
median per call of many timeit repeats: `rank_regions` (the `Ranking`; its rows become Python
objects on first access), `rank_regions` with every row read, `rank_regions_table` (Arrow), and
`now()`, a call doing no work, as the floor of any call.
"""

from __future__ import annotations

import statistics
import timeit

import spectra


def median_us(stmt: object, number: int, repeat: int) -> float:
    times = timeit.repeat(stmt, number=number, repeat=repeat)  # type: ignore[arg-type]
    return statistics.median(times) / number * 1e6


def main() -> None:
    engine = spectra.Spectra.demo()
    at = "2024-01-01T12:00:00Z"
    workload = spectra.Workload(instances=10)
    ranking = engine.rank_regions(current_region="aws-us-east-1", workload=workload, at=at)
    assert len(ranking.rows) == 33
    number, repeat = 2_000, 25
    rows = median_us(lambda: engine.rank_regions(current_region="aws-us-east-1", workload=workload, at=at), number, repeat)
    with_rows = median_us(
        lambda: engine.rank_regions(current_region="aws-us-east-1", workload=workload, at=at).rows, number, repeat
    )
    table = median_us(
        lambda: engine.rank_regions_table(current_region="aws-us-east-1", workload=workload, at=at), number, repeat
    )
    now = median_us(engine.now, number * 5, repeat)
    print(f"rank_regions (Ranking)            {rows:8.2f} us/call")
    print(f"rank_regions + its 33 typed rows  {with_rows:8.2f} us/call")
    print(f"rank_regions_table (Arrow table)  {table:8.2f} us/call")
    print(f"now() (a call doing no work)      {now:8.2f} us/call")


if __name__ == "__main__":
    main()
