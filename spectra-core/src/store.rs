//! The `Store` port: the state SPECTRA keeps, and the in-memory store.
//!
//! A store is synchronous: both implementations are in-process (memory, embedded DuckDB) and answer
//! in microseconds to milliseconds, so the engine calls them directly. Every write that must be
//! atomic is one call: [`Store::import`] and [`Store::record_migration`] each run in one
//! transaction and change nothing when they fail.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::series::SetOutcome;
use crate::{
    Anomaly, CarbonIntensityHour, Error, Instance, IntensityTable, JobRecommendation, LatencySample, Location,
    Migration, Region, RegionCode, Result, SettingEntry, SimClock, TeamBudget, TimeRange, UtilisationHour,
};

/// Everything one import writes, in one transaction. Rows whose unique key is already stored are
/// skipped (never overwritten), so re-running an import inserts nothing new.
#[derive(Debug, Default, Clone)]
pub struct ImportBatch {
    /// Regions, unique on code.
    pub regions: Vec<Region>,
    /// Hourly carbon intensity, unique on (zone, hour).
    pub carbon: IntensityTable,
    /// Latency samples, unique on (region, time, source).
    pub latency: Vec<LatencySample>,
    /// Instances, unique on id.
    pub instances: Vec<Instance>,
    /// Utilisation, unique on (instance, hour).
    pub utilisation: Vec<UtilisationHour>,
    /// Anomalies, unique on (kind, subject, detected at).
    pub anomalies: Vec<Anomaly>,
    /// Budgets, unique on (team, quarter).
    pub budgets: Vec<TeamBudget>,
    /// Job recommendations, unique on job name.
    pub jobs: Vec<JobRecommendation>,
    /// Settings, unique on key: only missing keys are filled, existing values are never overwritten.
    pub settings: Vec<SettingEntry>,
}

/// Rows inserted and skipped (already present) by one kind of row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StepCount {
    /// New rows written.
    pub inserted: u64,
    /// Rows already stored, left as they were.
    pub skipped: u64,
}

impl StepCount {
    fn add(&mut self, inserted: bool) {
        if inserted {
            self.inserted += 1;
        } else {
            self.skipped += 1;
        }
    }
}

/// What [`Store::import`] did, per kind of row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    /// Regions.
    pub regions: StepCount,
    /// Carbon intensity hours.
    pub carbon_hours: StepCount,
    /// Latency samples.
    pub latency: StepCount,
    /// Instances.
    pub instances: StepCount,
    /// Utilisation hours.
    pub utilisation: StepCount,
    /// Anomalies.
    pub anomalies: StepCount,
    /// Team budgets.
    pub budgets: StepCount,
    /// Job recommendations.
    pub jobs: StepCount,
    /// Settings.
    pub settings: StepCount,
}

impl ImportCounts {
    /// Total rows inserted.
    pub fn inserted(&self) -> u64 {
        self.steps().iter().map(|s| s.inserted).sum()
    }

    fn steps(&self) -> [StepCount; 9] {
        [
            self.regions,
            self.carbon_hours,
            self.latency,
            self.instances,
            self.utilisation,
            self.anomalies,
            self.budgets,
            self.jobs,
            self.settings,
        ]
    }
}

/// Where SPECTRA keeps its state. Implemented in memory ([`MemoryStore`]) and by DuckDB
/// (`spectra-sources`, feature `duckdb`); both pass the conformance suite `testing::check_store` (feature `testing`).
pub trait Store: Send + Sync + fmt::Debug {
    /// A short name for reports, e.g. `"memory"` or `"duckdb"`.
    fn name(&self) -> &str;

    /// Checks the store answers.
    fn ping(&self) -> Result<()>;

    /// Writes a batch in one transaction, skipping rows already present; see [`ImportBatch`].
    fn import(&self, batch: &ImportBatch) -> Result<ImportCounts>;

    /// Stored regions, by code.
    fn regions(&self) -> Result<Vec<Region>>;

    /// Every stored carbon hour, as dense series per zone.
    fn carbon_table(&self) -> Result<IntensityTable>;

    /// Carbon hours of a zone in `range`, in time order.
    fn carbon_history(&self, zone: &str, range: TimeRange) -> Result<Vec<CarbonIntensityHour>>;

    /// Latency samples of a region in `range`, in time order.
    fn latency_history(&self, region: &str, range: TimeRange) -> Result<Vec<LatencySample>>;

    /// The latest sample per region at or before `at`, by region code.
    fn latency_latest(&self, at: DateTime<Utc>) -> Result<Vec<LatencySample>>;

    /// Stored instances, by id.
    fn instances(&self) -> Result<Vec<Instance>>;

    /// Utilisation hours in `range`, by instance then hour.
    fn utilisation(&self, range: TimeRange) -> Result<Vec<UtilisationHour>>;

    /// Stored anomalies, newest first.
    fn anomalies(&self) -> Result<Vec<Anomaly>>;

