//! Region ranking over the bundled catalog and over 1,000 and 10,000 synthetic regions.
//!
//! Synthetic region `i` copies bundled region `i % n` (catalog order) with code `syn-{i:05}` and
//! latency + `(i % 97) * 0.5` ms, so it has real hourly series and distinct latencies.
//! `benches/compare_ranking.py` builds the same regions for DuckDB and polars; run both with
//! `benches/compare_ranking.sh`.

use std::hint::black_box;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use spectra::sources::csv::ElectricityMapsCsv;
use spectra::{Catalog, RankRequest, RegionCode, RegionSignals, Workload, bundled, rank_regions};

fn synthetic(catalog: &Catalog, n: usize) -> Catalog {
    let base = catalog.regions();
    let regions = (0..n)
        .map(|i| {
            let mut r = base[i % base.len()].clone();
            r.code = RegionCode::new(format!("syn-{i:05}"));
            r.baseline_latency_ms += (i % 97) as f64 * 0.5;
            r
        })
        .collect();
    Catalog::new(regions, "synthetic").expect("copies of valid regions are valid")
}

fn bench_ranking(c: &mut Criterion) {
    let catalog = bundled::catalog().expect("bundled catalog");
    let table = ElectricityMapsCsv::load(bundled::csv_dir(), &catalog).expect("bundled CSVs").into_table();
    let mut request = RankRequest::at(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap() + Duration::hours(12));
    request.current_region = Some("aws-us-east-1".into());
    request.workload = Workload { instances: 10, ..Workload::default() };

    let mut group = c.benchmark_group("rank_regions");
    for n in [18, catalog.len(), 1_000, 10_000] {
        let cat = if n == catalog.len() { catalog.clone() } else { synthetic(&catalog, n) };
        // Synthetic catalogs: the first region (a copy of aws-af-south-1) stands as current.
        request.current_region = Some(if n == catalog.len() { "aws-us-east-1" } else { "syn-00000" }.into());
        let signals = RegionSignals::new(Arc::new(cat), table.clone());
        group.bench_with_input(BenchmarkId::from_parameter(n), &signals, |b, s| {
            b.iter(|| rank_regions(black_box(s), black_box(&request)).expect("valid request"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_ranking);
criterion_main!(benches);
