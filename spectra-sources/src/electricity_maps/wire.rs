//! The Electricity Maps API v3 envelopes, as recorded in `data/fixtures/electricitymaps_api/`.
//!
//! `latest` and `past` answer one point; `history` is `{"zone", "history": [...]}`, `past-range`
//! is `{"zone", "data": [...]}`, `forecast` is `{"zone", "forecast": [{carbonIntensity, datetime}]}`.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::Deserialize;
use spectra_core::{CarbonIntensityHour, CarbonSource, Error, Result};

/// The largest intensity accepted as real (gCO2e/kWh); the dirtiest grids are near 1,200.
pub(super) const MAX_G_PER_KWH: f64 = 2_500.0;

/// One point of any endpoint.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Point {
    /// Absent or null for hours Electricity Maps has no figure for.
    #[serde(default)]
    pub carbon_intensity: Option<f64>,
    pub datetime: DateTime<Utc>,
    #[serde(default)]
    pub is_estimated: Option<bool>,
    #[serde(default)]
    pub emission_factor_type: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct History {
    pub zone: String,
    pub history: Vec<Point>,
}

#[derive(Debug, Deserialize)]
pub(super) struct PastRange {
    pub zone: String,
    pub data: Vec<Point>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Forecast {
    pub zone: String,
    pub forecast: Vec<Point>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Latest {
    pub zone: String,
    #[serde(flatten)]
    pub point: Point,
}

/// Turns points of `zone` into hourly records: each point's time is floored to its hour (the
/// `latest` endpoint answers e.g. 18:07), null intensities are skipped, and a negative, absurd or
/// direct-only figure is a [`Error::BadResponse`] naming the hour.
pub(super) fn to_hours(
    source_name: &str,
    expected_zone: &str,
    zone: &str,
    points: Vec<Point>,
) -> Result<Vec<CarbonIntensityHour>> {
    if zone != expected_zone {
        return Err(Error::bad_response(source_name, format!("asked for zone {expected_zone}, answered {zone}")));
    }
    let mut out = Vec::with_capacity(points.len());
    for p in points {
        let Some(g) = p.carbon_intensity else { continue };
        if !(0.0..=MAX_G_PER_KWH).contains(&g) || !g.is_finite() {
            return Err(Error::bad_response(
                source_name,
                format!("{zone} at {}: intensity {g} is out of range", p.datetime),
            ));
        }
        if p.emission_factor_type.as_deref().is_some_and(|t| t != "lifecycle") {
            return Err(Error::bad_response(
                source_name,
                format!("{zone} at {}: emission factor type is not lifecycle", p.datetime),
            ));
        }
        let hour = p.datetime.duration_trunc(TimeDelta::hours(1)).unwrap_or(p.datetime);
        out.push(CarbonIntensityHour {
            zone: zone.to_owned(),
            hour,
            lifecycle_g_per_kwh: g,
            direct_g_per_kwh: None,
            low_carbon_pct: None,
            renewable_pct: None,
            estimated: p.is_estimated.unwrap_or(false),
            source: CarbonSource::ElectricityMapsApi,
        });
    }
    out.sort_by_key(|h| h.hour);
    // One record per hour: the first point of an hour wins (sub-hourly answers are rare).
    out.dedup_by_key(|h| h.hour);
    Ok(out)
}
