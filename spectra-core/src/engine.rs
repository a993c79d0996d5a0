//! The engine: every operation of the seed backend as a library call over a [`Store`] and the
//! [`DataSource`]s of each signal.
//!
//! | seed endpoint | call |
//! |---|---|
//! | `GET /health` | [`Spectra::health`] |
//! | `GET /api/optimizer/regions` | [`Spectra::rank_regions`] |
//! | `GET /api/regions/signals/latest` | [`Spectra::signals_latest`] |
//! | `GET /api/regions/signals/history` | [`Spectra::signals_history`] |
//! | `GET /api/regions/latency/latest`, `/history` | [`Spectra::latency_latest`], [`Spectra::latency_history`] |
//! | `POST /api/migrations/execute` (+ history) | [`Spectra::execute_migration`], [`Spectra::migrations`] |
//! | `POST /api/admin/import` | [`Spectra::import`] |
//! | `POST /api/admin/tick` | [`Spectra::tick`] |
//! | `POST /api/admin/latency/fetch-now` | [`Spectra::refresh_latency`] |

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::accounting::{
    BudgetState, BudgetStatus, EmissionsRow, GroupBy, budget_status, fleet_emissions, fleet_hours, quarter_of,
    quarter_range,
};
use crate::live::{LiveBook, LiveStatus, Signal, calibrate_costs, live_over_snapshot};
use crate::optimizer::HOURS_PER_MONTH;
use crate::power::PowerModel;
use crate::schedule::{Job, best_window};
use crate::series::hour_index;
use crate::{
    Anomaly, AnomalyKind, CarbonIntensityHour, Catalog, DataSource, Error, ImportBatch, ImportCounts, Instance,
    IntensityBasis, JobRecommendation, LatencySample, LatencySource, Location, Migration, MigrationStatus, RankRequest,
    Ranking, RegionCode, RegionSignals, Result, SettingEntry, Severity, SimClock, Store, TeamBudget, TimeRange,
    UtilisationHour,
};

/// How many hours before the clock's now the live carbon source is asked for (its `history`).
pub const LIVE_CARBON_HOURS: i64 = 24;

/// How many days of utilisation the demo fleet import covers before and after the clock's start.
pub const FLEET_HISTORY_DAYS: i64 = 14;
/// ... and after it.
pub const FLEET_FUTURE_DAYS: i64 = 31;

/// Builds a [`Spectra`] engine.
pub struct SpectraBuilder<S: Store> {
    store: S,
    catalog: Arc<Catalog>,
    carbon: Arc<dyn DataSource>,
    fleet: Arc<dyn DataSource>,
    live: LiveSources,
    sim_start: DateTime<Utc>,
    power: PowerModel,
}

/// The live sources, one optional per signal; a signal without one is served by its demo source.
#[derive(Default, Clone)]
struct LiveSources {
    carbon: Option<Arc<dyn DataSource>>,
    latency: Option<Arc<dyn DataSource>>,
    fleet: Option<Arc<dyn DataSource>>,
    cost: Option<Arc<dyn DataSource>>,
}

impl LiveSources {
    fn get(&self, signal: Signal) -> Option<&Arc<dyn DataSource>> {
        match signal {
            Signal::Carbon => self.carbon.as_ref(),
            Signal::Latency => self.latency.as_ref(),
            Signal::Fleet => self.fleet.as_ref(),
            Signal::Cost => self.cost.as_ref(),
        }
    }
}

impl<S: Store> SpectraBuilder<S> {
    /// The power model for instances (default: Cloud Carbon Footprint's AWS averages).
    pub fn with_power_model(mut self, power: PowerModel) -> Self {
        self.power = power;
        self
    }

    /// Uses `source` for live latency (Cloudflare Radar); without one, latency is the baseline.
    pub fn with_latency_source(mut self, source: Arc<dyn DataSource>) -> Self {
        self.live.latency = Some(source);
        self
    }

    /// Uses `source` for live carbon intensity (the Electricity Maps API): its history around the
    /// clock's now is imported over the carbon source's snapshot, refreshed by
    /// [`Spectra::refresh_carbon`], and its forecasts feed [`Spectra::best_window`].
    pub fn with_live_carbon(mut self, source: Arc<dyn DataSource>) -> Self {
        self.live.carbon = Some(source);
        self
    }

    /// Uses `source` for the live fleet (EC2 + CloudWatch) instead of the demo fleet at import.
    pub fn with_live_fleet(mut self, source: Arc<dyn DataSource>) -> Self {
        self.live.fleet = Some(source);
        self
    }

    /// Uses `source`'s bills (Cost Explorer) to calibrate the fleet's hourly costs at import.
    pub fn with_cost_source(mut self, source: Arc<dyn DataSource>) -> Self {
        self.live.cost = Some(source);
        self
    }

    /// Where a new simulation clock starts (`SIM_START`); a stored clock wins.
    pub fn with_sim_start(mut self, start: DateTime<Utc>) -> Self {
        self.sim_start = start;
        self
    }

    /// Opens the engine: restores the clock and the signals from the store.
    pub fn build(self) -> Result<Spectra<S>> {
        let clock = match self.store.clock()? {
            Some(clock) => clock,
            None => {
                let clock = SimClock::new(self.sim_start);
                self.store.save_clock(&clock)?;
                clock
            }
        };
        let engine = Spectra {
            signals: RwLock::new(Arc::new(RegionSignals::new(self.catalog.clone(), Default::default()))),
            store: self.store,
            catalog: self.catalog,
            carbon: self.carbon,
            fleet: self.fleet,
            live: self.live,
            power: self.power,
            clock: Mutex::new(clock),
            book: LiveBook::default(),
        };
        engine.reload_signals()?;
        Ok(engine)
    }
}

