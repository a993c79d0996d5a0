//! # spectra-py
//!
//! The native module `spectra._spectra` of the `spectra` Python package: SPECTRA's engine with the
//! same operations as the Rust [`spectra::Spectra`], rows as typed classes ([`rows`]), tables as
//! Arrow streams ([`table::Table`]) that polars and pyarrow read through the Arrow PyCapsule
//! interface, and errors as `spectra.SpectraError` subclasses ([`errors`]).
//!
//! Every call that does work releases the GIL (`Python::detach`); the async ones (import, latency
//! refresh, best window) run on one shared tokio runtime. The engine is `Sync` (its state sits
//! behind locks), so any number of Python threads may call one `Spectra` at once.
#![warn(missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, FixedOffset, Utc};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyType};
use spectra::sources::csv::CsvCarbonSource;
use spectra::sources::demo::DemoFleet;
use spectra::{Error, GroupBy, InstanceSelector, MemoryStore, MigrationRequest, RankRequest, Secret, Settings, Store};

pub mod errors;
pub mod rows;
pub mod table;

use errors::{IntoPy, InvalidInputError};
use table::{Columns, Table};

/// The one tokio runtime every Python thread's async calls share: created on first use, never
/// torn down (it lives as long as the interpreter has the module loaded).
static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

fn runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("spectra-py")
        .enable_all()
        .build()
        .map_err(|e| errors::SpectraError::new_err(format!("cannot start the async runtime: {e}")))?;
    // Two threads may race to here; the loser's runtime is dropped, both use the winner's.
    Ok(RUNTIME.get_or_init(|| rt))
}

/// The engine over whichever store this instance was opened with.
enum Engine {
    Memory(spectra::Spectra<MemoryStore>),
    #[cfg(feature = "duckdb-prebuilt")]
    DuckDb(spectra::Spectra<spectra::sources::duckdb_store::DuckDbStore>),
}

/// Runs `$body` with `$e` bound to the engine, whatever its store type.
macro_rules! on {
    ($engine:expr, $e:ident => $body:expr) => {
        match $engine {
            Engine::Memory($e) => $body,
            #[cfg(feature = "duckdb-prebuilt")]
            Engine::DuckDb($e) => $body,
        }
    };
}

/// The store named by `settings.database_url`: DuckDB when this build has it, else an error.
fn open_engine(settings: &Settings, data_dir: Option<&Path>) -> spectra::Result<Engine> {
    match &settings.database_url {
        None => Ok(Engine::Memory(wire(MemoryStore::new(), settings, data_dir)?)),
        #[cfg(feature = "duckdb-prebuilt")]
        Some(_) => {
            let store = spectra::sources::duckdb_store::DuckDbStore::from_settings(settings)?;
            Ok(Engine::DuckDb(wire(store, settings, data_dir)?))
        }
        #[cfg(not(feature = "duckdb-prebuilt"))]
        Some(_) => Err(Error::config(
            "database",
            "this build of spectra has no DuckDB store; build the wheel with the `duckdb-prebuilt` \
             feature (see the README's Python section) or leave `database` unset for the in-memory store",
        )),
    }
}

/// The demo-mode engine: the facade's wiring over the bundled data, or the same parts read from
/// `data_dir` (a copy of the repository's `data/` folder) when one is given.
fn wire<S: spectra::Store>(
    store: S,
    settings: &Settings,
    data_dir: Option<&Path>,
) -> spectra::Result<spectra::Spectra<S>> {
    let Some(dir) = data_dir else { return spectra::engine(store, settings) };
    let catalog = Arc::new(spectra::sources::catalog_file::load_catalog(
        &dir.join("regions.toml"),
        &dir.join("reference/latency/aws_cloudping_p50_1y_matrix.csv"),
        &settings.latency_vantage_region,
    )?);
    let carbon = Arc::new(CsvCarbonSource::new(&settings.csv_dir, catalog.clone()));
    let fleet = Arc::new(DemoFleet::new(&catalog)?);
    spectra::Spectra::builder(store, catalog, carbon, fleet)
        .with_sim_start(settings.sim_start)
        .with_power_model(spectra::sources::ccf::load_power_model(&dir.join("reference/ccf"))?)
        .build()
}

/// The data folder to read: `data_dir`, else the bundled one, which must exist (it is the
/// checkout the wheel was built from).
fn resolve_data_dir(data_dir: Option<PathBuf>) -> spectra::Result<(PathBuf, bool)> {
    match data_dir {
        Some(dir) if dir.join("regions.toml").is_file() => Ok((dir, true)),
        Some(dir) => Err(Error::config(
            "data_dir",
            format!("{} has no regions.toml: pass a copy of the repository's data/ folder", dir.display()),
        )),
        None => {
            let dir = spectra::bundled::data_dir();
            if dir.join("regions.toml").is_file() {
                Ok((dir, false))
            } else {
                Err(Error::config(
                    "data_dir",
                    format!(
                        "the bundled data ({}, in the checkout this wheel was built from) is not here; \
                         pass data_dir= a copy of the repository's data/ folder",
                        dir.display()
                    ),
                ))
            }
        }
    }
}

