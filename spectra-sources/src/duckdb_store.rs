//! The DuckDB store of record (feature `duckdb`, or `duckdb-prebuilt`).
//!
//! One file (or memory) holds every table. The schema is versioned in code ([`SCHEMA`]) and
//! upgraded on open, in a transaction. Primary keys make re-imports no-ops (`ON CONFLICT DO
//! NOTHING`); each import and each migration is one transaction.
//!
//! One exception, for speed: `carbon_intensity_hours` (hundreds of thousands of rows) has no
//! primary-key index and no CHECK, which would cost DuckDB more than the whole import of the rows
//! (its values arrive validated: see `IntensityTable` and the CSV importer). Its key (zone, hour)
//! is enforced by the store instead: an import appends only the hours a zone does
//! not hold yet (found from the zone's stored range, or its hour list when it has gaps), under the
//! store's single-writer lock, in Arrow batches through DuckDB's appender. Timestamps are `TIMESTAMP`
//! columns holding UTC. Lists (CSV keywords, a job's regions, a migration's instances) are JSON
//! text, readable without DuckDB's JSON extension by any client.
//!
//! One writer per file: a second [`DuckDbStore::open`] of a file already open in this process, or
//! locked by another process, is [`Error::Conflict`], never a second writer.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use chrono::{DateTime, Utc};
use duckdb_crate::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use duckdb_crate::types::{TimeUnit, Value};
use duckdb_crate::{Connection, OptionalExt, params};
use spectra_core::store::check_movable;
use spectra_core::{
    Anomaly, AnomalyKind, CarbonIntensityHour, CarbonSource, Error, ImportBatch, ImportCounts, Instance, InstanceState,
    IntensityTable, JobRecommendation, LatencySample, LatencySource, Location, Migration, MigrationStatus, Provider,
    Region, RegionCode, Result, SettingEntry, Severity, SimClock, StepCount, Store, TeamBudget, TimeRange,
    UtilisationHour,
};

pub use duckdb_crate as duckdb;

/// The schema, one entry per version: entry `n` upgrades a database from version `n` to `n + 1`.
/// Never edit a released entry; append a new one.
pub const SCHEMA: &[&str] = &[r#"
CREATE TABLE regions (
    code VARCHAR PRIMARY KEY, display_name VARCHAR NOT NULL, provider VARCHAR NOT NULL,
    cloud_region VARCHAR NOT NULL, zone VARCHAR NOT NULL, baseline_latency_ms DOUBLE NOT NULL,
    annual_intensity_g_per_kwh DOUBLE NOT NULL, pue DOUBLE NOT NULL, price_factor DOUBLE NOT NULL,
    csv_keywords VARCHAR NOT NULL);
CREATE TABLE carbon_intensity_hours (
    zone VARCHAR NOT NULL, hour TIMESTAMP NOT NULL,
    lifecycle_g_per_kwh DOUBLE NOT NULL, direct_g_per_kwh DOUBLE, low_carbon_pct DOUBLE,
    renewable_pct DOUBLE, estimated BOOLEAN NOT NULL, source VARCHAR NOT NULL);
CREATE TABLE latency_samples (
    region VARCHAR NOT NULL, time TIMESTAMP NOT NULL, ms DOUBLE NOT NULL CHECK (ms >= 0),
    source VARCHAR NOT NULL, PRIMARY KEY (region, time, source));
CREATE TABLE instances (
    id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, team VARCHAR NOT NULL, region VARCHAR NOT NULL,
    instance_type VARCHAR NOT NULL, vcpus INTEGER NOT NULL, memory_gb DOUBLE NOT NULL,
    state VARCHAR NOT NULL, hourly_cost_usd DOUBLE NOT NULL);
CREATE TABLE utilisation_hours (
    instance_id VARCHAR NOT NULL, hour TIMESTAMP NOT NULL,
    cpu_pct DOUBLE NOT NULL CHECK (cpu_pct BETWEEN 0 AND 100),
    memory_pct DOUBLE CHECK (memory_pct BETWEEN 0 AND 100), PRIMARY KEY (instance_id, hour));
CREATE TABLE anomalies (
    kind VARCHAR NOT NULL, subject VARCHAR NOT NULL, severity VARCHAR NOT NULL, evidence VARCHAR NOT NULL,
    detected_at TIMESTAMP NOT NULL, PRIMARY KEY (kind, subject, detected_at));
CREATE TABLE team_budgets (
    team VARCHAR NOT NULL, quarter VARCHAR NOT NULL, budget_kg_co2e DOUBLE NOT NULL,
    PRIMARY KEY (team, quarter));
CREATE TABLE job_recommendations (
    job VARCHAR PRIMARY KEY, duration_hours INTEGER NOT NULL, power_kw DOUBLE NOT NULL,
    earliest_start TIMESTAMP NOT NULL, deadline TIMESTAMP NOT NULL, allowed_regions VARCHAR NOT NULL,
    current_region VARCHAR NOT NULL, best_start TIMESTAMP NOT NULL, best_region VARCHAR NOT NULL,
    expected_kg_co2e DOUBLE NOT NULL, baseline_kg_co2e DOUBLE NOT NULL);
CREATE TABLE settings (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL, secret BOOLEAN NOT NULL);
CREATE TABLE sim_clock (id INTEGER PRIMARY KEY CHECK (id = 1), start TIMESTAMP NOT NULL, now TIMESTAMP NOT NULL);
CREATE TABLE migrations (
    id BIGINT PRIMARY KEY, from_region VARCHAR NOT NULL, to_region VARCHAR NOT NULL,
    instance_ids VARCHAR NOT NULL, executed_at TIMESTAMP NOT NULL,
    kg_co2e_per_month_before DOUBLE NOT NULL, kg_co2e_per_month_after DOUBLE NOT NULL,
    cost_usd_per_month_before DOUBLE NOT NULL, cost_usd_per_month_after DOUBLE NOT NULL,
    status VARCHAR NOT NULL);
"#];

/// Files open in this process: DuckDB's own lock is per process, so a second open in the same
/// process must be refused here.
fn open_files() -> &'static Mutex<HashSet<PathBuf>> {
    static OPEN: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
    OPEN.get_or_init(Default::default)
}