/// SPECTRA's engine over a store `S`.
///
/// ```
/// use std::sync::Arc;
/// # use spectra_core::*;
/// # #[derive(Debug)] struct Nothing;
/// # #[async_trait::async_trait] impl DataSource for Nothing {
/// #     fn name(&self) -> &str { "nothing" }
/// #     fn capabilities(&self) -> Capabilities { Capabilities::default() } }
/// # let region = Region { code: RegionCode::new("r"), display_name: "R".into(), provider: Provider::Aws,
/// #     cloud_region: "r-1".into(), zone: "FR".into(), baseline_latency_ms: 10.0,
/// #     annual_intensity_g_per_kwh: 80.0, pue: 1.1, price_factor: 1.0, csv_keywords: vec![] };
/// let catalog = Arc::new(Catalog::new(vec![region], "inline")?);
/// let engine = Spectra::builder(MemoryStore::new(), catalog, Arc::new(Nothing), Arc::new(Nothing)).build()?;
/// engine.tick(3)?;
/// assert_eq!(engine.now().to_rfc3339(), "2024-01-01T03:00:00+00:00");
/// # Ok::<(), Error>(())
/// ```
pub struct Spectra<S: Store> {
    store: S,
    catalog: Arc<Catalog>,
    carbon: Arc<dyn DataSource>,
    fleet: Arc<dyn DataSource>,
    live: LiveSources,
    power: PowerModel,
    signals: RwLock<Arc<RegionSignals>>,
    clock: Mutex<SimClock>,
    book: LiveBook,
}

impl<S: Store> fmt::Debug for Spectra<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spectra")
            .field("store", &self.store)
            .field("carbon", &self.carbon.name())
            .field("fleet", &self.fleet.name())
            .field("live", &Signal::ALL.map(|s| self.live.get(s).map(|l| l.name().to_owned())))
            .field("regions", &self.catalog.len())
            .finish_non_exhaustive()
    }
}

/// The steps of [`Spectra::import`], as reported to a progress callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportStep {
    /// 1. Regions of the catalog.
    Regions,
    /// 2. Carbon hours from the carbon source (the CSV exports).
    Carbon,
    /// 3. Instances and utilisation from the fleet source.
    Fleet,
    /// 4. Anomalies detected in the fleet's utilisation.
    Anomalies,
    /// 5. Team budgets.
    Budgets,
    /// 6. Scheduled-job recommendations.
    Jobs,
    /// 7. Default settings.
    Settings,
    /// Writing it all in one transaction.
    Writing,
}

impl ImportStep {
    /// 1-based step number (the write is step 8).
    pub fn number(self) -> usize {
        self as usize + 1
    }
}

impl fmt::Display for ImportStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Regions => "regions",
            Self::Carbon => "carbon intensity (reading exports)",
            Self::Fleet => "fleet and utilisation",
            Self::Anomalies => "anomalies",
            Self::Budgets => "team budgets",
            Self::Jobs => "scheduled-job recommendations",
            Self::Settings => "default settings",
            Self::Writing => "writing (one transaction)",
        })
    }
}

/// What [`Spectra::import`] did, step by step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportReport {
    /// Rows inserted and skipped per kind.
    pub counts: ImportCounts,
    /// Zones with hourly carbon data after the import.
    pub zones: usize,
    /// The simulation time of the import.
    pub at: DateTime<Utc>,
}

/// A region's signals at the clock's now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionSignal {
    /// The region.
    pub region: RegionCode,
    /// Its grid zone.
    pub zone: String,
    /// The time.
    pub at: DateTime<Utc>,
    /// Life-cycle intensity, gCO2e/kWh.
    pub intensity_g_per_kwh: f64,
    /// Hourly, estimated, or the annual fallback.
    pub basis: IntensityBasis,
    /// Current latency, ms.
    pub latency_ms: f64,
}

/// Which instances a migration moves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceSelector {
    /// Every instance in the source region.
    All,
    /// The instances of one team in the source region.
    Team(String),
    /// These instances (each must be in the source region).
    Ids(Vec<String>),
}

/// A request to move instances between regions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationRequest {
    /// Source region.
    pub from_region: RegionCode,
    /// Target region.
    pub to_region: RegionCode,
    /// Which instances.
    pub instances: InstanceSelector,
}

/// A setting as the outside sees it: secrets are reported as set or unset, never shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingView {
    /// The key.
    pub key: String,
    /// The value; `None` for secrets.
    pub value: Option<String>,
    /// Whether it is a secret.
    pub secret: bool,
    /// Whether it has a non-empty value.
    pub is_set: bool,
}

/// One signal's source and freshness.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignalHealth {
    /// `carbon`, `latency`, `fleet` or `cost`.
    pub signal: &'static str,
    /// The source serving it now: the live source while its last call succeeded, else the demo
    /// source (or the stored data it left).
    pub source: String,
    /// Whether that source is a live API.
    pub live: bool,
    /// The live source configured for this signal, if any.
    pub configured: Option<String>,
    /// What the live source's calls did so far.
    pub status: LiveStatus,
    /// The newest data point served.
    pub freshest: Option<DateTime<Utc>>,
    /// The last failure of the live source, if its last call failed.
    pub last_error: Option<String>,
}

/// What [`Spectra::health`] reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    /// Whether the store answers.
    pub ok: bool,
    /// The store's name.
    pub store: String,
    /// The store's error, when it does not answer.
    pub store_error: Option<String>,
    /// The simulation clock.
    pub now: DateTime<Utc>,
    /// Per signal.
    pub signals: Vec<SignalHealth>,
}

