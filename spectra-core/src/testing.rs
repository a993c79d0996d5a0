//! A conformance suite every [`DataSource`] runs in its own tests (feature `testing`).
//!
//! Each check panics with a message naming the source and the broken rule, like an assertion.

use crate::{DataSource, Error, TimeRange};

/// Checks [`DataSource::carbon_history`] for `zone` over `range`, which must hold data:
/// records are for that zone, inside the range, strictly in time order (one per hour at most),
/// on the hour, with finite non-negative intensities; a source that does not declare
/// `carbon_history` must answer [`Error::NotSupported`]; an empty range gives no record.
pub async fn check_carbon_history(source: &dyn DataSource, zone: &str, range: TimeRange) {
    let name = source.name().to_owned();
    let result = source.carbon_history(zone, range).await;
    if !source.capabilities().carbon_history {
        assert!(
            matches!(result, Err(Error::NotSupported { .. })),
            "{name}: undeclared carbon_history must be NotSupported"
        );
        return;
    }
    let hours = result.unwrap_or_else(|e| panic!("{name}: carbon_history({zone}) failed: {e}"));
    assert!(!hours.is_empty(), "{name}: no record for {zone} in {range:?}");
    for pair in hours.windows(2) {
        assert!(pair[0].hour < pair[1].hour, "{name}: records out of order or repeated at {}", pair[1].hour);
    }
    for h in &hours {
        assert_eq!(h.zone, zone, "{name}: record for another zone");
        assert!(range.contains(h.hour), "{name}: {} is outside {range:?}", h.hour);
        assert_eq!(h.hour.timestamp() % 3600, 0, "{name}: {} is not on the hour", h.hour);
        assert!(
            h.lifecycle_g_per_kwh.is_finite() && h.lifecycle_g_per_kwh >= 0.0,
            "{name}: bad intensity {} at {}",
            h.lifecycle_g_per_kwh,
            h.hour
        );
    }
    let empty = TimeRange { from: range.from, to: range.from };
    let none = source.carbon_history(zone, empty).await.unwrap_or_else(|e| panic!("{name}: empty range failed: {e}"));
    assert!(none.is_empty(), "{name}: an empty range returned records");
}

/// Checks that operations a source does not declare answer [`Error::NotSupported`] naming it.
pub async fn check_undeclared_operations(source: &dyn DataSource, zone: &str, range: TimeRange) {
    let name = source.name().to_owned();
    let caps = source.capabilities();
    let not_supported =
        |r: &Result<_, Error>| matches!(r, Err(Error::NotSupported { source_name, .. }) if *source_name == name);
    if !caps.carbon_forecast {
        assert!(not_supported(&source.carbon_forecast(zone, range.from).await.map(|_| ())), "{name}: carbon_forecast");
    }
    if !caps.latency {
        assert!(not_supported(&source.latency(&[], range.from).await.map(|_| ())), "{name}: latency");
    }
    if !caps.carbon_snapshot {
        assert!(not_supported(&source.carbon_snapshot().await.map(|_| ())), "{name}: carbon_snapshot");
    }
    if !caps.fleet {
        assert!(not_supported(&source.instances().await.map(|_| ())), "{name}: instances");
        assert!(not_supported(&source.utilisation(range).await.map(|_| ())), "{name}: utilisation");
    }
}