/// The DuckDB store.
pub struct DuckDbStore {
    conn: Mutex<Connection>,
    path: Option<PathBuf>,
}

impl fmt::Debug for DuckDbStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DuckDbStore").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Drop for DuckDbStore {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            open_files().lock().unwrap_or_else(|p| p.into_inner()).remove(path);
        }
    }
}

fn db_err(e: duckdb_crate::Error) -> Error {
    let text = e.to_string();
    if text.contains("Constraint Error") {
        Error::invalid(Location::field("store"), text)
    } else {
        Error::source("duckdb", e)
    }
}

fn ts(t: DateTime<Utc>) -> Value {
    Value::Timestamp(TimeUnit::Microsecond, t.timestamp_micros())
}

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::source("duckdb", e))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| Error::invalid(Location::field(what.to_owned()), format!("stored JSON: {e}")))
}

fn parse<T>(text: &str, what: &str, known: impl Fn(&str) -> Option<T>) -> Result<T> {
    known(text)
        .ok_or_else(|| Error::invalid(Location::field(what.to_owned()), format!("unknown stored value {text:?}")))
}

fn carbon_source(s: &str) -> Option<CarbonSource> {
    match s {
        "csv" => Some(CarbonSource::Csv),
        "electricity_maps_api" => Some(CarbonSource::ElectricityMapsApi),
        "demo" => Some(CarbonSource::Demo),
        _ => None,
    }
}

fn carbon_source_name(s: CarbonSource) -> &'static str {
    match s {
        CarbonSource::Csv => "csv",
        CarbonSource::ElectricityMapsApi => "electricity_maps_api",
        CarbonSource::Demo => "demo",
    }
}

fn latency_source(s: &str) -> Option<LatencySource> {
    match s {
        "baseline" => Some(LatencySource::Baseline),
        "radar" => Some(LatencySource::Radar),
        _ => None,
    }
}

fn latency_source_name(s: LatencySource) -> &'static str {
    match s {
        LatencySource::Baseline => "baseline",
        LatencySource::Radar => "radar",
    }
}

fn severity(s: &str) -> Option<Severity> {
    match s {
        "low" => Some(Severity::Low),
        "medium" => Some(Severity::Medium),
        "high" => Some(Severity::High),
        _ => None,
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
    }
}

