//! Region ranking: where should this workload run now?
//!
//! Per candidate region at time `t`: carbon (intensity x PUE at `t`, or the mean over the next
//! hours), latency and the workload's monthly cost there. Constraints filter first; each criterion
//! is min-max normalised over the remaining candidates (0 = best, 1 = worst); the weighted sum orders
//! them; ties break on the region code, so the order is deterministic.
//!
//! The hot path allocates nothing per region beyond the result rows: signals are resolved by index
//! (see [`RegionSignals`]) and rows are normalised and sorted in place.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::series::hour_index;
use crate::{Error, IntensityBasis, Location, Provider, RegionCode, RegionSignals, Result};

/// Average hours in a month (8,760 / 12), the period of every "monthly" figure.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// Relative importance of each criterion. Any non-negative finite numbers with a positive sum;
/// they are normalised to sum to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// Weight of grid carbon intensity (x PUE).
    pub carbon: f64,
    /// Weight of latency from the vantage point.
    pub latency: f64,
    /// Weight of the workload's cost.
    pub cost: f64,
}

impl Default for Weights {
    /// Carbon first, as SPECTRA's purpose: 0.5 carbon, 0.3 latency, 0.2 cost.
    fn default() -> Self {
        Self { carbon: 0.5, latency: 0.3, cost: 0.2 }
    }
}

impl Weights {
    /// The weights scaled to sum to 1, or an error naming the bad weight.
    pub fn normalised(self) -> Result<Self> {
        for (name, w) in
            [("weights.carbon", self.carbon), ("weights.latency", self.latency), ("weights.cost", self.cost)]
        {
            if !(w.is_finite() && w >= 0.0) {
                return Err(Error::invalid(Location::field(name), format!("{w} is not a non-negative number")));
            }
        }
        let sum = self.carbon + self.latency + self.cost;
        if sum <= 0.0 {
            return Err(Error::invalid(Location::field("weights"), "at least one weight must be positive"));
        }
        Ok(Self { carbon: self.carbon / sum, latency: self.latency / sum, cost: self.cost / sum })
    }
}

/// Filters applied before ranking.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Constraints {
    /// Drop regions slower than this, ms.
    pub max_latency_ms: Option<f64>,
    /// Only these regions (empty: all).
    pub allowed_regions: Vec<RegionCode>,
    /// Only these providers (empty: all).
    pub allowed_providers: Vec<Provider>,
}

/// The size of the workload to place: what turns intensities into kgCO2e and prices into dollars.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// Number of instances.
    pub instances: u32,
    /// Average IT power per instance, watts (before PUE).
    pub watts_per_instance: f64,
    /// Hourly price per instance in the provider's reference region (us-east-1), USD.
    pub usd_per_instance_hour: f64,
}

impl Default for Workload {
    /// One m5.large at 50% CPU: 2 vCPU x (0.645 + 0.5 x (4.193 - 0.645)) W (Cloud Carbon Footprint,
    /// Skylake) + 8 GB x 0.392 W (CCF memory coefficient) = 7.97 W, at $0.096/h (us-east-1).
    fn default() -> Self {
        Self { instances: 1, watts_per_instance: 7.97, usd_per_instance_hour: 0.096 }
    }
}

/// What to rank: at which time, how to weigh, what to exclude, against which current region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankRequest {
    /// The time to rank at (usually the clock's now).
    pub at: DateTime<Utc>,
    /// Criterion weights.
    pub weights: Weights,
    /// Filters.
    pub constraints: Constraints,
    /// Where the workload runs today; savings are computed against it.
    pub current_region: Option<RegionCode>,
    /// The workload's size.
    pub workload: Workload,
    /// Carbon over this many hours from `at` (mean); 1 = the hour at `at`.
    pub horizon_hours: u32,
}

impl RankRequest {
    /// A request at `at` with default weights, no constraints, no current region, a default workload.
    pub fn at(at: DateTime<Utc>) -> Self {
        Self {
            at,
            weights: Weights::default(),
            constraints: Constraints::default(),
            current_region: None,
            workload: Workload::default(),
            horizon_hours: 1,
        }
    }

