//! Instance power and embodied carbon, after the Cloud Carbon Footprint (CCF) methodology.
//!
//! Average watts = vCPUs x (min + utilisation x (max - min)) + memory GB x 0.392 W, with the min and
//! max watts per vCPU of the instance type's processor microarchitecture (CCF's
//! `coefficients-aws-use.csv`), or CCF's AWS averages (0.74 W and 3.5 W) when the type or its
//! architecture is unknown. Utilisation unknown -> 50%. Energy x PUE x grid intensity gives
//! operational emissions. The optional embodied share of an instance-hour is the type's total
//! embodied kgCO2e x 1 / 35,040 (a four-year life in hours) x the instance's share of the
//! platform's vCPUs.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{Error, Location, Result};

/// CCF: average minimum watts per vCPU over AWS microarchitectures.
pub const AWS_AVERAGE_MIN_WATTS_PER_VCPU: f64 = 0.74;
/// CCF: average maximum watts per vCPU over AWS microarchitectures.
pub const AWS_AVERAGE_MAX_WATTS_PER_VCPU: f64 = 3.5;
/// CCF: memory power, watts per GB (0.000392 kWh per GB-hour).
pub const MEMORY_WATTS_PER_GB: f64 = 0.392;
/// CCF: utilisation assumed when none is known, percent.
pub const DEFAULT_CPU_PCT: f64 = 50.0;
/// CCF: hours over which embodied emissions are spread (four years).
pub const EMBODIED_LIFETIME_HOURS: f64 = 35_040.0;

/// Min and max watts per vCPU of a processor microarchitecture.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Coefficients {
    /// Watts per vCPU at idle.
    pub min_watts_per_vcpu: f64,
    /// Watts per vCPU at 100%.
    pub max_watts_per_vcpu: f64,
}

impl Coefficients {
    /// CCF's AWS averages, for unknown architectures.
    pub const AWS_AVERAGE: Self =
        Self { min_watts_per_vcpu: AWS_AVERAGE_MIN_WATTS_PER_VCPU, max_watts_per_vcpu: AWS_AVERAGE_MAX_WATTS_PER_VCPU };
}

/// What the power model knows about an instance type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceType {
    /// e.g. `m4.large`.
    pub name: String,
    /// vCPUs of the instance.
    pub vcpus: u32,
    /// vCPUs of the whole host platform.
    pub platform_vcpus: u32,
    /// Memory, GB.
    pub memory_gb: f64,
    /// Microarchitecture, e.g. `Broadwell` (a key of the coefficients).
    pub architecture: String,
    /// Total embodied emissions of the host, kgCO2e, when known.
    pub embodied_kg_co2e: Option<f64>,
}

/// The power model: coefficients per architecture and the known instance types.
///
/// ```
/// use spectra_core::power::PowerModel;
/// // Unknown type: CCF's AWS averages. 2 vCPU, 8 GB at 50%: 2 x (0.74 + 0.5 x 2.76) + 8 x 0.392 W.
/// let w = PowerModel::aws_average().average_watts("x1.unknown", 2, 8.0, Some(50.0));
/// assert!((w - 7.376).abs() < 1e-9);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PowerModel {
    architectures: HashMap<String, Coefficients>,
    types: HashMap<String, InstanceType>,
}

impl PowerModel {
    /// A model with no type knowledge: every instance gets CCF's AWS averages.
    pub fn aws_average() -> Self {
        Self { architectures: HashMap::new(), types: HashMap::new() }
    }

    /// A model from coefficients per architecture and instance types. Every type's architecture
    /// must have coefficients; coefficients must satisfy `0 <= min <= max`.
    pub fn new(architectures: HashMap<String, Coefficients>, types: Vec<InstanceType>) -> Result<Self> {
        for (name, c) in &architectures {
            if !(c.min_watts_per_vcpu.is_finite()
                && c.min_watts_per_vcpu >= 0.0
                && c.max_watts_per_vcpu >= c.min_watts_per_vcpu)
            {
                return Err(Error::invalid(Location::field(format!("coefficients.{name}")), "needs 0 <= min <= max"));
            }
        }
        let mut by_name = HashMap::with_capacity(types.len());
        for t in types {
            if !architectures.contains_key(&t.architecture) {
                return Err(Error::invalid(
                    Location::field(format!("instance_types.{}.architecture", t.name)),
                    format!("no coefficients for architecture {:?}", t.architecture),
                ));
            }
            by_name.insert(t.name.clone(), t);
        }
        Ok(Self { architectures, types: by_name })
    }

