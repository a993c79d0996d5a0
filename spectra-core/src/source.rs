//! The `DataSource` plugin port: how signals come into SPECTRA.

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    CarbonIntensityHour, Error, Instance, IntensityTable, LatencySample, Location, Region, Result, UtilisationHour,
};

/// A half-open UTC time range `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// Inclusive start.
    pub from: DateTime<Utc>,
    /// Exclusive end.
    pub to: DateTime<Utc>,
}

impl TimeRange {
    /// A range, or [`Error::InvalidInput`] when `to` is before `from`.
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Self> {
        if to < from {
            return Err(Error::invalid(Location::field("to"), format!("{to} is before from={from}")));
        }
        Ok(Self { from, to })
    }

    /// Whether `t` is inside the range.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.from <= t && t < self.to
    }
}

/// What a source can provide; the engine asks only for what a source declares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Hourly carbon intensity history ([`DataSource::carbon_history`]).
    pub carbon_history: bool,
    /// Carbon intensity forecasts ([`DataSource::carbon_forecast`]).
    pub carbon_forecast: bool,
    /// Latency per region ([`DataSource::latency`]).
    pub latency: bool,
    /// Everything the source holds at once ([`DataSource::carbon_snapshot`]), e.g. CSV exports.
    pub carbon_snapshot: bool,
    /// Fleet inventory and utilisation ([`DataSource::instances`], [`DataSource::utilisation`]).
    pub fleet: bool,
    /// Billed cost per region ([`DataSource::costs`]), e.g. AWS Cost Explorer.
    pub cost: bool,
}

/// What a cloud bill says one region cost over a range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionCost {
    /// The catalog region.
    pub region: crate::RegionCode,
    /// The billed period.
    pub range: TimeRange,
    /// Unblended cost, USD.
    pub usd: f64,
}

/// A source of signals: Electricity Maps CSVs or API, Cloudflare Radar, AWS, the demo fleet.
///
/// Metadata methods are sync; data methods are async. Every data method has a default body that
/// returns [`Error::NotSupported`], so a source implements only what it provides and declares it in
/// [`DataSource::capabilities`].
#[async_trait]
pub trait DataSource: Debug + Send + Sync {
    /// A short, stable name for reports and errors, e.g. `"electricitymaps-csv"`.
    fn name(&self) -> &str;

    /// What this source provides.
    fn capabilities(&self) -> Capabilities;

    /// Hourly intensity for a grid zone over `range`, in time order, one record per hour at most.
    async fn carbon_history(&self, zone: &str, range: TimeRange) -> Result<Vec<CarbonIntensityHour>> {
        let _ = (zone, range);
        Err(self.not_supported("carbon_history"))
    }

    /// Forecast hourly intensity for a grid zone from `from` on, in time order.
    async fn carbon_forecast(&self, zone: &str, from: DateTime<Utc>) -> Result<Vec<CarbonIntensityHour>> {
        let _ = (zone, from);
        Err(self.not_supported("carbon_forecast"))
    }

    /// Latency samples for `regions` as of `at`.
    async fn latency(&self, regions: &[Region], at: DateTime<Utc>) -> Result<Vec<LatencySample>> {
        let _ = (regions, at);
        Err(self.not_supported("latency"))
    }

    /// Every hour the source holds, for all zones, read afresh (a CSV source re-reads its files).
    /// All or nothing: an error means nothing was read.
    async fn carbon_snapshot(&self) -> Result<IntensityTable> {
        Err(self.not_supported("carbon_snapshot"))
    }

    /// The fleet's instances.
    async fn instances(&self) -> Result<Vec<Instance>> {
        Err(self.not_supported("instances"))
    }

    /// Hourly utilisation of the fleet's instances over `range`.
    async fn utilisation(&self, range: TimeRange) -> Result<Vec<UtilisationHour>> {
        let _ = range;
        Err(self.not_supported("utilisation"))
    }

    /// Billed cost per catalog region over `range`.
    async fn costs(&self, range: TimeRange) -> Result<Vec<RegionCost>> {
        let _ = range;
        Err(self.not_supported("costs"))
    }

    /// The [`Error::NotSupported`] this source returns for `operation`.
    fn not_supported(&self, operation: &'static str) -> Error {
        Error::NotSupported { operation, source_name: self.name().to_owned() }
    }
}
