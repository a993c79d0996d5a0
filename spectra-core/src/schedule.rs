//! Time-shift scheduling: when (and where) should this batch job run?
//!
//! For a job of `d` hours that may start at `earliest` and must end by `deadline`, every candidate
//! region's hourly series is scanned once with a running sum over a `d`-hour window; the window
//! with the lowest mean intensity x PUE wins, and every window equal to it (within 1e-9 g/kWh) is
//! reported as a tie, ordered by start then region code. A window containing an hour without data is
//! not a candidate. The baseline is the job started at `earliest` in its current region (missing
//! hours there take the region's annual figure, and the baseline says it is estimated).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::series::{hour_index, hour_start};
use crate::{Error, Location, RegionCode, RegionSignals, Result};

/// A batch job to place in time (and, optionally, in space).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// How long it runs, whole hours (at least 1).
    pub duration_hours: u32,
    /// It may not start before this (rounded up to the hour).
    pub earliest_start: DateTime<Utc>,
    /// It must have finished by this (rounded down to the hour).
    pub deadline: DateTime<Utc>,
    /// Average IT power while it runs, kW (before PUE).
    pub power_kw: f64,
    /// The region it runs in today: the baseline.
    pub current_region: RegionCode,
    /// Other regions it may move to (the current region is always a candidate).
    pub candidate_regions: Vec<RegionCode>,
}

/// One placement of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Where.
    pub region: RegionCode,
    /// When it starts.
    pub start: DateTime<Utc>,
    /// Mean grid intensity over the window, gCO2e/kWh.
    pub mean_intensity_g_per_kwh: f64,
    /// The job's emissions there and then, kgCO2e (energy x PUE x intensity).
    pub kg_co2e: f64,
    /// Whether any hour took the annual figure for want of data.
    pub estimated: bool,
}

/// The result of [`best_window`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowChoice {
    /// The best windows: one, or several equally good ones.
    pub best: Vec<Window>,
    /// Starting at the earliest start in the current region.
    pub baseline: Window,
    /// Baseline minus best, kgCO2e.
    pub saving_kg_co2e: f64,
    /// The same as a percentage of the baseline.
    pub saving_pct: f64,
}

const TIE: f64 = 1e-9;

