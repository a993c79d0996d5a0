//! # SPECTRA
//!
//! Carbon intelligence for cloud workloads, as a library: rank regions by carbon, latency and cost;
//! shift batch jobs in time, account for a fleet's emissions and budgets, migrate, and switch signal by
//! signal from bundled demo data to live APIs (Electricity Maps, Cloudflare Radar, AWS).
//!
//! This facade re-exports [`spectra_core`] (the model and decisions, no I/O) and
//! [`spectra_sources`] (the adapters), and wires them with defaults:
//!
//! ```no_run
//! # async fn run() -> spectra::Result<()> {
//! let settings = spectra::settings_from_env()?;
//! let engine = spectra::engine(spectra::MemoryStore::new(), &settings)?;
//! engine.import().await?;
//! let ranking = engine.rank_regions(&spectra::RankRequest::at(engine.now()))?;
//! println!("run in {}", ranking.rows[0].region);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

pub use spectra_core::*;
pub use spectra_sources::{self as sources, bundled};

use spectra_sources::csv::CsvCarbonSource;
use spectra_sources::demo::DemoFleet;

pub mod runner;

/// Reads [`Settings`] from the process environment, over a `.env` file in the working directory
/// when there is one (the environment wins). The only place SPECTRA reads the environment.
pub fn settings_from_env() -> Result<Settings> {
    settings_from_env_file(Path::new(".env"))
}

/// As [`settings_from_env`], with the `.env` file at `path` (absent is fine).
pub fn settings_from_env_file(path: &Path) -> Result<Settings> {
    let mut file_vars = HashMap::new();
    if path.exists() {
        let iter = dotenvy::from_path_iter(path)
            .map_err(|e| Error::config(path.display().to_string(), format!("cannot read: {}", redact_dotenv(&e))))?;
        for item in iter {
            let (k, v) = item
                .map_err(|e| Error::config(path.display().to_string(), format!("malformed: {}", redact_dotenv(&e))))?;
            file_vars.insert(k, v);
        }
    }
    Settings::from_lookup(|key| std::env::var(key).ok().or_else(|| file_vars.get(key).cloned()))
}

/// A dotenv error without the offending line's text, which may hold a secret.
fn redact_dotenv(e: &dotenvy::Error) -> String {
    match e {
        dotenvy::Error::LineParse(_, index) => format!("syntax error at character {index}"),
        dotenvy::Error::Io(io) => io.to_string(),
        _ => "invalid file".to_owned(),
    }
}

/// The engine over `store`: the bundled catalog (latencies from
/// `settings.latency_vantage_region`), the Electricity Maps exports in `settings.csv_dir`, the
/// deterministic demo fleet, the Cloud Carbon Footprint power model, and the clock from the store
/// or `settings.sim_start`; then, signal by signal, the live source whose keys are set
/// (see [`live_sources`]). With no keys it is demo mode, with no network at all.
pub fn engine<S: Store>(store: S, settings: &Settings) -> Result<Spectra<S>> {
    let catalog = Arc::new(bundled::catalog_from(&settings.latency_vantage_region)?);
    let carbon = Arc::new(CsvCarbonSource::new(&settings.csv_dir, catalog.clone()));
    let fleet = Arc::new(DemoFleet::new(&catalog)?);
    let settings = with_stored_credentials(&store, settings)?;
    let builder = Spectra::builder(store, catalog.clone(), carbon, fleet)
        .with_sim_start(settings.sim_start)
        .with_power_model(bundled::power_model()?);
    live_sources(builder, &settings, &catalog)?.build()
}

/// AWS credentials written to the store's settings (`aws.access_key_id`,
/// `aws.secret_access_key`, `aws.role_arn`) are used when the environment sets none.
fn with_stored_credentials<S: Store>(store: &S, settings: &Settings) -> Result<Settings> {
    let mut settings = settings.clone();
    if settings.has_aws_credentials() {
        return Ok(settings);
    }
    let stored = store.settings()?;
    let get = |key: &str| stored.iter().find(|s| s.key == key && !s.value.is_empty()).map(|s| s.value.clone());
    if let (Some(id), Some(secret)) = (get("aws.access_key_id"), get("aws.secret_access_key")) {
        settings.aws_access_key_id = Some(Secret::new(id));
        settings.aws_secret_access_key = Some(Secret::new(secret));
        settings.aws_role_arn = settings.aws_role_arn.or_else(|| get("aws.role_arn"));
    }
    Ok(settings)
}

