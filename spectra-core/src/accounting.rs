//! Carbon accounting: fleet emissions by instance, team, region and day, and team budgets.
//!
//! The operational emissions of an instance-hour are its energy (the [`PowerModel`]'s average
//! watts at that hour's CPU utilisation, over one hour) x the region's PUE x the grid's life-cycle
//! intensity at that hour; when the grid has no value for the hour, the region's annual figure
//! stands in and the hour counts as estimated. Embodied emissions are added per instance-hour when
//! the type's embodied figure is known. Each instance is accounted in its current region.
//!
//! The hot loop reads compact columns ([`FleetHours`]) and accumulates into a dense array of groups
//! (no hashing per row): a group is fixed per instance, times the day when grouping by day.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::power::PowerModel;
use crate::series::{hour_index, hour_start};
use crate::{Error, Instance, InstanceState, Location, RegionCode, RegionSignals, Result, TeamBudget, TimeRange};

/// A dimension to group fleet emissions by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// Per instance.
    Instance,
    /// Per team.
    Team,
    /// Per region.
    Region,
    /// Per UTC day.
    Day,
}

/// Hourly utilisation of a fleet as columns: row `k` is instance `instance[k]` (an index into the
/// instance list) at hour index `hour[k]` with `cpu_pct[k]` percent CPU.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FleetHours {
    /// Instance index per row.
    pub instance: Vec<u32>,
    /// Hour index per row (hours since the Unix epoch).
    pub hour: Vec<i64>,
    /// CPU percent per row.
    pub cpu_pct: Vec<f32>,
}

impl FleetHours {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.hour.len()
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.hour.is_empty()
    }

    /// Appends a row.
    pub fn push(&mut self, instance: u32, hour: i64, cpu_pct: f32) {
        self.instance.push(instance);
        self.hour.push(hour);
        self.cpu_pct.push(cpu_pct);
    }
}

/// Emissions of one group. Grouping fields not asked for are `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmissionsRow {
    /// The instance id, when grouped by instance.
    pub instance: Option<String>,
    /// The team, when grouped by team.
    pub team: Option<String>,
    /// The region, when grouped by region.
    pub region: Option<RegionCode>,
    /// The UTC day, when grouped by day.
    pub day: Option<NaiveDate>,
    /// Instance-hours accounted.
    pub instance_hours: u64,
    /// IT energy x PUE, kWh.
    pub energy_kwh: f64,
    /// Operational emissions, kgCO2e.
    pub operational_kg_co2e: f64,
    /// Embodied emissions, kgCO2e (0 when the types' figures are unknown).
    pub embodied_kg_co2e: f64,
    /// On-demand cost, USD.
    pub cost_usd: f64,
    /// Share of instance-hours whose intensity was the annual fallback, in [0, 1].
    pub estimated_share: f64,
}

