//! The deterministic demo fleet: 50 EC2-like instances with realistic hourly utilisation, the
//! same on every machine and every run, for demo mode with no AWS credentials.
//!
//! Instance types, vCPUs, memory and us-east-1 prices are those of `data/reference/pricing` and
//! `data/reference/ccf/aws-instances.csv` (m4, c4, r4 and t2 families, present in both); a region's
//! price is the us-east-1 price x the region's catalog price factor.
//!
//! Utilisation of an instance at an hour depends only on the seed, the instance and the hour (not
//! on the range asked), so any two reads agree: a base load per instance, a diurnal cycle peaking
//! mid-afternoon UTC, quieter weekends and noise. A few instances are nearly idle, as in real
//! fleets; stopped instances report nothing.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{Datelike, Duration, Timelike, Weekday};
use spectra_core::series::{hour_index, hour_start};
use spectra_core::{
    Capabilities, Catalog, DataSource, Error, Instance, InstanceState, RegionCode, Result, TimeRange, UtilisationHour,
};

/// (type, vCPUs, memory GB, us-east-1 USD/hour).
const TYPES: [(&str, u32, f64, f64); 8] = [
    ("t2.medium", 2, 4.0, 0.047),
    ("t2.large", 2, 8.0, 0.094),
    ("m4.large", 2, 8.0, 0.1),
    ("m4.xlarge", 4, 16.0, 0.2),
    ("m4.2xlarge", 8, 32.0, 0.4),
    ("c4.xlarge", 4, 7.5, 0.199),
    ("c4.2xlarge", 8, 15.0, 0.398),
    ("r4.xlarge", 4, 30.5, 0.266),
];

const TEAMS: [&str; 5] = ["platform", "data", "ml", "web", "payments"];
const ROLES: [&str; 6] = ["api", "worker", "db", "etl", "cache", "batch"];

/// Regions the demo fleet runs in, with weights (most fleets lean on one home region).
const REGIONS: [(&str, u32); 8] = [
    ("aws-us-east-1", 14),
    ("aws-us-west-2", 6),
    ("aws-eu-central-1", 8),
    ("aws-eu-west-1", 6),
    ("aws-eu-west-2", 5),
    ("aws-ap-southeast-1", 5),
    ("aws-ap-northeast-1", 4),
    ("aws-sa-east-1", 2),
];

/// SplitMix64 (Steele, Lea and Flood, 2014): tiny, and its sequence is fixed forever, unlike a
/// library RNG whose algorithm may change between versions.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A uniform number in [0, 1) from a hash.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// The demo fleet source (capability `fleet`).
#[derive(Debug, Clone)]
pub struct DemoFleet {
    seed: u64,
    instances: Vec<Instance>,
    /// Per instance: base CPU percent and diurnal amplitude.
    profiles: Vec<(f64, f64)>,
}

impl DemoFleet {
    /// The standard demo fleet: 50 instances, seed 42.
    pub fn new(catalog: &Catalog) -> Result<Self> {
        Self::with_seed(catalog, 42, 50)
    }

    /// A fleet of `count` instances from `seed`. Its regions must be in `catalog`.
    pub fn with_seed(catalog: &Catalog, seed: u64, count: usize) -> Result<Self> {
        let total_weight: u32 = REGIONS.iter().map(|r| r.1).sum();
        let mut instances = Vec::with_capacity(count);
        let mut profiles = Vec::with_capacity(count);
        for n in 0..count as u64 {
            let h = |k: u64| splitmix64(seed ^ (n << 8) ^ k);
            let mut pick = (h(1) % u64::from(total_weight)) as u32;
            let (code, _) = REGIONS
                .iter()
                .find(|(_, w)| {
                    let hit = pick < *w;
                    pick = pick.saturating_sub(*w);
                    hit
                })
                .copied()
                .unwrap_or(REGIONS[0]);
            let region = catalog.require(code)?;
            let (instance_type, vcpus, memory_gb, usd) = TYPES[(h(2) % TYPES.len() as u64) as usize];
            let team = TEAMS[(h(3) % TEAMS.len() as u64) as usize];
            let role = ROLES[(h(4) % ROLES.len() as u64) as usize];
            // One in twelve is nearly idle; one in fifteen is stopped.
            let idle = h(5) % 12 == 0;
            let base = if idle { 0.5 + unit(h(6)) * 2.5 } else { 15.0 + unit(h(6)) * 45.0 };
            let amplitude = if idle { 0.5 } else { 5.0 + unit(h(7)) * 20.0 };
            instances.push(Instance {
                id: format!("i-0{:016x}", h(8)),
                name: format!("{team}-{role}-{n:02}"),
                team: team.into(),
                region: RegionCode::new(code),
                instance_type: instance_type.into(),
                vcpus,
                memory_gb,
                state: if h(9) % 15 == 0 { InstanceState::Stopped } else { InstanceState::Running },
                hourly_cost_usd: (usd * region.price_factor * 10_000.0).round() / 10_000.0,
            });
            profiles.push((base, amplitude));
        }
        if instances.is_empty() {
            return Err(Error::invalid(spectra_core::Location::field("count"), "the demo fleet needs an instance"));
        }
        Ok(Self { seed, instances, profiles })
    }

