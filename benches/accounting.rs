//! Time-shift scheduling and fleet accounting over the bundled data:
//! - the best 4-hour window in the next 48 hours, across every catalog region;
//! - the best 4-hour window over all bundled hours (2023-2024), across every region;
//! - fleet emissions of 10,000 synthetic instances x 720 hours, grouped by team.
//!
//! Synthetic instance `i`: region = catalog region `i % n`, team = `TEAMS[i % 5]`, vCPUs =
//! `[2, 4, 8][i % 3]`, memory = 4 GB per vCPU, unknown type (CCF AWS averages), CPU at hour `h` of
//! the month = `(7i + 13h) % 100` percent. `benches/compare_accounting.py` builds the same for
//! DuckDB and polars; `benches/compare_accounting.sh` runs both in one go.

use std::hint::black_box;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use spectra::power::PowerModel;
use spectra::series::hour_index;
use spectra::sources::csv::ElectricityMapsCsv;
use spectra::{FleetHours, GroupBy, Instance, InstanceState, Job, RegionCode, RegionSignals, best_window, bundled};

const TEAMS: [&str; 5] = ["platform", "data", "ml", "web", "payments"];

fn bench_accounting(c: &mut Criterion) {
    let catalog = bundled::catalog().expect("bundled catalog");
    let table = ElectricityMapsCsv::load(bundled::csv_dir(), &catalog).expect("bundled CSVs").into_table();
    let codes: Vec<RegionCode> = catalog.regions().iter().map(|r| r.code.clone()).collect();
    let signals = RegionSignals::new(Arc::new(catalog), table);
    let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();

    let mut group = c.benchmark_group("best_window");
    let job = |earliest, deadline| Job {
        duration_hours: 4,
        earliest_start: earliest,
        deadline,
        power_kw: 1.0,
        current_region: "aws-us-east-1".into(),
        candidate_regions: codes.clone(),
    };
    let next_48h = job(t0 + Duration::hours(12), t0 + Duration::hours(60));
    group.bench_function("next_48h_all_regions", |b| b.iter(|| best_window(black_box(&signals), black_box(&next_48h))));
    let all_hours =
        job(Utc.with_ymd_and_hms(2023, 1, 1, 0, 0, 0).unwrap(), Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap());
    group.bench_function("all_hours_all_regions", |b| {
        b.iter(|| best_window(black_box(&signals), black_box(&all_hours)))
    });
    group.finish();

    let instances: Vec<Instance> = (0..10_000)
        .map(|i| {
            let vcpus = [2, 4, 8][i % 3];
            Instance {
                id: format!("i-{i:05}"),
                name: format!("synthetic-{i}"),
                team: TEAMS[i % 5].into(),
                region: codes[i % codes.len()].clone(),
                instance_type: "unknown".into(),
                vcpus,
                memory_gb: f64::from(vcpus) * 4.0,
                state: InstanceState::Running,
                hourly_cost_usd: 0.1,
            }
        })
        .collect();
    let mut hours = FleetHours::default();
    for i in 0..instances.len() {
        for h in 0..720 {
            hours.push(i as u32, hour_index(t0) + h as i64, ((7 * i + 13 * h) % 100) as f32);
        }
    }
    let model = PowerModel::aws_average();
    let mut group = c.benchmark_group("fleet_emissions");
    group.sample_size(20);
    group.bench_function("10k_instances_x_720h_by_team", |b| {
        b.iter(|| {
            spectra::accounting::fleet_emissions(&signals, &model, &instances, black_box(&hours), &[GroupBy::Team])
        })
    });
    group.finish();
}

criterion_group!(benches, bench_accounting);
criterion_main!(benches);
