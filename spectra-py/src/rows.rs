//! The engine's rows as Python classes: frozen, with a getter per field, `__repr__`, `__eq__` and
//! `to_dict()` (dataclass-like). Each is built once from the Rust row, with Python-friendly field
//! types: region codes and enums as `str`, times as timezone-aware UTC `datetime`, nested rows as
//! Python objects made once (so `ranking.rows` is the same list on every access).

use chrono::{DateTime, NaiveDate, Utc};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use serde::Serialize;

/// The snake_case name serde gives a unit enum variant (`IntensityBasis::AnnualFallback` ->
/// `"annual_fallback"`): the same strings the HTTP API and the stores use.
pub fn label<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        // Only unit variants are passed here; anything else still gets a readable name.
        Ok(other) => other.to_string(),
        Err(_) => String::from("unknown"),
    }
}

/// Region codes as plain strings.
fn codes(codes: &[spectra::RegionCode]) -> Vec<String> {
    codes.iter().map(|c| c.as_str().to_owned()).collect()
}

/// Defines a row class: the struct (every field a read-only attribute) and its `__repr__`,
/// `__eq__` and `to_dict`, plus any extra methods given after `;`.
macro_rules! row_class {
    (
        $(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }
        $(; $($extra:tt)*)?
    ) => {
        $(#[$meta])*
        #[pyclass(frozen, get_all, module = "spectra._spectra")]
        pub struct $name {
            $($(#[$fmeta])* pub(crate) $field: $ty,)*
        }

        #[pymethods]
        impl $name {
            /// The field names, in order (like a dataclass's fields).
            #[classattr]
            fn _fields() -> Vec<&'static str> {
                vec![$(stringify!($field)),*]
            }

            fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                let mut parts: Vec<String> = Vec::new();
                $(
                    let value = pyo3::IntoPyObjectExt::into_bound_py_any(&self.$field, py)?;
                    parts.push(format!("{}={}", stringify!($field), value.repr()?));
                )*
                Ok(format!("{}({})", stringify!($name), parts.join(", ")))
            }

            fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
                let Ok(other) = other.cast::<Self>() else { return Ok(false) };
                let other = other.get();
                let mine: Vec<Bound<'_, PyAny>> = vec![$(pyo3::IntoPyObjectExt::into_bound_py_any(&self.$field, py)?),*];
                let theirs: Vec<Bound<'_, PyAny>> = vec![$(pyo3::IntoPyObjectExt::into_bound_py_any(&other.$field, py)?),*];
                PyTuple::new(py, mine)?.eq(PyTuple::new(py, theirs)?)
            }

            /// The fields as a `dict` (nested rows stay objects).
            fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
                let dict = PyDict::new(py);
                $(dict.set_item(stringify!($field), &self.$field)?;)*
                Ok(dict)
            }

            $($($extra)*)?
        }
    };
}

row_class! {
    /// Rows inserted and skipped by one import step.
    StepCount { inserted: u64, skipped: u64 }
}

row_class! {
    /// Rows inserted and skipped per kind by an import.
    ImportCounts {
        regions: Py<StepCount>,
        carbon_hours: Py<StepCount>,
        latency: Py<StepCount>,
        instances: Py<StepCount>,
        utilisation: Py<StepCount>,
        anomalies: Py<StepCount>,
        budgets: Py<StepCount>,
        jobs: Py<StepCount>,
        settings: Py<StepCount>,
    }
}

row_class! {
    /// What `Spectra.import_()` did.
    ImportReport { counts: Py<ImportCounts>, zones: usize, at: DateTime<Utc> }
}

impl ImportReport {
    /// From the engine's report.
    pub fn new(py: Python<'_>, r: &spectra::ImportReport) -> PyResult<Self> {
        let step = |s: &spectra::StepCount| Py::new(py, StepCount { inserted: s.inserted, skipped: s.skipped });
        let c = &r.counts;
        let counts = ImportCounts {
            regions: step(&c.regions)?,
            carbon_hours: step(&c.carbon_hours)?,
            latency: step(&c.latency)?,
            instances: step(&c.instances)?,
            utilisation: step(&c.utilisation)?,
            anomalies: step(&c.anomalies)?,
            budgets: step(&c.budgets)?,
            jobs: step(&c.jobs)?,
            settings: step(&c.settings)?,
        };
        Ok(Self { counts: Py::new(py, counts)?, zones: r.zones, at: r.at })
    }
}