    fn validate(&self) -> Result<()> {
        let w = &self.workload;
        if w.instances == 0 {
            return Err(Error::invalid(Location::field("workload.instances"), "must be at least 1"));
        }
        if !(w.watts_per_instance.is_finite() && w.watts_per_instance > 0.0) {
            return Err(Error::invalid(Location::field("workload.watts_per_instance"), "must be a positive number"));
        }
        if !(w.usd_per_instance_hour.is_finite() && w.usd_per_instance_hour >= 0.0) {
            return Err(Error::invalid(Location::field("workload.usd_per_instance_hour"), "must be >= 0"));
        }
        if let Some(max) = self.constraints.max_latency_ms
            && !(max.is_finite() && max >= 0.0)
        {
            return Err(Error::invalid(
                Location::field("constraints.max_latency_ms"),
                format!("{max} is not a latency"),
            ));
        }
        if self.horizon_hours == 0 || self.horizon_hours > 24 * 366 {
            return Err(Error::invalid(Location::field("horizon_hours"), "must be between 1 and 8784"));
        }
        Ok(())
    }
}

/// Carbon and cost saved per month by running in a row's region instead of the current one.
/// Negative values mean the row's region is worse.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Saving {
    /// kgCO2e saved per month.
    pub kg_co2e_per_month: f64,
    /// The same as a percentage of the current region's emissions.
    pub carbon_pct: f64,
    /// USD saved per month.
    pub usd_per_month: f64,
}

/// What SPECTRA advises for a row, with the facts behind the advice. `Display` gives the reason.
#[derive(Debug, Clone, PartialEq)]
pub enum Recommendation {
    /// Ranked first; no current region was given.
    Best,
    /// Ranked first and better overall than the current region: move here.
    Migrate {
        /// The current region.
        from: RegionCode,
        /// Carbon saved versus the current region, percent.
        carbon_saving_pct: f64,
    },
    /// The current region ranks first: stay.
    Stay,
    /// The current region, not ranked first.
    Current {
        /// The region ranked first.
        best: RegionCode,
    },
    /// Any other candidate.
    Alternative {
        /// Its weighted score minus the best score (0 = as good as the best).
        score_gap: f64,
    },
}

impl Recommendation {
    /// A one-word action: `best`, `migrate`, `stay`, `current` or `alternative`.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Best => "best",
            Self::Migrate { .. } => "migrate",
            Self::Stay => "stay",
            Self::Current { .. } => "current",
            Self::Alternative { .. } => "alternative",
        }
    }
}

impl fmt::Display for Recommendation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Best => write!(f, "lowest weighted score of all candidates"),
            Self::Migrate { from, carbon_saving_pct } if *carbon_saving_pct >= 0.0 => {
                write!(f, "best overall; {carbon_saving_pct:.1}% less carbon than {from}")
            }
            Self::Migrate { from, carbon_saving_pct } => {
                write!(f, "best overall on latency and cost, though {:.1}% more carbon than {from}", -carbon_saving_pct)
            }
            Self::Stay => write!(f, "current region already ranks first"),
            Self::Current { best } => write!(f, "current region; {best} ranks first"),
            Self::Alternative { score_gap } => write!(f, "score {score_gap:.3} behind the best"),
        }
    }
}

impl Serialize for Recommendation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Recommendation", 2)?;
        s.serialize_field("action", self.action())?;
        s.serialize_field("reason", &self.to_string())?;
        s.end()
    }
}

/// One ranked region: raw and normalised components, monthly figures, saving and advice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankedRegion {
    /// 1-based rank.
    pub rank: u32,
    /// The region.
    pub region: RegionCode,
    /// Its provider.
    pub provider: Provider,
    /// Grid life-cycle intensity used, gCO2e/kWh.
    pub intensity_g_per_kwh: f64,
    /// Where that intensity came from (hourly, estimated, or annual fallback).
    pub intensity_basis: IntensityBasis,
    /// The region's PUE.
    pub pue: f64,
    /// Latency from the vantage region, ms.
    pub latency_ms: f64,
    /// The workload's cost here, USD per month.
    pub cost_usd_per_month: f64,
    /// The workload's operational emissions here, kgCO2e per month.
    pub kg_co2e_per_month: f64,
    /// Carbon criterion normalised over the candidates (0 best, 1 worst).
    pub carbon_norm: f64,
    /// Latency criterion normalised (0 best, 1 worst).
    pub latency_norm: f64,
    /// Cost criterion normalised (0 best, 1 worst).
    pub cost_norm: f64,
    /// Weighted score (lower is better).
    pub score: f64,
    /// Saving versus the current region, when one was given.
    pub saving: Option<Saving>,
    /// Advice and reason.
    pub recommendation: Recommendation,
}

