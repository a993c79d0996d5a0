//! The data model: regions, hourly carbon intensity and latency samples. UTC everywhere.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A region's stable code, e.g. `aws-eu-central-1`.
///
/// Codes up to 38 bytes (every real cloud region's) are stored inline, so cloning one, as every
/// ranking row does, copies 40 bytes with no allocation and no atomic reference count; longer codes
/// fall back to a shared string.
#[derive(Clone)]
pub struct RegionCode(CodeRepr);

const INLINE_CODE: usize = 38;

#[derive(Clone)]
enum CodeRepr {
    Inline { len: u8, bytes: [u8; INLINE_CODE] },
    Shared(Arc<str>),
}

impl RegionCode {
    /// A code from any string.
    pub fn new(code: impl AsRef<str>) -> Self {
        let code = code.as_ref();
        if code.len() <= INLINE_CODE {
            let mut bytes = [0u8; INLINE_CODE];
            bytes[..code.len()].copy_from_slice(code.as_bytes());
            Self(CodeRepr::Inline { len: code.len() as u8, bytes })
        } else {
            Self(CodeRepr::Shared(Arc::from(code)))
        }
    }

    /// The code as a string slice.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // SAFETY: `bytes[..len]` is a copy of a whole `&str` (see `new`), so it is valid UTF-8.
            CodeRepr::Inline { len, bytes } => unsafe { std::str::from_utf8_unchecked(&bytes[..usize::from(*len)]) },
            CodeRepr::Shared(s) => s,
        }
    }
}

impl PartialEq for RegionCode {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RegionCode {}

impl PartialOrd for RegionCode {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RegionCode {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for RegionCode {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl Serialize for RegionCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RegionCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(Self::new(s))
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` honours width and alignment, so codes line up in tables.
        f.pad(self.as_str())
    }
}

impl AsRef<str> for RegionCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

// Hash, Eq and Ord of `RegionCode` are those of its `str`, so maps keyed by code can be queried
// with a plain `&str`.
impl std::borrow::Borrow<str> for RegionCode {
    fn borrow(&self) -> &str {
        self.as_str()
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn region_codes_short_and_long_behave_as_strings() {
        let long = "x".repeat(60);
        for code in ["aws-eu-west-3", "", long.as_str(), "gcp-northamerica-northeast2-tōkyō-ünïcode"] {
            let c = RegionCode::new(code);
            assert_eq!(c.as_str(), code);
            assert_eq!(c.clone(), c);
            assert_eq!(format!("{c}"), code);
            let map: HashMap<RegionCode, u8> = [(c.clone(), 1)].into();
            assert_eq!(map.get(code), Some(&1));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<RegionCode>(&json).unwrap(), c);
        }
        assert!(RegionCode::new("a") < RegionCode::new(long.as_str()));
        assert_eq!(format!("{:<6}|", RegionCode::new("ab")), "ab    |");
    }
}
