//! Dense hourly intensity series: one slot per UTC hour, O(1) lookup by hour.
//!
//! Values are stored as `f32` (grid data has two decimals; half the memory of `f64`, twice the
//! hours per cache line for the scans of time-shift scheduling). Missing hours are `NaN`.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};

use crate::{CarbonIntensityHour, CarbonSource};

/// Seconds in an hour.
const HOUR_SECS: i64 = 3_600;

/// The longest span one series may cover (30 years of hours): protects against a single absurd
/// timestamp turning into a multi-gigabyte allocation.
pub const MAX_SERIES_SPAN_HOURS: i64 = 30 * 366 * 24;

/// The hour index (hours since the Unix epoch, floored) of a UTC time.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use spectra_core::series::{hour_index, hour_start};
/// let t = Utc.with_ymd_and_hms(2024, 1, 1, 5, 59, 59).unwrap();
/// assert_eq!(hour_start(hour_index(t)), Utc.with_ymd_and_hms(2024, 1, 1, 5, 0, 0).unwrap());
/// ```
pub fn hour_index(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(HOUR_SECS)
}

/// The start of an hour index, UTC.
pub fn hour_start(index: i64) -> DateTime<Utc> {
    // Hour indexes come from `hour_index` of valid `DateTime`s, so they are within chrono's range;
    // the fallback to the epoch is unreachable in practice and keeps this total.
    Utc.timestamp_opt(index.saturating_mul(HOUR_SECS), 0).single().unwrap_or_default()
}

/// Widens a stored `f32` back to the `f64` it was read from: grid data has at most a few
/// decimals, so rounding to 1e-3 (well above `f32`'s error at these magnitudes) restores `56.64`
/// rather than `56.63999938964844`.
#[inline]
pub fn widen(v: f32) -> f64 {
    (f64::from(v) * 1_000.0).round() / 1_000.0
}

/// Everything known about one hour besides the life-cycle intensity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HourDetail {
    /// Direct intensity, gCO2e/kWh (`NaN` when unknown).
    pub direct: f32,
    /// Low-carbon share, percent (`NaN` when unknown).
    pub low_carbon_pct: f32,
    /// Renewable share, percent (`NaN` when unknown).
    pub renewable_pct: f32,
    /// Whether the value is an Electricity Maps estimate.
    pub estimated: bool,
    /// Where the value came from.
    pub source: CarbonSource,
}

impl HourDetail {
    /// An hour with nothing known but its source.
    pub const fn unknown(source: CarbonSource) -> Self {
        Self { direct: f32::NAN, low_carbon_pct: f32::NAN, renewable_pct: f32::NAN, estimated: false, source }
    }

    const MISSING: Self = Self::unknown(CarbonSource::Csv);
}

/// What [`HourlySeries::set`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SetOutcome {
    /// The hour was empty and now has the value.
    Inserted,
    /// The hour already had the same value: nothing changed.
    Unchanged,
    /// The hour already had a different value (returned); nothing changed.
    Conflict(f32),
    /// The hour is more than [`MAX_SERIES_SPAN_HOURS`] away from the series' other hours.
    OutOfSpan,
}

/// A dense series of hourly life-cycle intensities for one grid zone.
#[derive(Debug, Clone, Default)]
pub struct HourlySeries {
    start: i64,
    lifecycle: Vec<f32>,
    detail: Vec<HourDetail>,
    present: usize,
}

impl HourlySeries {
    /// An empty series.
    pub fn new() -> Self {
        Self::default()
    }

    /// Life-cycle intensity at an hour index, if present. O(1).
    #[inline]
    pub fn at(&self, hour: i64) -> Option<f32> {
        let i = usize::try_from(hour.wrapping_sub(self.start)).ok()?;
        let v = *self.lifecycle.get(i)?;
        (!v.is_nan()).then_some(v)
    }

    /// Life-cycle intensity and detail at an hour index, if present.
    pub fn point(&self, hour: i64) -> Option<(f32, HourDetail)> {
        let v = self.at(hour)?;
        let i = usize::try_from(hour - self.start).ok()?;
        Some((v, self.detail[i]))
    }