/// Adds the live source of each signal whose keys `settings` holds: `ELECTRICITY_MAPS_API_KEY`
/// -> carbon from the Electricity Maps API; `CLOUDFLARE_API_TOKEN` -> latency from Cloudflare
/// Radar; AWS credentials -> the fleet from EC2 + CloudWatch and costs from Cost Explorer. Each
/// falls back on its own to the demo source when its calls fail (see `Spectra::health`).
#[cfg(feature = "live")]
pub fn live_sources<S: Store>(
    mut builder: SpectraBuilder<S>,
    settings: &Settings,
    catalog: &Arc<Catalog>,
) -> Result<SpectraBuilder<S>> {
    use spectra_sources::aws::AmazonBuilder;
    use spectra_sources::cloudflare_radar::CloudflareRadarBuilder;
    use spectra_sources::electricity_maps::ElectricityMapsBuilder;
    if settings.has_aws_credentials() {
        let aws: Arc<dyn DataSource> =
            Arc::new(AmazonBuilder::from_settings(settings).with_catalog(catalog.clone()).build()?);
        builder = builder.with_live_fleet(aws.clone()).with_cost_source(aws);
    }
    if settings.electricity_maps_api_key.is_some() {
        builder = builder.with_live_carbon(Arc::new(ElectricityMapsBuilder::from_settings(settings).build()?));
    }
    if settings.cloudflare_api_token.is_some() {
        builder = builder.with_latency_source(Arc::new(CloudflareRadarBuilder::from_settings(settings).build()?));
    }
    Ok(builder)
}

/// Without the `live` feature, a key that is set is a configuration error rather than silently
/// ignored.
#[cfg(not(feature = "live"))]
pub fn live_sources<S: Store>(
    builder: SpectraBuilder<S>,
    settings: &Settings,
    _catalog: &Arc<Catalog>,
) -> Result<SpectraBuilder<S>> {
    let set = [
        ("ELECTRICITY_MAPS_API_KEY", settings.electricity_maps_api_key.is_some()),
        ("CLOUDFLARE_API_TOKEN", settings.cloudflare_api_token.is_some()),
        ("AWS_ACCESS_KEY_ID", settings.has_aws_credentials()),
    ];
    match set.iter().find(|(_, is_set)| *is_set) {
        Some((key, _)) => Err(Error::config(*key, "is set, but spectra was built without the `live` feature")),
        None => Ok(builder),
    }
}

/// The engine over the DuckDB store named by `DATABASE_URL` (in memory when unset).
#[cfg(feature = "duckdb-prebuilt")]
pub fn open_duckdb(settings: &Settings) -> Result<Spectra<sources::duckdb_store::DuckDbStore>> {
    engine(sources::duckdb_store::DuckDbStore::from_settings(settings)?, settings)
}

/// The README's code blocks, compiled and run as doc-tests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_is_read_and_secrets_stay_out_of_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "SPECTRA_TEST_UNUSED=1\nLATENCY_VANTAGE_REGION=eu-west-1\n").unwrap();
        let s = settings_from_env_file(&path).unwrap();
        assert_eq!(s.latency_vantage_region, "eu-west-1");
        std::fs::write(&path, "ELECTRICITY_MAPS_API_KEY='sk-very-secret\n").unwrap();
        let err = settings_from_env_file(&path).unwrap_err().to_string();
        assert!(!err.contains("sk-very-secret"), "{err}");
        assert!(settings_from_env_file(&dir.path().join("absent")).is_ok());
    }

    #[cfg(feature = "live")]
    #[test]
    fn aws_credentials_in_the_settings_store_select_the_live_fleet() {
        let store = MemoryStore::new();
        let settings = Settings { csv_dir: bundled::csv_dir(), ..Settings::default() };
        let configured = |engine: &Spectra<MemoryStore>, signal: &str| {
            engine.health().signals.into_iter().find(|s| s.signal == signal).and_then(|s| s.configured)
        };
        let demo = engine(MemoryStore::new(), &settings).unwrap();
        assert_eq!(configured(&demo, "fleet"), None);
        for (key, value) in [("aws.access_key_id", "AKIDSTORED"), ("aws.secret_access_key", "stored-secret")] {
            store.put_setting(&SettingEntry { key: key.into(), value: value.into(), secret: true }).unwrap();
        }
        let live = engine(store, &settings).unwrap();
        assert_eq!(configured(&live, "fleet").as_deref(), Some("aws"));
        assert_eq!(configured(&live, "cost").as_deref(), Some("aws"));
        assert!(!format!("{live:?} {:?}", live.health()).contains("stored-secret"));
    }

    #[tokio::test]
    async fn the_demo_engine_ranks_every_catalog_region() {
        let settings = Settings { csv_dir: bundled::csv_dir(), ..Settings::default() };
        let engine = engine(MemoryStore::new(), &settings).unwrap();
        let report = engine.import().await.unwrap();
        assert_eq!(report.counts.carbon_hours.inserted, 280_656);
        let ranking = engine.rank_regions(&RankRequest::at(settings.sim_start)).unwrap();
        let catalog = engine.catalog();
        assert_eq!(ranking.rows.len(), catalog.len());
        for region in catalog.regions() {
            assert!(ranking.row(region.code.as_str()).is_some(), "{} not ranked", region.code);
        }
        // Ireland has no hourly export: it ranks on its annual figure, flagged.
        assert_eq!(ranking.row("aws-eu-west-1").unwrap().intensity_basis, IntensityBasis::AnnualFallback);
        // The CCF power model is wired in: an m4.large is a known type.
        assert!(engine.power_model().instance_type("m4.large").is_some());
    }
}