    fn cpu_at(&self, n: usize, hour: i64) -> f64 {
        let (base, amplitude) = self.profiles[n];
        let t = hour_start(hour);
        // Peak at 14:00 UTC, trough at 02:00.
        let phase = (f64::from(t.hour()) - 8.0) / 24.0 * std::f64::consts::TAU;
        let weekend = matches!(t.weekday(), Weekday::Sat | Weekday::Sun);
        let noise = unit(splitmix64(self.seed ^ ((n as u64) << 40) ^ hour as u64)) - 0.5;
        let cpu = base + amplitude * phase.sin() - if weekend { base * 0.3 } else { 0.0 } + noise * base * 0.2;
        (cpu.clamp(0.1, 100.0) * 100.0).round() / 100.0
    }
}

#[async_trait]
impl DataSource for DemoFleet {
    fn name(&self) -> &str {
        "demo-fleet"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { fleet: true, ..Capabilities::default() }
    }

    async fn instances(&self) -> Result<Vec<Instance>> {
        Ok(self.instances.clone())
    }

    async fn utilisation(&self, range: TimeRange) -> Result<Vec<UtilisationHour>> {
        let (first, end) = (hour_index(range.from + Duration::seconds(3_599)), hour_index(range.to));
        let mut out = Vec::new();
        for (n, instance) in self.instances.iter().enumerate() {
            if instance.state == InstanceState::Stopped {
                continue;
            }
            for hour in first..end {
                let cpu = self.cpu_at(n, hour);
                out.push(UtilisationHour {
                    instance_id: instance.id.clone(),
                    hour: hour_start(hour),
                    cpu_pct: cpu,
                    memory_pct: Some((30.0 + cpu * 0.5).min(95.0)),
                });
            }
        }
        Ok(out)
    }
}

/// The demo fleet behind an `Arc`, as the engine takes its sources.
pub fn shared(catalog: &Catalog) -> Result<Arc<DemoFleet>> {
    DemoFleet::new(catalog).map(Arc::new)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    #[tokio::test]
    async fn deterministic_realistic_and_range_independent() {
        let catalog = crate::bundled::catalog().unwrap();
        let a = DemoFleet::new(&catalog).unwrap();
        let b = DemoFleet::new(&catalog).unwrap();
        let instances = a.instances().await.unwrap();
        assert_eq!(instances.len(), 50);
        assert_eq!(instances, b.instances().await.unwrap());
        assert!(instances.iter().all(|i| catalog.get(i.region.as_str()).is_some()));
        let teams: std::collections::BTreeSet<_> = instances.iter().map(|i| i.team.as_str()).collect();
        assert!(teams.len() >= 4, "{teams:?}");
        let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let day = TimeRange::new(t0, t0 + Duration::hours(24)).unwrap();
        let week = TimeRange::new(t0 - Duration::days(3), t0 + Duration::days(4)).unwrap();
        let u_day = a.utilisation(day).await.unwrap();
        let u_week = a.utilisation(week).await.unwrap();
        let running = instances.iter().filter(|i| i.state == InstanceState::Running).count();
        assert_eq!(u_day.len(), running * 24);
        for u in &u_day {
            assert!((0.0..=100.0).contains(&u.cpu_pct));
            assert!(u_week.contains(u), "an hour reads the same whatever the range");
        }
        let idle = instances.iter().filter(|i| {
            let cpu: Vec<f64> = u_day.iter().filter(|u| u.instance_id == i.id).map(|u| u.cpu_pct).collect();
            !cpu.is_empty() && cpu.iter().sum::<f64>() / (cpu.len() as f64) < 5.0
        });
        assert!(idle.count() >= 1, "a realistic fleet has an idle instance");
        spectra_core::testing::check_undeclared_operations(&a, "FR", day).await;
    }
}