    /// The first hour index covered (present or not), if any.
    pub fn first_hour(&self) -> Option<i64> {
        (!self.lifecycle.is_empty()).then_some(self.start)
    }

    /// One past the last hour index covered.
    pub fn end_hour(&self) -> i64 {
        self.start + self.lifecycle.len() as i64
    }

    /// The last hour index that has a value.
    pub fn last_present_hour(&self) -> Option<i64> {
        self.lifecycle.iter().rposition(|v| !v.is_nan()).map(|i| self.start + i as i64)
    }

    /// Number of hours that have a value.
    pub fn present_hours(&self) -> usize {
        self.present
    }

    /// The raw dense slice of life-cycle values from the first hour (`NaN` = missing).
    pub fn values(&self) -> &[f32] {
        &self.lifecycle
    }

    /// Sets an hour's value unless it already has one; see [`SetOutcome`].
    pub fn set(&mut self, hour: i64, lifecycle: f32, detail: HourDetail) -> SetOutcome {
        if self.lifecycle.is_empty() {
            self.start = hour;
        }
        let lo = self.start.min(hour);
        let hi = self.end_hour().max(hour + 1);
        if hi - lo > MAX_SERIES_SPAN_HOURS {
            return SetOutcome::OutOfSpan;
        }
        if hour < self.start {
            // Rare (files out of chronological order): shift once by the gap.
            let gap = (self.start - hour) as usize;
            self.lifecycle.splice(0..0, std::iter::repeat_n(f32::NAN, gap));
            self.detail.splice(0..0, std::iter::repeat_n(HourDetail::MISSING, gap));
            self.start = hour;
        }
        let i = (hour - self.start) as usize;
        if i >= self.lifecycle.len() {
            self.lifecycle.resize(i + 1, f32::NAN);
            self.detail.resize(i + 1, HourDetail::MISSING);
        }
        let existing = self.lifecycle[i];
        if existing.is_nan() {
            self.lifecycle[i] = lifecycle;
            self.detail[i] = detail;
            self.present += 1;
            SetOutcome::Inserted
        } else if (existing - lifecycle).abs() <= 1e-3 {
            SetOutcome::Unchanged
        } else {
            SetOutcome::Conflict(existing)
        }
    }

    /// Mean life-cycle intensity over `hours` hours from `hour`, counting only present hours;
    /// `None` when none is present.
    pub fn mean_over(&self, hour: i64, hours: u32) -> Option<f64> {
        let (mut sum, mut n) = (0.0f64, 0u32);
        for h in hour..hour + i64::from(hours.max(1)) {
            if let Some(v) = self.at(h) {
                sum += widen(v);
                n += 1;
            }
        }
        (n > 0).then(|| sum / f64::from(n))
    }
}

/// Hourly series for every zone loaded, by zone id.
#[derive(Debug, Clone, Default)]
pub struct IntensityTable {
    zones: Vec<(String, HourlySeries)>,
    index: HashMap<String, usize>,
}

