//! Per-signal source selection and fallback: which source serves each signal (carbon, latency,
//! fleet, cost), what its last live call did, and the pure steps that merge live data with demo
//! data. The engine ([`crate::Spectra`]) calls live sources; this module keeps the books.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::series::IntensityTable;
use crate::{CarbonIntensityHour, Instance, InstanceState, RegionCost};

/// The four signals, each with its own source and its own fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// Grid carbon intensity: CSV exports, or the Electricity Maps API.
    Carbon,
    /// Latency: catalog baselines, or Cloudflare Radar.
    Latency,
    /// Fleet inventory and utilisation: the demo fleet, or EC2 + CloudWatch.
    Fleet,
    /// Cost: estimates from instance type and region, or Cost Explorer.
    Cost,
}

impl Signal {
    /// Every signal, in report order.
    pub const ALL: [Signal; 4] = [Signal::Carbon, Signal::Latency, Signal::Fleet, Signal::Cost];

    /// Its name in reports: `carbon`, `latency`, `fleet`, `cost`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Carbon => "carbon",
            Self::Latency => "latency",
            Self::Fleet => "fleet",
            Self::Cost => "cost",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the last live calls of one signal did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LiveStatus {
    /// Simulation time of the last call that succeeded.
    pub last_success: Option<DateTime<Utc>>,
    /// The last call's error, when it failed (already free of secrets).
    pub last_error: Option<String>,
    /// Failed calls since the engine started.
    pub failures: u64,
}

impl LiveStatus {
    /// Whether the last call succeeded (and there was one).
    pub fn is_serving(&self) -> bool {
        self.last_error.is_none() && self.last_success.is_some()
    }
}

/// The books of every signal, shared by the engine's threads.
#[derive(Debug, Default)]
pub(crate) struct LiveBook {
    by_signal: Mutex<HashMap<Signal, LiveStatus>>,
}

impl LiveBook {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<Signal, LiveStatus>) -> T) -> T {
        // A poisoned lock still holds consistent counters (each update is one field write).
        f(&mut self.by_signal.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub(crate) fn ok(&self, signal: Signal, at: DateTime<Utc>) {
        self.with(|m| {
            let s = m.entry(signal).or_default();
            s.last_success = Some(at);
            s.last_error = None;
        });
    }

    pub(crate) fn failed(&self, signal: Signal, error: impl fmt::Display) {
        self.with(|m| {
            let s = m.entry(signal).or_default();
            s.last_error = Some(error.to_string());
            s.failures += 1;
        });
    }

    pub(crate) fn get(&self, signal: Signal) -> LiveStatus {
        self.with(|m| m.get(&signal).cloned().unwrap_or_default())
    }
}

/// Live hours first, then every snapshot hour the live source did not give: where both have an
/// hour, the live value wins (it is the newer word on that hour).
pub(crate) fn live_over_snapshot(live: &[CarbonIntensityHour], snapshot: IntensityTable) -> IntensityTable {
    if live.is_empty() {
        return snapshot;
    }
    let mut table = IntensityTable::new();
    for h in live {
        // The first value of an hour wins, as in the store.
        let _ = table.insert(h);
    }
    for (zone, series) in snapshot.iter() {
        let Some(first) = series.first_hour() else { continue };
        let target = table.series_mut(zone);
        for h in first..series.end_hour() {
            if let Some((v, d)) = series.point(h) {
                // A conflict means the live value is already there: keep it.
                let _ = target.set(h, v, d);
            }
        }
    }
    table
}

/// Scales each running instance's estimated hourly cost so that its region's estimated spend over
/// `hours` (the billed range; a running instance runs every hour of it, as in fleet accounting)
/// matches what the bill says the region cost. An instance's share of its region's bill follows
/// its estimated price; regions without a bill, and stopped instances, keep their estimates.
/// Returns how many instances were calibrated.
pub(crate) fn calibrate_costs(instances: &mut [Instance], hours: f64, costs: &[RegionCost]) -> usize {
    let running = |i: &Instance| i.state == InstanceState::Running;
    let mut estimated: HashMap<String, f64> = HashMap::new();
    for i in instances.iter().filter(|i| running(i)) {
        *estimated.entry(i.region.as_str().to_owned()).or_default() += i.hourly_cost_usd * hours;
    }
    let mut billed: HashMap<&str, f64> = HashMap::new();
    for c in costs {
        *billed.entry(c.region.as_str()).or_default() += c.usd;
    }
    let mut calibrated = 0;
    for i in instances.iter_mut().filter(|i| running(i)) {
        let (Some(&bill), Some(&estimate)) = (billed.get(i.region.as_str()), estimated.get(i.region.as_str())) else {
            continue;
        };
        if estimate > 0.0 && bill.is_finite() && bill >= 0.0 {
            i.hourly_cost_usd *= bill / estimate;
            calibrated += 1;
        }
    }
    calibrated
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::series::{HourDetail, hour_index};
    use crate::{CarbonSource, RegionCode, TimeRange};

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 1, h, 0, 0).unwrap()
    }

    #[test]
    fn live_hours_win_over_the_snapshot_and_the_snapshot_fills_the_rest() {
        let mut snapshot = IntensityTable::new();
        for h in 0..4 {
            snapshot.series_mut("DE").set(hour_index(t(h)), 400.0, HourDetail::unknown(CarbonSource::Csv));
        }
        let live = vec![CarbonIntensityHour {
            zone: "DE".into(),
            hour: t(2),
            lifecycle_g_per_kwh: 350.0,
            direct_g_per_kwh: None,
            low_carbon_pct: None,
            renewable_pct: None,
            estimated: false,
            source: CarbonSource::ElectricityMapsApi,
        }];
        let table = live_over_snapshot(&live, snapshot);
        let de = table.series("DE").unwrap();
        assert_eq!(de.present_hours(), 4);
        assert_eq!(de.at(hour_index(t(2))), Some(350.0));
        assert_eq!(de.point(hour_index(t(2))).unwrap().1.source, CarbonSource::ElectricityMapsApi);
        assert_eq!(de.at(hour_index(t(3))), Some(400.0));
    }

    #[test]
    fn costs_are_scaled_to_the_bill_per_region() {
        let instance = |id: &str, region: &str, usd: f64| Instance {
            id: id.into(),
            name: id.into(),
            team: "t".into(),
            region: RegionCode::new(region),
            instance_type: "m5.large".into(),
            vcpus: 2,
            memory_gb: 8.0,
            state: InstanceState::Running,
            hourly_cost_usd: usd,
        };
        let mut fleet = vec![instance("a", "r1", 0.1), instance("b", "r1", 0.3), instance("c", "r2", 1.0)];
        let mut stopped = instance("d", "r1", 5.0);
        stopped.state = InstanceState::Stopped;
        fleet.push(stopped);
        // r1's running instances were estimated at (0.1 + 0.3) x 10 h = $4 and billed $8: both
        // prices double; the stopped one costs no compute and keeps its price.
        let bill =
            vec![RegionCost { region: RegionCode::new("r1"), range: TimeRange::new(t(0), t(10)).unwrap(), usd: 8.0 }];
        assert_eq!(calibrate_costs(&mut fleet, 10.0, &bill), 2);
        assert!((fleet[0].hourly_cost_usd - 0.2).abs() < 1e-12);
        assert!((fleet[1].hourly_cost_usd - 0.6).abs() < 1e-12);
        assert_eq!(fleet[2].hourly_cost_usd, 1.0, "no bill for r2: estimate kept");
        assert_eq!(fleet[3].hourly_cost_usd, 5.0);
    }

    #[test]
    fn the_book_records_success_and_failure_per_signal() {
        let book = LiveBook::default();
        assert!(!book.get(Signal::Carbon).is_serving());
        book.ok(Signal::Carbon, t(1));
        assert!(book.get(Signal::Carbon).is_serving());
        book.failed(Signal::Carbon, "electricity-maps: rate limited");
        let s = book.get(Signal::Carbon);
        assert!(!s.is_serving());
        assert_eq!((s.failures, s.last_success), (1, Some(t(1))));
        assert_eq!(book.get(Signal::Latency), LiveStatus::default());
    }
}