/// A time argument: a timezone-aware `datetime` (any offset) or an RFC 3339 string, as UTC.
fn utc(value: &Bound<'_, PyAny>, name: &str) -> PyResult<DateTime<Utc>> {
    if let Ok(s) = value.cast::<PyString>() {
        let text = s.to_cow()?;
        return DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| InvalidInputError::new_err(format!("{name}: {text:?} is not an RFC 3339 time")));
    }
    value.extract::<DateTime<FixedOffset>>().map(|t| t.with_timezone(&Utc)).map_err(|_| {
        InvalidInputError::new_err(format!(
            "{name}: expected a timezone-aware datetime or an RFC 3339 string (naive datetimes are ambiguous)"
        ))
    })
}

fn group_by(names: &[String]) -> PyResult<Vec<GroupBy>> {
    names
        .iter()
        .map(|n| match n.as_str() {
            "instance" => Ok(GroupBy::Instance),
            "team" => Ok(GroupBy::Team),
            "region" => Ok(GroupBy::Region),
            "day" => Ok(GroupBy::Day),
            other => Err(InvalidInputError::new_err(format!(
                "group_by: {other:?} is not one of instance, team, region, day"
            ))),
        })
        .collect()
}

/// `polars.DataFrame(table)`: polars reads the Arrow stream; imported on first use so the module
/// loads without polars.
fn to_polars(py: Python<'_>, table: Table) -> PyResult<Py<PyAny>> {
    let polars = py.import("polars").map_err(|e| {
        pyo3::exceptions::PyImportError::new_err(format!("the *_df methods need polars (pip install polars): {e}"))
    })?;
    Ok(polars.getattr("DataFrame")?.call1((table,))?.unbind())
}

/// A Python list of row objects, one per engine row.
fn list<'py, T, R>(py: Python<'py>, rows: &[R]) -> PyResult<Bound<'py, PyList>>
where
    T: pyo3::PyClass + Into<pyo3::PyClassInitializer<T>> + for<'r> From<&'r R>,
{
    let objects = rows.iter().map(|r| Py::new(py, T::from(r))).collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, objects)
}

fn emissions_table(rows: &[spectra::EmissionsRow]) -> PyResult<Table> {
    Columns::new(rows)
        .str("instance", |r| r.instance.as_deref())
        .str("team", |r| r.team.as_deref())
        .str("region", |r| r.region.as_ref().map(|c| c.as_str()))
        .date("day", |r| r.day)
        .u64("instance_hours", |r| r.instance_hours)
        .f64("energy_kwh", |r| Some(r.energy_kwh))
        .f64("operational_kg_co2e", |r| Some(r.operational_kg_co2e))
        .f64("embodied_kg_co2e", |r| Some(r.embodied_kg_co2e))
        .f64("total_kg_co2e", |r| Some(r.total_kg_co2e()))
        .f64("cost_usd", |r| Some(r.cost_usd))
        .f64("estimated_share", |r| Some(r.estimated_share))
        .build()
}

fn carbon_table(rows: &[spectra::CarbonIntensityHour]) -> PyResult<Table> {
    Columns::new(rows)
        .str("zone", |h| Some(&h.zone))
        .time("hour", |h| Some(h.hour))
        .f64("lifecycle_g_per_kwh", |h| Some(h.lifecycle_g_per_kwh))
        .f64("direct_g_per_kwh", |h| h.direct_g_per_kwh)
        .f64("low_carbon_pct", |h| h.low_carbon_pct)
        .f64("renewable_pct", |h| h.renewable_pct)
        .bool("estimated", |h| h.estimated)
        .text("source", |h| rows::label(&h.source))
        .build()
}

fn latency_table(rows: &[spectra::LatencySample]) -> PyResult<Table> {
    Columns::new(rows)
        .str("region", |s| Some(s.region.as_str()))
        .time("time", |s| Some(s.time))
        .f64("ms", |s| Some(s.ms))
        .text("source", |s| rows::label(&s.source))
        .build()
}

/// SPECTRA's engine: ranks regions, schedules jobs, accounts for a fleet, migrates.
///
/// Every operation of the Rust engine, same names. In Python `import` is a keyword, so the import
/// is `import_()`. Rows come back as typed classes; each table call has a `*_df` twin returning a
/// polars DataFrame and a `*_table` twin returning an Arrow [`Table`].
#[pyclass(frozen, module = "spectra._spectra")]
pub struct Spectra {
    engine: Engine,
    /// For `__repr__`: which secrets were given (never their values).
    keys_set: Vec<&'static str>,
    data_dir: PathBuf,
}