row_class! {
    /// Relative importance of carbon, latency and cost in a ranking (normalised to sum to 1).
    Weights { carbon: f64, latency: f64, cost: f64 };

    #[new]
    #[pyo3(signature = (carbon = 0.5, latency = 0.3, cost = 0.2))]
    fn new(carbon: f64, latency: f64, cost: f64) -> Self {
        Self { carbon, latency, cost }
    }
}

impl Weights {
    /// As the engine's type.
    pub fn to_rust(&self) -> spectra::Weights {
        spectra::Weights { carbon: self.carbon, latency: self.latency, cost: self.cost }
    }
}

row_class! {
    /// Filters applied before ranking: a latency ceiling, allowed regions, allowed providers.
    Constraints { max_latency_ms: Option<f64>, allowed_regions: Vec<String>, allowed_providers: Vec<String> };

    #[new]
    #[pyo3(signature = (max_latency_ms = None, allowed_regions = Vec::new(), allowed_providers = Vec::new()))]
    fn new(max_latency_ms: Option<f64>, allowed_regions: Vec<String>, allowed_providers: Vec<String>) -> Self {
        Self { max_latency_ms, allowed_regions, allowed_providers }
    }
}

impl Constraints {
    /// As the engine's type; an unknown provider is invalid input.
    pub fn to_rust(&self) -> spectra::Result<spectra::Constraints> {
        Ok(spectra::Constraints {
            max_latency_ms: self.max_latency_ms,
            allowed_regions: self.allowed_regions.iter().map(|r| r.as_str().into()).collect(),
            allowed_providers: self.allowed_providers.iter().map(|p| p.parse()).collect::<spectra::Result<_>>()?,
        })
    }
}

row_class! {
    /// The workload to place: instance count, average watts and USD per instance-hour.
    Workload { instances: u32, watts_per_instance: f64, usd_per_instance_hour: f64 };

    #[new]
    #[pyo3(signature = (instances = 1, watts_per_instance = 7.97, usd_per_instance_hour = 0.096))]
    fn new(instances: u32, watts_per_instance: f64, usd_per_instance_hour: f64) -> Self {
        Self { instances, watts_per_instance, usd_per_instance_hour }
    }
}

impl Workload {
    /// As the engine's type.
    pub fn to_rust(&self) -> spectra::Workload {
        spectra::Workload {
            instances: self.instances,
            watts_per_instance: self.watts_per_instance,
            usd_per_instance_hour: self.usd_per_instance_hour,
        }
    }
}

row_class! {
    /// Carbon and cost saved per month against the current region (negative: worse).
    Saving { kg_co2e_per_month: f64, carbon_pct: f64, usd_per_month: f64 }
}

row_class! {
    /// One ranked region.
    RankedRegion {
        rank: u32,
        region: String,
        provider: String,
        intensity_g_per_kwh: f64,
        /// `hourly`, `hourly_estimated` or `annual_fallback`.
        intensity_basis: String,
        pue: f64,
        latency_ms: f64,
        cost_usd_per_month: f64,
        kg_co2e_per_month: f64,
        carbon_norm: f64,
        latency_norm: f64,
        cost_norm: f64,
        score: f64,
        saving: Option<Py<Saving>>,
        /// `best`, `migrate`, `stay`, `current` or `alternative`.
        recommendation: String,
        /// Why, in words.
        reason: String,
    }
}

impl RankedRegion {
    /// From the engine's row.
    pub fn new(py: Python<'_>, r: &spectra::RankedRegion) -> PyResult<Self> {
        Ok(Self {
            rank: r.rank,
            region: r.region.as_str().to_owned(),
            provider: r.provider.as_str().to_owned(),
            intensity_g_per_kwh: r.intensity_g_per_kwh,
            intensity_basis: label(&r.intensity_basis),
            pue: r.pue,
            latency_ms: r.latency_ms,
            cost_usd_per_month: r.cost_usd_per_month,
            kg_co2e_per_month: r.kg_co2e_per_month,
            carbon_norm: r.carbon_norm,
            latency_norm: r.latency_norm,
            cost_norm: r.cost_norm,
            score: r.score,
            saving: match &r.saving {
                Some(s) => Some(Py::new(
                    py,
                    Saving {
                        kg_co2e_per_month: s.kg_co2e_per_month,
                        carbon_pct: s.carbon_pct,
                        usd_per_month: s.usd_per_month,
                    },
                )?),
                None => None,
            },
            recommendation: r.recommendation.action().to_owned(),
            reason: r.recommendation.to_string(),
        })
    }
}

