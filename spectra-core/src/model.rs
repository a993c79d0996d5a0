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

/// Whether an instance is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceState {
    /// Running and billed.
    Running,
    /// Stopped.
    Stopped,
}

impl InstanceState {
    /// `running` or `stopped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Stopped => "stopped",
        }
    }
}

/// A compute instance of the fleet (an EC2 instance, or a demo one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Provider id, e.g. `i-0abc...`.
    pub id: String,
    /// Human name (the `Name` tag).
    pub name: String,
    /// Owning team (the `team` tag).
    pub team: String,
    /// The region it runs in.
    pub region: RegionCode,
    /// Instance type, e.g. `m4.large`.
    pub instance_type: String,
    /// vCPUs.
    pub vcpus: u32,
    /// Memory, GB.
    pub memory_gb: f64,
    /// Running or stopped.
    pub state: InstanceState,
    /// On-demand price in its region, USD per hour.
    pub hourly_cost_usd: f64,
}

/// One hour of an instance's utilisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UtilisationHour {
    /// The instance.
    pub instance_id: String,
    /// Start of the hour, UTC.
    pub hour: DateTime<Utc>,
    /// Average CPU utilisation, percent.
    pub cpu_pct: f64,
    /// Average memory utilisation, percent, when known.
    pub memory_pct: Option<f64>,
}

/// What kind of problem an anomaly is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// An instance doing almost nothing for a long stretch.
    IdleInstance,
    /// An instance emitting far more than its usual.
    EmissionSpike,
    /// A team about to exceed its carbon budget.
    BudgetAtRisk,
}

impl AnomalyKind {
    /// `idle_instance`, `emission_spike` or `budget_at_risk`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IdleInstance => "idle_instance",
            Self::EmissionSpike => "emission_spike",
            Self::BudgetAtRisk => "budget_at_risk",
        }
    }
}

/// How serious an anomaly is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look.
    Low,
    /// Should be fixed.
    Medium,
    /// Fix now.
    High,
}

/// Something that looks wrong, with the evidence. Unique on (kind, subject, detected at).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// What kind.
    pub kind: AnomalyKind,
    /// What it is about: an instance id or a team.
    pub subject: String,
    /// How serious.
    pub severity: Severity,
    /// The numbers behind it, in words.
    pub evidence: String,
    /// When it was detected (simulation time).
    pub detected_at: DateTime<Utc>,
}

/// A team's carbon budget for a quarter. Unique on (team, quarter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamBudget {
    /// The team.
    pub team: String,
    /// The quarter, e.g. `2024-Q1`.
    pub quarter: String,
    /// The budget, kgCO2e.
    pub budget_kg_co2e: f64,
}

/// A scheduled job and the best time and place found to run it. Unique on the job name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecommendation {
    /// The job's name.
    pub job: String,
    /// Duration, hours.
    pub duration_hours: u32,
    /// Average power while running, kW.
    pub power_kw: f64,
    /// Earliest start.
    pub earliest_start: DateTime<Utc>,
    /// Latest end.
    pub deadline: DateTime<Utc>,
    /// Regions it may run in.
    pub allowed_regions: Vec<RegionCode>,
    /// The region it runs in today.
    pub current_region: RegionCode,
    /// Recommended start.
    pub best_start: DateTime<Utc>,
    /// Recommended region.
    pub best_region: RegionCode,
    /// Expected emissions there and then, kgCO2e.
    pub expected_kg_co2e: f64,
    /// Emissions starting at the earliest start in the current region, kgCO2e.
    pub baseline_kg_co2e: f64,
}

/// The state of a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationStatus {
    /// Instances were moved.
    Completed,
}

/// A move of instances from one region to another, with the saving it was expected to bring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Migration {
    /// Sequence number, from 1.
    pub id: u64,
    /// Source region.
    pub from_region: RegionCode,
    /// Target region.
    pub to_region: RegionCode,
    /// The instances moved.
    pub instance_ids: Vec<String>,
    /// When (simulation time).
    pub executed_at: DateTime<Utc>,
    /// Expected emissions of those instances per month before, kgCO2e.
    pub kg_co2e_per_month_before: f64,
    /// ... and after.
    pub kg_co2e_per_month_after: f64,
    /// Their cost per month before, USD.
    pub cost_usd_per_month_before: f64,
    /// ... and after.
    pub cost_usd_per_month_after: f64,
    /// Its state.
    pub status: MigrationStatus,
}

/// A stored setting. Secret values never leave the store through the engine's public calls.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingEntry {
    /// The key, e.g. `optimizer.weight.carbon`.
    pub key: String,
    /// The value.
    pub value: String,
    /// Whether the value is a secret.
    pub secret: bool,
}

impl fmt::Debug for SettingEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value: &dyn fmt::Debug = if self.secret { &"***" } else { &self.value };
        f.debug_struct("SettingEntry")
            .field("key", &self.key)
            .field("value", value)
            .field("secret", &self.secret)
            .finish()
    }
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