/// The result of [`rank_regions`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranking {
    /// The time ranked at.
    pub at: DateTime<Utc>,
    /// The normalised weights used.
    pub weights: Weights,
    /// Regions removed by the constraints.
    pub excluded: usize,
    /// The current region's own figures, when one was given (even if the constraints exclude it).
    pub current: Option<CurrentFigures>,
    /// Candidates, best first.
    pub rows: Vec<RankedRegion>,
}

/// The current region's monthly figures, the baseline of every saving.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurrentFigures {
    /// The current region.
    pub region: RegionCode,
    /// Its emissions for the workload, kgCO2e per month.
    pub kg_co2e_per_month: f64,
    /// Its cost for the workload, USD per month.
    pub cost_usd_per_month: f64,
}

/// A candidate region during ranking.
struct Candidate {
    index: usize,
    /// kg CO2e per month, latency ms, USD per month.
    raw: [f64; 3],
    g: f64,
    basis: IntensityBasis,
    norm: [f64; 3],
    score: f64,
}

/// Raw figures of region `i` for the request: intensity, basis, monthly kg and monthly USD.
#[inline]
fn figures(signals: &RegionSignals, i: usize, hour: i64, req: &RankRequest) -> (f64, IntensityBasis, f64, f64) {
    let region = &signals.catalog().regions()[i];
    let (g, basis) = signals.intensity(i, hour, req.horizon_hours);
    let w = &req.workload;
    let instances = f64::from(w.instances);
    let kwh_per_month = instances * w.watts_per_instance / 1_000.0 * region.pue * HOURS_PER_MONTH;
    let kg = kwh_per_month * g / 1_000.0;
    let usd = instances * w.usd_per_instance_hour * region.price_factor * HOURS_PER_MONTH;
    (g, basis, kg, usd)
}

