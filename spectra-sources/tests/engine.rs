//! The engine over the bundled data, against both stores: every operation of the seed backend.

use std::sync::Arc;

use chrono::Duration;
use spectra_core::{
    Error, GroupBy, InstanceSelector, IntensityBasis, MemoryStore, MigrationRequest, RankRequest, Spectra, Store,
};
use spectra_sources::bundled;
use spectra_sources::csv::CsvCarbonSource;
use spectra_sources::demo::DemoFleet;

fn engine_over<S: Store>(store: S, csv_dir: &std::path::Path) -> Spectra<S> {
    let catalog = Arc::new(bundled::catalog().unwrap());
    let carbon = Arc::new(CsvCarbonSource::new(csv_dir, catalog.clone()));
    let fleet = Arc::new(DemoFleet::new(&catalog).unwrap());
    Spectra::builder(store, catalog, carbon, fleet).with_power_model(bundled::power_model().unwrap()).build().unwrap()
}

/// A small CSV directory (two real exports) keeps the debug-build tests quick.
fn small_csv_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["DE-LU_2024_hourly.csv", "US-MIDA-PJM_2024_hourly.csv", "FR_2023_hourly.csv"] {
        std::fs::copy(bundled::csv_dir().join(f), dir.path().join(f)).unwrap();
    }
    dir
}