/// Finds the lowest-carbon window for `job` over `signals`; see the module documentation.
///
/// Errors: a deadline before the earliest start, a window shorter than the job, zero duration or a
/// non-positive power ([`Error::InvalidInput`] naming the field); an unknown region
/// ([`Error::NotFound`]); no candidate region with `d` consecutive hours of data in the window
/// ([`Error::NotFound`] of kind `"window"`).
pub fn best_window(signals: &RegionSignals, job: &Job) -> Result<WindowChoice> {
    if job.duration_hours == 0 {
        return Err(Error::invalid(Location::field("duration_hours"), "must be at least 1"));
    }
    if !(job.power_kw.is_finite() && job.power_kw > 0.0) {
        return Err(Error::invalid(Location::field("power_kw"), "must be a positive number"));
    }
    if job.deadline < job.earliest_start {
        return Err(Error::invalid(Location::field("deadline"), "is before earliest_start"));
    }
    // Whole hours: start at the first full hour at or after `earliest`, end by the hour of `deadline`.
    let first = hour_index(job.earliest_start + Duration::seconds(3_599));
    let end = hour_index(job.deadline);
    let d = i64::from(job.duration_hours);
    if end - first < d {
        return Err(Error::invalid(
            Location::field("duration_hours"),
            format!("{d} h does not fit between earliest_start and deadline ({} whole hours)", (end - first).max(0)),
        ));
    }
    let catalog = signals.catalog();
    let current = catalog
        .index_of(job.current_region.as_str())
        .ok_or_else(|| Error::not_found("region", job.current_region.as_str()))?;
    let mut candidates = vec![current];
    for code in &job.candidate_regions {
        let i = catalog.index_of(code.as_str()).ok_or_else(|| Error::not_found("region", code.as_str()))?;
        if !candidates.contains(&i) {
            candidates.push(i);
        }
    }

    let energy_kwh = job.power_kw * d as f64;
    let kg = |i: usize, mean: f64| energy_kwh * catalog.regions()[i].pue * mean / 1_000.0;
    let mut best: Vec<(f64, i64, usize)> = Vec::new(); // (effective g/kWh, start hour, region)
    // Hourly values in thousandths of g/kWh (the data has at most three decimals), so running sums
    // are exact and equal windows compare equal however far apart; `MISSING` marks hours without
    // data. One buffer serves every region.
    const MISSING: i64 = i64::MIN;
    let mut milli: Vec<i64> = Vec::new();
    let mut region_best: Vec<i64> = Vec::new();
    for &i in &candidates {
        let Some(series) = signals.series(i) else { continue };
        let Some(series_start) = series.first_hour() else { continue };
        // Only starts whose whole window lies inside the series can be complete.
        let (lo, hi) = (first.max(series_start), end.min(series.end_hour()));
        if hi - lo < d {
            continue;
        }
        let values = &series.values()[(lo - series_start) as usize..(hi - series_start) as usize];
        milli.clear();
        milli.extend(values.iter().map(|&v| if v.is_nan() { MISSING } else { (f64::from(v) * 1_000.0 + 0.5) as i64 }));
        let w = d as usize;
        let (mut sum, mut missing) = (0i64, 0usize);
        for &m in &milli[..w] {
            if m == MISSING {
                missing += 1;
            } else {
                sum += m;
            }
        }
        // The region's lowest sum and every start reaching it, in integers.
        let mut lowest = i64::MAX;
        region_best.clear();
        for k in 0..=milli.len() - w {
            if k > 0 {
                let (out, inn) = (milli[k - 1], milli[k + w - 1]);
                if out == MISSING {
                    missing -= 1;
                } else {
                    sum -= out;
                }
                if inn == MISSING {
                    missing += 1;
                } else {
                    sum += inn;
                }
            }
            if missing == 0 && sum <= lowest {
                if sum < lowest {
                    lowest = sum;
                    region_best.clear();
                }
                region_best.push(lo + k as i64);
            }
        }
        if region_best.is_empty() {
            continue;
        }
        let effective = lowest as f64 / 1_000.0 / d as f64 * catalog.regions()[i].pue;
        match best.first() {
            Some(&(b, _, _)) if effective > b + TIE => {}
            Some(&(b, _, _)) if effective >= b - TIE => best.extend(region_best.iter().map(|&s| (effective, s, i))),
            _ => {
                best.clear();
                best.extend(region_best.iter().map(|&s| (effective, s, i)));
            }
        }
    }
    if best.is_empty() {
        return Err(Error::not_found("window", format!("{d} consecutive hours of data before the deadline")));
    }
    best.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| catalog.regions()[a.2].code.cmp(&catalog.regions()[b.2].code)));
    let best: Vec<Window> = best
        .into_iter()
        .map(|(effective, start, i)| {
            let mean = effective / catalog.regions()[i].pue;
            Window {
                region: catalog.regions()[i].code.clone(),
                start: hour_start(start),
                mean_intensity_g_per_kwh: mean,
                kg_co2e: kg(i, mean),
                estimated: false,
            }
        })
        .collect();

    let (mut sum, mut estimated) = (0.0, false);
    for h in first..first + d {
        let (g, basis) = signals.intensity(current, h, 1);
        sum += g;
        estimated |= basis.is_estimated();
    }
    let mean = sum / d as f64;
    let baseline = Window {
        region: job.current_region.clone(),
        start: hour_start(first),
        mean_intensity_g_per_kwh: mean,
        kg_co2e: kg(current, mean),
        estimated,
    };
    let saving = baseline.kg_co2e - best[0].kg_co2e;
    let saving_pct = if baseline.kg_co2e > 0.0 { saving / baseline.kg_co2e * 100.0 } else { 0.0 };
    Ok(WindowChoice { best, baseline, saving_kg_co2e: saving, saving_pct })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;

    use super::*;
    use crate::catalog::tests::region;
    use crate::series::HourDetail;
    use crate::{Catalog, IntensityTable};

    fn t(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap() + Duration::hours(h)
    }

    /// Zone A: 100, 90, 50, 50, 80, 100, ...; zone B: 70 flat with a gap at hour 3.
    fn signals() -> RegionSignals {
        let catalog =
            Catalog::new(vec![region("a", "A", 1.0, 500.0, 1.0), region("b", "B", 1.0, 500.0, 1.0)], "t").unwrap();
        let mut table = IntensityTable::new();
        let d = HourDetail::unknown(crate::CarbonSource::Csv);
        let a = [100.0, 90.0, 50.0, 50.0, 80.0, 100.0, 100.0, 100.0];
        for (k, v) in a.iter().enumerate() {
            table.series_mut("A").set(hour_index(t(k as i64)), *v, d);
            if k != 3 {
                table.series_mut("B").set(hour_index(t(k as i64)), 70.0, d);
            }
        }
        RegionSignals::new(Arc::new(catalog), table)
    }

    fn job(d: u32, from: i64, to: i64) -> Job {
        Job {
            duration_hours: d,
            earliest_start: t(from),
            deadline: t(to),
            power_kw: 10.0,
            current_region: "a".into(),
            candidate_regions: vec![],
        }
    }

    #[test]
    fn finds_the_lowest_window_with_a_running_sum() {
        let r = best_window(&signals(), &job(2, 0, 8)).unwrap();
        assert_eq!(r.best.len(), 1);
        assert_eq!((r.best[0].start, r.best[0].mean_intensity_g_per_kwh), (t(2), 50.0));
        // 10 kW x 2 h x 1.135 PUE x 50 g / 1000 = 1.135 kg; baseline hours 0-1: 95 g -> 2.1565 kg.
        assert!((r.best[0].kg_co2e - 1.135).abs() < 1e-9);
        assert!((r.baseline.kg_co2e - 2.1565).abs() < 1e-9);
        assert!((r.saving_kg_co2e - 1.0215).abs() < 1e-9);
    }

    #[test]
    fn reports_all_ties_in_order() {
        let r = best_window(&signals(), &job(1, 0, 8)).unwrap();
        let starts: Vec<_> = r.best.iter().map(|w| w.start).collect();
        assert_eq!(starts, [t(2), t(3)]);
    }

    #[test]
    fn skips_windows_with_gaps_and_moves_across_regions() {
        let mut j = job(3, 0, 8);
        j.candidate_regions = vec!["b".into()];
        let r = best_window(&signals(), &j).unwrap();
        // A's best 3 h: hours 2-4 = 60; B's only complete 3-hour windows avoid hour 3: 70 > 60.
        assert_eq!((r.best[0].region.as_str(), r.best[0].start), ("a", t(2)));
        let mut j = job(2, 0, 8);
        j.current_region = "b".into();
        let r = best_window(&signals(), &j).unwrap();
        assert!(r.best.iter().all(|w| w.start != t(2) && w.start != t(3)), "windows over the gap are skipped");
    }

    #[test]
    fn edge_cases_are_errors_naming_the_field() {
        let s = signals();
        let field = |j: &Job| best_window(&s, j).unwrap_err().location().and_then(|l| l.column.clone());
        assert_eq!(field(&job(5, 0, 4)).as_deref(), Some("duration_hours"), "window longer than the range");
        assert_eq!(field(&job(1, 4, 2)).as_deref(), Some("deadline"), "deadline before earliest");
        assert_eq!(field(&job(0, 0, 4)).as_deref(), Some("duration_hours"));
        let mut j = job(1, 0, 4);
        j.power_kw = 0.0;
        assert_eq!(field(&j).as_deref(), Some("power_kw"));
        assert!(matches!(best_window(&s, &job(2, 100, 110)), Err(Error::NotFound { kind: "window", .. })));
        j = job(1, 0, 4);
        j.candidate_regions = vec!["nowhere".into()];
        assert!(matches!(best_window(&s, &j), Err(Error::NotFound { kind: "region", .. })));
    }

    #[test]
    fn the_window_may_end_exactly_at_the_deadline() {
        let r = best_window(&signals(), &job(2, 0, 4)).unwrap();
        assert_eq!(r.best[0].start, t(2)); // hours 2 and 3 end at hour 4 = deadline
    }
}