fn anomaly_kind(s: &str) -> Option<AnomalyKind> {
    [AnomalyKind::IdleInstance, AnomalyKind::EmissionSpike, AnomalyKind::BudgetAtRisk]
        .into_iter()
        .find(|k| k.as_str() == s)
}

impl DuckDbStore {
    /// An in-memory database.
    pub fn in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(db_err)?;
        let store = Self { conn: Mutex::new(conn), path: None };
        store.upgrade()?;
        Ok(store)
    }

    /// Opens (creating it if needed) the database file at `path` and upgrades its schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let key = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        if !open_files().lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone()) {
            return Err(Error::Conflict(format!("{} is already open for writing in this process", path.display())));
        }
        // From here `store` owns the registration: dropping it on error releases it.
        let conn = match Connection::open(path) {
            Ok(conn) => conn,
            Err(e) => {
                open_files().lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
                let text = e.to_string();
                return Err(if text.contains("lock") {
                    Error::Conflict(format!("{} is locked by another process (one writer per file)", path.display()))
                } else {
                    Error::source("duckdb", e)
                });
            }
        };
        let store = Self { conn: Mutex::new(conn), path: Some(key) };
        store.upgrade()?;
        Ok(store)
    }

    /// Opens the store named by `DATABASE_URL` (`file:./dev.db` or a path), in memory when unset.
    pub fn from_settings(settings: &spectra_core::Settings) -> Result<Self> {
        match settings.database_path() {
            Some(path) => Self::open(path),
            None => Self::in_memory(),
        }
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<usize> {
        let conn = self.lock();
        let v: i64 = conn.query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0)).map_err(db_err)?;
        Ok(v as usize)
    }

    /// Runs `f` on the underlying DuckDB connection, for SQL analytics over the stored tables
    /// (see [`SCHEMA`]). Writes made here bypass SPECTRA's checks: prefer the [`Store`] methods.
    pub fn with_connection<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        f(&self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // DuckDB rolls back an open transaction whose handle is dropped by a panic, so the
        // connection behind a poisoned lock is still consistent.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn upgrade(&self) -> Result<()> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(db_err)?;
        tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)").map_err(db_err)?;
        let current: Option<i64> =
            tx.query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0)).map_err(db_err)?;
        let current = current.unwrap_or(0) as usize;
        if current > SCHEMA.len() {
            return Err(Error::config(
                "DATABASE_URL",
                format!("the database has schema v{current}, newer than this SPECTRA's v{}", SCHEMA.len()),
            ));
        }
        for (version, sql) in SCHEMA.iter().enumerate().skip(current) {
            tx.execute_batch(sql).map_err(db_err)?;
            tx.execute("INSERT INTO schema_version VALUES (?)", params![version as i64 + 1]).map_err(db_err)?;
        }
        tx.commit().map_err(db_err)
    }
}

/// The hours already stored for a zone, read cheaply: a zone stored without gaps is just its
/// first and last hour; only a zone with gaps needs its hours listed.
enum StoredHours {
    Dense(i64, i64),
    Sparse(HashSet<i64>),
}

impl StoredHours {
    /// What is stored for every zone, from one grouped scan (plus one query per zone with gaps).
    fn by_zone(conn: &Connection) -> Result<std::collections::HashMap<String, Self>> {
        let mut stmt = conn
            .prepare(
                "SELECT zone, min(epoch(hour))::BIGINT, max(epoch(hour))::BIGINT, count(*) \
                 FROM carbon_intensity_hours GROUP BY zone",
            )
            .map_err(db_err)?;
        let summaries = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
            })
            .map_err(db_err)?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(db_err)?;
        let mut out = std::collections::HashMap::with_capacity(summaries.len());
        for (zone, first, last, count) in summaries {
            let (first, last) = (first.div_euclid(3_600), last.div_euclid(3_600));
            let stored = if last - first + 1 == count {
                Self::Dense(first, last)
            } else {
                let mut stmt = conn
                    .prepare("SELECT epoch(hour)::BIGINT FROM carbon_intensity_hours WHERE zone = ?")
                    .map_err(db_err)?;
                let hours = stmt.query_map(params![zone], |r| r.get::<_, i64>(0)).map_err(db_err)?;
                let mut set = HashSet::with_capacity(count.max(0) as usize);
                for h in hours {
                    set.insert(h.map_err(db_err)?.div_euclid(3_600));
                }
                Self::Sparse(set)
            };
            out.insert(zone, stored);
        }
        Ok(out)
    }

    fn contains(&self, hour: i64) -> bool {
        match self {
            Self::Dense(first, last) => (*first..=*last).contains(&hour),
            Self::Sparse(set) => set.contains(&hour),
        }
    }
}