impl EmissionsRow {
    /// Operational plus embodied, kgCO2e.
    pub fn total_kg_co2e(&self) -> f64 {
        self.operational_kg_co2e + self.embodied_kg_co2e
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    hours: u64,
    estimated: u64,
    kwh: f64,
    grams: f64,
    embodied_g: f64,
    usd: f64,
}

/// Per-instance constants of the hot loop.
struct InstanceTerms {
    /// Watts = base + slope x cpu_pct.
    base_w: f64,
    slope_w: f64,
    pue: f64,
    region: usize,
    embodied_g: f64,
    usd: f64,
    group: u32,
}

/// Fleet emissions of `hours` (rows of `instances`), grouped by `group_by` (any combination; empty
/// gives one total row). Rows come sorted by their grouping fields.
///
/// Errors: an instance in a region the catalog lacks, a row naming no instance.
pub fn fleet_emissions(
    signals: &RegionSignals,
    model: &PowerModel,
    instances: &[Instance],
    hours: &FleetHours,
    group_by: &[GroupBy],
) -> Result<Vec<EmissionsRow>> {
    let catalog = signals.catalog();
    let by = |g: GroupBy| group_by.contains(&g);
    // A static group per instance (instance, team, region as asked), numbered densely.
    type GroupKey<'a> = (Option<usize>, Option<&'a str>, Option<usize>);
    let mut static_groups: HashMap<GroupKey, u32> = HashMap::new();
    let mut group_keys: Vec<GroupKey> = Vec::new();
    let mut terms = Vec::with_capacity(instances.len());
    for (i, inst) in instances.iter().enumerate() {
        let region = catalog.index_of(inst.region.as_str()).ok_or_else(|| {
            Error::invalid(
                Location::field("instances"),
                format!("instance {} is in {}, which is not in the catalog", inst.id, inst.region),
            )
        })?;
        let key = (
            by(GroupBy::Instance).then_some(i),
            by(GroupBy::Team).then_some(inst.team.as_str()),
            by(GroupBy::Region).then_some(region),
        );
        let next = group_keys.len() as u32;
        let group = *static_groups.entry(key).or_insert_with(|| {
            group_keys.push(key);
            next
        });
        let c = model.coefficients(&inst.instance_type);
        let vcpus = f64::from(inst.vcpus);
        terms.push(InstanceTerms {
            base_w: vcpus * c.min_watts_per_vcpu + inst.memory_gb.max(0.0) * crate::power::MEMORY_WATTS_PER_GB,
            slope_w: vcpus * (c.max_watts_per_vcpu - c.min_watts_per_vcpu) / 100.0,
            pue: catalog.regions()[region].pue,
            region,
            embodied_g: model.embodied_g_per_hour(&inst.instance_type).unwrap_or(0.0),
            usd: inst.hourly_cost_usd,
            group,
        });
    }
    let (first_day, days) = if by(GroupBy::Day) && !hours.is_empty() {
        let (lo, hi) = hours.hour.iter().fold((i64::MAX, i64::MIN), |(lo, hi), &h| (lo.min(h), hi.max(h)));
        (lo.div_euclid(24), (hi.div_euclid(24) - lo.div_euclid(24) + 1) as usize)
    } else {
        (0, 1)
    };
    let mut acc = vec![Acc::default(); group_keys.len().max(1) * days];
    // Each region's series and annual figure, resolved once.
    let regions: Vec<_> =
        (0..catalog.len()).map(|r| (signals.series(r), catalog.regions()[r].annual_intensity_g_per_kwh)).collect();
    for k in 0..hours.len() {
        let t = terms
            .get(hours.instance[k] as usize)
            .ok_or_else(|| Error::invalid(Location::field("hours.instance"), format!("row {k} names no instance")))?;
        let h = hours.hour[k];
        let kwh = (t.base_w + t.slope_w * f64::from(hours.cpu_pct[k].clamp(0.0, 100.0))) / 1_000.0 * t.pue;
        let (series, annual) = regions[t.region];
        let (g, estimated) = match series.and_then(|s| s.at(h)) {
            Some(v) => (f64::from(v), false),
            None => (annual, true),
        };
        let day = if days > 1 { (h.div_euclid(24) - first_day) as usize } else { 0 };
        let a = &mut acc[t.group as usize * days + day];
        a.hours += 1;
        a.estimated += u64::from(estimated);
        a.kwh += kwh;
        a.grams += kwh * g;
        a.embodied_g += t.embodied_g;
        a.usd += t.usd;
    }
    let mut rows = Vec::new();
    for (g, key) in group_keys.iter().enumerate() {
        for d in 0..days {
            let a = acc[g * days + d];
            if a.hours == 0 {
                continue;
            }
            rows.push(EmissionsRow {
                instance: key.0.map(|i| instances[i].id.clone()),
                team: key.1.map(str::to_owned),
                region: key.2.map(|r| catalog.regions()[r].code.clone()),
                day: by(GroupBy::Day).then(|| hour_start((first_day + d as i64) * 24).date_naive()),
                instance_hours: a.hours,
                energy_kwh: a.kwh,
                operational_kg_co2e: a.grams / 1_000.0,
                embodied_kg_co2e: a.embodied_g / 1_000.0,
                cost_usd: a.usd,
                estimated_share: a.estimated as f64 / a.hours as f64,
            });
        }
    }
    rows.sort_by(|a, b| (&a.instance, &a.team, &a.region, a.day).cmp(&(&b.instance, &b.team, &b.region, b.day)));
    Ok(rows)
}

/// Whether a team is within its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetState {
    /// Projected to stay within the budget.
    OnTrack,
    /// Within the budget so far, projected to exceed it by the quarter's end.
    AtRisk,
    /// Already over the budget.
    Over,
}

/// A team's budget, use so far and projection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetStatus {
    /// The team.
    pub team: String,
    /// The quarter, e.g. `2024-Q1`.
    pub quarter: String,
    /// The budget, kgCO2e.
    pub budget_kg_co2e: f64,
    /// Emitted from the quarter's start to now, kgCO2e (operational and embodied).
    pub used_kg_co2e: f64,
    /// Used so far plus the current hourly rate until the quarter's end, kgCO2e.
    pub projected_kg_co2e: f64,
    /// On track, at risk, or over.
    pub state: BudgetState,
    /// Used as a percentage of the budget.
    pub used_pct: f64,
}