async fn every_operation<S: Store>(store: S) {
    let csv = small_csv_dir();
    let engine = engine_over(store, csv.path());
    assert!(engine.health().ok);

    // Import: the seven steps, then idempotent.
    let report = engine.import().await.unwrap();
    let c = report.counts;
    assert_eq!(c.regions.inserted, 33);
    assert_eq!(c.carbon_hours.inserted, 8784 * 2 + 8760);
    assert_eq!(c.instances.inserted, 50);
    assert!(c.utilisation.inserted > 40 * 24 * 45, "{c:?}");
    assert!(c.anomalies.inserted >= 1, "the demo fleet has idle instances: {c:?}");
    assert!(c.budgets.inserted >= 4);
    assert!(c.jobs.inserted >= 1, "{c:?}");
    assert_eq!(c.settings.inserted, 9);
    assert_eq!(c.latency.inserted, 33);
    let again = engine.import().await.unwrap();
    assert_eq!(again.counts.inserted(), 0, "re-import inserts nothing: {:?}", again.counts);

    // Clock and signals.
    let t0 = engine.now();
    assert_eq!(engine.tick(12).unwrap(), t0 + Duration::hours(12));
    let latest = engine.signals_latest();
    assert_eq!(latest.len(), 33);
    let de = latest.iter().find(|s| s.region.as_str() == "aws-eu-central-1").unwrap();
    assert_eq!((de.at, de.basis), (t0 + Duration::hours(12), IntensityBasis::Hourly));
    let ie = latest.iter().find(|s| s.region.as_str() == "aws-eu-west-1").unwrap();
    assert_eq!(ie.basis, IntensityBasis::AnnualFallback);
    let history = engine.signals_history("aws-eu-central-1", t0, t0 + Duration::hours(24)).unwrap();
    assert_eq!(history.len(), 24);
    assert_eq!(history[12].lifecycle_g_per_kwh, de.intensity_g_per_kwh);
    assert!(matches!(engine.signals_history("mars", t0, t0), Err(Error::NotFound { .. })));
    assert!(engine.signals_history("aws-eu-central-1", t0, t0 - Duration::hours(1)).is_err());

    // Time-shift through the engine: a 3-hour job in the next day, here or in Germany.
    let choice = engine
        .best_window(&spectra_core::Job {
            duration_hours: 3,
            earliest_start: engine.now(),
            deadline: engine.now() + Duration::hours(24),
            power_kw: 1.0,
            current_region: "aws-us-east-1".into(),
            candidate_regions: vec!["aws-eu-central-1".into()],
        })
        .await
        .unwrap();
    assert!(choice.best[0].kg_co2e <= choice.baseline.kg_co2e);
    assert!(choice.saving_kg_co2e >= 0.0);

    // Ranking through the engine.
    let ranking = engine.rank_regions(&RankRequest::at(engine.now())).unwrap();
    assert_eq!(ranking.rows.len(), 33);

    // Latency: baseline samples at import and on refresh, history per region.
    assert_eq!(engine.latency_latest().unwrap().len(), 33);
    let refreshed = engine.refresh_latency().await.unwrap();
    assert_eq!(refreshed.len(), 33);
    let lat = engine.latency_history("aws-us-east-1", t0, engine.now() + Duration::hours(1)).unwrap();
    assert_eq!(lat.len(), 2, "one at import, one at refresh");

    // Migrations: typed errors change nothing; a real one moves instances and records the saving.
    let instances = engine.instances().unwrap();
    let in_virginia: Vec<_> = instances.iter().filter(|i| i.region.as_str() == "aws-us-east-1").collect();
    assert!(!in_virginia.is_empty());
    let elsewhere = instances.iter().find(|i| i.region.as_str() != "aws-us-east-1").unwrap();
    let req = |from: &str, to: &str, sel: InstanceSelector| MigrationRequest {
        from_region: from.into(),
        to_region: to.into(),
        instances: sel,
    };
    let refused = [
        req("aws-us-east-1", "mars-1", InstanceSelector::All),
        req("aws-us-east-1", "aws-us-east-1", InstanceSelector::All),
        req("aws-us-east-1", "aws-eu-north-1", InstanceSelector::Team("no-such-team".into())),
        req("aws-us-east-1", "aws-eu-north-1", InstanceSelector::Ids(vec![elsewhere.id.clone()])),
        req("aws-us-east-1", "aws-eu-north-1", InstanceSelector::Ids(vec!["i-missing".into()])),
    ];
    for r in &refused {
        assert!(engine.execute_migration(r).is_err(), "{r:?} must be refused");
    }
    assert_eq!(engine.instances().unwrap(), instances, "refused migrations change nothing");
    assert!(engine.migrations().unwrap().is_empty());
    let m = engine.execute_migration(&req("aws-us-east-1", "aws-eu-north-1", InstanceSelector::All)).unwrap();
    assert_eq!((m.id, m.instance_ids.len(), m.executed_at), (1, in_virginia.len(), engine.now()));
    assert!(m.kg_co2e_per_month_after < m.kg_co2e_per_month_before, "{m:?}");
    let moved = engine.instances().unwrap();
    assert!(moved.iter().all(|i| i.region.as_str() != "aws-us-east-1"));
    assert_eq!(engine.migrations().unwrap(), vec![m]);

    // Settings: secrets are write-only.
    engine.set_setting("electricity_maps.api_key", "em-secret-123", true).unwrap();
    let views = engine.settings().unwrap();
    let key = views.iter().find(|s| s.key == "electricity_maps.api_key").unwrap();
    assert_eq!((key.value.as_deref(), key.is_set), (None, true));
    assert!(!format!("{views:?}{engine:?}").contains("em-secret-123"));
    assert_eq!(engine.secret_setting("electricity_maps.api_key").unwrap().unwrap().expose(), "em-secret-123");
    assert!(engine.set_setting("bad key", "x", false).is_err());

    // Accounting: emissions by team add up to the total; budgets have a status; detection stores
    // anomalies once however often it runs.
    let (from, to) = (t0 - Duration::days(1), engine.now());
    let by_team = engine.fleet_emissions(from, to, &[GroupBy::Team]).unwrap();
    let total = engine.fleet_emissions(from, to, &[]).unwrap();
    assert_eq!(total.len(), 1);
    let sum: f64 = by_team.iter().map(|r| r.operational_kg_co2e).sum();
    assert!((sum - total[0].operational_kg_co2e).abs() < 1e-9);
    assert!(total[0].operational_kg_co2e > 0.0 && total[0].embodied_kg_co2e > 0.0);
    let by_day = engine.fleet_emissions(from, to, &[GroupBy::Team, GroupBy::Region, GroupBy::Day]).unwrap();
    assert!(by_day.iter().all(|r| r.team.is_some() && r.region.is_some() && r.day.is_some()));
    let budgets = engine.budgets().unwrap();
    assert_eq!(budgets.len(), c.budgets.inserted as usize);
    assert!(budgets.iter().all(|b| b.used_kg_co2e > 0.0 && b.projected_kg_co2e >= b.used_kg_co2e));
    let found = engine.detect_anomalies().unwrap();
    let stored = engine.anomalies().unwrap().len();
    engine.detect_anomalies().unwrap();
    assert_eq!(engine.anomalies().unwrap().len(), stored, "detection does not duplicate");
    assert!(found.iter().any(|a| a.kind == spectra_core::AnomalyKind::IdleInstance), "{found:?}");

    // Health names each signal's source.
    let health = engine.health();
    let sources: Vec<_> = health.signals.iter().map(|s| (s.signal, s.source.as_str())).collect();
    assert_eq!(
        sources,
        [("carbon", "electricitymaps-csv"), ("latency", "baseline"), ("fleet", "demo-fleet"), ("cost", "demo-fleet")]
    );
    assert!(health.signals[0].freshest.is_some());
}