/// A demo job scheduled at import.
struct DemoJob {
    name: &'static str,
    hours: u32,
    kw: f64,
    /// Hours from now to the deadline.
    window: i64,
    current: &'static str,
    candidates: &'static [&'static str],
}

const DEMO_JOBS: [DemoJob; 3] = [
    DemoJob {
        name: "nightly-etl",
        hours: 4,
        kw: 2.0,
        window: 24,
        current: "aws-us-east-1",
        candidates: &["aws-us-east-2", "aws-us-west-2", "aws-ca-central-1"],
    },
    DemoJob {
        name: "ml-training",
        hours: 8,
        kw: 6.5,
        window: 48,
        current: "aws-eu-central-1",
        candidates: &["aws-eu-west-2", "aws-eu-west-3", "aws-eu-north-1"],
    },
    DemoJob {
        name: "monthly-report",
        hours: 2,
        kw: 0.5,
        window: 72,
        current: "aws-ap-southeast-1",
        candidates: &["aws-ap-southeast-2", "aws-ap-northeast-1"],
    },
];

/// Default settings, filled only where missing: (key, value, secret).
const DEFAULT_SETTINGS: [(&str, &str, bool); 9] = [
    ("optimizer.weight.carbon", "0.5", false),
    ("optimizer.weight.latency", "0.3", false),
    ("optimizer.weight.cost", "0.2", false),
    ("budget.default_kg_co2e_per_quarter", "200", false),
    ("anomaly.idle_cpu_pct", "5", false),
    ("aws.role_arn", "", false),
    ("aws.access_key_id", "", true),
    ("aws.secret_access_key", "", true),
    ("electricity_maps.api_key", "", true),
];

impl<S: Store> Spectra<S> {
    /// A builder over a store, a region catalog, a carbon source and a fleet source.
    pub fn builder(
        store: S,
        catalog: Arc<Catalog>,
        carbon: Arc<dyn DataSource>,
        fleet: Arc<dyn DataSource>,
    ) -> SpectraBuilder<S> {
        SpectraBuilder {
            store,
            catalog,
            carbon,
            fleet,
            live: LiveSources::default(),
            sim_start: crate::clock::default_sim_start(),
            power: PowerModel::aws_average(),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The region catalog.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The signals ranking reads (a snapshot; imports and refreshes replace it).
    pub fn signals(&self) -> Arc<RegionSignals> {
        // A poisoned lock holds a complete Arc (the write is a single assignment).
        self.signals.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn clock_lock(&self) -> MutexGuard<'_, SimClock> {
        self.clock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The simulation clock's now.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock_lock().now()
    }

    /// The simulation clock.
    pub fn clock(&self) -> SimClock {
        *self.clock_lock()
    }

    /// Rebuilds the ranking signals from the store: carbon hours and the latest latency.
    fn reload_signals(&self) -> Result<()> {
        let mut signals = RegionSignals::new(self.catalog.clone(), self.store.carbon_table()?);
        for sample in self.store.latency_latest(self.now())? {
            if self.catalog.index_of(sample.region.as_str()).is_some() {
                signals.set_latency(sample.region.as_str(), sample.ms)?;
            }
        }
        *self.signals.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(signals);
        Ok(())
    }

    /// The seed's seven import steps, in one store transaction, idempotent: (1) regions, (2) the
    /// carbon source's hours (`CSV_DIR`), (3) the fleet's instances with hourly utilisation,
    /// (4) anomalies detected in that utilisation, (5) team budgets, (6) scheduled-job
    /// recommendations from [`best_window`], (7) default settings that fill only missing keys.
    /// A baseline latency sample per region is recorded too. Re-running inserts nothing new.
    ///
    /// When any step fails (a bad CSV, an unreachable source), nothing is written.
    pub async fn import(&self) -> Result<ImportReport> {
        self.import_with_progress(&|_| {}).await
    }

    /// [`Spectra::import`], calling `progress` as each step starts (for a progress display).
    pub async fn import_with_progress(&self, progress: &(dyn Fn(ImportStep) + Send + Sync)) -> Result<ImportReport> {
        let now = self.now();
        progress(ImportStep::Regions);
        progress(ImportStep::Carbon);
        let snapshot = self.carbon.carbon_snapshot().await?;
        let carbon = live_over_snapshot(&self.live_carbon_hours(now).await, snapshot);
        progress(ImportStep::Fleet);
        let (mut instances, utilisation) = self.fleet_data(now).await?;
        self.calibrate_fleet_costs(now, &mut instances).await?;
        // Steps 4 and 6 read the new carbon data together with what is stored.
        let mut merged = self.store.carbon_table()?;
        for (zone, series) in carbon.iter() {
            let Some(first) = series.first_hour() else { continue };
            for h in first..series.end_hour() {
                if let Some((v, d)) = series.point(h) {
                    merged.series_mut(zone).set(h, v, d);
                }
            }
        }
        let signals = RegionSignals::new(self.catalog.clone(), merged);
        let settings = self.store.settings()?;
        let setting = |key: &str, default: f64| -> f64 {
            settings.iter().find(|s| s.key == key).and_then(|s| s.value.parse().ok()).unwrap_or(default)
        };
        progress(ImportStep::Anomalies);
        let mut anomalies = detect_idle(&instances, &utilisation, now, setting("anomaly.idle_cpu_pct", 5.0));
        anomalies.extend(detect_spikes(&signals, &self.power, &instances, &utilisation, now));
        progress(ImportStep::Budgets);
        let budgets = default_budgets(&instances, now, setting("budget.default_kg_co2e_per_quarter", 200.0));
        progress(ImportStep::Jobs);
        let jobs = demo_jobs(&signals, now);
        progress(ImportStep::Settings);
        let batch = ImportBatch {
            regions: self.catalog.regions().to_vec(),
            latency: self.latency_samples(now).await,
            anomalies,
            budgets,
            jobs,
            settings: DEFAULT_SETTINGS
                .iter()
                .map(|&(key, value, secret)| SettingEntry { key: key.into(), value: value.into(), secret })
                .collect(),
            carbon,
            instances,
            utilisation,
        };
        progress(ImportStep::Writing);
        let counts = self.store.import(&batch)?;
        self.reload_signals()?;
        Ok(ImportReport { counts, zones: self.signals().table().iter().count(), at: now })
    }

    /// Advances the simulation clock by `hours` and stores it; returns the new now.
    pub fn tick(&self, hours: u32) -> Result<DateTime<Utc>> {
        let mut clock = self.clock_lock();
        let mut next = *clock;
        let now = next.tick(hours)?;
        self.store.save_clock(&next)?;
        *clock = next;
        Ok(now)
    }

    /// Ranks regions (see [`crate::rank_regions`]); `request.at` is usually [`Spectra::now`].
    pub fn rank_regions(&self, request: &RankRequest) -> Result<Ranking> {
        crate::rank_regions(&self.signals(), request)
    }

    /// The lowest-carbon window for a batch job; see [`best_window`]. When the carbon source
    /// provides forecasts, they fill the hours from the job's earliest start that have no stored
    /// value (history is never overwritten); otherwise stored history is replayed. A failing
    /// forecast falls back to history.
    pub async fn best_window(&self, job: &Job) -> Result<crate::WindowChoice> {
        let signals = self.signals();
        let forecaster = match &self.live.carbon {
            Some(live) if live.capabilities().carbon_forecast => live,
            _ if self.carbon.capabilities().carbon_forecast => &self.carbon,
            _ => return best_window(&signals, job),
        };
        let mut zones: Vec<&str> = Vec::new();
        for code in std::iter::once(&job.current_region).chain(&job.candidate_regions) {
            let zone = self.catalog.require(code.as_str())?.zone.as_str();
            if !zones.contains(&zone) {
                zones.push(zone);
            }
        }
        let mut table = signals.table().clone();
        let mut added = 0usize;
        for zone in zones {
            let hours = match forecaster.carbon_forecast(zone, job.earliest_start).await {
                Ok(hours) => hours,
                Err(e) => {
                    self.book.failed(Signal::Carbon, format!("forecast of {zone}: {e}"));
                    continue;
                }
            };
            for h in hours.iter().filter(|h| h.zone == zone && h.hour < job.deadline) {
                if table.insert(h) == crate::series::SetOutcome::Inserted {
                    added += 1;
                }
            }
        }
        if added == 0 {
            return best_window(&signals, job);
        }
        best_window(&RegionSignals::new(self.catalog.clone(), table), job)
    }

    /// Every region's intensity and latency at the clock's now.
    pub fn signals_latest(&self) -> Vec<RegionSignal> {
        let signals = self.signals();
        let at = self.now();
        let hour = hour_index(at);
        self.catalog
            .regions()
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let (g, basis) = signals.intensity(i, hour, 1);
                RegionSignal {
                    region: r.code.clone(),
                    zone: r.zone.clone(),
                    at,
                    intensity_g_per_kwh: g,
                    basis,
                    latency_ms: signals.latency_ms(i),
                }
            })
            .collect()
    }