row_class! {
    /// The current region's monthly figures in a ranking.
    CurrentFigures { region: String, kg_co2e_per_month: f64, cost_usd_per_month: f64 }
}

/// A ranking: rows best first, the normalised weights, how many regions the constraints
/// excluded and the current region's figures.
///
/// The Rust ranking is kept as it is and `rows` are made into Python objects on first access
/// (then the same list every time): a call that only reads the best region, or hands the ranking
/// to `rank_regions_table`, does not pay for 33 row objects.
#[pyclass(frozen, module = "spectra._spectra")]
pub struct Ranking {
    ranking: spectra::Ranking,
    rows: pyo3::sync::PyOnceLock<Py<PyList>>,
}

impl Ranking {
    /// Wraps the engine's ranking.
    pub fn new(ranking: spectra::Ranking) -> Self {
        Self { ranking, rows: pyo3::sync::PyOnceLock::new() }
    }

    fn rows_list<'py>(&self, py: Python<'py>) -> PyResult<&Bound<'py, PyList>> {
        let rows = self.rows.get_or_try_init(py, || -> PyResult<Py<PyList>> {
            let rows = self
                .ranking
                .rows
                .iter()
                .map(|row| Py::new(py, RankedRegion::new(py, row)?))
                .collect::<PyResult<Vec<_>>>()?;
            Ok(PyList::new(py, rows)?.unbind())
        })?;
        Ok(rows.bind(py))
    }

    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Vec<(&'static str, Bound<'py, PyAny>)>> {
        use pyo3::IntoPyObjectExt;
        Ok(vec![
            ("at", self.ranking.at.into_bound_py_any(py)?),
            ("weights", self.weights(py)?.into_any()),
            ("excluded", self.ranking.excluded.into_bound_py_any(py)?),
            ("current", self.current(py)?.into_bound_py_any(py)?),
            ("rows", self.rows_list(py)?.clone().into_any()),
        ])
    }
}

#[pymethods]
impl Ranking {
    /// The field names, in order (like a dataclass's fields).
    #[classattr]
    fn _fields() -> Vec<&'static str> {
        vec!["at", "weights", "excluded", "current", "rows"]
    }

    /// When the ranking applies.
    #[getter]
    fn at(&self) -> DateTime<Utc> {
        self.ranking.at
    }

    /// The weights used, normalised to sum to 1.
    #[getter]
    fn weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Weights>> {
        let w = self.ranking.weights;
        Bound::new(py, Weights { carbon: w.carbon, latency: w.latency, cost: w.cost })
    }

    /// Regions the constraints excluded.
    #[getter]
    fn excluded(&self) -> usize {
        self.ranking.excluded
    }

    /// The current region's monthly figures, when a current region was given.
    #[getter]
    fn current<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, CurrentFigures>>> {
        self.ranking
            .current
            .as_ref()
            .map(|c| {
                Bound::new(
                    py,
                    CurrentFigures {
                        region: c.region.as_str().to_owned(),
                        kg_co2e_per_month: c.kg_co2e_per_month,
                        cost_usd_per_month: c.cost_usd_per_month,
                    },
                )
            })
            .transpose()
    }

    /// `list[RankedRegion]`, best first.
    #[getter]
    fn rows<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.rows_list(py).cloned()
    }

    fn __len__(&self) -> usize {
        self.ranking.rows.len()
    }

    /// The row of `region`, or `None` when it was not ranked.
    fn row<'py>(&self, py: Python<'py>, region: &str) -> PyResult<Option<Bound<'py, RankedRegion>>> {
        let Some(i) = self.ranking.rows.iter().position(|r| r.region.as_str() == region) else { return Ok(None) };
        Ok(Some(self.rows_list(py)?.get_item(i)?.cast_into::<RankedRegion>()?))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let parts = self
            .fields(py)?
            .into_iter()
            .map(|(name, value)| Ok(format!("{name}={}", value.repr()?)))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(format!("Ranking({})", parts.join(", ")))
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(other) = other.cast::<Self>() else { return Ok(false) };
        let values = |r: &Ranking| -> PyResult<Bound<'_, PyTuple>> {
            PyTuple::new(py, r.fields(py)?.into_iter().map(|(_, v)| v))
        };
        values(self)?.eq(values(other.get())?)
    }

    /// The fields as a `dict` (nested rows stay objects).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in self.fields(py)? {
            dict.set_item(name, value)?;
        }
        Ok(dict)
    }
}

