//! The region catalog file (`data/regions.toml`) and the latency matrix it is read with.
//!
//! Each `[[region]]` entry gives a region's constants; its baseline latency is not stored but read
//! from the cloudping matrix (`from` rows, `to` columns, median ms) for a configurable vantage
//! region, through the entry's `latency_proxy` when the matrix lacks the region itself, or taken
//! from `baseline_latency_ms` when the entry sets it.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use spectra_core::{Catalog, Error, Location, Provider, Region, RegionCode, Result};

/// One `[[region]]` entry as written in the file. Unknown keys are rejected, so typos surface.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionEntry {
    code: String,
    display_name: String,
    provider: Provider,
    cloud_region: String,
    zone: String,
    annual_intensity_g_per_kwh: f64,
    pue: f64,
    price_factor: f64,
    #[serde(default)]
    latency_proxy: Option<String>,
    #[serde(default)]
    baseline_latency_ms: Option<f64>,
    #[serde(default)]
    csv_keywords: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogDoc {
    region: Vec<RegionEntry>,
}

/// Loads and validates the catalog at `regions_path`, with baseline latencies from the matrix at
/// `latency_matrix_path` as seen from `vantage` (an AWS region name, e.g. `us-east-1`).
///
/// Errors name the file and line (TOML syntax), the entry and field (bad values), or the setting
/// (`LATENCY_VANTAGE_REGION`) when the vantage is not in the matrix.
pub fn load_catalog(regions_path: &Path, latency_matrix_path: &Path, vantage: &str) -> Result<Catalog> {
    let text = std::fs::read_to_string(regions_path)
        .map_err(|e| Error::invalid(Location::file(regions_path), format!("cannot read: {e}")))?;
    let doc: CatalogDoc = toml::from_str(&text).map_err(|e| {
        let mut at = Location::file(regions_path);
        at.line = e.span().map(|s| text.as_bytes().iter().take(s.start).filter(|&&b| b == b'\n').count() as u64 + 1);
        Error::invalid(at, e.message().to_owned())
    })?;
    let latency = vantage_row(latency_matrix_path, vantage)?;
    let mut regions = Vec::with_capacity(doc.region.len());
    for (i, e) in doc.region.into_iter().enumerate() {
        let baseline_latency_ms = match e.baseline_latency_ms {
            Some(ms) => ms,
            None => {
                let key = e.latency_proxy.as_deref().unwrap_or(&e.cloud_region);
                *latency.get(key).ok_or_else(|| {
                    Error::invalid(
                        Location::file(regions_path).column(format!("region[{i}].latency_proxy")),
                        format!(
                            "{key:?} (region {}) is not in the latency matrix {}; set latency_proxy or baseline_latency_ms",
                            e.code,
                            latency_matrix_path.display()
                        ),
                    )
                })?
            }
        };
        regions.push(Region {
            code: RegionCode::new(&e.code),
            display_name: e.display_name,
            provider: e.provider,
            cloud_region: e.cloud_region,
            zone: e.zone,
            baseline_latency_ms,
            annual_intensity_g_per_kwh: e.annual_intensity_g_per_kwh,
            pue: e.pue,
            price_factor: e.price_factor,
            csv_keywords: e.csv_keywords,
        });
    }
    Catalog::new(regions, regions_path)
}

/// The matrix row of `vantage`: destination region -> median ms.
fn vantage_row(path: &Path, vantage: &str) -> Result<HashMap<String, f64>> {
    let mut reader = ::csv::Reader::from_path(path)
        .map_err(|e| Error::invalid(Location::file(path), format!("cannot read: {e}")))?;
    let header = reader.headers().map_err(|e| Error::invalid(Location::file(path).line(1), e.to_string()))?.clone();
    for record in reader.records() {
        let record = record.map_err(|e| Error::invalid(Location::file(path), e.to_string()))?;
        if record.get(0) != Some(vantage) {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line());
        let mut row = HashMap::with_capacity(header.len());
        for (to, cell) in header.iter().zip(record.iter()).skip(1) {
            let ms: f64 = cell.trim().parse().map_err(|_| {
                Error::invalid(Location::file(path).line(line).column(to), format!("{cell:?} is not a number"))
            })?;
            row.insert(to.to_owned(), ms);
        }
        return Ok(row);
    }
    Err(Error::config(
        "LATENCY_VANTAGE_REGION",
        format!("{vantage:?} is not a row of the latency matrix {}", path.display()),
    ))
}