async fn failed_import_changes_nothing<S: Store>(store: S) {
    let csv = small_csv_dir();
    let engine = engine_over(store, csv.path());
    engine.import().await.unwrap();
    let before = (engine.store().carbon_table().unwrap().present_hours(), engine.instances().unwrap().len());
    std::fs::write(
        csv.path().join("GB_2024_hourly.csv"),
        "Datetime (UTC),Zone Id,Carbon Intensity gCO₂eq/kWh (LCA)\n2024-01-01 00:00:00,GB,96.4\n2024-01-01 01:00:00,GB,oops\n",
    )
    .unwrap();
    let err = engine.import().await.unwrap_err();
    assert_eq!(err.location().unwrap().line, Some(3), "{err}");
    let after = (engine.store().carbon_table().unwrap().present_hours(), engine.instances().unwrap().len());
    assert_eq!(before, after);
}

#[tokio::test]
async fn every_operation_on_the_memory_store() {
    every_operation(MemoryStore::new()).await;
}

#[tokio::test]
async fn failed_import_changes_nothing_in_memory() {
    failed_import_changes_nothing(MemoryStore::new()).await;
}

#[cfg(feature = "duckdb-prebuilt")]
mod duckdb {
    use spectra_sources::duckdb_store::DuckDbStore;

    use super::*;

    #[tokio::test]
    async fn every_operation_on_duckdb() {
        every_operation(DuckDbStore::in_memory().unwrap()).await;
    }

    #[tokio::test]
    async fn failed_import_changes_nothing_in_duckdb() {
        failed_import_changes_nothing(DuckDbStore::in_memory().unwrap()).await;
    }

    #[tokio::test]
    async fn the_engine_continues_from_a_reopened_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spectra.duckdb");
        let csv = small_csv_dir();
        let (now, migration) = {
            let engine = engine_over(DuckDbStore::open(&path).unwrap(), csv.path());
            engine.import().await.unwrap();
            engine.tick(30).unwrap();
            let m = engine
                .execute_migration(&MigrationRequest {
                    from_region: "aws-eu-central-1".into(),
                    to_region: "aws-eu-north-1".into(),
                    instances: InstanceSelector::All,
                })
                .unwrap();
            engine.set_setting("optimizer.weight.carbon", "0.9", false).unwrap();
            (engine.now(), m)
        };
        let engine = engine_over(DuckDbStore::open(&path).unwrap(), csv.path());
        assert_eq!(engine.now(), now);
        assert_eq!(engine.migrations().unwrap(), vec![migration]);
        let weight = engine.settings().unwrap().into_iter().find(|s| s.key == "optimizer.weight.carbon").unwrap();
        assert_eq!(weight.value.as_deref(), Some("0.9"));
        assert_eq!(engine.signals_latest().len(), 33);
        // Importing at a later simulated time adds only what is new at that time.
        let c = engine.import().await.unwrap().counts;
        assert_eq!((c.regions.inserted, c.carbon_hours.inserted, c.instances.inserted), (0, 0, 0));
        assert_eq!((c.settings.inserted, c.latency.inserted, c.utilisation.inserted % 30), (0, 33, 0));
    }
}

