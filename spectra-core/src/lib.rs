//! # spectra-core
//!
//! SPECTRA's carbon model and decisions, with no I/O: the data model, the simulation clock, dense
//! hourly intensity series, the region-ranking optimizer, and the ports through which data comes in
//! ([`DataSource`]). Sources and stores live in `spectra-sources`; the `spectra` crate wires them.
//!
//! ```
//! use std::sync::Arc;
//! use spectra_core::*;
//! # let region = |code: &str, zone: &str, annual: f64| Region { code: RegionCode::new(code),
//! #     display_name: code.into(), provider: Provider::Aws, cloud_region: code.into(), zone: zone.into(),
//! #     baseline_latency_ms: 20.0, annual_intensity_g_per_kwh: annual, pue: 1.135, price_factor: 1.0,
//! #     csv_keywords: vec![] };
//! let catalog = Catalog::new(vec![region("aws-eu-west-3", "FR", 60.0), region("aws-eu-central-1", "DE", 450.0)], "inline")?;
//! let signals = RegionSignals::new(Arc::new(catalog), IntensityTable::new());
//! let clock = SimClock::default();
//! let ranking = rank_regions(&signals, &RankRequest::at(clock.now()))?;
//! assert_eq!(ranking.rows[0].region.as_str(), "aws-eu-west-3");
//! # Ok::<(), spectra_core::Error>(())
//! ```
#![warn(missing_docs)]

pub mod accounting;
pub mod catalog;
pub mod clock;
pub mod engine;
pub mod error;
pub mod live;
pub mod model;
pub mod optimizer;
pub mod power;
pub mod schedule;
pub mod series;
pub mod settings;
pub mod signals;
pub mod source;
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use accounting::{BudgetState, BudgetStatus, EmissionsRow, FleetHours, GroupBy};
pub use catalog::Catalog;
pub use clock::{Clock, SimClock, SystemClock};
pub use engine::{
    Health, ImportReport, ImportStep, InstanceSelector, MigrationRequest, RegionSignal, SettingView, SignalHealth,
    Spectra, SpectraBuilder,
};
pub use error::{Error, Location, Result};
pub use live::{LiveStatus, Signal};
pub use model::{
    Anomaly, AnomalyKind, CarbonIntensityHour, CarbonSource, Instance, InstanceState, JobRecommendation, LatencySample,
    LatencySource, Migration, MigrationStatus, Provider, Region, RegionCode, SettingEntry, Severity, TeamBudget,
    UtilisationHour,
};
pub use optimizer::{
    Constraints, CurrentFigures, RankRequest, RankedRegion, Ranking, Recommendation, Saving, Weights, Workload,
    rank_regions,
};
pub use schedule::{Job, Window, WindowChoice, best_window};
pub use series::{HourlySeries, IntensityTable};
pub use settings::{AppEnv, Secret, Settings};
pub use signals::{IntensityBasis, RegionSignals};
pub use source::{Capabilities, DataSource, RegionCost, TimeRange};
pub use store::{ImportBatch, ImportCounts, MemoryStore, StepCount, Store};
