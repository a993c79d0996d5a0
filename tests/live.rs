//! Mode selection and fallback, signal by signal: with keys pointing at local servers the engine's
//! import and signals come from the live sources; when those fail it serves stored or demo data,
//! records the failure and says so in `health()`; with no keys it is demo mode. AWS runs
//! against `moto_server` on 127.0.0.1 (see `support/moto.rs`).
#![cfg(feature = "live")]

#[path = "../spectra-sources/tests/support/mock_server.rs"]
mod mock_server;
#[path = "../spectra-sources/tests/support/moto.rs"]
mod moto;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use mock_server::{MockResponse, MockServer, Recorded};
use spectra::sources::cloudflare_radar::CloudflareRadarBuilder;
use spectra::sources::csv::CsvCarbonSource;
use spectra::sources::demo::DemoFleet;
use spectra::sources::electricity_maps::ElectricityMapsBuilder;
use spectra::sources::http::RetryConfig;
use spectra::{CarbonSource, IntensityBasis, LatencySource, MemoryStore, Settings, Spectra, Store, bundled};

const EM_KEY: &str = "em-live-key-0c1d";
const CF_TOKEN: &str = "cf-live-token-77ab";
/// What the fake Electricity Maps says every hour of every zone is.
const LIVE_G: f64 = 123.0;

