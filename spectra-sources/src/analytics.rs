//! Tables as polars DataFrames (feature `polars`), with the same rows as the engine's typed calls.
//!
//! Times are `Datetime(µs, "UTC")` columns; optional values are nulls. The [`Frames`] extension
//! trait adds `*_df` twins of the engine's calls:
//!
//! ```no_run
//! # async fn demo(engine: spectra_core::Spectra<spectra_core::MemoryStore>) -> spectra_core::Result<()> {
//! use spectra_sources::analytics::Frames;
//! let now = engine.now();
//! let df = engine.signals_history_df("aws-eu-central-1", now - chrono::Duration::days(7), now)?;
//! println!("{df}");
//! # Ok(()) }
//! ```

use chrono::{DateTime, Utc};
pub use polars;
use polars::prelude::*;
use spectra_core::{
    CarbonIntensityHour, EmissionsRow, Error, GroupBy, Instance, LatencySample, Migration, RegionSignal, Result,
    Spectra, Store, UtilisationHour,
};

fn polars_err(e: PolarsError) -> Error {
    Error::source("polars", e)
}

fn times(name: &str, values: impl Iterator<Item = DateTime<Utc>>) -> Column {
    Int64Chunked::from_iter_values(name.into(), values.map(|t| t.timestamp_micros()))
        .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
        .into_series()
        .into()
}

fn col<T, N>(name: &str, values: T) -> Column
where
    Series: NamedFrom<T, N>,
    N: ?Sized,
{
    Series::new(name.into(), values).into()
}

/// Hourly carbon intensity: zone, hour, lifecycle, direct, low_carbon_pct, renewable_pct,
/// estimated, source.
pub fn carbon_hours_df(rows: &[CarbonIntensityHour]) -> Result<DataFrame> {
    DataFrame::new_infer_height(vec![
        col("zone", rows.iter().map(|r| r.zone.as_str()).collect::<Vec<_>>()),
        times("hour", rows.iter().map(|r| r.hour)),
        col("lifecycle_g_per_kwh", rows.iter().map(|r| r.lifecycle_g_per_kwh).collect::<Vec<_>>()),
        col("direct_g_per_kwh", rows.iter().map(|r| r.direct_g_per_kwh).collect::<Vec<_>>()),
        col("low_carbon_pct", rows.iter().map(|r| r.low_carbon_pct).collect::<Vec<_>>()),
        col("renewable_pct", rows.iter().map(|r| r.renewable_pct).collect::<Vec<_>>()),
        col("estimated", rows.iter().map(|r| r.estimated).collect::<Vec<_>>()),
        col("source", rows.iter().map(|r| format!("{:?}", r.source).to_lowercase()).collect::<Vec<_>>()),
    ])
    .map_err(polars_err)
}

/// Latency samples: region, time, ms, source.
pub fn latency_df(rows: &[LatencySample]) -> Result<DataFrame> {
    DataFrame::new_infer_height(vec![
        col("region", rows.iter().map(|r| r.region.as_str()).collect::<Vec<_>>()),
        times("time", rows.iter().map(|r| r.time)),
        col("ms", rows.iter().map(|r| r.ms).collect::<Vec<_>>()),
        col("source", rows.iter().map(|r| format!("{:?}", r.source).to_lowercase()).collect::<Vec<_>>()),
    ])
    .map_err(polars_err)
}

/// Current signals: region, zone, at, intensity_g_per_kwh, basis, latency_ms.
pub fn signals_df(rows: &[RegionSignal]) -> Result<DataFrame> {
    DataFrame::new_infer_height(vec![
        col("region", rows.iter().map(|r| r.region.as_str()).collect::<Vec<_>>()),
        col("zone", rows.iter().map(|r| r.zone.as_str()).collect::<Vec<_>>()),
        times("at", rows.iter().map(|r| r.at)),
        col("intensity_g_per_kwh", rows.iter().map(|r| r.intensity_g_per_kwh).collect::<Vec<_>>()),
        col("basis", rows.iter().map(|r| basis_name(r.basis)).collect::<Vec<_>>()),
        col("latency_ms", rows.iter().map(|r| r.latency_ms).collect::<Vec<_>>()),
    ])
    .map_err(polars_err)
}

fn basis_name(b: spectra_core::IntensityBasis) -> &'static str {
    match b {
        spectra_core::IntensityBasis::Hourly => "hourly",
        spectra_core::IntensityBasis::HourlyEstimated => "hourly_estimated",
        spectra_core::IntensityBasis::AnnualFallback => "annual_fallback",
    }
}

/// The fleet: id, name, team, region, instance_type, vcpus, memory_gb, state, hourly_cost_usd.
pub fn instances_df(rows: &[Instance]) -> Result<DataFrame> {
    DataFrame::new_infer_height(vec![
        col("id", rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>()),
        col("name", rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>()),
        col("team", rows.iter().map(|r| r.team.as_str()).collect::<Vec<_>>()),
        col("region", rows.iter().map(|r| r.region.as_str()).collect::<Vec<_>>()),
        col("instance_type", rows.iter().map(|r| r.instance_type.as_str()).collect::<Vec<_>>()),
        col("vcpus", rows.iter().map(|r| r.vcpus).collect::<Vec<_>>()),
        col("memory_gb", rows.iter().map(|r| r.memory_gb).collect::<Vec<_>>()),
        col("state", rows.iter().map(|r| r.state.as_str()).collect::<Vec<_>>()),
        col("hourly_cost_usd", rows.iter().map(|r| r.hourly_cost_usd).collect::<Vec<_>>()),
    ])
    .map_err(polars_err)
}

