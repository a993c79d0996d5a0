//! # spectra-sources
//!
//! SPECTRA's adapters: where signals come from and where state is kept. Each piece sits behind a
//! cargo feature so a build carries only what it uses:
//!
//! | module | feature | what |
//! |---|---|---|
//! | [`csv`] | always | Electricity Maps hourly CSV exports |
//! | [`catalog_file`], [`bundled`] | always | the region catalog file and the bundled data |
//! | [`ccf`] | always | Cloud Carbon Footprint coefficients as a power model |
//! | [`demo`] | always | the deterministic demo fleet |
//! | `analytics` | `polars` | tables as polars DataFrames |
//! | `duckdb_store` | `duckdb` (built from source) or `duckdb-prebuilt` | the DuckDB store of record |
//! | `http` | `http` (implied by each live source) | timeouts, retries with backoff and jitter, typed errors |
//! | `electricity_maps` | `electricity-maps` | live carbon intensity (latest, history, past range, forecast) |
//! | `cloudflare_radar` | `cloudflare-radar` | live latency per region's location |
//! | `aws` | `aws` | EC2 + CloudWatch fleet, Cost Explorer cost, STS AssumeRole, SigV4 |
#![warn(missing_docs)]

#[cfg(feature = "polars")]
pub mod analytics;
#[cfg(feature = "aws")]
pub mod aws;
pub mod bundled;
pub mod catalog_file;
pub mod ccf;
#[cfg(feature = "cloudflare-radar")]
pub mod cloudflare_radar;
pub mod csv;
pub mod demo;
#[cfg(feature = "duckdb-prebuilt")]
pub mod duckdb_store;
#[cfg(feature = "electricity-maps")]
pub mod electricity_maps;
#[cfg(feature = "http")]
pub mod http;
