//! Time as SPECTRA sees it: a simulation clock over replayed history, or the system clock.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Anything that tells the time. Code that needs "now" takes a clock, never `Utc::now()` inline,
/// so replay and tests are deterministic.
pub trait Clock: Send + Sync {
    /// The current time, UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The default start of the simulation, as in the seed backend: 2024-01-01T00:00Z.
pub fn default_sim_start() -> DateTime<Utc> {
    // A constant, valid date: `single()` cannot be `None` for it.
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single().unwrap_or_default()
}

/// A simulation clock: starts at `SIM_START` and moves only when told to.
///
/// ```
/// use spectra_core::SimClock;
/// let mut clock = SimClock::default();
/// assert_eq!(clock.now().to_rfc3339(), "2024-01-01T00:00:00+00:00");
/// clock.tick(25).unwrap();
/// assert_eq!(clock.now().to_rfc3339(), "2024-01-02T01:00:00+00:00");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimClock {
    start: DateTime<Utc>,
    now: DateTime<Utc>,
}

impl Default for SimClock {
    fn default() -> Self {
        Self::new(default_sim_start())
    }
}

impl SimClock {
    /// A clock that starts (and is now) at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self { start, now: start }
    }

    /// A clock restored from stored state.
    pub fn restore(start: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        Self { start, now }
    }

    /// Where the simulation started.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// The simulated now.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Advances by `hours` (at most ten years at a time) and returns the new now.
    pub fn tick(&mut self, hours: u32) -> Result<DateTime<Utc>> {
        if hours > 24 * 366 * 10 {
            return Err(Error::invalid(
                crate::Location::field("hours"),
                format!("{hours} hours is more than ten years"),
            ));
        }
        self.now = self
            .now
            .checked_add_signed(Duration::hours(i64::from(hours)))
            .ok_or_else(|| Error::invalid(crate::Location::field("hours"), "time out of range"))?;
        Ok(self.now)
    }

    /// Sets the simulated now.
    pub fn set(&mut self, now: DateTime<Utc>) {
        self.now = now;
    }
}

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        self.now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_set_and_limits() {
        let mut c = SimClock::default();
        assert_eq!(c.start(), default_sim_start());
        c.tick(0).unwrap();
        assert_eq!(c.now(), default_sim_start());
        let t = Utc.with_ymd_and_hms(2023, 6, 1, 12, 0, 0).unwrap();
        c.set(t);
        assert_eq!(Clock::now(&c), t);
        assert_eq!(c.start(), default_sim_start());
        assert!(c.tick(24 * 366 * 10 + 1).is_err());
        assert_eq!(c.now(), t, "a refused tick changes nothing");
    }
}
