//! # SPECTRA
//!
//! Carbon intelligence for cloud workloads, as a library: rank regions by carbon, latency and cost;
//! (later) shift batch jobs in time, account for a fleet's emissions and budgets, and migrate.
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

/// The engine over `store` in demo mode: the bundled catalog (latencies from
/// `settings.latency_vantage_region`), the Electricity Maps exports in `settings.csv_dir`, the
/// deterministic demo fleet, the Cloud Carbon Footprint power model, and the clock from the store
/// or `settings.sim_start`.
pub fn engine<S: Store>(store: S, settings: &Settings) -> Result<Spectra<S>> {
    let catalog = Arc::new(bundled::catalog_from(&settings.latency_vantage_region)?);
    let carbon = Arc::new(CsvCarbonSource::new(&settings.csv_dir, catalog.clone()));
    let fleet = Arc::new(DemoFleet::new(&catalog)?);
    Spectra::builder(store, catalog, carbon, fleet)
        .with_sim_start(settings.sim_start)
        .with_power_model(bundled::power_model()?)
        .build()
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
