//! A conformance suite every [`DataSource`] runs in its own tests (feature `testing`).
//!
//! Each check panics with a message naming the source and the broken rule, like an assertion.

use crate::{DataSource, Error, TimeRange};

/// Checks [`DataSource::carbon_history`] for `zone` over `range`, which must hold data:
/// records are for that zone, inside the range, strictly in time order (one per hour at most),
/// on the hour, with finite non-negative intensities; a source that does not declare
/// `carbon_history` must answer [`Error::NotSupported`]; an empty range gives no record.
pub async fn check_carbon_history(source: &dyn DataSource, zone: &str, range: TimeRange) {
    let name = source.name().to_owned();
    let result = source.carbon_history(zone, range).await;
    if !source.capabilities().carbon_history {
        assert!(
            matches!(result, Err(Error::NotSupported { .. })),
            "{name}: undeclared carbon_history must be NotSupported"
        );
        return;
    }
    let hours = result.unwrap_or_else(|e| panic!("{name}: carbon_history({zone}) failed: {e}"));
    assert!(!hours.is_empty(), "{name}: no record for {zone} in {range:?}");
    for pair in hours.windows(2) {
        assert!(pair[0].hour < pair[1].hour, "{name}: records out of order or repeated at {}", pair[1].hour);
    }
    for h in &hours {
        assert_eq!(h.zone, zone, "{name}: record for another zone");
        assert!(range.contains(h.hour), "{name}: {} is outside {range:?}", h.hour);
        assert_eq!(h.hour.timestamp() % 3600, 0, "{name}: {} is not on the hour", h.hour);
        assert!(
            h.lifecycle_g_per_kwh.is_finite() && h.lifecycle_g_per_kwh >= 0.0,
            "{name}: bad intensity {} at {}",
            h.lifecycle_g_per_kwh,
            h.hour
        );
    }
    let empty = TimeRange { from: range.from, to: range.from };
    let none = source.carbon_history(zone, empty).await.unwrap_or_else(|e| panic!("{name}: empty range failed: {e}"));
    assert!(none.is_empty(), "{name}: an empty range returned records");
}

/// Checks that operations a source does not declare answer [`Error::NotSupported`] naming it.
pub async fn check_undeclared_operations(source: &dyn DataSource, zone: &str, range: TimeRange) {
    let name = source.name().to_owned();
    let caps = source.capabilities();
    let not_supported =
        |r: &Result<_, Error>| matches!(r, Err(Error::NotSupported { source_name, .. }) if *source_name == name);
    if !caps.carbon_forecast {
        assert!(not_supported(&source.carbon_forecast(zone, range.from).await.map(|_| ())), "{name}: carbon_forecast");
    }
    if !caps.latency {
        assert!(not_supported(&source.latency(&[], range.from).await.map(|_| ())), "{name}: latency");
    }
    if !caps.carbon_snapshot {
        assert!(not_supported(&source.carbon_snapshot().await.map(|_| ())), "{name}: carbon_snapshot");
    }
    if !caps.fleet {
        assert!(not_supported(&source.instances().await.map(|_| ())), "{name}: instances");
        assert!(not_supported(&source.utilisation(range).await.map(|_| ())), "{name}: utilisation");
    }
}