    /// The instance type, when known.
    pub fn instance_type(&self, name: &str) -> Option<&InstanceType> {
        self.types.get(name)
    }

    /// The coefficients used for an instance type (the averages when unknown).
    pub fn coefficients(&self, instance_type: &str) -> Coefficients {
        self.types
            .get(instance_type)
            .and_then(|t| self.architectures.get(&t.architecture))
            .copied()
            .unwrap_or(Coefficients::AWS_AVERAGE)
    }

    /// Average IT power, watts (before PUE), of an instance of `instance_type` with `vcpus` and
    /// `memory_gb` at `cpu_pct` (50% when unknown).
    pub fn average_watts(&self, instance_type: &str, vcpus: u32, memory_gb: f64, cpu_pct: Option<f64>) -> f64 {
        let c = self.coefficients(instance_type);
        let u = cpu_pct.unwrap_or(DEFAULT_CPU_PCT).clamp(0.0, 100.0) / 100.0;
        f64::from(vcpus) * (c.min_watts_per_vcpu + u * (c.max_watts_per_vcpu - c.min_watts_per_vcpu))
            + memory_gb.max(0.0) * MEMORY_WATTS_PER_GB
    }

    /// Embodied emissions attributed to one hour of an instance of this type, gCO2e, when the
    /// type's embodied figure is known.
    pub fn embodied_g_per_hour(&self, instance_type: &str) -> Option<f64> {
        let t = self.types.get(instance_type)?;
        let share = f64::from(t.vcpus) / f64::from(t.platform_vcpus.max(t.vcpus).max(1));
        Some(t.embodied_kg_co2e? * 1_000.0 / EMBODIED_LIFETIME_HOURS * share)
    }
}

