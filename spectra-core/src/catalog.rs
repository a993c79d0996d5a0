//! The validated set of regions SPECTRA knows about.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::{Error, Location, Region, RegionCode, Result};

/// Intensities above this are not real grids (the dirtiest, lignite, is about 1,200 g/kWh).
pub const MAX_PLAUSIBLE_INTENSITY: f64 = 2_500.0;

/// An immutable, validated region catalog with O(1) lookup by code.
///
/// ```
/// use spectra_core::{Catalog, Provider, Region, RegionCode};
/// let region = Region {
///     code: RegionCode::new("aws-eu-west-3"),
///     display_name: "Paris (France)".into(),
///     provider: Provider::Aws,
///     cloud_region: "eu-west-3".into(),
///     zone: "FR".into(),
///     baseline_latency_ms: 80.0,
///     annual_intensity_g_per_kwh: 99.4,
///     pue: 1.135,
///     price_factor: 1.16,
///     csv_keywords: vec!["FR_".into()],
/// };
/// let catalog = Catalog::new(vec![region], "regions.toml").unwrap();
/// assert_eq!(catalog.get("aws-eu-west-3").unwrap().zone, "FR");
/// ```
#[derive(Debug, Clone)]
pub struct Catalog {
    regions: Vec<Region>,
    by_code: HashMap<RegionCode, usize>,
    /// Each region's position in code order: ranking breaks ties on an integer, not a string.
    code_rank: Vec<u32>,
}

impl Catalog {
    /// Validates `regions` (read from `origin`, named in errors) and builds the catalog.
    ///
    /// Every region needs a unique non-empty code, a zone, a cloud region name, a finite latency
    /// `>= 0`, an annual intensity in `(0, 2500]` g/kWh, a PUE in `[1, 3]` and a price factor `> 0`.
    pub fn new(regions: Vec<Region>, origin: impl Into<PathBuf>) -> Result<Self> {
        let origin = origin.into();
        let mut by_code = HashMap::with_capacity(regions.len());
        if regions.is_empty() {
            return Err(Error::invalid(Location::file(&origin), "the catalog has no region"));
        }
        for (i, region) in regions.iter().enumerate() {
            let at = |field: &str| Location::file(&origin).column(format!("region[{i}].{field}"));
            let text_fields = [
                ("code", region.code.as_str()),
                ("display_name", &region.display_name),
                ("cloud_region", &region.cloud_region),
                ("zone", &region.zone),
            ];
            for (field, value) in text_fields {
                if value.trim().is_empty() {
                    return Err(Error::invalid(at(field), "must not be empty"));
                }
            }
            let ranges = [
                ("baseline_latency_ms", region.baseline_latency_ms, 0.0, 10_000.0),
                (
                    "annual_intensity_g_per_kwh",
                    region.annual_intensity_g_per_kwh,
                    f64::MIN_POSITIVE,
                    MAX_PLAUSIBLE_INTENSITY,
                ),
                ("pue", region.pue, 1.0, 3.0),
                ("price_factor", region.price_factor, f64::MIN_POSITIVE, 100.0),
            ];
            for (field, value, min, max) in ranges {
                if !(value.is_finite() && value >= min && value <= max) {
                    return Err(Error::invalid(
                        at(field),
                        format!("{value} is out of range [{min}, {max}] for region {}", region.code),
                    ));
                }
            }
            if by_code.insert(region.code.clone(), i).is_some() {
                return Err(Error::invalid(at("code"), format!("duplicate region code {}", region.code)));
            }
        }
        let mut by_name: Vec<usize> = (0..regions.len()).collect();
        by_name.sort_unstable_by(|&a, &b| regions[a].code.cmp(&regions[b].code));
        let mut code_rank = vec![0u32; regions.len()];
        for (rank, &i) in by_name.iter().enumerate() {
            code_rank[i] = rank as u32;
        }
        Ok(Self { regions, by_code, code_rank })
    }