/// A fake Electricity Maps: `past-range` answers one point per hour of the asked range for the
/// asked zone; `forecast` answers 48 hours from the start of the range.
fn electricity_maps(r: &Recorded) -> MockResponse {
    let zone = r.param("zone").unwrap_or_default();
    let points = |from: DateTime<Utc>, hours: i64, g: f64| -> String {
        (0..hours)
            .map(|h| {
                let t = (from + chrono::Duration::hours(h)).to_rfc3339_opts(SecondsFormat::Secs, true);
                format!(r#"{{"zone":"{zone}","carbonIntensity":{g},"datetime":"{t}","isEstimated":false}}"#)
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let time = |name: &str| r.param(name).and_then(|v| DateTime::parse_from_rfc3339(&v).ok()).map(|t| t.to_utc());
    match r.path.as_str() {
        "/v3/carbon-intensity/past-range" => {
            let (Some(from), Some(to)) = (time("start"), time("end")) else { return MockResponse::status(400) };
            let body = points(from, (to - from).num_hours(), LIVE_G);
            MockResponse::json(format!(r#"{{"zone":"{zone}","data":[{body}]}}"#))
        }
        "/v3/carbon-intensity/forecast" => {
            // 2025 is past the bundled exports: 300 g/kWh every hour but a clean 05:00-07:00.
            let from = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap().to_utc();
            let hours: Vec<String> = (0..24)
                .map(|h| {
                    let t = (from + chrono::Duration::hours(h)).to_rfc3339_opts(SecondsFormat::Secs, true);
                    let g = if (5..7).contains(&h) { 20 } else { 300 };
                    format!(r#"{{"carbonIntensity":{g},"datetime":"{t}"}}"#)
                })
                .collect();
            MockResponse::json(format!(r#"{{"zone":"{zone}","forecast":[{}]}}"#, hours.join(",")))
        }
        _ => MockResponse::status(404),
    }
}

fn radar(r: &Recorded) -> MockResponse {
    let ms = if r.param("location").as_deref() == Some("DE") { "7.5" } else { "42" };
    MockResponse::json(format!(r#"{{"success":true,"result":{{"meta":{{}},"summary_0":{{"latencyIdle":"{ms}"}}}}}}"#))
}

fn demo_settings() -> Settings {
    Settings { csv_dir: bundled::csv_dir(), ..Settings::default() }
}

#[tokio::test]
async fn with_keys_the_import_and_signals_come_from_the_live_sources() {
    let em = MockServer::start(electricity_maps).await;
    let cf = MockServer::start(radar).await;
    let settings = Settings {
        electricity_maps_api_key: Some(spectra::Secret::new(EM_KEY)),
        electricity_maps_api_url: Some(format!("{}/v3", em.url())),
        cloudflare_api_token: Some(spectra::Secret::new(CF_TOKEN)),
        cloudflare_api_url: Some(format!("{}/client/v4", cf.url())),
        ..demo_settings()
    };
    let engine = spectra::engine(MemoryStore::new(), &settings).unwrap();
    engine.tick(12).unwrap();
    let now = engine.now();
    engine.import().await.unwrap();

    // Carbon at now is the live figure for every region, and it is stored with its source.
    for s in engine.signals_latest() {
        assert_eq!((s.intensity_g_per_kwh, s.basis), (LIVE_G, IntensityBasis::Hourly), "{}", s.region);
    }
    let stored = engine.signals_history("aws-eu-central-1", now - chrono::Duration::hours(24), now).unwrap();
    assert_eq!(stored.len(), 24);
    assert!(stored.iter().all(|h| h.source == CarbonSource::ElectricityMapsApi && h.lifecycle_g_per_kwh == LIVE_G));
    // Older hours still come from the bundled exports.
    let older = engine
        .signals_history("aws-eu-central-1", now - chrono::Duration::hours(30), now - chrono::Duration::hours(25))
        .unwrap();
    assert!(older.iter().all(|h| h.source == CarbonSource::Csv) && older.len() == 5);
    // Every zone of the catalog was asked once, with the key in the header only.
    let zones: std::collections::BTreeSet<_> = engine.catalog().regions().iter().map(|r| r.zone.clone()).collect();
    assert_eq!(em.requests().len(), zones.len());
    assert!(em.requests().iter().all(|r| r.header("auth-token") == Some(EM_KEY)));

    // Latency from Radar, by location.
    let latency = engine.latency_latest().unwrap();
    let frankfurt = latency.iter().find(|l| l.region.as_str() == "aws-eu-central-1").unwrap();
    assert_eq!((frankfurt.ms, frankfurt.source), (7.5, LatencySource::Radar));

    let health = engine.health();
    let by_signal: Vec<_> = health.signals.iter().map(|s| (s.signal, s.source.as_str(), s.live)).collect();
    assert_eq!(
        by_signal,
        [
            ("carbon", "electricity-maps", true),
            ("latency", "cloudflare-radar", true),
            ("fleet", "demo-fleet", false),
            ("cost", "demo-fleet", false)
        ]
    );
    let shown = format!("{health:?} {engine:?} {}", serde_json::to_string(&health).unwrap());
    assert!(!shown.contains(EM_KEY) && !shown.contains(CF_TOKEN), "{shown}");

    // Refreshing after a tick stores the new hour where none is stored yet (stored hours, here
    // the bundled exports', are never overwritten): history accumulates.
    engine.tick(1).unwrap();
    let hour = spectra::series::hour_index(engine.now());
    let signals = engine.signals();
    let missing = zones.iter().filter(|z| signals.table().series(z).and_then(|s| s.at(hour)).is_none()).count();
    assert!(missing > 0);
    assert_eq!(engine.refresh_carbon().await.unwrap(), missing as u64);
    assert_eq!(em.requests().len(), 2 * zones.len());
    assert!(engine.signals_latest().iter().all(|s| s.basis != IntensityBasis::AnnualFallback));
}

fn fast() -> RetryConfig {
    RetryConfig {
        max_retries: 1,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
        ..RetryConfig::default()
    }
}

/// The demo engine with live carbon and latency from `em` and `cf`, retrying fast.
fn engine_with(em: &MockServer, cf: &MockServer) -> Spectra<MemoryStore> {
    let catalog = Arc::new(bundled::catalog().unwrap());
    let carbon = Arc::new(CsvCarbonSource::new(bundled::csv_dir(), catalog.clone()));
    let fleet = Arc::new(DemoFleet::new(&catalog).unwrap());
    let live_carbon = ElectricityMapsBuilder::new()
        .with_api_key(EM_KEY)
        .with_endpoint(format!("{}/v3", em.url()))
        .with_retry(fast())
        .build()
        .unwrap();
    let radar = CloudflareRadarBuilder::new()
        .with_api_token(CF_TOKEN)
        .with_endpoint(format!("{}/client/v4", cf.url()))
        .with_retry(fast())
        .build()
        .unwrap();
    Spectra::builder(MemoryStore::new(), catalog, carbon, fleet)
        .with_live_carbon(Arc::new(live_carbon))
        .with_latency_source(Arc::new(radar))
        .build()
        .unwrap()
}

#[tokio::test]
async fn failing_live_sources_fall_back_record_the_failure_and_lose_nothing() {
    let em = MockServer::start(|_| MockResponse::status(500)).await;
    let cf = MockServer::start(|_| MockResponse::status(429).header("retry-after", "0")).await;
    let engine = engine_with(&em, &cf);
    engine.tick(12).unwrap();
    let report = engine.import().await.unwrap();
    assert_eq!(report.counts.carbon_hours.inserted, 280_656, "the bundled exports are served instead");
    assert!(engine.signals_latest().iter().all(|s| s.intensity_g_per_kwh != LIVE_G));
    assert!(engine.latency_latest().unwrap().iter().all(|l| l.source == LatencySource::Baseline));

    let health = engine.health();
    let carbon = &health.signals[0];
    assert_eq!((carbon.source.as_str(), carbon.live), ("electricitymaps-csv", false));
    assert_eq!(carbon.configured.as_deref(), Some("electricity-maps"));
    assert!(carbon.last_error.as_deref().unwrap().contains("server error 500"), "{carbon:?}");
    let latency = &health.signals[1];
    assert_eq!((latency.source.as_str(), latency.live), ("baseline", false));
    assert!(latency.last_error.as_deref().unwrap().contains("rate limited"), "{latency:?}");
    assert!(latency.status.failures >= 1);
    let shown = format!("{health:?}");
    assert!(!shown.contains(EM_KEY) && !shown.contains(CF_TOKEN), "{shown}");

    // A refresh that fails stores nothing and removes nothing.
    let before =
        engine.signals_history("aws-eu-central-1", engine.now() - chrono::Duration::days(2), engine.now()).unwrap();
    assert_eq!(engine.refresh_carbon().await.unwrap(), 0);
    let after =
        engine.signals_history("aws-eu-central-1", engine.now() - chrono::Duration::days(2), engine.now()).unwrap();
    assert_eq!(before, after);
    assert_eq!(engine.health().signals[0].status.failures, 2);
}

#[tokio::test]
async fn a_source_that_recovers_serves_again() {
    let em = MockServer::start(electricity_maps).await;
    let cf = MockServer::start(radar).await;
    // The first call to each fails for good (401), then they answer.
    em.enqueue(MockResponse::status(401));
    cf.enqueue(MockResponse::status(401));
    let engine = engine_with(&em, &cf);
    engine.import().await.unwrap();
    let health = engine.health();
    assert!(health.signals[0].last_error.as_deref().unwrap().contains("not authenticated"));
    // Other zones answered, so carbon was partly live; latency fell back entirely.
    assert_eq!(health.signals[1].source, "baseline");
    engine.refresh_latency().await.unwrap();
    engine.refresh_carbon().await.unwrap();
    let health = engine.health();
    assert_eq!((health.signals[0].live, health.signals[1].live), (true, true), "{health:?}");
    assert_eq!(health.signals[1].source, "cloudflare-radar");
}

#[tokio::test]
async fn without_keys_it_is_demo_mode_with_no_live_source() {
    let engine = spectra::engine(MemoryStore::new(), &demo_settings()).unwrap();
    engine.import().await.unwrap();
    assert_eq!(engine.refresh_carbon().await.unwrap(), 0);
    for s in engine.health().signals {
        assert!(!s.live && s.configured.is_none() && s.last_error.is_none(), "{s:?}");
    }
}

#[tokio::test]
async fn with_aws_credentials_the_fleet_and_its_costs_come_from_aws_and_survive_an_outage() {
    const AWS_SECRET: &str = "engine-aws-secret/XYZ";
    let Some(moto) = moto::start_moto() else { return };
    moto::setup(&moto.url, &[]);
    let settings = Settings {
        aws_access_key_id: Some(spectra::Secret::new("AKIDENGINE")),
        aws_secret_access_key: Some(spectra::Secret::new(AWS_SECRET)),
        aws_endpoint_url: Some(moto.url.clone()),
        aws_region: Some("us-east-1".into()),
        // The setup's CPU metrics cover 2024-01-01 00:00-06:00.
        sim_start: DateTime::parse_from_rfc3339("2024-01-01T06:00:00Z").unwrap().to_utc(),
        ..demo_settings()
    };
    let engine = spectra::engine(MemoryStore::new(), &settings).unwrap();
    engine.import().await.unwrap();

    // moto's fleet, not the demo one: 7 web + bastion + a stopped etl in us-east-1 (the
    // terminated instance is left out), 3 ml in eu-west-1.
    let instances = engine.instances().unwrap();
    let count =
        |team: &str, region: &str| instances.iter().filter(|i| i.team == team && i.region.as_str() == region).count();
    assert_eq!(instances.len(), 12, "{instances:?}");
    assert_eq!((count("web", "aws-us-east-1"), count("ml", "aws-eu-west-1")), (7, 3));
    assert_eq!(count("unassigned", "aws-us-east-1"), 1, "the bastion has no team tag");
    let web0 = instances.iter().find(|i| i.name == "web-0").unwrap();
    let from = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").unwrap().to_utc();
    let cpu: Vec<f64> = engine
        .store()
        .utilisation(spectra::TimeRange::new(from, engine.now()).unwrap())
        .unwrap()
        .into_iter()
        .filter(|u| u.instance_id == web0.id)
        .map(|u| u.cpu_pct)
        .collect();
    assert_eq!(cpu, [15.0, 16.0, 17.0, 18.0, 19.0, 20.0], "CloudWatch's hourly averages");

    // Cost Explorer's bill for eu-west-1 ($3.25) is what its three running instances now cost
    // over the billed fortnight.
    let ml_spend: f64 = instances.iter().filter(|i| i.team == "ml").map(|i| i.hourly_cost_usd).sum::<f64>()
        * (spectra::engine::FLEET_HISTORY_DAYS * 24) as f64;
    assert!((ml_spend - 3.25).abs() < 1e-9, "{ml_spend}");

    let health = engine.health();
    let fleet = health.signals.iter().find(|s| s.signal == "fleet").unwrap();
    let cost = health.signals.iter().find(|s| s.signal == "cost").unwrap();
    assert_eq!((fleet.source.as_str(), fleet.live, cost.source.as_str(), cost.live), ("aws", true, "aws", true));

    // AWS goes away: a second import keeps the stored fleet (no demo instances mixed in),
    // records the failure, and leaks no credential.
    drop(moto);
    engine.import().await.unwrap();
    assert_eq!(engine.instances().unwrap(), instances);
    let health = engine.health();
    let fleet = health.signals.iter().find(|s| s.signal == "fleet").unwrap();
    assert_eq!((fleet.source.as_str(), fleet.live), ("demo-fleet", false));
    assert!(fleet.last_error.is_some() && fleet.status.failures == 1, "{fleet:?}");
    let shown = format!("{health:?} {engine:?}");
    assert!(!shown.contains(AWS_SECRET), "{shown}");
}

#[tokio::test]
async fn live_forecasts_feed_the_best_window() {
    let em = MockServer::start(electricity_maps).await;
    let cf = MockServer::start(radar).await;
    let engine = engine_with(&em, &cf);
    engine.import().await.unwrap();
    // The last bundled hour is 2024-12-31 23:00; the job's window runs into 2025, where only the
    // forecast knows anything.
    let earliest = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap().to_utc();
    let job = spectra::Job {
        duration_hours: 2,
        earliest_start: earliest,
        deadline: earliest + chrono::Duration::hours(12),
        power_kw: 1.0,
        current_region: "aws-eu-central-1".into(),
        candidate_regions: vec![],
    };
    let choice = engine.best_window(&job).await.unwrap();
    assert_eq!(choice.best.len(), 1, "{choice:?}");
    assert_eq!(choice.best[0].start, earliest + chrono::Duration::hours(5));
    assert_eq!(choice.best[0].mean_intensity_g_per_kwh, 20.0);
    assert_eq!(choice.baseline.mean_intensity_g_per_kwh, 300.0);
    assert!(
        em.requests()
            .iter()
            .any(|r| r.path == "/v3/carbon-intensity/forecast" && r.param("zone").as_deref() == Some("DE"))
    );
}