/// The store conformance suite: every [`crate::Store`] runs it. `make` returns an empty store.
///
/// Covers idempotent imports with per-kind counts, transactional imports (a batch that fails
/// half-way writes nothing), queries and their order, settings, the clock, and migrations
/// (atomic, numbered, refusing instances that are missing or elsewhere).
pub fn check_store<S: crate::Store>(make: impl Fn() -> S) {
    use chrono::{Duration, TimeZone, Utc};

    use crate::series::{HourDetail, hour_index};
    use crate::*;

    let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single().expect("valid date");
    let region = |code: &str, zone: &str| Region {
        code: RegionCode::new(code),
        display_name: code.to_uppercase(),
        provider: Provider::Aws,
        cloud_region: code.into(),
        zone: zone.into(),
        baseline_latency_ms: 10.0,
        annual_intensity_g_per_kwh: 300.0,
        pue: 1.135,
        price_factor: 1.0,
        csv_keywords: vec!["K_".into()],
    };
    let instance = |id: &str, region: &str, team: &str| Instance {
        id: id.into(),
        name: format!("{id}-name"),
        team: team.into(),
        region: region.into(),
        instance_type: "m4.large".into(),
        vcpus: 2,
        memory_gb: 8.0,
        state: InstanceState::Running,
        hourly_cost_usd: 0.1,
    };
    let mut carbon = IntensityTable::new();
    for h in 0..48 {
        let detail = HourDetail { estimated: h % 2 == 0, ..HourDetail::unknown(CarbonSource::Csv) };
        carbon.series_mut("Z1").set(hour_index(t0) + h, 100.0 + h as f32, detail);
        carbon.series_mut("Z2").set(hour_index(t0) + h, 50.5, HourDetail::unknown(CarbonSource::Csv));
    }
    let batch = ImportBatch {
        regions: vec![region("r1", "Z1"), region("r2", "Z2")],
        carbon,
        latency: vec![
            LatencySample { region: "r1".into(), time: t0, ms: 12.0, source: LatencySource::Baseline },
            LatencySample {
                region: "r1".into(),
                time: t0 + Duration::hours(2),
                ms: 15.0,
                source: LatencySource::Radar,
            },
            LatencySample { region: "r2".into(), time: t0, ms: 30.0, source: LatencySource::Baseline },
        ],
        instances: vec![instance("i-1", "r1", "web"), instance("i-2", "r1", "data"), instance("i-3", "r2", "web")],
        utilisation: (0..24)
            .map(|h| UtilisationHour {
                instance_id: "i-1".into(),
                hour: t0 + Duration::hours(h),
                cpu_pct: 40.0,
                memory_pct: Some(50.0),
            })
            .collect(),
        anomalies: vec![Anomaly {
            kind: AnomalyKind::IdleInstance,
            subject: "i-2".into(),
            severity: Severity::High,
            evidence: "1.0% CPU".into(),
            detected_at: t0,
        }],
        budgets: vec![TeamBudget { team: "web".into(), quarter: "2024-Q1".into(), budget_kg_co2e: 50.0 }],
        jobs: vec![JobRecommendation {
            job: "etl".into(),
            duration_hours: 2,
            power_kw: 1.0,
            earliest_start: t0,
            deadline: t0 + Duration::hours(10),
            allowed_regions: vec!["r2".into()],
            current_region: "r1".into(),
            best_start: t0 + Duration::hours(3),
            best_region: "r2".into(),
            expected_kg_co2e: 0.1,
            baseline_kg_co2e: 0.2,
        }],
        settings: vec![
            SettingEntry { key: "a".into(), value: "1".into(), secret: false },
            SettingEntry { key: "k".into(), value: "".into(), secret: true },
        ],
    };

    let store = make();
    store.ping().expect("ping");
    let counts = store.import(&batch).expect("first import");
    assert_eq!(counts.regions.inserted, 2);
    assert_eq!(counts.carbon_hours.inserted, 96);
    assert_eq!(counts.latency.inserted, 3);
    assert_eq!(counts.instances.inserted, 3);
    assert_eq!(counts.utilisation.inserted, 24);
    assert_eq!((counts.anomalies.inserted, counts.budgets.inserted, counts.jobs.inserted), (1, 1, 1));
    assert_eq!(counts.settings.inserted, 2);
    let again = store.import(&batch).expect("second import");
    assert_eq!(again.inserted(), 0, "re-importing inserts nothing: {again:?}");
    assert_eq!(again.carbon_hours.skipped, 96);

    // A zone stored with a gap: a later import fills the gap and skips the rest.
    let gappy = |hours: &[i64]| {
        let mut carbon = IntensityTable::new();
        for &h in hours {
            carbon.series_mut("Z3").set(hour_index(t0) + h, 7.0, HourDetail::unknown(CarbonSource::Csv));
        }
        ImportBatch { carbon, ..ImportBatch::default() }
    };
    assert_eq!(store.import(&gappy(&[0, 2, 5])).expect("gappy").carbon_hours.inserted, 3);
    let filled = store.import(&gappy(&[0, 1, 2, 5, 6])).expect("fill").carbon_hours;
    assert_eq!((filled.inserted, filled.skipped), (2, 3));
    assert_eq!(store.carbon_table().expect("table").series("Z3").map(|s| s.present_hours()), Some(5));

    // Queries.
    assert_eq!(store.regions().expect("regions"), batch.regions);
    let range = TimeRange::new(t0 + Duration::hours(1), t0 + Duration::hours(4)).expect("range");
    let hours = store.carbon_history("Z1", range).expect("history");
    assert_eq!(hours.iter().map(|h| h.lifecycle_g_per_kwh).collect::<Vec<_>>(), [101.0, 102.0, 103.0]);
    assert_eq!(hours.iter().map(|h| h.estimated).collect::<Vec<_>>(), [false, true, false]);
    assert_eq!(hours[0].source, CarbonSource::Csv);
    assert!(store.carbon_history("nowhere", range).expect("unknown zone").is_empty());
    let table = store.carbon_table().expect("table");
    assert_eq!(table.present_hours(), 96 + 5);
    assert_eq!(table.series("Z2").and_then(|s| s.at(hour_index(t0) + 47)), Some(50.5));
    let latest = store.latency_latest(t0 + Duration::hours(5)).expect("latest");
    assert_eq!(latest.iter().map(|s| (s.region.as_str(), s.ms)).collect::<Vec<_>>(), [("r1", 15.0), ("r2", 30.0)]);
    let before_radar = store.latency_latest(t0 + Duration::hours(1)).expect("latest then");
    assert_eq!(before_radar[0].ms, 12.0);
    let lat = store.latency_history("r1", TimeRange::new(t0, t0 + Duration::hours(3)).expect("range")).expect("lat");
    assert_eq!(lat.iter().map(|s| s.ms).collect::<Vec<_>>(), [12.0, 15.0]);
    assert_eq!(store.instances().expect("instances").len(), 3);
    let day = TimeRange::new(t0, t0 + Duration::hours(12)).expect("range");
    assert_eq!(store.utilisation(day).expect("utilisation").len(), 12);
    assert_eq!(store.anomalies().expect("anomalies"), batch.anomalies);
    assert_eq!(store.budgets().expect("budgets"), batch.budgets);
    assert_eq!(store.job_recommendations().expect("jobs"), batch.jobs);

    // Settings: defaults fill only missing keys; put overwrites.
    store.put_setting(&SettingEntry { key: "a".into(), value: "2".into(), secret: false }).expect("put");
    store.import(&batch).expect("third import");
    let a = store.settings().expect("settings").into_iter().find(|s| s.key == "a").expect("a");
    assert_eq!(a.value, "2", "an import never overwrites a stored setting");

    // Clock.
    assert_eq!(store.clock().expect("clock"), None);
    let mut clock = SimClock::new(t0);
    clock.tick(5).expect("tick");
    store.save_clock(&clock).expect("save clock");
    assert_eq!(store.clock().expect("clock"), Some(clock));

    // Migrations: numbered, atomic, refusing what is not in the source region.
    let migration = |ids: &[&str]| Migration {
        id: 0,
        from_region: "r1".into(),
        to_region: "r2".into(),
        instance_ids: ids.iter().map(|s| s.to_string()).collect(),
        executed_at: t0 + Duration::hours(5),
        kg_co2e_per_month_before: 2.0,
        kg_co2e_per_month_after: 1.0,
        cost_usd_per_month_before: 73.0,
        cost_usd_per_month_after: 70.0,
        status: MigrationStatus::Completed,
    };
    let err = store.record_migration(&migration(&["i-1", "i-3"])).expect_err("i-3 is not in r1");
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    assert!(matches!(store.record_migration(&migration(&["i-9"])), Err(Error::NotFound { .. })));
    let region_of = |id: &str| store.instances().expect("instances").into_iter().find(|i| i.id == id).map(|i| i.region);
    assert_eq!(region_of("i-1"), Some("r1".into()), "a refused migration moves nothing");
    assert!(store.migrations().expect("migrations").is_empty());
    let first = store.record_migration(&migration(&["i-1"])).expect("migrate");
    assert_eq!(first.id, 1);
    assert_eq!(region_of("i-1"), Some("r2".into()));
    let second = store.record_migration(&migration(&["i-2"])).expect("migrate");
    assert_eq!(second.id, 2);
    assert_eq!(store.migrations().expect("migrations"), vec![first, second]);

    // A batch that fails half-way writes nothing: an impossible utilisation comes after valid
    // regions, carbon hours, latency samples and instances.
    let store = make();
    let mut poisoned = batch.clone();
    poisoned.utilisation.push(UtilisationHour {
        instance_id: "i-1".into(),
        hour: t0 + Duration::hours(30),
        cpu_pct: f64::NAN,
        memory_pct: None,
    });
    assert!(store.import(&poisoned).is_err(), "a NaN utilisation is refused");
    assert!(store.regions().expect("regions").is_empty(), "nothing of a failed import is written");
    assert_eq!(store.carbon_table().expect("table").present_hours(), 0);
    assert!(store.instances().expect("instances").is_empty());
    assert!(store.settings().expect("settings").is_empty());
}