    /// Stored hourly intensity of a region's grid from `from` to `to` (exclusive), in time order.
    pub fn signals_history(
        &self,
        region: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CarbonIntensityHour>> {
        let zone = &self.catalog.require(region)?.zone;
        self.store.carbon_history(zone, TimeRange::new(from, to)?)
    }

    /// The latest latency sample per region at the clock's now.
    pub fn latency_latest(&self) -> Result<Vec<LatencySample>> {
        self.store.latency_latest(self.now())
    }

    /// Stored latency samples of a region from `from` to `to` (exclusive), in time order.
    pub fn latency_history(&self, region: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<LatencySample>> {
        self.catalog.require(region)?;
        self.store.latency_history(region, TimeRange::new(from, to)?)
    }

    /// Each region's catalog baseline latency as a sample at `now`.
    fn baseline_latency(&self, now: DateTime<Utc>) -> Vec<LatencySample> {
        self.catalog
            .regions()
            .iter()
            .map(|r| LatencySample {
                region: r.code.clone(),
                time: now,
                ms: r.baseline_latency_ms,
                source: LatencySource::Baseline,
            })
            .collect()
    }

    /// Records a latency sample per region at the clock's now: from the live source when one is
    /// configured and answers (regions it has no figure for keep their baseline), else the
    /// baseline; a failure is recorded for [`Spectra::health`] and never loses stored samples.
    pub async fn refresh_latency(&self) -> Result<Vec<LatencySample>> {
        let samples = self.latency_samples(self.now()).await;
        self.store.import(&ImportBatch { latency: samples.clone(), ..ImportBatch::default() })?;
        self.reload_signals()?;
        Ok(samples)
    }

    /// Fetches the live carbon source's hours around the clock's now (the previous 24 hours and
    /// the current one) for every catalog zone and stores the new ones, so history accumulates.
    /// Returns how many hours were new; 0 without a live source. Zones that fail are recorded for
    /// [`Spectra::health`]; what is stored is never lost or overwritten.
    pub async fn refresh_carbon(&self) -> Result<u64> {
        let hours = self.live_carbon_hours(self.now()).await;
        if hours.is_empty() {
            return Ok(0);
        }
        let mut carbon = crate::IntensityTable::new();
        for h in &hours {
            carbon.insert(h);
        }
        let counts = self.store.import(&ImportBatch { carbon, ..ImportBatch::default() })?;
        self.reload_signals()?;
        Ok(counts.carbon_hours.inserted)
    }

    /// The live carbon source's hours in `[now - 24 h, now + 1 h)` for every catalog zone; empty
    /// without a live source or when every zone failed (the failure is in the book).
    async fn live_carbon_hours(&self, now: DateTime<Utc>) -> Vec<CarbonIntensityHour> {
        let Some(source) = &self.live.carbon else { return Vec::new() };
        let range = TimeRange { from: now - Duration::hours(LIVE_CARBON_HOURS), to: now + Duration::hours(1) };
        let zones: BTreeSet<&str> = self.catalog.regions().iter().map(|r| r.zone.as_str()).collect();
        let (mut hours, mut failed, mut first_error) = (Vec::new(), 0usize, None);
        for zone in &zones {
            match source.carbon_history(zone, range).await {
                Ok(h) => hours.extend(h.into_iter().filter(|h| h.zone == *zone)),
                Err(e) => {
                    failed += 1;
                    first_error.get_or_insert_with(|| format!("zone {zone}: {e}"));
                }
            }
        }
        if failed < zones.len() {
            self.book.ok(Signal::Carbon, now);
        }
        if let Some(e) = first_error {
            self.book.failed(Signal::Carbon, format!("{failed} of {} zones failed; first: {e}", zones.len()));
        }
        hours
    }

    /// A latency sample per region at `now`: live where the live source answers, else baseline.
    async fn latency_samples(&self, now: DateTime<Utc>) -> Vec<LatencySample> {
        let mut samples = self.baseline_latency(now);
        let Some(source) = &self.live.latency else { return samples };
        match source.latency(self.catalog.regions(), now).await {
            Ok(live) => {
                self.book.ok(Signal::Latency, now);
                for l in live {
                    if let Some(s) = samples.iter_mut().find(|s| s.region == l.region) {
                        *s = l;
                    }
                }
            }
            Err(e) => self.book.failed(Signal::Latency, e),
        }
        samples
    }

    /// The fleet's instances and utilisation around `now`: from the live fleet when it answers,
    /// else nothing new when a fleet is stored already, else from the demo fleet. Live instances outside the catalog are left out; demo ones are
    /// an error (the demo fleet must match the catalog).
    async fn fleet_data(&self, now: DateTime<Utc>) -> Result<(Vec<Instance>, Vec<UtilisationHour>)> {
        let range = TimeRange::new(now - Duration::days(FLEET_HISTORY_DAYS), now + Duration::days(FLEET_FUTURE_DAYS))?;
        if let Some(live) = &self.live.fleet {
            let fetched = match live.instances().await {
                Ok(instances) => live.utilisation(range).await.map(|u| (instances, u)),
                Err(e) => Err(e),
            };
            match fetched {
                Ok((mut instances, mut utilisation)) => {
                    self.book.ok(Signal::Fleet, now);
                    instances.retain(|i| self.catalog.index_of(i.region.as_str()).is_some());
                    let kept: std::collections::HashSet<&str> = instances.iter().map(|i| i.id.as_str()).collect();
                    utilisation.retain(|u| kept.contains(u.instance_id.as_str()));
                    return Ok((instances, utilisation));
                }
                Err(e) => {
                    self.book.failed(Signal::Fleet, e);
                    // A fleet stored from earlier live calls is served as it is, not mixed with
                    // the demo fleet.
                    if !self.store.instances()?.is_empty() {
                        return Ok((Vec::new(), Vec::new()));
                    }
                }
            }
        }
        let instances = self.fleet.instances().await?;
        let utilisation = self.fleet.utilisation(range).await?;
        for i in &instances {
            if self.catalog.index_of(i.region.as_str()).is_none() {
                return Err(Error::invalid(
                    Location::field("instances"),
                    format!("instance {} is in {}, which is not in the catalog", i.id, i.region),
                ));
            }
        }
        Ok((instances, utilisation))
    }

    /// With a cost source, scales the fleet's estimated hourly costs to the bill of the
    /// [`FLEET_HISTORY_DAYS`] before `now` (see `live::calibrate_costs`); a failing bill keeps the
    /// estimates and is recorded.
    async fn calibrate_fleet_costs(&self, now: DateTime<Utc>, instances: &mut [Instance]) -> Result<()> {
        let Some(source) = &self.live.cost else { return Ok(()) };
        let billed = TimeRange::new(now - Duration::days(FLEET_HISTORY_DAYS), now)?;
        match source.costs(billed).await {
            Ok(costs) => {
                self.book.ok(Signal::Cost, now);
                calibrate_costs(instances, (FLEET_HISTORY_DAYS * 24) as f64, &costs);
            }
            Err(e) => self.book.failed(Signal::Cost, e),
        }
        Ok(())
    }

    /// Moves instances between regions and records the migration with its expected monthly
    /// emissions and cost before and after. Errors, with nothing changed: an unknown region, the
    /// same source and target, no matching instance, an instance not in the source region.
    pub fn execute_migration(&self, request: &MigrationRequest) -> Result<Migration> {
        let from = self.catalog.require(request.from_region.as_str())?;
        let to = self.catalog.require(request.to_region.as_str())?;
        if from.code == to.code {
            return Err(Error::invalid(Location::field("to_region"), "is the same as from_region"));
        }
        let instances = self.store.instances()?;
        let moving: Vec<&Instance> = match &request.instances {
            InstanceSelector::All => instances.iter().filter(|i| i.region == from.code).collect(),
            InstanceSelector::Team(team) => {
                instances.iter().filter(|i| i.region == from.code && &i.team == team).collect()
            }
            InstanceSelector::Ids(ids) => {
                let mut out = Vec::with_capacity(ids.len());
                for id in ids.iter().collect::<BTreeSet<_>>() {
                    let found = instances.iter().find(|i| &i.id == id);
                    crate::store::check_movable(found, id, &from.code)?;
                    out.extend(found);
                }
                out
            }
        };
        if moving.is_empty() {
            return Err(Error::not_found("instances", format!("{:?} in {}", request.instances, from.code)));
        }
        let now = self.now();
        let signals = self.signals();
        let hour = hour_index(now);
        let month = |region: &crate::Region| -> (f64, f64) {
            let i = self.catalog.index_of(region.code.as_str()).unwrap_or_default();
            let (g, _) = signals.intensity(i, hour, 1);
            let watts: f64 =
                moving.iter().map(|m| self.power.average_watts(&m.instance_type, m.vcpus, m.memory_gb, None)).sum();
            let kg = watts / 1_000.0 * region.pue * HOURS_PER_MONTH * g / 1_000.0;
            let usd: f64 = moving.iter().map(|m| m.hourly_cost_usd / from.price_factor * region.price_factor).sum();
            (kg, usd * HOURS_PER_MONTH)
        };
        let (kg_before, usd_before) = month(from);
        let (kg_after, usd_after) = month(to);
        self.store.record_migration(&Migration {
            id: 0,
            from_region: from.code.clone(),
            to_region: to.code.clone(),
            instance_ids: moving.iter().map(|i| i.id.clone()).collect(),
            executed_at: now,
            kg_co2e_per_month_before: kg_before,
            kg_co2e_per_month_after: kg_after,
            cost_usd_per_month_before: usd_before,
            cost_usd_per_month_after: usd_after,
            status: MigrationStatus::Completed,
        })
    }

    /// Recorded migrations, oldest first.
    pub fn migrations(&self) -> Result<Vec<Migration>> {
        self.store.migrations()
    }

    /// The fleet's instances, by id.
    pub fn instances(&self) -> Result<Vec<Instance>> {
        self.store.instances()
    }

    /// Stored anomalies, newest first.
    pub fn anomalies(&self) -> Result<Vec<Anomaly>> {
        self.store.anomalies()
    }

    /// Detects anomalies at the clock's now from the stored data and stores them: idle instances
    /// (mean CPU below the `anomaly.idle_cpu_pct` setting over 24 hours), emission spikes (an hour
    /// of the last day far above the instance's robust norm of the six days before) and budgets at
    /// risk or over. Returns what was found; storing is idempotent (same kind, subject, time).
    pub fn detect_anomalies(&self) -> Result<Vec<Anomaly>> {
        let now = self.now();
        let instances = self.store.instances()?;
        let week = TimeRange::new(now - Duration::days(7), now)?;
        let utilisation = self.store.utilisation(week)?;
        let threshold = self
            .store
            .settings()?
            .into_iter()
            .find(|s| s.key == "anomaly.idle_cpu_pct")
            .and_then(|s| s.value.parse().ok())
            .unwrap_or(5.0);
        let mut found = detect_idle(&instances, &utilisation, now, threshold);
        found.extend(detect_spikes(&self.signals(), &self.power, &instances, &utilisation, now));
        for b in self.budgets()? {
            let severity = match b.state {
                BudgetState::OnTrack => continue,
                BudgetState::AtRisk => Severity::Medium,
                BudgetState::Over => Severity::High,
            };
            found.push(Anomaly {
                kind: AnomalyKind::BudgetAtRisk,
                subject: b.team.clone(),
                severity,
                evidence: format!(
                    "team {} used {:.1} of {:.1} kgCO2e ({:.0}%) in {}, projected {:.1} by the quarter's end",
                    b.team, b.used_kg_co2e, b.budget_kg_co2e, b.used_pct, b.quarter, b.projected_kg_co2e
                ),
                detected_at: now,
            });
        }
        self.store.import(&ImportBatch { anomalies: found.clone(), ..ImportBatch::default() })?;
        Ok(found)
    }

    /// The power model.
    pub fn power_model(&self) -> &PowerModel {
        &self.power
    }

    /// Fleet emissions over `[from, to)` grouped by `group_by` (see [`crate::accounting`]): each
    /// running instance's stored hourly utilisation, in its current region.
    pub fn fleet_emissions(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        group_by: &[GroupBy],
    ) -> Result<Vec<EmissionsRow>> {
        let range = TimeRange::new(from, to)?;
        let instances = self.store.instances()?;
        let hours = fleet_hours(&instances, &self.store.utilisation(range)?, range);
        fleet_emissions(&self.signals(), &self.power, &instances, &hours, group_by)
    }

    /// Stored team budgets (team, quarter, kgCO2e).
    pub fn budget_definitions(&self) -> Result<Vec<TeamBudget>> {
        self.store.budgets()
    }

    /// Each team's budget for its quarter: used from the quarter's start to the clock's now,
    /// projected to the quarter's end at the current rate, and on track, at risk or over.
    pub fn budgets(&self) -> Result<Vec<BudgetStatus>> {
        let budgets = self.store.budgets()?;
        let now = self.now();
        let mut used = std::collections::HashMap::new();
        let quarters: BTreeSet<&str> = budgets.iter().map(|b| b.quarter.as_str()).collect();
        for quarter in quarters {
            let q = quarter_range(quarter)?;
            let to = now.clamp(q.from, q.to);
            if to > q.from {
                for row in self.fleet_emissions(q.from, to, &[GroupBy::Team])? {
                    let total = row.total_kg_co2e();
                    if let Some(team) = row.team {
                        used.insert(team, total);
                    }
                }
            }
        }
        budget_status(&budgets, &used, now)
    }

    /// Stored scheduled-job recommendations.
    pub fn job_recommendations(&self) -> Result<Vec<JobRecommendation>> {
        self.store.job_recommendations()
    }

    /// Settings as the outside may see them: secret values are never returned.
    pub fn settings(&self) -> Result<Vec<SettingView>> {
        Ok(self
            .store
            .settings()?
            .into_iter()
            .map(|s| SettingView {
                is_set: !s.value.is_empty(),
                value: (!s.secret).then_some(s.value),
                secret: s.secret,
                key: s.key,
            })
            .collect())
    }

    /// Writes a setting (a secret when `secret`). Keys are non-empty, without whitespace.
    pub fn set_setting(&self, key: &str, value: &str, secret: bool) -> Result<()> {
        if key.is_empty() || key.chars().any(char::is_whitespace) {
            return Err(Error::invalid(Location::field("key"), format!("{key:?} is not a setting key")));
        }
        self.store.put_setting(&SettingEntry { key: key.into(), value: value.into(), secret })
    }

    /// A secret setting's value, for the sources that need it inside the process.
    pub fn secret_setting(&self, key: &str) -> Result<Option<crate::Secret>> {
        Ok(self
            .store
            .settings()?
            .into_iter()
            .find(|s| s.key == key && !s.value.is_empty())
            .map(|s| crate::Secret::new(s.value)))
    }

    /// Whether the store answers, and which source serves each signal and how fresh it is.
    pub fn health(&self) -> Health {
        let (ok, store_error) = match self.store.ping() {
            Ok(()) => (true, None),
            Err(e) => (false, Some(e.to_string())),
        };
        Health {
            ok,
            store: self.store.name().to_owned(),
            store_error,
            now: self.now(),
            signals: Signal::ALL.iter().map(|&s| self.signal_health(s)).collect(),
        }
    }

    fn signal_health(&self, signal: Signal) -> SignalHealth {
        let status = self.book.get(signal);
        let live = self.live.get(signal);
        let serving = live.filter(|_| status.is_serving());
        let fallback = match signal {
            Signal::Carbon => self.carbon.name().to_owned(),
            Signal::Latency => "baseline".to_owned(),
            // Without a bill, costs are the fleet source's estimates (instance type x region).
            Signal::Fleet | Signal::Cost => self.fleet.name().to_owned(),
        };
        let freshest = match signal {
            Signal::Carbon => self
                .signals()
                .table()
                .iter()
                .filter_map(|(_, s)| s.last_present_hour())
                .max()
                .map(crate::series::hour_start),
            Signal::Latency => self.store.latency_latest(self.now()).ok().and_then(|l| l.iter().map(|s| s.time).max()),
            Signal::Fleet | Signal::Cost => status.last_success,
        };
        SignalHealth {
            signal: signal.as_str(),
            source: serving.map_or(fallback, |l| l.name().to_owned()),
            live: serving.is_some(),
            configured: live.map(|l| l.name().to_owned()),
            freshest,
            last_error: status.last_error.clone(),
            status,
        }
    }
}

/// Idle instances: mean CPU below `threshold_pct` over the 24 hours before `now`.
fn detect_idle(
    instances: &[Instance],
    utilisation: &[UtilisationHour],
    now: DateTime<Utc>,
    threshold_pct: f64,
) -> Vec<Anomaly> {
    let window = TimeRange { from: now - Duration::hours(24), to: now };
    instances
        .iter()
        .filter_map(|i| {
            let cpu: Vec<f64> = utilisation
                .iter()
                .filter(|u| u.instance_id == i.id && window.contains(u.hour))
                .map(|u| u.cpu_pct)
                .collect();
            if cpu.len() < 12 {
                return None;
            }
            let mean = cpu.iter().sum::<f64>() / cpu.len() as f64;
            (mean < threshold_pct).then(|| Anomaly {
                kind: AnomalyKind::IdleInstance,
                subject: i.id.clone(),
                severity: if mean < threshold_pct / 2.0 { Severity::High } else { Severity::Medium },
                evidence: format!(
                    "{} ({}, team {}) averaged {mean:.1}% CPU over the {} hours before {}",
                    i.name,
                    i.instance_type,
                    i.team,
                    cpu.len(),
                    now.format("%Y-%m-%d %H:%M UTC")
                ),
                detected_at: now,
            })
        })
        .collect()
}

/// Emission spikes: for each running instance, its hourly emissions over the six days before the
/// last 24 hours give a robust norm (median and MAD, scaled by 1.4826 to estimate a standard
/// deviation); the highest hour of the last 24 hours is a spike when it exceeds the median by more
/// than six of those and by half the median. Needs at least 48 hours of history.
fn detect_spikes(
    signals: &RegionSignals,
    model: &PowerModel,
    instances: &[Instance],
    utilisation: &[UtilisationHour],
    now: DateTime<Utc>,
) -> Vec<Anomaly> {
    let recent = now - Duration::hours(24);
    let history = TimeRange { from: now - Duration::days(7), to: recent };
    let catalog = signals.catalog();
    let mut out = Vec::new();
    for inst in instances {
        let Some(region) = catalog.index_of(inst.region.as_str()) else { continue };
        let pue = catalog.regions()[region].pue;
        let grams = |u: &UtilisationHour| {
            let watts = model.average_watts(&inst.instance_type, inst.vcpus, inst.memory_gb, Some(u.cpu_pct));
            watts / 1_000.0 * pue * signals.intensity(region, hour_index(u.hour), 1).0
        };
        let mut norm: Vec<f64> =
            utilisation.iter().filter(|u| u.instance_id == inst.id && history.contains(u.hour)).map(grams).collect();
        if norm.len() < 48 {
            continue;
        }
        let centre = median(&mut norm);
        let mut deviations: Vec<f64> = norm.iter().map(|g| (g - centre).abs()).collect();
        let sigma = 1.4826 * median(&mut deviations);
        let peak = utilisation
            .iter()
            .filter(|u| u.instance_id == inst.id && u.hour >= recent && u.hour < now)
            .map(|u| (grams(u), u.hour))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((g, hour)) = peak
            && g > centre + 6.0 * sigma
            && g > 1.5 * centre
        {
            out.push(Anomaly {
                kind: AnomalyKind::EmissionSpike,
                subject: inst.id.clone(),
                severity: if g > 3.0 * centre { Severity::High } else { Severity::Medium },
                evidence: format!(
                    "{} emitted {g:.2} gCO2e in the hour from {} against a median of {centre:.2} g/h (robust sigma {sigma:.2})",
                    inst.name,
                    hour.format("%Y-%m-%d %H:%M UTC")
                ),
                detected_at: now,
            });
        }
    }
    out
}

/// The median of `values` (reordered in place); 0 for none.
fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 0 { (values[mid - 1] + values[mid]) / 2.0 } else { values[mid] }
}

/// Quarterly budgets of the demo fleet's teams, kgCO2e, set around their demo footprint so that
/// some are on track and some at risk.
const DEMO_BUDGETS: [(&str, f64); 5] =
    [("data", 100.0), ("ml", 80.0), ("payments", 300.0), ("platform", 60.0), ("web", 250.0)];

/// A budget per team of the fleet for the current quarter: the demo figure for the demo teams,
/// the configured default for any other.
fn default_budgets(instances: &[Instance], now: DateTime<Utc>, default_kg: f64) -> Vec<TeamBudget> {
    let teams: BTreeSet<&str> = instances.iter().map(|i| i.team.as_str()).collect();
    teams
        .into_iter()
        .map(|team| TeamBudget {
            team: team.into(),
            quarter: quarter_of(now),
            budget_kg_co2e: DEMO_BUDGETS.iter().find(|(t, _)| *t == team).map_or(default_kg, |(_, kg)| *kg),
        })
        .collect()
}

/// The demo scheduled jobs placed by [`best_window`]; a job whose regions are not in the catalog
/// or have no data in its window is left out.
fn demo_jobs(signals: &RegionSignals, now: DateTime<Utc>) -> Vec<JobRecommendation> {
    DEMO_JOBS
        .iter()
        .filter_map(|demo| {
            let job = Job {
                duration_hours: demo.hours,
                earliest_start: now,
                deadline: now + Duration::hours(demo.window),
                power_kw: demo.kw,
                current_region: demo.current.into(),
                candidate_regions: demo.candidates.iter().map(|&c| c.into()).collect(),
            };
            let choice = best_window(signals, &job).ok()?;
            let best = choice.best.first()?;
            Some(JobRecommendation {
                job: demo.name.into(),
                duration_hours: demo.hours,
                power_kw: demo.kw,
                earliest_start: job.earliest_start,
                deadline: job.deadline,
                allowed_regions: job.candidate_regions.clone(),
                current_region: job.current_region.clone(),
                best_start: best.start,
                best_region: best.region.clone(),
                expected_kg_co2e: best.kg_co2e,
                baseline_kg_co2e: choice.baseline.kg_co2e,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::catalog::tests::region;
    use crate::{InstanceState, IntensityTable};

    fn instance(id: &str) -> Instance {
        Instance {
            id: id.into(),
            name: format!("{id}-name"),
            team: "web".into(),
            region: "a".into(),
            instance_type: "m".into(),
            vcpus: 4,
            memory_gb: 16.0,
            state: InstanceState::Running,
            hourly_cost_usd: 0.2,
        }
    }

    #[test]
    fn spikes_and_idle_instances_are_found_from_the_data() {
        let catalog = Arc::new(Catalog::new(vec![region("a", "A", 1.0, 300.0, 1.0)], "t").unwrap());
        let signals = RegionSignals::new(catalog, IntensityTable::new());
        let now = Utc.with_ymd_and_hms(2024, 1, 8, 0, 0, 0).unwrap();
        let instances = [instance("steady"), instance("spiky"), instance("idle")];
        let mut utilisation = Vec::new();
        for h in 0..(7 * 24) {
            let hour = now - Duration::hours(7 * 24 - h);
            let wobble = (h % 5) as f64;
            let recent = hour >= now - Duration::hours(24);
            for (id, cpu) in [
                ("steady", 20.0 + wobble),
                ("spiky", if recent && h % 24 == 13 { 100.0 } else { 10.0 + wobble }),
                ("idle", 1.0),
            ] {
                utilisation.push(UtilisationHour { instance_id: id.into(), hour, cpu_pct: cpu, memory_pct: None });
            }
        }
        let spikes = detect_spikes(&signals, &PowerModel::aws_average(), &instances, &utilisation, now);
        assert_eq!(spikes.iter().map(|a| a.subject.as_str()).collect::<Vec<_>>(), ["spiky"]);
        assert_eq!(spikes[0].kind, AnomalyKind::EmissionSpike);
        assert!(spikes[0].evidence.contains("spiky-name"), "{}", spikes[0].evidence);
        let idle = detect_idle(&instances, &utilisation, now, 5.0);
        assert_eq!(idle.iter().map(|a| a.subject.as_str()).collect::<Vec<_>>(), ["idle"]);
        assert_eq!(idle[0].severity, Severity::High);
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
    }
}