/// Utilisation: instance_id, hour, cpu_pct, memory_pct.
pub fn utilisation_df(rows: &[UtilisationHour]) -> Result<DataFrame> {
    DataFrame::new_infer_height(vec![
        col("instance_id", rows.iter().map(|r| r.instance_id.as_str()).collect::<Vec<_>>()),
        times("hour", rows.iter().map(|r| r.hour)),
        col("cpu_pct", rows.iter().map(|r| r.cpu_pct).collect::<Vec<_>>()),
        col("memory_pct", rows.iter().map(|r| r.memory_pct).collect::<Vec<_>>()),
    ])
    .map_err(polars_err)
}

/// Migrations: id, from_region, to_region, instances (count), executed_at, and the expected
/// monthly kgCO2e and cost before and after.
pub fn migrations_df(rows: &[Migration]) -> Result<DataFrame> {
    DataFrame::new_infer_height(vec![
        col("id", rows.iter().map(|r| r.id).collect::<Vec<_>>()),
        col("from_region", rows.iter().map(|r| r.from_region.as_str()).collect::<Vec<_>>()),
        col("to_region", rows.iter().map(|r| r.to_region.as_str()).collect::<Vec<_>>()),
        col("instances", rows.iter().map(|r| r.instance_ids.len() as u32).collect::<Vec<_>>()),
        times("executed_at", rows.iter().map(|r| r.executed_at)),
        col("kg_co2e_per_month_before", rows.iter().map(|r| r.kg_co2e_per_month_before).collect::<Vec<_>>()),
        col("kg_co2e_per_month_after", rows.iter().map(|r| r.kg_co2e_per_month_after).collect::<Vec<_>>()),
        col("cost_usd_per_month_before", rows.iter().map(|r| r.cost_usd_per_month_before).collect::<Vec<_>>()),
        col("cost_usd_per_month_after", rows.iter().map(|r| r.cost_usd_per_month_after).collect::<Vec<_>>()),
    ])
    .map_err(polars_err)
}

/// Fleet emissions: instance, team, region, day (nulls where not grouped), instance_hours,
/// energy_kwh, operational_kg_co2e, embodied_kg_co2e, cost_usd, estimated_share.
pub fn emissions_df(rows: &[EmissionsRow]) -> Result<DataFrame> {
    let day = Int32Chunked::from_iter_options(
        "day".into(),
        rows.iter().map(|r| r.day.map(|d| (d - chrono::NaiveDate::default()).num_days() as i32)),
    )
    .into_date()
    .into_series();
    DataFrame::new_infer_height(vec![
        col("instance", rows.iter().map(|r| r.instance.as_deref()).collect::<Vec<_>>()),
        col("team", rows.iter().map(|r| r.team.as_deref()).collect::<Vec<_>>()),
        col("region", rows.iter().map(|r| r.region.as_ref().map(|c| c.as_str())).collect::<Vec<_>>()),
        day.into(),
        col("instance_hours", rows.iter().map(|r| r.instance_hours).collect::<Vec<_>>()),
        col("energy_kwh", rows.iter().map(|r| r.energy_kwh).collect::<Vec<_>>()),
        col("operational_kg_co2e", rows.iter().map(|r| r.operational_kg_co2e).collect::<Vec<_>>()),
        col("embodied_kg_co2e", rows.iter().map(|r| r.embodied_kg_co2e).collect::<Vec<_>>()),
        col("cost_usd", rows.iter().map(|r| r.cost_usd).collect::<Vec<_>>()),
        col("estimated_share", rows.iter().map(|r| r.estimated_share).collect::<Vec<_>>()),
    ])
    .map_err(polars_err)
}

/// DataFrame twins of the engine's table-shaped calls.
pub trait Frames {
    /// [`Spectra::signals_history`] as a DataFrame.
    fn signals_history_df(&self, region: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<DataFrame>;
    /// [`Spectra::signals_latest`] as a DataFrame.
    fn signals_latest_df(&self) -> Result<DataFrame>;
    /// [`Spectra::latency_history`] as a DataFrame.
    fn latency_history_df(&self, region: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<DataFrame>;
    /// [`Spectra::instances`] as a DataFrame.
    fn instances_df(&self) -> Result<DataFrame>;
    /// Stored utilisation in `[from, to)` as a DataFrame.
    fn utilisation_df(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<DataFrame>;
    /// [`Spectra::migrations`] as a DataFrame.
    fn migrations_df(&self) -> Result<DataFrame>;
    /// [`Spectra::fleet_emissions`] as a DataFrame.
    fn fleet_emissions_df(&self, from: DateTime<Utc>, to: DateTime<Utc>, group_by: &[GroupBy]) -> Result<DataFrame>;
}

impl<S: Store> Frames for Spectra<S> {
    fn signals_history_df(&self, region: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<DataFrame> {
        carbon_hours_df(&self.signals_history(region, from, to)?)
    }

    fn signals_latest_df(&self) -> Result<DataFrame> {
        signals_df(&self.signals_latest())
    }

    fn latency_history_df(&self, region: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<DataFrame> {
        latency_df(&self.latency_history(region, from, to)?)
    }

    fn instances_df(&self) -> Result<DataFrame> {
        instances_df(&self.instances()?)
    }

    fn utilisation_df(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<DataFrame> {
        utilisation_df(&self.store().utilisation(spectra_core::TimeRange::new(from, to)?)?)
    }

    fn migrations_df(&self) -> Result<DataFrame> {
        migrations_df(&self.migrations()?)
    }

    fn fleet_emissions_df(&self, from: DateTime<Utc>, to: DateTime<Utc>, group_by: &[GroupBy]) -> Result<DataFrame> {
        emissions_df(&self.fleet_emissions(from, to, group_by)?)
    }
}
