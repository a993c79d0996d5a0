//! The data bundled in the repository's `data/` folder: region catalog, latency matrix and
//! Electricity Maps exports. Used by demo mode, examples, tests and benchmarks.

use std::path::PathBuf;

use spectra_core::{Catalog, Result};

use crate::catalog_file::load_catalog;

/// The vantage region whose latencies are the baseline when none is configured.
pub const DEFAULT_VANTAGE: &str = "us-east-1";

/// The repository's `data/` folder, found from this crate's source location at build time.
///
/// Only meaningful inside a checkout of the repository (examples, tests, benches); services should
/// point `CSV_DIR` and the catalog paths at their own copy.
pub fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data"))
}

/// The bundled Electricity Maps exports folder (`data/electricitymaps`).
pub fn csv_dir() -> PathBuf {
    data_dir().join("electricitymaps")
}

/// The bundled catalog with latencies from [`DEFAULT_VANTAGE`].
pub fn catalog() -> Result<Catalog> {
    catalog_from(DEFAULT_VANTAGE)
}

/// The bundled catalog with latencies as seen from `vantage`.
pub fn catalog_from(vantage: &str) -> Result<Catalog> {
    let data = data_dir();
    load_catalog(&data.join("regions.toml"), &data.join("reference/latency/aws_cloudping_p50_1y_matrix.csv"), vantage)
}

/// The power model of the bundled Cloud Carbon Footprint coefficients (`data/reference/ccf`).
pub fn power_model() -> Result<spectra_core::power::PowerModel> {
    crate::ccf::load_power_model(&data_dir().join("reference/ccf"))
}
