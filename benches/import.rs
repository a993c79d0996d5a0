//! Import of all bundled Electricity Maps exports (32 files, 280,656 hours): parsing alone, and
//! parsing plus writing into DuckDB through the store (one transaction, idempotent keys).
//! `benches/compare_import.sh` runs this and, in the same run, DuckDB's own `read_csv` and
//! polars' `read_csv` of the same files.
//!
//! ```text
//! cargo bench --features duckdb-prebuilt --bench import
//! ```

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use spectra::sources::csv::ElectricityMapsCsv;
use spectra::sources::duckdb_store::DuckDbStore;
use spectra::{ImportBatch, Store, bundled};

fn bench_import(c: &mut Criterion) {
    let catalog = bundled::catalog().expect("bundled catalog");
    let dir = bundled::csv_dir();
    let mut group = c.benchmark_group("import_bundled");
    group.sample_size(10);
    group.bench_function("parse", |b| {
        b.iter(|| ElectricityMapsCsv::load(black_box(&dir), &catalog).expect("bundled CSVs").into_table())
    });
    // Into an open, empty store: opening DuckDB and creating the schema (~25 ms) is not import.
    group.bench_function("parse_and_store_duckdb", |b| {
        b.iter_batched(
            || DuckDbStore::in_memory().expect("in-memory DuckDB"),
            |store| {
                let carbon = ElectricityMapsCsv::load(black_box(&dir), &catalog).expect("bundled CSVs").into_table();
                let counts = store.import(&ImportBatch { carbon, ..ImportBatch::default() }).expect("import");
                assert_eq!(counts.carbon_hours.inserted, 280_656);
                store
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_import);
criterion_main!(benches);