impl Spectra {
    fn open(settings: Settings, data_dir: Option<PathBuf>) -> PyResult<Self> {
        let (dir, explicit) = resolve_data_dir(data_dir).py()?;
        let keys_set = [
            ("electricity_maps_api_key", settings.electricity_maps_api_key.is_some()),
            ("cloudflare_api_token", settings.cloudflare_api_token.is_some()),
            ("aws_access_key_id", settings.aws_access_key_id.is_some()),
            ("aws_secret_access_key", settings.aws_secret_access_key.is_some()),
            ("aws_session_token", settings.aws_session_token.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect();
        let engine = open_engine(&settings, explicit.then_some(dir.as_path())).py()?;
        Ok(Self { engine, keys_set, data_dir: dir })
    }

    #[allow(clippy::too_many_arguments)]
    fn ranking(
        &self,
        py: Python<'_>,
        weights: Option<&Bound<'_, rows::Weights>>,
        constraints: Option<&Bound<'_, rows::Constraints>>,
        current_region: Option<&str>,
        workload: Option<&Bound<'_, rows::Workload>>,
        horizon_hours: u32,
        at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<spectra::Ranking> {
        let at = match at {
            Some(at) => utc(at, "at")?,
            None => on!(&self.engine, e => e.now()),
        };
        let mut request = RankRequest::at(at);
        if let Some(w) = weights {
            request.weights = w.get().to_rust();
        }
        if let Some(c) = constraints {
            request.constraints = c.get().to_rust().py()?;
        }
        if let Some(w) = workload {
            request.workload = w.get().to_rust();
        }
        request.current_region = current_region.map(Into::into);
        request.horizon_hours = horizon_hours;
        py.detach(|| on!(&self.engine, e => e.rank_regions(&request))).py()
    }

    fn emissions(
        &self,
        py: Python<'_>,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
        by: &[String],
    ) -> PyResult<Vec<spectra::EmissionsRow>> {
        let (from, to, by) = (utc(start, "start")?, utc(end, "end")?, group_by(by)?);
        py.detach(|| on!(&self.engine, e => e.fleet_emissions(from, to, &by))).py()
    }

    fn carbon_history(
        &self,
        py: Python<'_>,
        region: &str,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<spectra::CarbonIntensityHour>> {
        let (from, to) = (utc(start, "start")?, utc(end, "end")?);
        py.detach(|| on!(&self.engine, e => e.signals_history(region, from, to))).py()
    }

    fn latency_samples(
        &self,
        py: Python<'_>,
        region: &str,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<spectra::LatencySample>> {
        let (from, to) = (utc(start, "start")?, utc(end, "end")?);
        py.detach(|| on!(&self.engine, e => e.latency_history(region, from, to))).py()
    }
}

/// Builds a [`Settings`] from keyword options over the defaults.
#[allow(clippy::too_many_arguments)]
fn settings_from(
    database: Option<PathBuf>,
    csv_dir: Option<PathBuf>,
    data_dir: &Path,
    sim_start: Option<&Bound<'_, PyAny>>,
    latency_vantage_region: Option<String>,
    secrets: [Option<String>; 5],
    aws_role_arn: Option<String>,
) -> PyResult<Settings> {
    let [em, cf, key_id, secret_key, token] = secrets.map(|s| s.filter(|v| !v.is_empty()).map(Secret::new));
    let mut settings = Settings {
        database_url: database.map(|p| p.to_string_lossy().into_owned()),
        csv_dir: csv_dir.unwrap_or_else(|| data_dir.join("electricitymaps")),
        electricity_maps_api_key: em,
        cloudflare_api_token: cf,
        aws_access_key_id: key_id,
        aws_secret_access_key: secret_key,
        aws_session_token: token,
        aws_role_arn: aws_role_arn.filter(|v| !v.is_empty()),
        ..Settings::default()
    };
    if let Some(start) = sim_start {
        settings.sim_start = utc(start, "sim_start")?;
    }
    if let Some(vantage) = latency_vantage_region {
        settings.latency_vantage_region = vantage;
    }
    Ok(settings)
}

#[pymethods]
impl Spectra {
    /// Opens an engine. Every option is keyword-only and mirrors a `Settings` field; secrets are
    /// held as `Secret`s and never shown. See the stub (`spectra/_spectra.pyi`) for each option.
    #[new]
    #[pyo3(signature = (
        *, database = None, csv_dir = None, data_dir = None, sim_start = None, latency_vantage_region = None,
        electricity_maps_api_key = None, cloudflare_api_token = None, aws_role_arn = None,
        aws_access_key_id = None, aws_secret_access_key = None, aws_session_token = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        database: Option<PathBuf>,
        csv_dir: Option<PathBuf>,
        data_dir: Option<PathBuf>,
        sim_start: Option<&Bound<'_, PyAny>>,
        latency_vantage_region: Option<String>,
        electricity_maps_api_key: Option<String>,
        cloudflare_api_token: Option<String>,
        aws_role_arn: Option<String>,
        aws_access_key_id: Option<String>,
        aws_secret_access_key: Option<String>,
        aws_session_token: Option<String>,
    ) -> PyResult<Self> {
        let (dir, _) = resolve_data_dir(data_dir.clone()).py()?;
        let settings = settings_from(
            database,
            csv_dir,
            &dir,
            sim_start,
            latency_vantage_region,
            [
                electricity_maps_api_key,
                cloudflare_api_token,
                aws_access_key_id,
                aws_secret_access_key,
                aws_session_token,
            ],
            aws_role_arn,
        )?;
        Self::open(settings, data_dir)
    }

    /// An engine configured from the environment and `.env` (`DATABASE_URL`, `SIM_START`,
    /// `CSV_DIR`, keys...), exactly as `spectra::settings_from_env` reads them.
    #[classmethod]
    #[pyo3(signature = (*, data_dir = None))]
    fn from_env(_cls: &Bound<'_, PyType>, py: Python<'_>, data_dir: Option<PathBuf>) -> PyResult<Self> {
        let settings = py.detach(spectra::settings_from_env).py()?;
        Self::open(settings, data_dir)
    }

    /// The bundled demo: an engine over the bundled data (or `data_dir`), already imported.
    #[classmethod]
    #[pyo3(signature = (*, data_dir = None, database = None, sim_start = None))]
    fn demo(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        data_dir: Option<PathBuf>,
        database: Option<PathBuf>,
        sim_start: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let (dir, _) = resolve_data_dir(data_dir.clone()).py()?;
        let settings = settings_from(database, None, &dir, sim_start, None, Default::default(), None)?;
        let engine = Self::open(settings, data_dir)?;
        let rt = runtime()?;
        py.detach(|| rt.block_on(async { on!(&engine.engine, e => e.import().await) })).py()?;
        Ok(engine)
    }

    fn __repr__(&self) -> String {
        let (store, regions, now) = on!(&self.engine, e => (e.store().name().to_owned(), e.catalog().len(), e.now()));
        format!(
            "Spectra(store={store:?}, regions={regions}, now={}, data_dir={:?}, keys_set={:?})",
            now.to_rfc3339(),
            self.data_dir.display().to_string(),
            self.keys_set
        )
    }

    /// The simulation clock's now (timezone-aware UTC).
    fn now(&self) -> DateTime<Utc> {
        on!(&self.engine, e => e.now())
    }

    /// Advances the simulation clock by `hours` and stores it; returns the new now.
    #[pyo3(signature = (hours = 1))]
    fn tick(&self, py: Python<'_>, hours: u32) -> PyResult<DateTime<Utc>> {
        py.detach(|| on!(&self.engine, e => e.tick(hours))).py()
    }

    /// The seed's seven import steps in one transaction, idempotent. `progress(step_number,
    /// step_name)` is called as each step starts; an exception it raises is re-raised once the
    /// import has finished (the import itself is not interrupted).
    #[pyo3(signature = (progress = None))]
    fn import_(&self, py: Python<'_>, progress: Option<Py<PyAny>>) -> PyResult<rows::ImportReport> {
        let rt = runtime()?;
        let failed: Mutex<Option<PyErr>> = Mutex::new(None);
        let report = py.detach(|| match &progress {
            None => rt.block_on(async { on!(&self.engine, e => e.import().await) }),
            Some(callback) => {
                let report = |step: spectra::ImportStep| {
                    Python::attach(|py| {
                        if let Err(err) = callback.call1(py, (step.number(), step.to_string())) {
                            failed.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(err);
                        }
                    })
                };
                rt.block_on(async { on!(&self.engine, e => e.import_with_progress(&report).await) })
            }
        });
        let report = report.py()?;
        if let Some(err) = failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(err);
        }
        rows::ImportReport::new(py, &report)
    }

    /// Ranks regions by carbon, latency and cost at `at` (default: the clock's now).
    #[pyo3(signature = (*, weights = None, constraints = None, current_region = None, workload = None, horizon_hours = 1, at = None))]
    #[allow(clippy::too_many_arguments)]
    fn rank_regions(
        &self,
        py: Python<'_>,
        weights: Option<&Bound<'_, rows::Weights>>,
        constraints: Option<&Bound<'_, rows::Constraints>>,
        current_region: Option<&str>,
        workload: Option<&Bound<'_, rows::Workload>>,
        horizon_hours: u32,
        at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<rows::Ranking> {
        Ok(rows::Ranking::new(self.ranking(py, weights, constraints, current_region, workload, horizon_hours, at)?))
    }

    /// `rank_regions` as an Arrow table, one row per ranked region (saving columns flattened).
    #[pyo3(signature = (*, weights = None, constraints = None, current_region = None, workload = None, horizon_hours = 1, at = None))]
    #[allow(clippy::too_many_arguments)]
    fn rank_regions_table(
        &self,
        py: Python<'_>,
        weights: Option<&Bound<'_, rows::Weights>>,
        constraints: Option<&Bound<'_, rows::Constraints>>,
        current_region: Option<&str>,
        workload: Option<&Bound<'_, rows::Workload>>,
        horizon_hours: u32,
        at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Table> {
        let ranking = self.ranking(py, weights, constraints, current_region, workload, horizon_hours, at)?;
        Columns::new(&ranking.rows)
            .u32("rank", |x| x.rank)
            .str("region", |x| Some(x.region.as_str()))
            .str("provider", |x| Some(x.provider.as_str()))
            .f64("intensity_g_per_kwh", |x| Some(x.intensity_g_per_kwh))
            .text("intensity_basis", |x| rows::label(&x.intensity_basis))
            .f64("pue", |x| Some(x.pue))
            .f64("latency_ms", |x| Some(x.latency_ms))
            .f64("cost_usd_per_month", |x| Some(x.cost_usd_per_month))
            .f64("kg_co2e_per_month", |x| Some(x.kg_co2e_per_month))
            .f64("carbon_norm", |x| Some(x.carbon_norm))
            .f64("latency_norm", |x| Some(x.latency_norm))
            .f64("cost_norm", |x| Some(x.cost_norm))
            .f64("score", |x| Some(x.score))
            .f64("saving_kg_co2e_per_month", |x| x.saving.map(|s| s.kg_co2e_per_month))
            .f64("saving_carbon_pct", |x| x.saving.map(|s| s.carbon_pct))
            .f64("saving_usd_per_month", |x| x.saving.map(|s| s.usd_per_month))
            .str("recommendation", |x| Some(x.recommendation.action()))
            .text("reason", |x| x.recommendation.to_string())
            .build()
    }

    /// `rank_regions` as a polars DataFrame.
    #[pyo3(signature = (*, weights = None, constraints = None, current_region = None, workload = None, horizon_hours = 1, at = None))]
    #[allow(clippy::too_many_arguments)]
    fn rank_regions_df(
        &self,
        py: Python<'_>,
        weights: Option<&Bound<'_, rows::Weights>>,
        constraints: Option<&Bound<'_, rows::Constraints>>,
        current_region: Option<&str>,
        workload: Option<&Bound<'_, rows::Workload>>,
        horizon_hours: u32,
        at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let table = self.rank_regions_table(py, weights, constraints, current_region, workload, horizon_hours, at)?;
        to_polars(py, table)
    }

    /// The lowest-carbon window of `duration_hours` for a job that must finish by `deadline`,
    /// in `current_region` or any of `candidate_regions`; ties are all reported.
    #[pyo3(signature = (current_region, duration_hours, deadline, *, power_kw = 1.0, candidate_regions = Vec::new(), earliest_start = None))]
    #[allow(clippy::too_many_arguments)]
    fn best_window(
        &self,
        py: Python<'_>,
        current_region: &str,
        duration_hours: u32,
        deadline: &Bound<'_, PyAny>,
        power_kw: f64,
        candidate_regions: Vec<String>,
        earliest_start: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<rows::WindowChoice> {
        let job = spectra::Job {
            duration_hours,
            earliest_start: match earliest_start {
                Some(t) => utc(t, "earliest_start")?,
                None => self.now(),
            },
            deadline: utc(deadline, "deadline")?,
            power_kw,
            current_region: current_region.into(),
            candidate_regions: candidate_regions.iter().map(|c| c.as_str().into()).collect(),
        };
        let rt = runtime()?;
        let choice = py.detach(|| rt.block_on(async { on!(&self.engine, e => e.best_window(&job).await) })).py()?;
        rows::WindowChoice::new(py, &choice)
    }

    /// Every region's intensity and latency at the clock's now.
    fn signals_latest<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = py.detach(|| on!(&self.engine, e => e.signals_latest()));
        list::<rows::RegionSignal, _>(py, &rows)
    }

    /// `signals_latest` as an Arrow table.
    fn signals_latest_table(&self, py: Python<'_>) -> PyResult<Table> {
        let rows = py.detach(|| on!(&self.engine, e => e.signals_latest()));
        Columns::new(&rows)
            .str("region", |s| Some(s.region.as_str()))
            .str("zone", |s| Some(&s.zone))
            .time("at", |s| Some(s.at))
            .f64("intensity_g_per_kwh", |s| Some(s.intensity_g_per_kwh))
            .text("basis", |s| rows::label(&s.basis))
            .f64("latency_ms", |s| Some(s.latency_ms))
            .build()
    }

    /// `signals_latest` as a polars DataFrame.
    fn signals_latest_df(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_polars(py, self.signals_latest_table(py)?)
    }

    /// Stored hourly intensity of a region's grid over `[start, end)`, in time order.
    fn signals_history<'py>(
        &self,
        py: Python<'py>,
        region: &str,
        start: &Bound<'py, PyAny>,
        end: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        list::<rows::CarbonIntensityHour, _>(py, &self.carbon_history(py, region, start, end)?)
    }

    /// `signals_history` as an Arrow table.
    fn signals_history_table(
        &self,
        py: Python<'_>,
        region: &str,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
    ) -> PyResult<Table> {
        carbon_table(&self.carbon_history(py, region, start, end)?)
    }

    /// `signals_history` as a polars DataFrame.
    fn signals_history_df(
        &self,
        py: Python<'_>,
        region: &str,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        to_polars(py, self.signals_history_table(py, region, start, end)?)
    }

    /// The latest latency sample per region at the clock's now.
    fn latency_latest<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = py.detach(|| on!(&self.engine, e => e.latency_latest())).py()?;
        list::<rows::LatencySample, _>(py, &rows)
    }

    /// `latency_latest` as an Arrow table.
    fn latency_latest_table(&self, py: Python<'_>) -> PyResult<Table> {
        latency_table(&py.detach(|| on!(&self.engine, e => e.latency_latest())).py()?)
    }

    /// `latency_latest` as a polars DataFrame.
    fn latency_latest_df(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_polars(py, self.latency_latest_table(py)?)
    }

    /// Stored latency samples of a region over `[start, end)`, in time order.
    fn latency_history<'py>(
        &self,
        py: Python<'py>,
        region: &str,
        start: &Bound<'py, PyAny>,
        end: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        list::<rows::LatencySample, _>(py, &self.latency_samples(py, region, start, end)?)
    }

    /// `latency_history` as an Arrow table.
    fn latency_history_table(
        &self,
        py: Python<'_>,
        region: &str,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
    ) -> PyResult<Table> {
        latency_table(&self.latency_samples(py, region, start, end)?)
    }

    /// `latency_history` as a polars DataFrame.
    fn latency_history_df(
        &self,
        py: Python<'_>,
        region: &str,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        to_polars(py, self.latency_history_table(py, region, start, end)?)
    }

    /// Records a latency sample per region at the clock's now (live source, else the baseline).
    fn refresh_latency<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rt = runtime()?;
        let rows = py.detach(|| rt.block_on(async { on!(&self.engine, e => e.refresh_latency().await) })).py()?;
        list::<rows::LatencySample, _>(py, &rows)
    }

    /// Stores the live carbon source's hours around the clock's now (no-op without one); returns
    /// how many hours were new.
    fn refresh_carbon(&self, py: Python<'_>) -> PyResult<u64> {
        let rt = runtime()?;
        py.detach(|| rt.block_on(async { on!(&self.engine, e => e.refresh_carbon().await) })).py()
    }

    /// Moves instances from `from_region` to `to_region`: all of them, one `team`'s, or the given
    /// `instance_ids` (not both). Nothing changes when it fails.
    #[pyo3(signature = (from_region, to_region, *, team = None, instance_ids = None))]
    fn execute_migration(
        &self,
        py: Python<'_>,
        from_region: &str,
        to_region: &str,
        team: Option<String>,
        instance_ids: Option<Vec<String>>,
    ) -> PyResult<rows::Migration> {
        let instances = match (team, instance_ids) {
            (Some(_), Some(_)) => {
                return Err(InvalidInputError::new_err("execute_migration: give team or instance_ids, not both"));
            }
            (Some(team), None) => InstanceSelector::Team(team),
            (None, Some(ids)) => InstanceSelector::Ids(ids),
            (None, None) => InstanceSelector::All,
        };
        let request = MigrationRequest { from_region: from_region.into(), to_region: to_region.into(), instances };
        let m = py.detach(|| on!(&self.engine, e => e.execute_migration(&request))).py()?;
        Ok(rows::Migration::from(&m))
    }

    /// Recorded migrations, oldest first.
    fn migrations<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = py.detach(|| on!(&self.engine, e => e.migrations())).py()?;
        list::<rows::Migration, _>(py, &rows)
    }