row_class! {
    /// One placement of a batch job.
    Window { region: String, start: DateTime<Utc>, mean_intensity_g_per_kwh: f64, kg_co2e: f64, estimated: bool }
}

impl From<&spectra::Window> for Window {
    fn from(w: &spectra::Window) -> Self {
        Self {
            region: w.region.as_str().to_owned(),
            start: w.start,
            mean_intensity_g_per_kwh: w.mean_intensity_g_per_kwh,
            kg_co2e: w.kg_co2e,
            estimated: w.estimated,
        }
    }
}

row_class! {
    /// The best windows for a job (one, or several tied), the baseline and the saving.
    WindowChoice {
        /// `list[Window]`.
        best: Py<PyList>,
        baseline: Py<Window>,
        saving_kg_co2e: f64,
        saving_pct: f64,
    }
}

impl WindowChoice {
    /// From the engine's choice.
    pub fn new(py: Python<'_>, c: &spectra::WindowChoice) -> PyResult<Self> {
        let best = c.best.iter().map(|w| Py::new(py, Window::from(w))).collect::<PyResult<Vec<_>>>()?;
        Ok(Self {
            best: PyList::new(py, best)?.unbind(),
            baseline: Py::new(py, Window::from(&c.baseline))?,
            saving_kg_co2e: c.saving_kg_co2e,
            saving_pct: c.saving_pct,
        })
    }
}

row_class! {
    /// A region's intensity and latency at the clock's now.
    RegionSignal { region: String, zone: String, at: DateTime<Utc>, intensity_g_per_kwh: f64, basis: String, latency_ms: f64 }
}

impl From<&spectra::RegionSignal> for RegionSignal {
    fn from(s: &spectra::RegionSignal) -> Self {
        Self {
            region: s.region.as_str().to_owned(),
            zone: s.zone.clone(),
            at: s.at,
            intensity_g_per_kwh: s.intensity_g_per_kwh,
            basis: label(&s.basis),
            latency_ms: s.latency_ms,
        }
    }
}

row_class! {
    /// One hour of a grid zone's carbon intensity.
    CarbonIntensityHour {
        zone: String,
        hour: DateTime<Utc>,
        lifecycle_g_per_kwh: f64,
        direct_g_per_kwh: Option<f64>,
        low_carbon_pct: Option<f64>,
        renewable_pct: Option<f64>,
        estimated: bool,
        source: String,
    }
}

impl From<&spectra::CarbonIntensityHour> for CarbonIntensityHour {
    fn from(h: &spectra::CarbonIntensityHour) -> Self {
        Self {
            zone: h.zone.clone(),
            hour: h.hour,
            lifecycle_g_per_kwh: h.lifecycle_g_per_kwh,
            direct_g_per_kwh: h.direct_g_per_kwh,
            low_carbon_pct: h.low_carbon_pct,
            renewable_pct: h.renewable_pct,
            estimated: h.estimated,
            source: label(&h.source),
        }
    }
}

row_class! {
    /// A latency sample of a region.
    LatencySample { region: String, time: DateTime<Utc>, ms: f64, source: String }
}

impl From<&spectra::LatencySample> for LatencySample {
    fn from(s: &spectra::LatencySample) -> Self {
        Self { region: s.region.as_str().to_owned(), time: s.time, ms: s.ms, source: label(&s.source) }
    }
}

