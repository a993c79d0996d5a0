//! Instance power, after the Cloud Carbon Footprint (CCF) methodology.
//!
//! Average watts = vCPUs x (min + utilisation x (max - min)) + memory GB x 0.392 W. The per-vCPU
//! min and max used here are CCF's published AWS averages over all microarchitectures (0.74 W and
//! 3.5 W), for when the processor family is not known; memory is CCF's 0.000392 kWh per GB-hour.

/// CCF: average minimum watts per vCPU over AWS microarchitectures.
pub const AWS_AVERAGE_MIN_WATTS_PER_VCPU: f64 = 0.74;
/// CCF: average maximum watts per vCPU over AWS microarchitectures.
pub const AWS_AVERAGE_MAX_WATTS_PER_VCPU: f64 = 3.5;
/// CCF: memory power, watts per GB (0.000392 kWh per GB-hour).
pub const MEMORY_WATTS_PER_GB: f64 = 0.392;
/// CCF: utilisation assumed when none is known, percent.
pub const DEFAULT_CPU_PCT: f64 = 50.0;

/// Average IT power of an instance, watts (before PUE), at `cpu_pct` (50% when unknown).
///
/// ```
/// // 2 vCPU, 8 GB at 50%: 2 x (0.74 + 0.5 x 2.76) + 8 x 0.392 = 7.376 W
/// let w = spectra_core::power::average_watts(2, 8.0, Some(50.0));
/// assert!((w - 7.376).abs() < 1e-9);
/// ```
pub fn average_watts(vcpus: u32, memory_gb: f64, cpu_pct: Option<f64>) -> f64 {
    let u = cpu_pct.unwrap_or(DEFAULT_CPU_PCT).clamp(0.0, 100.0) / 100.0;
    let per_vcpu =
        AWS_AVERAGE_MIN_WATTS_PER_VCPU + u * (AWS_AVERAGE_MAX_WATTS_PER_VCPU - AWS_AVERAGE_MIN_WATTS_PER_VCPU);
    f64::from(vcpus) * per_vcpu + memory_gb.max(0.0) * MEMORY_WATTS_PER_GB
}