/// The start and end of the quarter a `quarter` label (`2024-Q1`) names.
pub fn quarter_range(quarter: &str) -> Result<TimeRange> {
    let bad = || Error::invalid(Location::field("quarter"), format!("{quarter:?} is not like 2024-Q1"));
    let (year, q) = quarter.split_once("-Q").ok_or_else(bad)?;
    let (year, q): (i32, u32) = (year.parse().map_err(|_| bad())?, q.parse().map_err(|_| bad())?);
    if !(1..=4).contains(&q) {
        return Err(bad());
    }
    let start = NaiveDate::from_ymd_opt(year, (q - 1) * 3 + 1, 1).ok_or_else(bad)?;
    let end =
        if q == 4 { NaiveDate::from_ymd_opt(year + 1, 1, 1) } else { NaiveDate::from_ymd_opt(year, q * 3 + 1, 1) }
            .ok_or_else(bad)?;
    TimeRange::new(
        start.and_hms_opt(0, 0, 0).ok_or_else(bad)?.and_utc(),
        end.and_hms_opt(0, 0, 0).ok_or_else(bad)?.and_utc(),
    )
}

/// The quarter containing `t`, e.g. `2024-Q1`.
pub fn quarter_of(t: DateTime<Utc>) -> String {
    format!("{}-Q{}", t.year(), (t.month0() / 3) + 1)
}

/// Budget status at `now` from each team's emissions since its quarter's start (`used_by_team`,
/// kgCO2e): projected = used + used per elapsed hour x hours left in the quarter.
pub fn budget_status(
    budgets: &[TeamBudget],
    used_by_team: &HashMap<String, f64>,
    now: DateTime<Utc>,
) -> Result<Vec<BudgetStatus>> {
    budgets
        .iter()
        .map(|b| {
            let q = quarter_range(&b.quarter)?;
            let clamped = now.clamp(q.from, q.to);
            let elapsed = (clamped - q.from).num_hours() as f64;
            let left = (q.to - clamped).num_hours() as f64;
            let used = used_by_team.get(&b.team).copied().unwrap_or(0.0);
            let projected = if elapsed > 0.0 { used + used / elapsed * left } else { used };
            let state = if used > b.budget_kg_co2e {
                BudgetState::Over
            } else if projected > b.budget_kg_co2e {
                BudgetState::AtRisk
            } else {
                BudgetState::OnTrack
            };
            Ok(BudgetStatus {
                team: b.team.clone(),
                quarter: b.quarter.clone(),
                budget_kg_co2e: b.budget_kg_co2e,
                used_kg_co2e: used,
                projected_kg_co2e: projected,
                state,
                used_pct: if b.budget_kg_co2e > 0.0 { used / b.budget_kg_co2e * 100.0 } else { 0.0 },
            })
        })
        .collect()
}