/// Carbon hours of one zone, column by column, for an Arrow batch.
#[derive(Default)]
struct CarbonColumns {
    hour: Vec<i64>,
    lifecycle: Vec<f64>,
    direct: Vec<Option<f64>>,
    low_carbon: Vec<Option<f64>>,
    renewable: Vec<Option<f64>>,
    estimated: Vec<bool>,
    source: Vec<&'static str>,
}

impl CarbonColumns {
    fn push(&mut self, hour: i64, value: f32, d: &spectra_core::series::HourDetail) {
        let opt = |v: f32| (!v.is_nan()).then(|| spectra_core::series::widen(v));
        self.hour.push(hour * 3_600_000_000);
        self.lifecycle.push(spectra_core::series::widen(value));
        self.direct.push(opt(d.direct));
        self.low_carbon.push(opt(d.low_carbon_pct));
        self.renewable.push(opt(d.renewable_pct));
        self.estimated.push(d.estimated);
        self.source.push(carbon_source_name(d.source));
    }

    fn into_batch(self, zone: &str) -> Result<RecordBatch> {
        let n = self.hour.len();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![zone; n])),
            Arc::new(TimestampMicrosecondArray::from(self.hour)),
            Arc::new(Float64Array::from(self.lifecycle)),
            Arc::new(Float64Array::from(self.direct)),
            Arc::new(Float64Array::from(self.low_carbon)),
            Arc::new(Float64Array::from(self.renewable)),
            Arc::new(BooleanArray::from(self.estimated)),
            Arc::new(StringArray::from(self.source)),
        ];
        RecordBatch::try_from_iter(CARBON_COLUMNS.iter().zip(columns)).map_err(|e| Error::source("duckdb", e))
    }
}

const CARBON_COLUMNS: [&str; 8] = [
    "zone",
    "hour",
    "lifecycle_g_per_kwh",
    "direct_g_per_kwh",
    "low_carbon_pct",
    "renewable_pct",
    "estimated",
    "source",
];

fn utilisation_batch(rows: &[UtilisationHour]) -> Result<RecordBatch> {
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("instance_id", Arc::new(StringArray::from_iter_values(rows.iter().map(|u| u.instance_id.as_str())))),
        ("hour", Arc::new(TimestampMicrosecondArray::from_iter_values(rows.iter().map(|u| u.hour.timestamp_micros())))),
        ("cpu_pct", Arc::new(Float64Array::from_iter_values(rows.iter().map(|u| u.cpu_pct)))),
        ("memory_pct", Arc::new(rows.iter().map(|u| u.memory_pct).collect::<Float64Array>())),
    ];
    RecordBatch::try_from_iter(columns).map_err(|e| Error::source("duckdb", e))
}

/// Inserts rows one statement at a time (small tables), counting inserted and skipped.
fn insert_each<T>(
    tx: &Connection,
    sql: &str,
    rows: &[T],
    bind: impl Fn(&T) -> Result<Vec<Value>>,
) -> Result<StepCount> {
    let mut stmt = tx.prepare(sql).map_err(db_err)?;
    let mut count = StepCount::default();
    for row in rows {
        let values = bind(row)?;
        let changed = stmt.execute(duckdb_crate::params_from_iter(values)).map_err(db_err)?;
        if changed > 0 {
            count.inserted += 1;
        } else {
            count.skipped += 1;
        }
    }
    Ok(count)
}

impl Store for DuckDbStore {
    fn name(&self) -> &str {
        "duckdb"
    }

    fn ping(&self) -> Result<()> {
        self.lock().query_row("SELECT 1", [], |r| r.get::<_, i32>(0)).map(|_| ()).map_err(db_err)
    }