row_class! {
    /// A recorded migration with its expected monthly emissions and cost before and after.
    Migration {
        id: u64,
        from_region: String,
        to_region: String,
        instance_ids: Vec<String>,
        executed_at: DateTime<Utc>,
        kg_co2e_per_month_before: f64,
        kg_co2e_per_month_after: f64,
        cost_usd_per_month_before: f64,
        cost_usd_per_month_after: f64,
        status: String,
    }
}

impl From<&spectra::Migration> for Migration {
    fn from(m: &spectra::Migration) -> Self {
        Self {
            id: m.id,
            from_region: m.from_region.as_str().to_owned(),
            to_region: m.to_region.as_str().to_owned(),
            instance_ids: m.instance_ids.clone(),
            executed_at: m.executed_at,
            kg_co2e_per_month_before: m.kg_co2e_per_month_before,
            kg_co2e_per_month_after: m.kg_co2e_per_month_after,
            cost_usd_per_month_before: m.cost_usd_per_month_before,
            cost_usd_per_month_after: m.cost_usd_per_month_after,
            status: label(&m.status),
        }
    }
}

row_class! {
    /// A fleet instance.
    Instance {
        id: String,
        name: String,
        team: String,
        region: String,
        instance_type: String,
        vcpus: u32,
        memory_gb: f64,
        state: String,
        hourly_cost_usd: f64,
    }
}

impl From<&spectra::Instance> for Instance {
    fn from(i: &spectra::Instance) -> Self {
        Self {
            id: i.id.clone(),
            name: i.name.clone(),
            team: i.team.clone(),
            region: i.region.as_str().to_owned(),
            instance_type: i.instance_type.clone(),
            vcpus: i.vcpus,
            memory_gb: i.memory_gb,
            state: i.state.as_str().to_owned(),
            hourly_cost_usd: i.hourly_cost_usd,
        }
    }
}

row_class! {
    /// A detected anomaly: idle instance, emission spike or budget at risk.
    Anomaly { kind: String, subject: String, severity: String, evidence: String, detected_at: DateTime<Utc> }
}

impl From<&spectra::Anomaly> for Anomaly {
    fn from(a: &spectra::Anomaly) -> Self {
        Self {
            kind: a.kind.as_str().to_owned(),
            subject: a.subject.clone(),
            severity: label(&a.severity),
            evidence: a.evidence.clone(),
            detected_at: a.detected_at,
        }
    }
}

row_class! {
    /// Emissions of one group of the fleet; grouping fields not asked for are `None`.
    EmissionsRow {
        instance: Option<String>,
        team: Option<String>,
        region: Option<String>,
        day: Option<NaiveDate>,
        instance_hours: u64,
        energy_kwh: f64,
        operational_kg_co2e: f64,
        embodied_kg_co2e: f64,
        total_kg_co2e: f64,
        cost_usd: f64,
        estimated_share: f64,
    }
}

impl From<&spectra::EmissionsRow> for EmissionsRow {
    fn from(r: &spectra::EmissionsRow) -> Self {
        Self {
            instance: r.instance.clone(),
            team: r.team.clone(),
            region: r.region.as_ref().map(|c| c.as_str().to_owned()),
            day: r.day,
            instance_hours: r.instance_hours,
            energy_kwh: r.energy_kwh,
            operational_kg_co2e: r.operational_kg_co2e,
            embodied_kg_co2e: r.embodied_kg_co2e,
            total_kg_co2e: r.total_kg_co2e(),
            cost_usd: r.cost_usd,
            estimated_share: r.estimated_share,
        }
    }
}

row_class! {
    /// A team's budget for its quarter, use so far, projection and state.
    BudgetStatus {
        team: String,
        quarter: String,
        budget_kg_co2e: f64,
        used_kg_co2e: f64,
        projected_kg_co2e: f64,
        /// `on_track`, `at_risk` or `over`.
        state: String,
        used_pct: f64,
    }
}

impl From<&spectra::BudgetStatus> for BudgetStatus {
    fn from(b: &spectra::BudgetStatus) -> Self {
        Self {
            team: b.team.clone(),
            quarter: b.quarter.clone(),
            budget_kg_co2e: b.budget_kg_co2e,
            used_kg_co2e: b.used_kg_co2e,
            projected_kg_co2e: b.projected_kg_co2e,
            state: label(&b.state),
            used_pct: b.used_pct,
        }
    }
}