/// The CCF microarchitecture of a processor named as in `aws-instances.csv` ("Xeon E5-2686 v4",
/// "EPYC 7571", "Graviton2"...). Unrecognised names give `None` (the averages then apply).
/// Ice Lake (Xeon 83xx), which CCF's AWS coefficients lack, maps to Cascade Lake, its nearest.
pub fn architecture_of_cpu(cpu: &str) -> Option<&'static str> {
    let cpu = cpu.trim();
    if cpu.starts_with("Graviton2") {
        return Some("Graviton2");
    }
    if cpu.starts_with("Graviton") {
        return Some("Graviton");
    }
    if let Some(model) = cpu.strip_prefix("EPYC ") {
        return Some(if model.ends_with('1') { "EPYC 1st Gen" } else { "EPYC 2nd Gen" });
    }
    if cpu.starts_with("Core i7-8") || cpu.starts_with("Xeon E-21") {
        return Some("Coffee Lake");
    }
    if let Some(model) = cpu.strip_prefix("Xeon Platinum ") {
        return match model.get(..2) {
            Some("81") => Some("Sky Lake"),
            Some("82") | Some("83") => Some("Cascade Lake"),
            _ => None,
        };
    }
    if cpu.starts_with("Xeon E5-") || cpu.starts_with("Xeon E7-") {
        return Some(match cpu.rsplit_once(" v") {
            Some((_, "2")) => "Ivy Bridge",
            Some((_, "3")) => "Haswell",
            Some((_, "4")) => "Broadwell",
            _ => "Sandy Bridge",
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> PowerModel {
        // Coefficients of data/reference/ccf/coefficients-aws-use.csv.
        let archs = HashMap::from([
            (
                "Broadwell".to_string(),
                Coefficients { min_watts_per_vcpu: 0.7128342245989304, max_watts_per_vcpu: 3.6853275401069516 },
            ),
            (
                "Graviton2".to_string(),
                Coefficients { min_watts_per_vcpu: 0.4742621527777778, max_watts_per_vcpu: 1.6929615162037037 },
            ),
            (
                "Haswell".to_string(),
                Coefficients { min_watts_per_vcpu: 1.9005681818181814, max_watts_per_vcpu: 6.012910353535353 },
            ),
        ]);
        let t = |name: &str, vcpus, platform, mem, arch: &str, embodied| InstanceType {
            name: name.into(),
            vcpus,
            platform_vcpus: platform,
            memory_gb: mem,
            architecture: arch.into(),
            embodied_kg_co2e: embodied,
        };
        PowerModel::new(
            archs,
            vec![
                t("m4.large", 2, 72, 8.0, "Broadwell", Some(1_322.21)),
                t("m6g.xlarge", 4, 64, 16.0, "Graviton2", None),
                t("c4.2xlarge", 8, 40, 15.0, "Haswell", None),
            ],
        )
        .unwrap()
    }

    #[test]
    fn hand_worked_examples_from_the_ccf_coefficients() {
        let m = model();
        // m4.large (Broadwell) at 30%: 2 x (0.712834 + 0.3 x 2.972493) + 8 x 0.392
        //   = 2 x 1.604582 + 3.136 = 6.345164 W
        let w = m.average_watts("m4.large", 2, 8.0, Some(30.0));
        assert!((w - 6.345_164_439).abs() < 1e-6, "{w}");
        // m6g.xlarge (Graviton2) at 100%: 4 x 1.69296 + 16 x 0.392 = 6.77185 + 6.272 = 13.04385 W
        let w = m.average_watts("m6g.xlarge", 4, 16.0, Some(100.0));
        assert!((w - 13.043_846_065).abs() < 1e-6, "{w}");
        // c4.2xlarge (Haswell), utilisation unknown -> 50%: 8 x (1.900568 + 0.5 x 4.112342) + 15 x 0.392
        //   = 8 x 3.956739 + 5.88 = 37.533914 W
        let w = m.average_watts("c4.2xlarge", 8, 15.0, None);
        assert!((w - 37.533_914_141).abs() < 1e-6, "{w}");
        // Idle m4.large: 2 x 0.71283 + 3.136 = 4.56167 W
        assert!((m.average_watts("m4.large", 2, 8.0, Some(0.0)) - 4.561_668_449).abs() < 1e-6);
    }

    #[test]
    fn embodied_share_of_an_hour() {
        // m4.large: 1,322.21 kg x 1000 / 35,040 h x 2/72 vCPUs = 1.048175 g per hour
        let g = model().embodied_g_per_hour("m4.large").unwrap();
        assert!((g - 1.048_175_101).abs() < 1e-6, "{g}");
        assert_eq!(model().embodied_g_per_hour("m6g.xlarge"), None);
        assert_eq!(model().embodied_g_per_hour("nope"), None);
    }

    #[test]
    fn unknown_types_use_the_aws_averages_and_bad_models_are_refused() {
        assert_eq!(model().coefficients("z9.huge"), Coefficients::AWS_AVERAGE);
        let bad = PowerModel::new(
            HashMap::new(),
            vec![InstanceType {
                name: "a".into(),
                vcpus: 1,
                platform_vcpus: 1,
                memory_gb: 1.0,
                architecture: "Nope".into(),
                embodied_kg_co2e: None,
            }],
        );
        assert!(bad.is_err());
    }

    #[test]
    fn cpu_names_map_to_architectures() {
        let cases = [
            ("Xeon E5-2686 v4", "Broadwell"),
            ("Xeon E5-2676 v3", "Haswell"),
            ("Xeon E7-8880 v3", "Haswell"),
            ("Xeon E5-2670 v2", "Ivy Bridge"),
            ("Xeon E5-2670", "Sandy Bridge"),
            ("Xeon Platinum 8175M", "Sky Lake"),
            ("Xeon Platinum 8259CL", "Cascade Lake"),
            ("Xeon Platinum 8375C", "Cascade Lake"),
            ("EPYC 7571", "EPYC 1st Gen"),
            ("EPYC 7R32", "EPYC 2nd Gen"),
            ("Graviton2", "Graviton2"),
            ("Graviton", "Graviton"),
            ("Core i7-8700B", "Coffee Lake"),
        ];
        for (cpu, arch) in cases {
            assert_eq!(architecture_of_cpu(cpu), Some(arch), "{cpu}");
        }
        assert_eq!(architecture_of_cpu("Pentium"), None);
    }
}