    fn import(&self, batch: &ImportBatch) -> Result<ImportCounts> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(db_err)?;
        let regions = insert_each(
            &tx,
            "INSERT INTO regions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            &batch.regions,
            |r| {
                Ok(vec![
                    Value::Text(r.code.to_string()),
                    Value::Text(r.display_name.clone()),
                    Value::Text(r.provider.as_str().into()),
                    Value::Text(r.cloud_region.clone()),
                    Value::Text(r.zone.clone()),
                    Value::Double(r.baseline_latency_ms),
                    Value::Double(r.annual_intensity_g_per_kwh),
                    Value::Double(r.pue),
                    Value::Double(r.price_factor),
                    Value::Text(json(&r.csv_keywords)?),
                ])
            },
        )?;

        // Carbon hours: only hours not yet stored are appended, in one Arrow batch per zone.
        let mut appended = 0u64;
        let mut offered = 0u64;
        {
            let stored_by_zone =
                if batch.carbon.iter().next().is_some() { StoredHours::by_zone(&tx)? } else { Default::default() };
            let mut app = tx.appender("carbon_intensity_hours").map_err(db_err)?;
            for (zone, series) in batch.carbon.iter() {
                let Some(first) = series.first_hour() else { continue };
                let stored = stored_by_zone.get(zone);
                let mut rows = CarbonColumns::default();
                for h in first..series.end_hour() {
                    let Some((v, d)) = series.point(h) else { continue };
                    offered += 1;
                    if !stored.is_some_and(|s| s.contains(h)) {
                        rows.push(h, v, &d);
                    }
                }
                appended += rows.hour.len() as u64;
                if !rows.hour.is_empty() {
                    app.append_record_batch(rows.into_batch(zone)?).map_err(db_err)?;
                }
            }
            app.flush().map_err(db_err)?;
        }
        let carbon_hours = StepCount { inserted: appended, skipped: offered - appended };

        let latency = insert_each(
            &tx,
            "INSERT INTO latency_samples VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            &batch.latency,
            |s| {
                Ok(vec![
                    Value::Text(s.region.to_string()),
                    ts(s.time),
                    Value::Double(s.ms),
                    Value::Text(latency_source_name(s.source).into()),
                ])
            },
        )?;
        let instances = insert_each(
            &tx,
            "INSERT INTO instances VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            &batch.instances,
            |i| {
                Ok(vec![
                    Value::Text(i.id.clone()),
                    Value::Text(i.name.clone()),
                    Value::Text(i.team.clone()),
                    Value::Text(i.region.to_string()),
                    Value::Text(i.instance_type.clone()),
                    Value::Int(i.vcpus as i32),
                    Value::Double(i.memory_gb),
                    Value::Text(i.state.as_str().into()),
                    Value::Double(i.hourly_cost_usd),
                ])
            },
        )?;

        tx.execute_batch("CREATE OR REPLACE TEMP TABLE staging_utilisation AS SELECT * FROM utilisation_hours LIMIT 0")
            .map_err(db_err)?;
        if !batch.utilisation.is_empty() {
            let mut app = tx.appender("staging_utilisation").map_err(db_err)?;
            app.append_record_batch(utilisation_batch(&batch.utilisation)?).map_err(db_err)?;
            app.flush().map_err(db_err)?;
        }
        // The CHECK constraints refuse NaN or out-of-range percentages here, rolling back it all.
        let inserted = tx
            .execute("INSERT INTO utilisation_hours SELECT * FROM staging_utilisation ON CONFLICT DO NOTHING", [])
            .map_err(db_err)? as u64;
        tx.execute_batch("DROP TABLE staging_utilisation").map_err(db_err)?;
        let utilisation = StepCount { inserted, skipped: batch.utilisation.len() as u64 - inserted };