    /// `migrations` as an Arrow table.
    fn migrations_table(&self, py: Python<'_>) -> PyResult<Table> {
        let rows = py.detach(|| on!(&self.engine, e => e.migrations())).py()?;
        Columns::new(&rows)
            .u64("id", |m| m.id)
            .str("from_region", |m| Some(m.from_region.as_str()))
            .str("to_region", |m| Some(m.to_region.as_str()))
            .strs("instance_ids", |m| m.instance_ids.iter().map(String::as_str).collect())
            .time("executed_at", |m| Some(m.executed_at))
            .f64("kg_co2e_per_month_before", |m| Some(m.kg_co2e_per_month_before))
            .f64("kg_co2e_per_month_after", |m| Some(m.kg_co2e_per_month_after))
            .f64("cost_usd_per_month_before", |m| Some(m.cost_usd_per_month_before))
            .f64("cost_usd_per_month_after", |m| Some(m.cost_usd_per_month_after))
            .text("status", |m| rows::label(&m.status))
            .build()
    }

    /// `migrations` as a polars DataFrame.
    fn migrations_df(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_polars(py, self.migrations_table(py)?)
    }

    /// The fleet's instances, by id.
    fn instances<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = py.detach(|| on!(&self.engine, e => e.instances())).py()?;
        list::<rows::Instance, _>(py, &rows)
    }

    /// `instances` as an Arrow table.
    fn instances_table(&self, py: Python<'_>) -> PyResult<Table> {
        let rows = py.detach(|| on!(&self.engine, e => e.instances())).py()?;
        Columns::new(&rows)
            .str("id", |i| Some(&i.id))
            .str("name", |i| Some(&i.name))
            .str("team", |i| Some(&i.team))
            .str("region", |i| Some(i.region.as_str()))
            .str("instance_type", |i| Some(&i.instance_type))
            .u32("vcpus", |i| i.vcpus)
            .f64("memory_gb", |i| Some(i.memory_gb))
            .str("state", |i| Some(i.state.as_str()))
            .f64("hourly_cost_usd", |i| Some(i.hourly_cost_usd))
            .build()
    }

    /// `instances` as a polars DataFrame.
    fn instances_df(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_polars(py, self.instances_table(py)?)
    }

    /// Stored anomalies, newest first.
    fn anomalies<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = py.detach(|| on!(&self.engine, e => e.anomalies())).py()?;
        list::<rows::Anomaly, _>(py, &rows)
    }

    /// `anomalies` as an Arrow table.
    fn anomalies_table(&self, py: Python<'_>) -> PyResult<Table> {
        let rows = py.detach(|| on!(&self.engine, e => e.anomalies())).py()?;
        Columns::new(&rows)
            .str("kind", |a| Some(a.kind.as_str()))
            .str("subject", |a| Some(&a.subject))
            .text("severity", |a| rows::label(&a.severity))
            .str("evidence", |a| Some(&a.evidence))
            .time("detected_at", |a| Some(a.detected_at))
            .build()
    }

    /// `anomalies` as a polars DataFrame.
    fn anomalies_df(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_polars(py, self.anomalies_table(py)?)
    }

    /// Detects idle instances, emission spikes and budgets at risk at the clock's now, stores them
    /// (idempotently) and returns them.
    fn detect_anomalies<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = py.detach(|| on!(&self.engine, e => e.detect_anomalies())).py()?;
        list::<rows::Anomaly, _>(py, &rows)
    }

    /// Fleet emissions over `[start, end)` grouped by any of `instance`, `team`, `region`, `day`.
    #[pyo3(signature = (start, end, group_by = vec!["team".to_owned()]))]
    fn fleet_emissions<'py>(
        &self,
        py: Python<'py>,
        start: &Bound<'py, PyAny>,
        end: &Bound<'py, PyAny>,
        group_by: Vec<String>,
    ) -> PyResult<Bound<'py, PyList>> {
        list::<rows::EmissionsRow, _>(py, &self.emissions(py, start, end, &group_by)?)
    }

    /// `fleet_emissions` as an Arrow table.
    #[pyo3(signature = (start, end, group_by = vec!["team".to_owned()]))]
    fn fleet_emissions_table(
        &self,
        py: Python<'_>,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
        group_by: Vec<String>,
    ) -> PyResult<Table> {
        emissions_table(&self.emissions(py, start, end, &group_by)?)
    }

    /// `fleet_emissions` as a polars DataFrame.
    #[pyo3(signature = (start, end, group_by = vec!["team".to_owned()]))]
    fn fleet_emissions_df(
        &self,
        py: Python<'_>,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
        group_by: Vec<String>,
    ) -> PyResult<Py<PyAny>> {
        to_polars(py, self.fleet_emissions_table(py, start, end, group_by)?)
    }

    /// Each team's budget for its quarter: used so far, projected, and the state.
    fn budgets<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = py.detach(|| on!(&self.engine, e => e.budgets())).py()?;
        list::<rows::BudgetStatus, _>(py, &rows)
    }

    /// `budgets` as an Arrow table.
    fn budgets_table(&self, py: Python<'_>) -> PyResult<Table> {
        let rows = py.detach(|| on!(&self.engine, e => e.budgets())).py()?;
        Columns::new(&rows)
            .str("team", |b| Some(&b.team))
            .str("quarter", |b| Some(&b.quarter))
            .f64("budget_kg_co2e", |b| Some(b.budget_kg_co2e))
            .f64("used_kg_co2e", |b| Some(b.used_kg_co2e))
            .f64("projected_kg_co2e", |b| Some(b.projected_kg_co2e))
            .text("state", |b| rows::label(&b.state))
            .f64("used_pct", |b| Some(b.used_pct))
            .build()
    }

    /// `budgets` as a polars DataFrame.
    fn budgets_df(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_polars(py, self.budgets_table(py)?)
    }

    /// Stored scheduled-job recommendations.
    fn job_recommendations<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = py.detach(|| on!(&self.engine, e => e.job_recommendations())).py()?;
        list::<rows::JobRecommendation, _>(py, &rows)
    }

    /// `job_recommendations` as an Arrow table.
    fn job_recommendations_table(&self, py: Python<'_>) -> PyResult<Table> {
        let rows = py.detach(|| on!(&self.engine, e => e.job_recommendations())).py()?;
        Columns::new(&rows)
            .str("job", |j| Some(&j.job))
            .u32("duration_hours", |j| j.duration_hours)
            .f64("power_kw", |j| Some(j.power_kw))
            .time("earliest_start", |j| Some(j.earliest_start))
            .time("deadline", |j| Some(j.deadline))
            .strs("allowed_regions", |j| j.allowed_regions.iter().map(|c| c.as_str()).collect())
            .str("current_region", |j| Some(j.current_region.as_str()))
            .time("best_start", |j| Some(j.best_start))
            .str("best_region", |j| Some(j.best_region.as_str()))
            .f64("expected_kg_co2e", |j| Some(j.expected_kg_co2e))
            .f64("baseline_kg_co2e", |j| Some(j.baseline_kg_co2e))
            .build()
    }

    /// `job_recommendations` as a polars DataFrame.
    fn job_recommendations_df(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_polars(py, self.job_recommendations_table(py)?)
    }

    /// Settings as the outside may see them: a secret's value is never returned.
    fn settings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = py.detach(|| on!(&self.engine, e => e.settings())).py()?;
        list::<rows::SettingView, _>(py, &rows)
    }

    /// `settings` as an Arrow table (secret values null).
    fn settings_table(&self, py: Python<'_>) -> PyResult<Table> {
        let rows = py.detach(|| on!(&self.engine, e => e.settings())).py()?;
        Columns::new(&rows)
            .str("key", |s| Some(&s.key))
            .str("value", |s| s.value.as_deref())
            .bool("secret", |s| s.secret)
            .bool("is_set", |s| s.is_set)
            .build()
    }

    /// `settings` as a polars DataFrame.
    fn settings_df(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_polars(py, self.settings_table(py)?)
    }

    /// Writes a setting; a `secret` one is never shown again (only whether it is set).
    #[pyo3(signature = (key, value, *, secret = false))]
    fn set_setting(&self, py: Python<'_>, key: &str, value: &str, secret: bool) -> PyResult<()> {
        py.detach(|| on!(&self.engine, e => e.set_setting(key, value, secret))).py()
    }

    /// Whether the store answers, and each signal's source and freshness.
    fn health(&self, py: Python<'_>) -> PyResult<rows::Health> {
        let health = py.detach(|| on!(&self.engine, e => e.health()));
        rows::Health::new(py, &health)
    }
}

/// The module `spectra._spectra`.
#[pymodule]
fn _spectra(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Spectra>()?;
    m.add_class::<Table>()?;
    rows::register(m)?;
    m.add("SpectraError", py.get_type::<errors::SpectraError>())?;
    m.add("NotFoundError", py.get_type::<errors::NotFoundError>())?;
    m.add("InvalidInputError", py.get_type::<errors::InvalidInputError>())?;
    m.add("ConfigError", py.get_type::<errors::ConfigError>())?;
    m.add("AuthError", py.get_type::<errors::AuthError>())?;
    m.add("RateLimitedError", py.get_type::<errors::RateLimitedError>())?;
    m.add("ConflictError", py.get_type::<errors::ConflictError>())?;
    m.add("NotSupportedError", py.get_type::<errors::NotSupportedError>())?;
    m.add("HAS_DUCKDB", cfg!(feature = "duckdb-prebuilt"))?;
    Ok(())
}