/// Ranks the catalog's regions for `req`. See the module documentation for the method.
///
/// Errors: invalid weights, workload, latency limit or horizon ([`Error::InvalidInput`] naming the
/// field); an unknown current or allowed region ([`Error::NotFound`]).
pub fn rank_regions(signals: &RegionSignals, req: &RankRequest) -> Result<Ranking> {
    req.validate()?;
    let weights = req.weights.normalised()?;
    let catalog = signals.catalog();
    for code in &req.constraints.allowed_regions {
        catalog.require(code.as_str())?;
    }
    let hour = hour_index(req.at);
    let current = match &req.current_region {
        Some(code) => {
            let i = catalog.index_of(code.as_str()).ok_or_else(|| Error::not_found("region", code.as_str()))?;
            let (_, _, kg, usd) = figures(signals, i, hour, req);
            Some(CurrentFigures { region: code.clone(), kg_co2e_per_month: kg, cost_usd_per_month: usd })
        }
        None => None,
    };

    // Pass 1 over compact candidates (no strings, no clones): filter, figures, min and max.
    let c = &req.constraints;
    let mut candidates: Vec<Candidate> = Vec::with_capacity(catalog.len());
    let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for (i, region) in catalog.regions().iter().enumerate() {
        let latency = signals.latency_ms(i);
        let allowed = c.max_latency_ms.is_none_or(|max| latency <= max)
            && (c.allowed_providers.is_empty() || c.allowed_providers.contains(&region.provider))
            && (c.allowed_regions.is_empty() || c.allowed_regions.contains(&region.code));
        if !allowed {
            continue;
        }
        let (g, basis, kg, usd) = figures(signals, i, hour, req);
        let raw = [kg, latency, usd];
        for k in 0..3 {
            lo[k] = lo[k].min(raw[k]);
            hi[k] = hi[k].max(raw[k]);
        }
        candidates.push(Candidate { index: i, raw, g, basis, norm: [0.0; 3], score: 0.0 });
    }
    // Pass 2: normalise and score, then order the compact candidates (cheap to move).
    for cand in &mut candidates {
        for k in 0..3 {
            cand.norm[k] = if hi[k] - lo[k] > 1e-12 { (cand.raw[k] - lo[k]) / (hi[k] - lo[k]) } else { 0.0 };
        }
        // `+ 0.0` turns a -0.0 (from a weight given as -0.0) into +0.0, whose bits order first.
        cand.score = weights.carbon * cand.norm[0] + weights.latency * cand.norm[1] + weights.cost * cand.norm[2] + 0.0;
    }
    // Order small integer keys rather than the candidates: scores are in [0, 1], where the bits of
    // a non-negative f64 order as the number does; ties break on the code's rank in code order.
    let regions = catalog.regions();
    let mut order: Vec<(u64, u32, u32)> =
        candidates.iter().enumerate().map(|(k, c)| (c.score.to_bits(), catalog.code_rank(c.index), k as u32)).collect();
    order.sort_unstable();
    // Pass 3: the result rows, built once, in order.
    let mut rows = Vec::with_capacity(candidates.len());
    for &(_, _, k) in &order {
        let cand = &candidates[k as usize];
        let region = &regions[cand.index];
        let [kg, latency, usd] = cand.raw;
        let saving = current.as_ref().map(|cur| Saving {
            kg_co2e_per_month: cur.kg_co2e_per_month - kg,
            carbon_pct: if cur.kg_co2e_per_month > 0.0 {
                (cur.kg_co2e_per_month - kg) / cur.kg_co2e_per_month * 100.0
            } else {
                0.0
            },
            usd_per_month: cur.cost_usd_per_month - usd,
        });
        rows.push(RankedRegion {
            rank: rows.len() as u32 + 1,
            region: region.code.clone(),
            provider: region.provider,
            intensity_g_per_kwh: cand.g,
            intensity_basis: cand.basis,
            pue: region.pue,
            latency_ms: latency,
            cost_usd_per_month: usd,
            kg_co2e_per_month: kg,
            carbon_norm: cand.norm[0],
            latency_norm: cand.norm[1],
            cost_norm: cand.norm[2],
            score: cand.score,
            saving,
            recommendation: Recommendation::Best,
        });
    }
    let excluded = catalog.len() - rows.len();
    recommend(&mut rows, req.current_region.as_ref());
    Ok(Ranking { at: req.at, weights, excluded, current, rows })
}

fn recommend(rows: &mut [RankedRegion], current: Option<&RegionCode>) {
    let Some((best_score, best_code)) = rows.first().map(|r| (r.score, r.region.clone())) else {
        return;
    };
    for (i, row) in rows.iter_mut().enumerate() {
        let is_current = current == Some(&row.region);
        row.recommendation = match (i, current) {
            (0, None) => Recommendation::Best,
            (0, Some(_)) if is_current => Recommendation::Stay,
            (0, Some(from)) => Recommendation::Migrate {
                from: from.clone(),
                carbon_saving_pct: row.saving.map_or(0.0, |s| s.carbon_pct),
            },
            _ if is_current => Recommendation::Current { best: best_code.clone() },
            _ => Recommendation::Alternative { score_gap: row.score - best_score },
        };
    }
}

impl Ranking {
    /// The row of a region, if it was a candidate.
    pub fn row(&self, code: &str) -> Option<&RankedRegion> {
        self.rows.iter().find(|r| r.region.as_str() == code)
    }
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