        let anomalies = insert_each(
            &tx,
            "INSERT INTO anomalies VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            &batch.anomalies,
            |a| {
                Ok(vec![
                    Value::Text(a.kind.as_str().into()),
                    Value::Text(a.subject.clone()),
                    Value::Text(severity_name(a.severity).into()),
                    Value::Text(a.evidence.clone()),
                    ts(a.detected_at),
                ])
            },
        )?;
        let budgets = insert_each(
            &tx,
            "INSERT INTO team_budgets VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            &batch.budgets,
            |b| Ok(vec![Value::Text(b.team.clone()), Value::Text(b.quarter.clone()), Value::Double(b.budget_kg_co2e)]),
        )?;
        let jobs = insert_each(
            &tx,
            "INSERT INTO job_recommendations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            &batch.jobs,
            |j| {
                Ok(vec![
                    Value::Text(j.job.clone()),
                    Value::Int(j.duration_hours as i32),
                    Value::Double(j.power_kw),
                    ts(j.earliest_start),
                    ts(j.deadline),
                    Value::Text(json(&j.allowed_regions)?),
                    Value::Text(j.current_region.to_string()),
                    ts(j.best_start),
                    Value::Text(j.best_region.to_string()),
                    Value::Double(j.expected_kg_co2e),
                    Value::Double(j.baseline_kg_co2e),
                ])
            },
        )?;
        let settings =
            insert_each(&tx, "INSERT INTO settings VALUES (?, ?, ?) ON CONFLICT DO NOTHING", &batch.settings, |s| {
                Ok(vec![Value::Text(s.key.clone()), Value::Text(s.value.clone()), Value::Boolean(s.secret)])
            })?;
        tx.commit().map_err(db_err)?;
        Ok(ImportCounts { regions, carbon_hours, latency, instances, utilisation, anomalies, budgets, jobs, settings })
    }

    fn regions(&self) -> Result<Vec<Region>> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT * FROM regions ORDER BY code").map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    [r.get::<_, f64>(5)?, r.get(6)?, r.get(7)?, r.get(8)?],
                    r.get::<_, String>(9)?,
                ))
            })
            .map_err(db_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (code, display_name, provider, cloud_region, zone, [latency, annual, pue, price], keywords) =
                row.map_err(db_err)?;
            out.push(Region {
                code: RegionCode::new(code),
                display_name,
                provider: provider.parse::<Provider>()?,
                cloud_region,
                zone,
                baseline_latency_ms: latency,
                annual_intensity_g_per_kwh: annual,
                pue,
                price_factor: price,
                csv_keywords: from_json(&keywords, "regions.csv_keywords")?,
            });
        }
        Ok(out)
    }

    fn carbon_table(&self) -> Result<IntensityTable> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT zone, epoch(hour)::BIGINT, lifecycle_g_per_kwh, direct_g_per_kwh, low_carbon_pct, \
                 renewable_pct, estimated, source FROM carbon_intensity_hours",
            )
            .map_err(db_err)?;
        let mut rows = stmt.query([]).map_err(db_err)?;
        let mut table = IntensityTable::new();
        let mut last_zone = String::new();
        while let Some(r) = rows.next().map_err(db_err)? {
            let zone: String = r.get(0).map_err(db_err)?;
            let secs: i64 = r.get(1).map_err(db_err)?;
            let nan = |v: Option<f64>| v.map_or(f32::NAN, |v| v as f32);
            let source: String = r.get(7).map_err(db_err)?;
            let detail = spectra_core::series::HourDetail {
                direct: nan(r.get(3).map_err(db_err)?),
                low_carbon_pct: nan(r.get(4).map_err(db_err)?),
                renewable_pct: nan(r.get(5).map_err(db_err)?),
                estimated: r.get(6).map_err(db_err)?,
                source: parse(&source, "carbon_intensity_hours.source", carbon_source)?,
            };
            let value: f64 = r.get(2).map_err(db_err)?;
            if zone != last_zone {
                last_zone = zone;
            }
            table.series_mut(&last_zone).set(secs.div_euclid(3_600), value as f32, detail);
        }
        Ok(table)
    }

    fn carbon_history(&self, zone: &str, range: TimeRange) -> Result<Vec<CarbonIntensityHour>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT hour, lifecycle_g_per_kwh, direct_g_per_kwh, low_carbon_pct, renewable_pct, estimated, source \
                 FROM carbon_intensity_hours WHERE zone = ? AND hour >= ? AND hour < ? ORDER BY hour",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map(params![zone, ts(range.from), ts(range.to)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get::<_, String>(6)?))
            })
            .map_err(db_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (hour, lifecycle, direct, low, renewable, estimated, source) = row.map_err(db_err)?;
            out.push(CarbonIntensityHour {
                zone: zone.to_owned(),
                hour,
                lifecycle_g_per_kwh: lifecycle,
                direct_g_per_kwh: direct,
                low_carbon_pct: low,
                renewable_pct: renewable,
                estimated,
                source: parse(&source, "carbon_intensity_hours.source", carbon_source)?,
            });
        }
        Ok(out)
    }

    fn latency_history(&self, region: &str, range: TimeRange) -> Result<Vec<LatencySample>> {
        self.latency_query(
            "SELECT region, time, ms, source FROM latency_samples WHERE region = ? AND time >= ? AND time < ? \
             ORDER BY time, source",
            params![region, ts(range.from), ts(range.to)],
        )
    }

    fn latency_latest(&self, at: DateTime<Utc>) -> Result<Vec<LatencySample>> {
        // Newest per region; at the same time a radar sample beats the baseline.
        self.latency_query(
            "SELECT region, time, ms, source FROM latency_samples WHERE time <= ? \
             QUALIFY row_number() OVER (PARTITION BY region ORDER BY time DESC, (source = 'radar') DESC) = 1 \
             ORDER BY region",
            params![ts(at)],
        )
    }

    fn instances(&self) -> Result<Vec<Instance>> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT * FROM instances ORDER BY id").map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i32>(5)?,
                    r.get::<_, f64>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, f64>(8)?,
                ))
            })
            .map_err(db_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, team, region, instance_type, vcpus, memory_gb, state, cost) = row.map_err(db_err)?;
            out.push(Instance {
                id,
                name,
                team,
                region: RegionCode::new(region),
                instance_type,
                vcpus: vcpus.max(0) as u32,
                memory_gb,
                state: parse(&state, "instances.state", |s| match s {
                    "running" => Some(InstanceState::Running),
                    "stopped" => Some(InstanceState::Stopped),
                    _ => None,
                })?,
                hourly_cost_usd: cost,
            });
        }
        Ok(out)
    }

    fn utilisation(&self, range: TimeRange) -> Result<Vec<UtilisationHour>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT instance_id, hour, cpu_pct, memory_pct FROM utilisation_hours \
                 WHERE hour >= ? AND hour < ? ORDER BY instance_id, hour",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map(params![ts(range.from), ts(range.to)], |r| {
                Ok(UtilisationHour {
                    instance_id: r.get(0)?,
                    hour: r.get(1)?,
                    cpu_pct: r.get(2)?,
                    memory_pct: r.get(3)?,
                })
            })
            .map_err(db_err)?;
        rows.collect::<std::result::Result<_, _>>().map_err(db_err)
    }

    fn anomalies(&self) -> Result<Vec<Anomaly>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT kind, subject, severity, evidence, detected_at FROM anomalies ORDER BY detected_at DESC, subject")
            .map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get::<_, String>(2)?, r.get(3)?, r.get(4)?)))
            .map_err(db_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (kind, subject, sev, evidence, detected_at) = row.map_err(db_err)?;
            out.push(Anomaly {
                kind: parse(&kind, "anomalies.kind", anomaly_kind)?,
                subject,
                severity: parse(&sev, "anomalies.severity", severity)?,
                evidence,
                detected_at,
            });
        }
        Ok(out)
    }

    fn budgets(&self) -> Result<Vec<TeamBudget>> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT * FROM team_budgets ORDER BY team, quarter").map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| Ok(TeamBudget { team: r.get(0)?, quarter: r.get(1)?, budget_kg_co2e: r.get(2)? }))
            .map_err(db_err)?;
        rows.collect::<std::result::Result<_, _>>().map_err(db_err)
    }

    fn job_recommendations(&self) -> Result<Vec<JobRecommendation>> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT * FROM job_recommendations ORDER BY job").map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i32>(1)?,
                    r.get::<_, f64>(2)?,
                    r.get::<_, DateTime<Utc>>(3)?,
                    r.get::<_, DateTime<Utc>>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, DateTime<Utc>>(7)?,
                    r.get::<_, String>(8)?,
                    [r.get::<_, f64>(9)?, r.get::<_, f64>(10)?],
                ))
            })
            .map_err(db_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (job, hours, power_kw, earliest, deadline, allowed, current, best_start, best_region, [exp, base]) =
                row.map_err(db_err)?;
            out.push(JobRecommendation {
                job,
                duration_hours: hours.max(0) as u32,
                power_kw,
                earliest_start: earliest,
                deadline,
                allowed_regions: from_json(&allowed, "job_recommendations.allowed_regions")?,
                current_region: RegionCode::new(current),
                best_start,
                best_region: RegionCode::new(best_region),
                expected_kg_co2e: exp,
                baseline_kg_co2e: base,
            });
        }
        Ok(out)
    }

    fn settings(&self) -> Result<Vec<SettingEntry>> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT key, value, secret FROM settings ORDER BY key").map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| Ok(SettingEntry { key: r.get(0)?, value: r.get(1)?, secret: r.get(2)? }))
            .map_err(db_err)?;
        rows.collect::<std::result::Result<_, _>>().map_err(db_err)
    }

    fn put_setting(&self, entry: &SettingEntry) -> Result<()> {
        self.lock()
            .execute(
                "INSERT INTO settings VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
                 secret = excluded.secret",
                params![entry.key, entry.value, entry.secret],
            )
            .map(|_| ())
            .map_err(db_err)
    }

    fn clock(&self) -> Result<Option<SimClock>> {
        let conn = self.lock();
        let row: Option<(DateTime<Utc>, DateTime<Utc>)> = conn
            .query_row("SELECT start, now FROM sim_clock WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(db_err)?;
        Ok(row.map(|(start, now)| SimClock::restore(start, now)))
    }

    fn save_clock(&self, clock: &SimClock) -> Result<()> {
        self.lock()
            .execute(
                "INSERT INTO sim_clock VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET start = excluded.start, \
                 now = excluded.now",
                params![ts(clock.start()), ts(clock.now())],
            )
            .map(|_| ())
            .map_err(db_err)
    }

    fn record_migration(&self, migration: &Migration) -> Result<Migration> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(db_err)?;
        for id in &migration.instance_ids {
            let region: Option<String> = tx
                .query_row("SELECT region FROM instances WHERE id = ?", params![id], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            let found = region.map(|region| Instance {
                id: id.clone(),
                name: String::new(),
                team: String::new(),
                region: RegionCode::new(region),
                instance_type: String::new(),
                vcpus: 0,
                memory_gb: 0.0,
                state: InstanceState::Running,
                hourly_cost_usd: 0.0,
            });
            check_movable(found.as_ref(), id, &migration.from_region)?;
            tx.execute("UPDATE instances SET region = ? WHERE id = ?", params![migration.to_region.as_str(), id])
                .map_err(db_err)?;
        }
        let next: i64 =
            tx.query_row("SELECT coalesce(max(id), 0) + 1 FROM migrations", [], |r| r.get(0)).map_err(db_err)?;
        let recorded = Migration { id: next as u64, ..migration.clone() };
        tx.execute(
            "INSERT INTO migrations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                next,
                recorded.from_region.as_str(),
                recorded.to_region.as_str(),
                json(&recorded.instance_ids)?,
                ts(recorded.executed_at),
                recorded.kg_co2e_per_month_before,
                recorded.kg_co2e_per_month_after,
                recorded.cost_usd_per_month_before,
                recorded.cost_usd_per_month_after,
                "completed",
            ],
        )
        .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(recorded)
    }

    fn migrations(&self) -> Result<Vec<Migration>> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT * FROM migrations ORDER BY id").map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, DateTime<Utc>>(4)?,
                    [r.get::<_, f64>(5)?, r.get(6)?, r.get(7)?, r.get(8)?],
                    r.get::<_, String>(9)?,
                ))
            })
            .map_err(db_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, from, to, ids, executed_at, [kb, ka, cb, ca], status) = row.map_err(db_err)?;
            out.push(Migration {
                id: id as u64,
                from_region: RegionCode::new(from),
                to_region: RegionCode::new(to),
                instance_ids: from_json(&ids, "migrations.instance_ids")?,
                executed_at,
                kg_co2e_per_month_before: kb,
                kg_co2e_per_month_after: ka,
                cost_usd_per_month_before: cb,
                cost_usd_per_month_after: ca,
                status: parse(&status, "migrations.status", |s| {
                    (s == "completed").then_some(MigrationStatus::Completed)
                })?,
            });
        }
        Ok(out)
    }
}

impl DuckDbStore {
    fn latency_query(&self, sql: &str, params: impl duckdb_crate::Params) -> Result<Vec<LatencySample>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(sql).map_err(db_err)?;
        let rows = stmt
            .query_map(params, |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?)))
            .map_err(db_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (region, time, ms, source) = row.map_err(db_err)?;
            out.push(LatencySample {
                region: RegionCode::new(region),
                time,
                ms,
                source: parse(&source, "latency_samples.source", latency_source)?,
            });
        }
        Ok(out)
    }
}