row_class! {
    /// A scheduled-job recommendation stored at import.
    JobRecommendation {
        job: String,
        duration_hours: u32,
        power_kw: f64,
        earliest_start: DateTime<Utc>,
        deadline: DateTime<Utc>,
        allowed_regions: Vec<String>,
        current_region: String,
        best_start: DateTime<Utc>,
        best_region: String,
        expected_kg_co2e: f64,
        baseline_kg_co2e: f64,
    }
}

impl From<&spectra::JobRecommendation> for JobRecommendation {
    fn from(j: &spectra::JobRecommendation) -> Self {
        Self {
            job: j.job.clone(),
            duration_hours: j.duration_hours,
            power_kw: j.power_kw,
            earliest_start: j.earliest_start,
            deadline: j.deadline,
            allowed_regions: codes(&j.allowed_regions),
            current_region: j.current_region.as_str().to_owned(),
            best_start: j.best_start,
            best_region: j.best_region.as_str().to_owned(),
            expected_kg_co2e: j.expected_kg_co2e,
            baseline_kg_co2e: j.baseline_kg_co2e,
        }
    }
}

row_class! {
    /// A setting as the outside sees it: a secret's value is `None`, only `is_set` tells.
    SettingView { key: String, value: Option<String>, secret: bool, is_set: bool }
}

impl From<&spectra::SettingView> for SettingView {
    fn from(s: &spectra::SettingView) -> Self {
        Self { key: s.key.clone(), value: s.value.clone(), secret: s.secret, is_set: s.is_set }
    }
}

row_class! {
    /// One signal's source and freshness.
    SignalHealth {
        signal: String,
        source: String,
        live: bool,
        /// The live source configured for the signal, if any.
        configured: Option<String>,
        freshest: Option<DateTime<Utc>>,
        last_error: Option<String>,
        /// Simulation time of the live source's last successful call.
        last_success: Option<DateTime<Utc>>,
        /// The live source's failed calls so far.
        failures: u64,
    }
}

row_class! {
    /// Whether the store answers, and each signal's source and freshness.
    Health {
        ok: bool,
        store: String,
        store_error: Option<String>,
        now: DateTime<Utc>,
        /// `list[SignalHealth]`.
        signals: Py<PyList>,
    }
}

impl Health {
    /// From the engine's health.
    pub fn new(py: Python<'_>, h: &spectra::Health) -> PyResult<Self> {
        let signals = h
            .signals
            .iter()
            .map(|s| {
                Py::new(
                    py,
                    SignalHealth {
                        signal: s.signal.to_owned(),
                        source: s.source.clone(),
                        live: s.live,
                        configured: s.configured.clone(),
                        freshest: s.freshest,
                        last_error: s.last_error.clone(),
                        last_success: s.status.last_success,
                        failures: s.status.failures,
                    },
                )
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Self {
            ok: h.ok,
            store: h.store.clone(),
            store_error: h.store_error.clone(),
            now: h.now,
            signals: PyList::new(py, signals)?.unbind(),
        })
    }
}

/// Adds every row class to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<StepCount>()?;
    m.add_class::<ImportCounts>()?;
    m.add_class::<ImportReport>()?;
    m.add_class::<Weights>()?;
    m.add_class::<Constraints>()?;
    m.add_class::<Workload>()?;
    m.add_class::<Saving>()?;
    m.add_class::<RankedRegion>()?;
    m.add_class::<CurrentFigures>()?;
    m.add_class::<Ranking>()?;
    m.add_class::<Window>()?;
    m.add_class::<WindowChoice>()?;
    m.add_class::<RegionSignal>()?;
    m.add_class::<CarbonIntensityHour>()?;
    m.add_class::<LatencySample>()?;
    m.add_class::<Migration>()?;
    m.add_class::<Instance>()?;
    m.add_class::<Anomaly>()?;
    m.add_class::<EmissionsRow>()?;
    m.add_class::<BudgetStatus>()?;
    m.add_class::<JobRecommendation>()?;
    m.add_class::<SettingView>()?;
    m.add_class::<SignalHealth>()?;
    m.add_class::<Health>()?;
    Ok(())
}