#[cfg(feature = "polars")]
#[tokio::test]
async fn dataframes_hold_the_same_rows_as_the_typed_calls() {
    use spectra_sources::analytics::Frames;
    use spectra_sources::analytics::polars::prelude::{DataType, TimeUnit, TimeZone};

    let csv = small_csv_dir();
    let engine = engine_over(MemoryStore::new(), csv.path());
    engine.import().await.unwrap();
    let t0 = engine.now();
    engine
        .execute_migration(&MigrationRequest {
            from_region: "aws-eu-west-2".into(),
            to_region: "aws-eu-west-3".into(),
            instances: InstanceSelector::All,
        })
        .unwrap();

    let typed = engine.signals_history("aws-eu-central-1", t0, t0 + Duration::hours(48)).unwrap();
    let df = engine.signals_history_df("aws-eu-central-1", t0, t0 + Duration::hours(48)).unwrap();
    assert_eq!(df.height(), typed.len());
    let ca = df.column("lifecycle_g_per_kwh").unwrap().f64().unwrap().clone();
    let lifecycle: Vec<Option<f64>> = (0..ca.len()).map(|i| ca.get(i)).collect();
    assert_eq!(lifecycle, typed.iter().map(|h| Some(h.lifecycle_g_per_kwh)).collect::<Vec<_>>());
    let hour = df.column("hour").unwrap();
    assert_eq!(hour.dtype(), &DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)));
    let physical = hour.as_materialized_series().to_physical_repr();
    let ca = physical.i64().unwrap();
    let micros: Vec<Option<i64>> = (0..ca.len()).map(|i| ca.get(i)).collect();
    assert_eq!(micros, typed.iter().map(|h| Some(h.hour.timestamp_micros())).collect::<Vec<_>>());

    let instances = engine.instances().unwrap();
    let df = engine.instances_df().unwrap();
    assert_eq!(df.height(), instances.len());
    let ca = df.column("id").unwrap().str().unwrap().clone();
    let ids: Vec<Option<&str>> = (0..ca.len()).map(|i| ca.get(i)).collect();
    assert_eq!(ids, instances.iter().map(|i| Some(i.id.as_str())).collect::<Vec<_>>());

    let migrations = engine.migrations().unwrap();
    let df = engine.migrations_df().unwrap();
    assert_eq!(df.height(), 1);
    let after = df.column("kg_co2e_per_month_after").unwrap().f64().unwrap().get(0);
    assert_eq!(after, Some(migrations[0].kg_co2e_per_month_after));

    let latest = engine.signals_latest();
    assert_eq!(engine.signals_latest_df().unwrap().height(), latest.len());
    let lat = engine.latency_history("aws-us-east-1", t0, t0 + Duration::hours(1)).unwrap();
    assert_eq!(engine.latency_history_df("aws-us-east-1", t0, t0 + Duration::hours(1)).unwrap().height(), lat.len());
    let typed = engine.fleet_emissions(t0, t0 + Duration::hours(24), &[GroupBy::Team, GroupBy::Day]).unwrap();
    let df = engine.fleet_emissions_df(t0, t0 + Duration::hours(24), &[GroupBy::Team, GroupBy::Day]).unwrap();
    assert_eq!(df.height(), typed.len());
    let kg = df.column("operational_kg_co2e").unwrap().f64().unwrap().clone();
    assert_eq!(
        (0..kg.len()).map(|i| kg.get(i)).collect::<Vec<_>>(),
        typed.iter().map(|r| Some(r.operational_kg_co2e)).collect::<Vec<_>>()
    );
    let util = engine.utilisation_df(t0, t0 + Duration::hours(2)).unwrap();
    let running = instances.iter().filter(|i| i.state == spectra_core::InstanceState::Running).count();
    assert_eq!(util.height(), running * 2);
}

/// A carbon source with a forecast only: a clean dip for zone GB three hours after a given time.
#[derive(Debug)]
struct ForecastOnly(chrono::DateTime<chrono::Utc>);

#[async_trait::async_trait]
impl spectra_core::DataSource for ForecastOnly {
    fn name(&self) -> &str {
        "forecast-only"
    }

    fn capabilities(&self) -> spectra_core::Capabilities {
        spectra_core::Capabilities { carbon_forecast: true, ..Default::default() }
    }

    async fn carbon_forecast(
        &self,
        zone: &str,
        from: chrono::DateTime<chrono::Utc>,
    ) -> spectra_core::Result<Vec<spectra_core::CarbonIntensityHour>> {
        Ok((0..24)
            .map(|h| spectra_core::CarbonIntensityHour {
                zone: zone.into(),
                hour: from + Duration::hours(h),
                lifecycle_g_per_kwh: if (3..5).contains(&h) { 5.0 } else { 300.0 },
                direct_g_per_kwh: None,
                low_carbon_pct: None,
                renewable_pct: None,
                estimated: false,
                source: spectra_core::CarbonSource::ElectricityMapsApi,
            })
            .filter(|h| h.hour >= self.0)
            .collect())
    }
}

#[tokio::test]
async fn best_window_uses_forecasts_where_history_has_no_value() {
    let catalog = Arc::new(bundled::catalog().unwrap());
    let start = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2030, 1, 1, 0, 0, 0).unwrap();
    let engine = Spectra::builder(
        MemoryStore::new(),
        catalog.clone(),
        Arc::new(ForecastOnly(start)),
        Arc::new(DemoFleet::new(&catalog).unwrap()),
    )
    .with_sim_start(start)
    .build()
    .unwrap();
    let job = spectra_core::Job {
        duration_hours: 2,
        earliest_start: start,
        deadline: start + Duration::hours(12),
        power_kw: 1.0,
        current_region: "aws-eu-west-2".into(),
        candidate_regions: vec![],
    };
    // No history in 2030: only the forecast can place the job, at its dip.
    let choice = engine.best_window(&job).await.unwrap();
    assert_eq!(choice.best[0].start, start + Duration::hours(3));
    assert_eq!(choice.best[0].mean_intensity_g_per_kwh, 5.0);
}