    /// All regions, in catalog order.
    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// The position of region `index`'s code in code order (0 = first alphabetically).
    #[inline]
    pub fn code_rank(&self, index: usize) -> u32 {
        self.code_rank[index]
    }

    /// Number of regions.
    pub fn len(&self) -> usize {
        self.regions.len()
    }

    /// Whether the catalog is empty (never true for a validated catalog).
    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
    }

    /// The index of a region code in [`Catalog::regions`].
    pub fn index_of(&self, code: &str) -> Option<usize> {
        self.by_code.get(code).copied()
    }

    /// A region by code.
    pub fn get(&self, code: &str) -> Option<&Region> {
        self.index_of(code).map(|i| &self.regions[i])
    }

    /// A region by code, or [`Error::NotFound`].
    pub fn require(&self, code: &str) -> Result<&Region> {
        self.get(code).ok_or_else(|| Error::not_found("region", code))
    }

    /// Whether any region is fed by grid `zone`.
    pub fn has_zone(&self, zone: &str) -> bool {
        self.regions.iter().any(|r| r.zone == zone)
    }

    /// The zone whose regions list a keyword found in `file_name`, when exactly one zone matches.
    ///
    /// Keywords are matched case-sensitively as substrings; the longest match wins, so
    /// `US-MIDA-PJM_2024.csv` picks the PJM zone over a shorter keyword such as `PJM`.
    pub fn zone_for_file_name(&self, file_name: &str) -> Option<&str> {
        self.regions
            .iter()
            .flat_map(|r| r.csv_keywords.iter().map(move |k| (k, r.zone.as_str())))
            .filter(|(k, _)| !k.is_empty() && file_name.contains(k.as_str()))
            .max_by_key(|(k, _)| k.len())
            .map(|(_, zone)| zone)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Provider;

    pub(crate) fn region(code: &str, zone: &str, latency: f64, annual: f64, price: f64) -> Region {
        Region {
            code: RegionCode::new(code),
            display_name: code.to_uppercase(),
            provider: Provider::Aws,
            cloud_region: code.trim_start_matches("aws-").into(),
            zone: zone.into(),
            baseline_latency_ms: latency,
            annual_intensity_g_per_kwh: annual,
            pue: 1.135,
            price_factor: price,
            csv_keywords: vec![format!("{zone}_")],
        }
    }

    #[test]
    fn rejects_duplicates_and_out_of_range_values_naming_the_field() {
        let dup = Catalog::new(vec![region("a", "FR", 1.0, 50.0, 1.0), region("a", "DE", 1.0, 50.0, 1.0)], "r.toml");
        assert!(dup.unwrap_err().to_string().contains("region[1].code"));
        let mut bad = region("b", "FR", 1.0, 50.0, 1.0);
        bad.pue = 0.5;
        let err = Catalog::new(vec![bad], "r.toml").unwrap_err();
        assert_eq!(err.location().unwrap().column.as_deref(), Some("region[0].pue"));
        let mut blank = region("c", "FR", 1.0, 50.0, 1.0);
        blank.zone = " ".into();
        assert!(Catalog::new(vec![blank], "r.toml").unwrap_err().to_string().contains("region[0].zone"));
        assert!(Catalog::new(vec![], "r.toml").is_err());
    }

    #[test]
    fn file_name_keywords_prefer_the_longest_match() {
        let mut pjm = region("aws-us-east-1", "US-MIDA-PJM", 1.0, 400.0, 1.0);
        pjm.csv_keywords = vec!["US-MIDA-PJM".into()];
        let mut other = region("x", "XX", 1.0, 400.0, 1.0);
        other.csv_keywords = vec!["PJM".into()];
        let catalog = Catalog::new(vec![other, pjm], "r.toml").unwrap();
        assert_eq!(catalog.zone_for_file_name("US-MIDA-PJM_2024_hourly.csv"), Some("US-MIDA-PJM"));
        assert_eq!(catalog.zone_for_file_name("nothing.csv"), None);
    }
}