/// Builds [`FleetHours`] for the running `instances` from stored utilisation rows in `range`; a
/// running instance without any utilisation row in the range is counted every hour at 50% CPU
/// (the Cloud Carbon Footprint default).
pub fn fleet_hours(instances: &[Instance], utilisation: &[crate::UtilisationHour], range: TimeRange) -> FleetHours {
    let index: HashMap<&str, u32> =
        instances.iter().enumerate().map(|(i, inst)| (inst.id.as_str(), i as u32)).collect();
    let mut out = FleetHours::default();
    let mut seen = vec![false; instances.len()];
    for u in utilisation {
        if let Some(&i) = index.get(u.instance_id.as_str())
            && range.contains(u.hour)
            && instances[i as usize].state == InstanceState::Running
        {
            out.push(i, hour_index(u.hour), u.cpu_pct as f32);
            seen[i as usize] = true;
        }
    }
    let (first, end) = (hour_index(range.from + Duration::seconds(3_599)), hour_index(range.to));
    for (i, inst) in instances.iter().enumerate() {
        if !seen[i] && inst.state == InstanceState::Running {
            for h in first..end {
                out.push(i as u32, h, crate::power::DEFAULT_CPU_PCT as f32);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;

    use super::*;
    use crate::catalog::tests::region;
    use crate::series::HourDetail;
    use crate::{Catalog, IntensityTable};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
    }

    fn instance(id: &str, team: &str, region: &str) -> Instance {
        Instance {
            id: id.into(),
            name: id.into(),
            team: team.into(),
            region: region.into(),
            instance_type: "unknown".into(),
            vcpus: 2,
            memory_gb: 8.0,
            state: InstanceState::Running,
            hourly_cost_usd: 0.1,
        }
    }

    /// Region a: 100 g/kWh for 48 hours; region b: no hourly data (annual 400).
    fn signals() -> RegionSignals {
        let catalog =
            Catalog::new(vec![region("a", "A", 1.0, 500.0, 1.0), region("b", "B", 1.0, 400.0, 1.0)], "t").unwrap();
        let mut table = IntensityTable::new();
        for h in 0..48 {
            table.series_mut("A").set(hour_index(t0()) + h, 100.0, HourDetail::unknown(crate::CarbonSource::Csv));
        }
        RegionSignals::new(Arc::new(catalog), table)
    }

    #[test]
    fn hand_worked_fleet_emissions_by_team_region_and_day() {
        let instances = [instance("i-1", "web", "a"), instance("i-2", "web", "b"), instance("i-3", "data", "a")];
        let mut hours = FleetHours::default();
        for h in 0..30 {
            hours.push(0, hour_index(t0()) + h, 50.0);
            hours.push(1, hour_index(t0()) + h, 0.0);
        }
        let model = PowerModel::aws_average();
        let rows = fleet_emissions(&signals(), &model, &instances, &hours, &[GroupBy::Team, GroupBy::Region]).unwrap();
        assert_eq!(rows.len(), 2, "i-3 has no hours");
        // i-1: 7.376 W x 1.135 PUE = 8.37176 Wh per hour; 30 h = 0.2511528 kWh; x 100 g = 25.11528 g
        let a = &rows[0];
        assert_eq!((a.team.as_deref(), a.region.as_ref().map(|r| r.as_str())), (Some("web"), Some("a")));
        assert!((a.energy_kwh - 0.251_152_8).abs() < 1e-9, "{}", a.energy_kwh);
        assert!((a.operational_kg_co2e - 0.025_115_28).abs() < 1e-9);
        assert_eq!((a.instance_hours, a.estimated_share), (30, 0.0));
        assert!((a.cost_usd - 3.0).abs() < 1e-9);
        // i-2 idle in b (annual 400): (2 x 0.74 + 3.136) W = 4.616 W x 1.135 = 5.23916 Wh; 30 h =
        // 0.1571748 kWh x 400 g = 62.86992 g; every hour estimated.
        let b = &rows[1];
        assert!((b.operational_kg_co2e - 0.062_869_92).abs() < 1e-9, "{}", b.operational_kg_co2e);
        assert_eq!(b.estimated_share, 1.0);

        let by_day = fleet_emissions(&signals(), &model, &instances, &hours, &[GroupBy::Day]).unwrap();
        assert_eq!(by_day.len(), 2);
        assert_eq!(by_day[0].day, Some(t0().date_naive()));
        assert_eq!((by_day[0].instance_hours, by_day[1].instance_hours), (48, 12));
        let total = fleet_emissions(&signals(), &model, &instances, &hours, &[]).unwrap();
        assert_eq!(total.len(), 1);
        let sum: f64 = by_day.iter().map(|r| r.operational_kg_co2e).sum();
        assert!((total[0].operational_kg_co2e - sum).abs() < 1e-12);
        let by_instance = fleet_emissions(&signals(), &model, &instances, &hours, &[GroupBy::Instance]).unwrap();
        assert_eq!(by_instance.iter().map(|r| r.instance.as_deref().unwrap()).collect::<Vec<_>>(), ["i-1", "i-2"]);
    }

    #[test]
    fn missing_utilisation_counts_at_fifty_percent() {
        let instances = [instance("i-1", "web", "a")];
        let range = TimeRange::new(t0(), t0() + Duration::hours(3)).unwrap();
        let hours = fleet_hours(&instances, &[], range);
        assert_eq!(hours.len(), 3);
        assert!(hours.cpu_pct.iter().all(|&c| c == 50.0));
    }

    #[test]
    fn budgets_on_track_at_risk_and_over() {
        let now = Utc.with_ymd_and_hms(2024, 2, 15, 0, 0, 0).unwrap(); // 45 of 91 days into Q1
        let budget = |team: &str| TeamBudget { team: team.into(), quarter: "2024-Q1".into(), budget_kg_co2e: 100.0 };
        let used = HashMap::from([("a".to_string(), 30.0), ("b".to_string(), 60.0), ("c".to_string(), 120.0)]);
        let s = budget_status(&[budget("a"), budget("b"), budget("c")], &used, now).unwrap();
        // a: 30 used in 1080 h, 1104 h left -> 30 + 30/1080 x 1104 = 60.67 -> on track
        assert!((s[0].projected_kg_co2e - (30.0 + 30.0 / 1080.0 * 1104.0)).abs() < 1e-9);
        assert_eq!(
            s.iter().map(|b| b.state).collect::<Vec<_>>(),
            [BudgetState::OnTrack, BudgetState::AtRisk, BudgetState::Over]
        );
        assert!(quarter_range("2024-Q5").is_err());
        assert_eq!(quarter_range("2024-Q4").unwrap().to, Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap());
        assert_eq!(quarter_of(now), "2024-Q1");
    }
}
