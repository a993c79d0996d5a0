//! The data model: regions, hourly carbon intensity and latency samples. UTC everywhere.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A region's stable code, e.g. `aws-eu-central-1`.
///
/// Cheap to clone (a shared string), so ranking results can name their region without allocating.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RegionCode(Arc<str>);

impl RegionCode {
    /// A code from any string.
    pub fn new(code: impl AsRef<str>) -> Self {
        Self(Arc::from(code.as_ref()))
    }

    /// The code as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RegionCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

// Hash, Eq and Ord of `RegionCode` are those of the inner `str`, so maps keyed by code can be
// queried with a plain `&str`.
impl std::borrow::Borrow<str> for RegionCode {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for RegionCode {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

/// A cloud provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Amazon Web Services.
    Aws,
    /// Google Cloud.
    Gcp,
    /// Microsoft Azure.
    Azure,
}

impl Provider {
    /// The lowercase name used in the catalog and in settings (`aws`, `gcp`, `azure`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::Gcp => "gcp",
            Self::Azure => "azure",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Provider {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "aws" => Ok(Self::Aws),
            "gcp" => Ok(Self::Gcp),
            "azure" => Ok(Self::Azure),
            other => Err(crate::Error::invalid(
                crate::Location::field("provider"),
                format!("unknown provider {other:?} (expected aws, gcp or azure)"),
            )),
        }
    }
}

/// A cloud region and the constants SPECTRA needs about it. Loaded from the catalog file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Region {
    /// Stable code, unique in the catalog, e.g. `aws-eu-central-1`.
    pub code: RegionCode,
    /// Human name, e.g. `Frankfurt (Germany)`.
    pub display_name: String,
    /// The cloud provider.
    pub provider: Provider,
    /// The provider's own region name, e.g. `eu-central-1`.
    pub cloud_region: String,
    /// The Electricity Maps zone of the grid that feeds the region, e.g. `DE`.
    pub zone: String,
    /// Baseline round-trip latency in ms from the configured vantage region.
    pub baseline_latency_ms: f64,
    /// Annual mean life-cycle grid intensity, gCO2e/kWh: the fallback when no hourly value exists.
    pub annual_intensity_g_per_kwh: f64,
    /// Power usage effectiveness of the provider's data centres in this region.
    pub pue: f64,
    /// Price of the same instance here relative to the provider's reference region (us-east-1 = 1.0).
    pub price_factor: f64,
    /// Substrings of CSV file names that identify this region's exports when a file has no zone column.
    pub csv_keywords: Vec<String>,
}

/// Where an hourly carbon value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CarbonSource {
    /// An Electricity Maps CSV export.
    Csv,
    /// The Electricity Maps API.
    ElectricityMapsApi,
    /// Generated demo data.
    Demo,
}

/// Grid carbon intensity for one zone and one UTC hour.
///
/// Keyed by grid zone, not region: several cloud regions share one grid (us-east-1 and us-east-2
/// are both PJM), and a region's series is its zone's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CarbonIntensityHour {
    /// Electricity Maps zone id.
    pub zone: String,
    /// Start of the hour, UTC.
    pub hour: DateTime<Utc>,
    /// Life-cycle intensity, gCO2e/kWh (the figure SPECTRA ranks and accounts with).
    pub lifecycle_g_per_kwh: f64,
    /// Direct (combustion only) intensity, gCO2e/kWh, when known.
    pub direct_g_per_kwh: Option<f64>,
    /// Share of low-carbon sources, percent, when known.
    pub low_carbon_pct: Option<f64>,
    /// Share of renewable sources, percent, when known.
    pub renewable_pct: Option<f64>,
    /// Whether Electricity Maps estimated this hour rather than measured it.
    pub estimated: bool,
    /// Which source produced the value.
    pub source: CarbonSource,
}

/// Where a latency sample came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencySource {
    /// The catalog's baseline (cloudping matrix).
    Baseline,
    /// Cloudflare Radar.
    Radar,
}

/// One latency measurement for a region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencySample {
    /// The region measured.
    pub region: RegionCode,
    /// When, UTC.
    pub time: DateTime<Utc>,
    /// Round-trip milliseconds.
    pub ms: f64,
    /// Which source measured it.
    pub source: LatencySource,
}