    /// Three regions: clean-but-far FR, dirty-but-near DE, and no-hourly-data IE (annual 400).
    fn signals() -> RegionSignals {
        let mut fr = region("fr", "FR", 90.0, 60.0, 1.2);
        fr.provider = Provider::Gcp;
        let catalog =
            Catalog::new(vec![region("de", "DE", 10.0, 400.0, 1.0), fr, region("ie", "IE", 20.0, 400.0, 1.1)], "t")
                .unwrap();
        let mut table = IntensityTable::new();
        let h = hour_index(t0());
        let d = HourDetail::unknown(crate::CarbonSource::Csv);
        for k in 0..3 {
            table.series_mut("DE").set(h + k, 300.0 + 100.0 * k as f32, d);
            table.series_mut("FR").set(h + k, 50.0, HourDetail { estimated: true, ..d });
        }
        RegionSignals::new(Arc::new(catalog), table)
    }

    #[test]
    fn carbon_only_ranks_by_emissions_with_hand_computed_figures() {
        let mut req = RankRequest::at(t0());
        req.weights = Weights { carbon: 1.0, latency: 0.0, cost: 0.0 };
        req.workload = Workload { instances: 10, watts_per_instance: 100.0, usd_per_instance_hour: 0.1 };
        let r = rank_regions(&signals(), &req).unwrap();
        let order: Vec<_> = r.rows.iter().map(|r| r.region.as_str()).collect();
        assert_eq!(order, ["fr", "de", "ie"]);
        // 10 x 0.1 kW x 1.135 PUE x 730 h = 828.55 kWh/month; x 50 g/kWh = 41.4275 kg.
        let fr = r.row("fr").unwrap();
        assert!((fr.kg_co2e_per_month - 41.4275).abs() < 1e-9, "{}", fr.kg_co2e_per_month);
        // 10 x $0.1 x 1.2 x 730 h = $876.
        assert!((fr.cost_usd_per_month - 876.0).abs() < 1e-9);
        assert_eq!(fr.intensity_basis, IntensityBasis::HourlyEstimated);
        assert_eq!((fr.carbon_norm, r.row("ie").unwrap().carbon_norm), (0.0, 1.0));
        let de = r.row("de").unwrap();
        assert_eq!((de.intensity_g_per_kwh, de.intensity_basis), (300.0, IntensityBasis::Hourly));
        let ie = r.row("ie").unwrap();
        assert_eq!((ie.intensity_g_per_kwh, ie.intensity_basis), (400.0, IntensityBasis::AnnualFallback));
        assert_eq!(r.rows.iter().map(|r| r.rank).collect::<Vec<_>>(), [1, 2, 3]);
    }

    #[test]
    fn missing_hour_falls_back_to_annual_and_horizon_uses_the_mean() {
        let s = signals();
        let mut req = RankRequest::at(t0() + chrono::Duration::hours(10));
        let r = rank_regions(&s, &req).unwrap();
        assert_eq!(r.row("de").unwrap().intensity_basis, IntensityBasis::AnnualFallback);
        req.at = t0();
        req.horizon_hours = 3;
        let r = rank_regions(&s, &req).unwrap();
        assert_eq!(r.row("de").unwrap().intensity_g_per_kwh, 400.0); // mean of 300, 400, 500
    }

    #[test]
    fn latency_and_cost_weights_change_the_order() {
        let mut req = RankRequest::at(t0());
        req.weights = Weights { carbon: 0.0, latency: 1.0, cost: 0.0 };
        let r = rank_regions(&signals(), &req).unwrap();
        assert_eq!(r.rows[0].region.as_str(), "de");
        assert_eq!(r.rows[0].latency_norm, 0.0);
        assert_eq!(r.row("fr").unwrap().latency_norm, 1.0);
        req.weights = Weights { carbon: 0.0, latency: 0.0, cost: 3.0 };
        let r = rank_regions(&signals(), &req).unwrap();
        assert_eq!(r.rows[0].region.as_str(), "de");
        assert_eq!(r.weights.cost, 1.0, "weights are normalised");
    }

    #[test]
    fn ties_break_on_region_code_whatever_the_catalog_order() {
        let catalog = Catalog::new(
            vec![
                region("zz", "X", 5.0, 100.0, 1.0),
                region("aa", "X", 5.0, 100.0, 1.0),
                region("mm", "X", 5.0, 100.0, 1.0),
            ],
            "t",
        )
        .unwrap();
        let s = RegionSignals::new(Arc::new(catalog), IntensityTable::new());
        let r = rank_regions(&s, &RankRequest::at(t0())).unwrap();
        let order: Vec<_> = r.rows.iter().map(|r| r.region.as_str()).collect();
        assert_eq!(order, ["aa", "mm", "zz"]);
        assert!(r.rows.iter().all(|r| r.score == 0.0));
    }