    /// Stored budgets, by team then quarter.
    fn budgets(&self) -> Result<Vec<TeamBudget>>;

    /// Stored job recommendations, by job name.
    fn job_recommendations(&self) -> Result<Vec<JobRecommendation>>;

    /// Stored settings, by key (secret values included: the engine filters them).
    fn settings(&self) -> Result<Vec<SettingEntry>>;

    /// Writes (inserts or replaces) one setting.
    fn put_setting(&self, entry: &SettingEntry) -> Result<()>;

    /// The stored simulation clock, if one was saved.
    fn clock(&self) -> Result<Option<SimClock>>;

    /// Saves the simulation clock.
    fn save_clock(&self, clock: &SimClock) -> Result<()>;

    /// In one transaction: moves every instance of `migration.instance_ids` from `from_region` to
    /// `to_region` and records the migration with the next id, which it returns. When any
    /// instance is missing or not in `from_region`, nothing changes and the error says which.
    fn record_migration(&self, migration: &Migration) -> Result<Migration>;

    /// Recorded migrations, oldest first.
    fn migrations(&self) -> Result<Vec<Migration>>;
}

/// The in-memory store: for tests, and for embedding SPECTRA without a database.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<MemoryState>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the contents: settings may hold secrets.
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

#[derive(Default, Clone)]
struct MemoryState {
    regions: BTreeMap<RegionCode, Region>,
    carbon: IntensityTable,
    latency: BTreeMap<(RegionCode, DateTime<Utc>, &'static str), LatencySample>,
    instances: BTreeMap<String, Instance>,
    utilisation: BTreeMap<(String, DateTime<Utc>), UtilisationHour>,
    anomalies: BTreeMap<(&'static str, String, DateTime<Utc>), Anomaly>,
    budgets: BTreeMap<(String, String), TeamBudget>,
    jobs: BTreeMap<String, JobRecommendation>,
    settings: BTreeMap<String, SettingEntry>,
    clock: Option<SimClock>,
    migrations: Vec<Migration>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, MemoryState> {
        // A panic while holding the lock cannot leave the state half-written: every write works on
        // a copy or checks before it mutates. So a poisoned lock's state is still consistent.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn latency_key(s: &LatencySample) -> (RegionCode, DateTime<Utc>, &'static str) {
    let source = match s.source {
        crate::LatencySource::Baseline => "baseline",
        crate::LatencySource::Radar => "radar",
    };
    (s.region.clone(), s.time, source)
}

fn insert_new<K: Ord, V: Clone>(map: &mut BTreeMap<K, V>, key: K, value: &V, count: &mut StepCount) {
    let fresh = !map.contains_key(&key);
    if fresh {
        map.insert(key, value.clone());
    }
    count.add(fresh);
}

impl Store for MemoryStore {
    fn name(&self) -> &str {
        "memory"
    }

    fn ping(&self) -> Result<()> {
        Ok(())
    }

    fn import(&self, batch: &ImportBatch) -> Result<ImportCounts> {
        let mut state = self.lock();
        // Work on a copy and swap it in at the end: a failure leaves the store as it was.
        let mut next = state.clone();
        let mut counts = ImportCounts::default();
        for r in &batch.regions {
            insert_new(&mut next.regions, r.code.clone(), r, &mut counts.regions);
        }
        for (zone, series) in batch.carbon.iter() {
            let Some(first) = series.first_hour() else { continue };
            for hour in first..series.end_hour() {
                let Some((value, detail)) = series.point(hour) else { continue };
                match next.carbon.series_mut(zone).set(hour, value, detail) {
                    SetOutcome::Inserted => counts.carbon_hours.add(true),
                    SetOutcome::Unchanged | SetOutcome::Conflict(_) => counts.carbon_hours.add(false),
                    SetOutcome::OutOfSpan => {
                        return Err(Error::invalid(
                            Location::field("carbon"),
                            format!("zone {zone}: hour {hour} is too far from the stored hours"),
                        ));
                    }
                }
            }
        }
        for s in &batch.latency {
            insert_new(&mut next.latency, latency_key(s), s, &mut counts.latency);
        }
        for i in &batch.instances {
            insert_new(&mut next.instances, i.id.clone(), i, &mut counts.instances);
        }
        for u in &batch.utilisation {
            check_utilisation(u)?;
            insert_new(&mut next.utilisation, (u.instance_id.clone(), u.hour), u, &mut counts.utilisation);
        }
        for a in &batch.anomalies {
            insert_new(
                &mut next.anomalies,
                (a.kind.as_str(), a.subject.clone(), a.detected_at),
                a,
                &mut counts.anomalies,
            );
        }
        for b in &batch.budgets {
            insert_new(&mut next.budgets, (b.team.clone(), b.quarter.clone()), b, &mut counts.budgets);
        }
        for j in &batch.jobs {
            insert_new(&mut next.jobs, j.job.clone(), j, &mut counts.jobs);
        }
        for s in &batch.settings {
            insert_new(&mut next.settings, s.key.clone(), s, &mut counts.settings);
        }
        *state = next;
        Ok(counts)
    }

    fn regions(&self) -> Result<Vec<Region>> {
        Ok(self.lock().regions.values().cloned().collect())
    }

    fn carbon_table(&self) -> Result<IntensityTable> {
        Ok(self.lock().carbon.clone())
    }

    fn carbon_history(&self, zone: &str, range: TimeRange) -> Result<Vec<CarbonIntensityHour>> {
        Ok(self.lock().carbon.records(zone, range.from, range.to).collect())
    }

    fn latency_history(&self, region: &str, range: TimeRange) -> Result<Vec<LatencySample>> {
        let state = self.lock();
        let mut out: Vec<_> =
            state.latency.values().filter(|s| s.region.as_str() == region && range.contains(s.time)).cloned().collect();
        out.sort_by_key(|s| s.time);
        Ok(out)
    }

    fn latency_latest(&self, at: DateTime<Utc>) -> Result<Vec<LatencySample>> {
        let state = self.lock();
        let mut latest: BTreeMap<&RegionCode, &LatencySample> = BTreeMap::new();
        for s in state.latency.values().filter(|s| s.time <= at) {
            let slot = latest.entry(&s.region).or_insert(s);
            // Newest wins; at the same time a live (radar) sample beats the baseline.
            if (s.time, s.source == crate::LatencySource::Radar)
                > (slot.time, slot.source == crate::LatencySource::Radar)
            {
                *slot = s;
            }
        }
        Ok(latest.into_values().cloned().collect())
    }

    fn instances(&self) -> Result<Vec<Instance>> {
        Ok(self.lock().instances.values().cloned().collect())
    }

    fn utilisation(&self, range: TimeRange) -> Result<Vec<UtilisationHour>> {
        Ok(self.lock().utilisation.values().filter(|u| range.contains(u.hour)).cloned().collect())
    }

    fn anomalies(&self) -> Result<Vec<Anomaly>> {
        let mut out: Vec<_> = self.lock().anomalies.values().cloned().collect();
        out.sort_by(|a, b| b.detected_at.cmp(&a.detected_at).then_with(|| a.subject.cmp(&b.subject)));
        Ok(out)
    }

    fn budgets(&self) -> Result<Vec<TeamBudget>> {
        Ok(self.lock().budgets.values().cloned().collect())
    }

    fn job_recommendations(&self) -> Result<Vec<JobRecommendation>> {
        Ok(self.lock().jobs.values().cloned().collect())
    }

    fn settings(&self) -> Result<Vec<SettingEntry>> {
        Ok(self.lock().settings.values().cloned().collect())
    }

    fn put_setting(&self, entry: &SettingEntry) -> Result<()> {
        self.lock().settings.insert(entry.key.clone(), entry.clone());
        Ok(())
    }

    fn clock(&self) -> Result<Option<SimClock>> {
        Ok(self.lock().clock)
    }

    fn save_clock(&self, clock: &SimClock) -> Result<()> {
        self.lock().clock = Some(*clock);
        Ok(())
    }

    fn record_migration(&self, migration: &Migration) -> Result<Migration> {
        let mut state = self.lock();
        for id in &migration.instance_ids {
            check_movable(state.instances.get(id), id, &migration.from_region)?;
        }
        for id in &migration.instance_ids {
            if let Some(instance) = state.instances.get_mut(id) {
                instance.region = migration.to_region.clone();
            }
        }
        let recorded = Migration { id: state.migrations.len() as u64 + 1, ..migration.clone() };
        state.migrations.push(recorded.clone());
        Ok(recorded)
    }

    fn migrations(&self) -> Result<Vec<Migration>> {
        Ok(self.lock().migrations.clone())
    }
}

/// A utilisation row's percentages must be numbers in [0, 100] (DuckDB enforces the same with
/// CHECK constraints).
pub fn check_utilisation(u: &UtilisationHour) -> Result<()> {
    let ok = |v: f64| v.is_finite() && (0.0..=100.0).contains(&v);
    if ok(u.cpu_pct) && u.memory_pct.is_none_or(ok) {
        Ok(())
    } else {
        Err(Error::invalid(
            Location::field("utilisation"),
            format!("instance {} at {}: percentages must be in [0, 100]", u.instance_id, u.hour),
        ))
    }
}

/// The check every store makes before moving an instance: it exists and is in `from`.
pub fn check_movable(instance: Option<&Instance>, id: &str, from: &RegionCode) -> Result<()> {
    match instance {
        None => Err(Error::not_found("instance", id)),
        Some(i) if i.region != *from => Err(Error::invalid(
            Location::field("instance_ids"),
            format!("instance {id} is in {}, not in {from}", i.region),
        )),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn memory_store_passes_the_conformance_suite() {
        crate::testing::check_store(super::MemoryStore::new);
    }
}
