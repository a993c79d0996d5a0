//! Hourly cost estimates for real EC2 instances, priced as the demo fleet prices its own: the
//! us-east-1 Linux on-demand price of the type (`data/reference/pricing`, the ec2instances.info
//! 2017 dataset, compiled in) x the region's catalog price factor, rounded to 1/100 of a cent.
//!
//! The dataset is old and lacks newer families (m5, c6i, t3...). Their base price is estimated
//! from vCPUs and memory with a least-squares fit `usd = a x vCPUs + b x GB` over the dataset's
//! us-east-1 m4, c4 and r4 types (general purpose, compute and memory optimised, so the fit sees
//! both ratios); that gives about $0.10 for 2 vCPUs and 8 GB, where AWS asks $0.096 for m5.large.
//! It is an estimate, not a bill: Cost Explorer gives the billed figure per region.

use std::collections::HashMap;
use std::sync::OnceLock;

use spectra_core::Region;

const PRICING_CSV: &str = include_str!("../../../data/reference/pricing/ec2_ondemand_linux_usd_per_hour.csv");

/// The estimated on-demand USD/hour of `instance_type` (with `vcpus` and `memory_gb`, used when
/// the type is not in the list) in `region`, from the compiled-in list.
///
/// ```
/// # let region = spectra_sources::bundled::catalog().unwrap().get("aws-us-east-1").unwrap().clone();
/// use spectra_sources::aws::pricing::hourly_usd;
/// assert_eq!(hourly_usd("m4.large", 2, 8.0, &region), 0.1 * region.price_factor);
/// ```
pub fn hourly_usd(instance_type: &str, vcpus: u32, memory_gb: f64, region: &Region) -> f64 {
    PriceList::bundled().hourly_usd(instance_type, vcpus, memory_gb, region)
}

/// The compiled-in price list.
#[derive(Debug)]
pub(crate) struct PriceList {
    /// us-east-1 USD/hour per instance type.
    base: HashMap<String, f64>,
    /// USD/hour per vCPU and per GB, for types the list lacks.
    per_vcpu: f64,
    per_gb: f64,
}

impl PriceList {
    /// The bundled list (parsed once).
    pub(crate) fn bundled() -> &'static PriceList {
        static LIST: OnceLock<PriceList> = OnceLock::new();
        LIST.get_or_init(|| PriceList::parse(PRICING_CSV))
    }

    /// Reads `instance_type,vcpus,memory_gib,physical_processor,region,linux_ondemand_usd_per_hour`
    /// rows; unreadable rows are skipped (the file is ours and checked by the tests below).
    fn parse(csv_text: &str) -> PriceList {
        let mut base = HashMap::new();
        let (mut vv, mut vm, mut mm, mut vp, mut mp) = (0.0, 0.0, 0.0, 0.0, 0.0);
        let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
        for record in reader.records().flatten() {
            if record.get(4) != Some("us-east-1") {
                continue;
            }
            let number = |i: usize| record.get(i).and_then(|v| v.trim().parse::<f64>().ok());
            let (Some(kind), Some(vcpus), Some(memory), Some(usd)) = (record.get(0), number(1), number(2), number(5))
            else {
                continue;
            };
            base.insert(kind.to_owned(), usd);
            if ["m4.", "c4.", "r4."].iter().any(|family| kind.starts_with(family)) {
                vv += vcpus * vcpus;
                vm += vcpus * memory;
                mm += memory * memory;
                vp += vcpus * usd;
                mp += memory * usd;
            }
        }
        // Normal equations of the two-parameter fit, solved by Cramer's rule.
        let det = vv * mm - vm * vm;
        let (per_vcpu, per_gb) =
            if det.abs() > f64::EPSILON { ((vp * mm - mp * vm) / det, (vv * mp - vm * vp) / det) } else { (0.05, 0.0) };
        PriceList { base, per_vcpu, per_gb }
    }

    /// The estimated on-demand USD/hour of `instance_type` (with `vcpus` and `memory_gb`) in `region`.
    pub(crate) fn hourly_usd(&self, instance_type: &str, vcpus: u32, memory_gb: f64, region: &Region) -> f64 {
        let base = self
            .base
            .get(instance_type)
            .copied()
            .unwrap_or_else(|| (self.per_vcpu * f64::from(vcpus) + self.per_gb * memory_gb).max(0.0));
        (base * region.price_factor * 10_000.0).round() / 10_000.0
    }
}

#[cfg(test)]
mod tests {
    use spectra_core::{Provider, RegionCode};

    use super::*;

    fn region(price_factor: f64) -> Region {
        Region {
            code: RegionCode::new("aws-x"),
            display_name: "x".into(),
            provider: Provider::Aws,
            cloud_region: "x".into(),
            zone: "X".into(),
            baseline_latency_ms: 1.0,
            annual_intensity_g_per_kwh: 100.0,
            pue: 1.1,
            price_factor,
            csv_keywords: vec![],
        }
    }

    #[test]
    fn listed_types_use_the_demo_fleets_prices_and_others_an_estimate() {
        let list = PriceList::bundled();
        assert!(list.base.len() > 70, "{}", list.base.len());
        // The same numbers as the demo fleet's table.
        assert_eq!(list.hourly_usd("m4.large", 2, 8.0, &region(1.0)), 0.1);
        assert_eq!(list.hourly_usd("r4.xlarge", 4, 30.5, &region(1.0)), 0.266);
        assert_eq!(list.hourly_usd("m4.large", 2, 8.0, &region(1.16)), 0.116);
        let m5 = list.hourly_usd("m5.large", 2, 8.0, &region(1.0));
        assert!((0.08..0.12).contains(&m5), "{m5}");
        let big = list.hourly_usd("m5.24xlarge", 96, 384.0, &region(1.0));
        assert!((4.0..6.0).contains(&big), "{big}");
    }
}