    #[test]
    fn constraints_filter_before_normalising() {
        let s = signals();
        let mut req = RankRequest::at(t0());
        req.constraints.max_latency_ms = Some(50.0);
        let r = rank_regions(&s, &req).unwrap();
        assert_eq!((r.rows.len(), r.excluded), (2, 1));
        assert!(r.row("fr").is_none());
        req.constraints = Constraints { allowed_providers: vec![Provider::Gcp], ..Constraints::default() };
        assert_eq!(rank_regions(&s, &req).unwrap().rows.len(), 1);
        req.constraints = Constraints { allowed_regions: vec!["ie".into(), "de".into()], ..Constraints::default() };
        let r = rank_regions(&s, &req).unwrap();
        assert_eq!(r.rows.len(), 2);
        req.constraints.allowed_regions.push("nowhere".into());
        assert!(matches!(rank_regions(&s, &req), Err(Error::NotFound { kind: "region", .. })));
    }

    #[test]
    fn savings_and_recommendations_against_the_current_region() {
        let s = signals();
        let mut req = RankRequest::at(t0());
        req.weights = Weights { carbon: 1.0, latency: 0.0, cost: 0.0 };
        req.current_region = Some("de".into());
        let r = rank_regions(&s, &req).unwrap();
        let fr = r.row("fr").unwrap();
        let saving = fr.saving.unwrap();
        assert!((saving.carbon_pct - (300.0 - 50.0) / 300.0 * 100.0).abs() < 1e-9);
        assert_eq!(
            fr.recommendation,
            Recommendation::Migrate { from: "de".into(), carbon_saving_pct: saving.carbon_pct }
        );
        assert_eq!(fr.recommendation.to_string(), "best overall; 83.3% less carbon than de");
        assert_eq!(r.row("de").unwrap().recommendation, Recommendation::Current { best: "fr".into() });
        assert_eq!(r.row("de").unwrap().saving.unwrap().kg_co2e_per_month, 0.0);
        assert!(matches!(r.row("ie").unwrap().recommendation, Recommendation::Alternative { .. }));
        req.current_region = Some("fr".into());
        assert_eq!(rank_regions(&s, &req).unwrap().rows[0].recommendation, Recommendation::Stay);
        req.current_region = Some("mars".into());
        assert!(matches!(rank_regions(&s, &req), Err(Error::NotFound { .. })));
        let json = serde_json::to_value(&rank_regions(&s, &RankRequest::at(t0())).unwrap().rows[0]).unwrap();
        assert_eq!(json["recommendation"]["action"], "best");
    }

    #[test]
    fn bad_requests_name_the_field() {
        let s = signals();
        type Mutation = fn(&mut RankRequest);
        let cases: [(Mutation, &str); 5] = [
            (|r| r.weights.carbon = -1.0, "weights.carbon"),
            (|r| r.weights = Weights { carbon: 0.0, latency: 0.0, cost: 0.0 }, "weights"),
            (|r| r.workload.instances = 0, "workload.instances"),
            (|r| r.constraints.max_latency_ms = Some(f64::NAN), "constraints.max_latency_ms"),
            (|r| r.horizon_hours = 0, "horizon_hours"),
        ];
        for (mutate, field) in cases {
            let mut req = RankRequest::at(t0());
            mutate(&mut req);
            let err = rank_regions(&s, &req).unwrap_err();
            assert_eq!(err.location().and_then(|l| l.column.as_deref()), Some(field), "{err}");
        }
    }

    #[test]
    fn empty_candidate_set_is_an_empty_ranking() {
        let mut req = RankRequest::at(t0());
        req.constraints.max_latency_ms = Some(1.0);
        let r = rank_regions(&signals(), &req).unwrap();
        assert!(r.rows.is_empty());
        assert_eq!(r.excluded, 3);
    }
}
