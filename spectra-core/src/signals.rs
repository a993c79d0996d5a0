//! The signals the optimizer reads, prepared once per data load: the catalog, each region's hourly
//! series resolved by index (no hashing on the hot path), and each region's current latency.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{Catalog, Error, HourlySeries, IntensityTable, Result};

/// How a region's carbon figure at a given time was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntensityBasis {
    /// A measured hourly value.
    Hourly,
    /// An hourly value that Electricity Maps itself estimated.
    HourlyEstimated,
    /// No hourly value at that time: the region's annual figure stands in.
    AnnualFallback,
}

impl IntensityBasis {
    /// Whether the figure is an estimate of any kind.
    pub fn is_estimated(self) -> bool {
        self != Self::Hourly
    }
}

/// A catalog plus the intensity and latency signals for its regions, ready for ranking.
///
/// ```
/// # use spectra_core::*;
/// # let region = Region { code: RegionCode::new("r"), display_name: "R".into(), provider: Provider::Aws,
/// #     cloud_region: "r-1".into(), zone: "FR".into(), baseline_latency_ms: 10.0,
/// #     annual_intensity_g_per_kwh: 80.0, pue: 1.1, price_factor: 1.0, csv_keywords: vec![] };
/// let catalog = Catalog::new(vec![region], "inline").unwrap();
/// let signals = RegionSignals::new(catalog.into(), IntensityTable::new());
/// let (g, basis) = signals.intensity(0, 0, 1);
/// assert_eq!((g, basis), (80.0, IntensityBasis::AnnualFallback));
/// ```
#[derive(Debug, Clone)]
pub struct RegionSignals {
    catalog: Arc<Catalog>,
    table: IntensityTable,
    series_of_region: Vec<Option<usize>>,
    latency_ms: Vec<f64>,
}

impl RegionSignals {
    /// Resolves each region's zone in `table` and starts from the catalog's baseline latencies.
    pub fn new(catalog: Arc<Catalog>, table: IntensityTable) -> Self {
        let series_of_region = catalog.regions().iter().map(|r| table.zone_index(&r.zone)).collect();
        let latency_ms = catalog.regions().iter().map(|r| r.baseline_latency_ms).collect();
        Self { catalog, table, series_of_region, latency_ms }
    }

    /// The catalog.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The hourly intensity table.
    pub fn table(&self) -> &IntensityTable {
        &self.table
    }

    /// The hourly series feeding region `index`, if its zone has one.
    #[inline]
    pub fn series(&self, index: usize) -> Option<&HourlySeries> {
        self.series_of_region.get(index).copied().flatten().map(|z| self.table.series_at(z))
    }

    /// Current latency of region `index`, ms.
    #[inline]
    pub fn latency_ms(&self, index: usize) -> f64 {
        self.latency_ms[index]
    }

    /// Replaces a region's current latency (e.g. with a live measurement).
    pub fn set_latency(&mut self, code: &str, ms: f64) -> Result<()> {
        let i = self.catalog.index_of(code).ok_or_else(|| Error::not_found("region", code))?;
        if !(ms.is_finite() && ms >= 0.0) {
            return Err(Error::invalid(crate::Location::field("latency_ms"), format!("{ms} is not a latency")));
        }
        self.latency_ms[i] = ms;
        Ok(())
    }

    /// Region `index`'s life-cycle intensity (g/kWh) at hour index `hour`, or its mean over
    /// `hours` hours from there, with how it was obtained. Falls back to the annual figure.
    #[inline]
    pub fn intensity(&self, index: usize, hour: i64, hours: u32) -> (f64, IntensityBasis) {
        let region = &self.catalog.regions()[index];
        let Some(series) = self.series(index) else {
            return (region.annual_intensity_g_per_kwh, IntensityBasis::AnnualFallback);
        };
        let (value, estimated) = if hours <= 1 {
            series.point(hour).map_or((None, false), |(v, d)| (Some(crate::series::widen(v)), d.estimated))
        } else {
            (series.mean_over(hour, hours), series.point(hour).is_some_and(|(_, d)| d.estimated))
        };
        match value {
            None => (region.annual_intensity_g_per_kwh, IntensityBasis::AnnualFallback),
            Some(v) => (v, if estimated { IntensityBasis::HourlyEstimated } else { IntensityBasis::Hourly }),
        }
    }
}