impl IntensityTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The series of a zone.
    pub fn series(&self, zone: &str) -> Option<&HourlySeries> {
        self.index.get(zone).map(|&i| &self.zones[i].1)
    }

    /// The position of a zone's series, stable for the table's life (see [`IntensityTable::series_at`]).
    pub fn zone_index(&self, zone: &str) -> Option<usize> {
        self.index.get(zone).copied()
    }

    /// The series at a position returned by [`IntensityTable::zone_index`].
    ///
    /// # Panics
    /// When `index` did not come from this table.
    pub fn series_at(&self, index: usize) -> &HourlySeries {
        &self.zones[index].1
    }

    /// The series of a zone, created empty when absent.
    pub fn series_mut(&mut self, zone: &str) -> &mut HourlySeries {
        let i = match self.index.get(zone) {
            Some(&i) => i,
            None => {
                self.zones.push((zone.to_owned(), HourlySeries::new()));
                self.index.insert(zone.to_owned(), self.zones.len() - 1);
                self.zones.len() - 1
            }
        };
        &mut self.zones[i].1
    }

    /// Zones and their series, in load order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &HourlySeries)> {
        self.zones.iter().map(|(z, s)| (z.as_str(), s))
    }

    /// Gives up the zones and their series, in load order.
    pub fn into_zones(self) -> impl Iterator<Item = (String, HourlySeries)> {
        self.zones.into_iter()
    }

    /// Total hours with a value, over all zones.
    pub fn present_hours(&self) -> usize {
        self.zones.iter().map(|(_, s)| s.present_hours()).sum()
    }

    /// Inserts a record; see [`SetOutcome`].
    pub fn insert(&mut self, record: &CarbonIntensityHour) -> SetOutcome {
        let detail = HourDetail {
            direct: record.direct_g_per_kwh.map_or(f32::NAN, |v| v as f32),
            low_carbon_pct: record.low_carbon_pct.map_or(f32::NAN, |v| v as f32),
            renewable_pct: record.renewable_pct.map_or(f32::NAN, |v| v as f32),
            estimated: record.estimated,
            source: record.source,
        };
        self.series_mut(&record.zone).set(hour_index(record.hour), record.lifecycle_g_per_kwh as f32, detail)
    }

    /// The records of a zone for hours in `[from, to)`, in time order.
    pub fn records(
        &self,
        zone: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Iterator<Item = CarbonIntensityHour> + '_ {
        let series = self.series(zone);
        let (lo, hi) = (hour_index(from), hour_index(to));
        let zone = zone.to_owned();
        series.into_iter().flat_map(move |s| {
            let zone = zone.clone();
            (lo.max(s.start)..hi.min(s.end_hour())).filter_map(move |h| {
                let (v, d) = s.point(h)?;
                let opt = |x: f32| (!x.is_nan()).then_some(widen(x));
                Some(CarbonIntensityHour {
                    zone: zone.clone(),
                    hour: hour_start(h),
                    lifecycle_g_per_kwh: widen(v),
                    direct_g_per_kwh: opt(d.direct),
                    low_carbon_pct: opt(d.low_carbon_pct),
                    renewable_pct: opt(d.renewable_pct),
                    estimated: d.estimated,
                    source: d.source,
                })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: HourDetail = HourDetail::MISSING;

    #[test]
    fn set_grows_both_ways_and_detects_conflicts() {
        let mut s = HourlySeries::new();
        assert_eq!(s.set(100, 10.0, D), SetOutcome::Inserted);
        assert_eq!(s.set(103, 13.0, D), SetOutcome::Inserted);
        assert_eq!(s.set(98, 8.0, D), SetOutcome::Inserted);
        assert_eq!(s.at(98), Some(8.0));
        assert_eq!(s.at(99), None);
        assert_eq!(s.at(100), Some(10.0));
        assert_eq!(s.at(103), Some(13.0));
        assert_eq!(s.at(104), None);
        assert_eq!(s.at(i64::MIN), None);
        assert_eq!(s.set(100, 10.0, D), SetOutcome::Unchanged);
        assert_eq!(s.set(100, 11.0, D), SetOutcome::Conflict(10.0));
        assert_eq!(s.present_hours(), 3);
        assert_eq!(s.set(100 + MAX_SERIES_SPAN_HOURS, 1.0, D), SetOutcome::OutOfSpan);
    }

    #[test]
    fn mean_over_skips_gaps() {
        let mut s = HourlySeries::new();
        s.set(0, 10.0, D);
        s.set(2, 30.0, D);
        assert_eq!(s.mean_over(0, 3), Some(20.0));
        assert_eq!(s.mean_over(5, 3), None);
    }

    #[test]
    fn records_round_trip_through_the_table() {
        let t = Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap();
        let rec = CarbonIntensityHour {
            zone: "FR".into(),
            hour: t,
            lifecycle_g_per_kwh: 56.5,
            direct_g_per_kwh: Some(35.25),
            low_carbon_pct: None,
            renewable_pct: Some(40.5),
            estimated: true,
            source: CarbonSource::Csv,
        };
        let mut table = IntensityTable::new();
        assert_eq!(table.insert(&rec), SetOutcome::Inserted);
        let out: Vec<_> = table.records("FR", t, t + chrono::Duration::hours(5)).collect();
        assert_eq!(out, vec![rec]);
        assert_eq!(table.records("DE", t, t).count(), 0);
    }
}
