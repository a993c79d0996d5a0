//! Retry policy: exponential backoff with full jitter, `Retry-After`, and a bound on total time.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// How a live source retries: which failures, how long to wait, and when to give up.
///
/// A failure is retried when it is transient: a timeout, a refused or reset connection, HTTP 429 or
/// any 5xx. The wait before retry `n` (0-based) is a uniformly random duration in
/// `[0, min(max_backoff, initial_backoff x base^n)]` ("full jitter", so many clients failing
/// together do not retry together), or exactly what the server's `Retry-After` asks. No attempt
/// starts once `retry_timeout` has passed since the first, and no wait runs past it.
///
/// ```
/// use std::time::Duration;
/// use spectra_sources::http::RetryConfig;
/// let retry = RetryConfig { max_retries: 5, ..RetryConfig::default() }.with_request_timeout(Duration::from_secs(2));
/// assert_eq!(retry.max_retries, 5);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryConfig {
    /// Retries after the first attempt (default 3).
    pub max_retries: u32,
    /// The first backoff ceiling (default 100 ms).
    pub initial_backoff: Duration,
    /// The largest backoff ceiling (default 5 s).
    pub max_backoff: Duration,
    /// Growth of the ceiling per retry (default 2).
    pub base: f64,
    /// Total time allowed for one call, attempts and waits included (default 30 s).
    pub retry_timeout: Duration,
    /// Time allowed for one attempt, body included (default 10 s).
    pub request_timeout: Duration,
    /// Time allowed to connect (default 5 s).
    pub connect_timeout: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
            retry_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

impl RetryConfig {
    /// The same policy with another per-attempt timeout.
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The same policy with another bound on a call's total time.
    #[must_use]
    pub fn with_retry_timeout(mut self, timeout: Duration) -> Self {
        self.retry_timeout = timeout;
        self
    }

    /// The backoff ceiling before retry `n` (0-based).
    pub fn ceiling(&self, n: u32) -> Duration {
        let factor = self.base.max(1.0).powi(n.min(64) as i32);
        let secs = (self.initial_backoff.as_secs_f64() * factor).min(self.max_backoff.as_secs_f64());
        Duration::from_secs_f64(secs.max(0.0))
    }

    /// A jittered backoff before retry `n`: uniform in `[0, ceiling(n)]`, drawn with `unit` in [0, 1).
    pub fn backoff(&self, n: u32, unit: f64) -> Duration {
        self.ceiling(n).mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// Parses a `Retry-After` header: delay-seconds or an HTTP date (RFC 9110), relative to `now`.
///
/// ```
/// use std::time::Duration;
/// use spectra_sources::http::parse_retry_after;
/// let now = chrono::Utc::now();
/// assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_grow_exponentially_up_to_the_maximum() {
        let r = RetryConfig::default();
        assert_eq!(r.ceiling(0), Duration::from_millis(100));
        assert_eq!(r.ceiling(1), Duration::from_millis(200));
        assert_eq!(r.ceiling(3), Duration::from_millis(800));
        assert_eq!(r.ceiling(10), Duration::from_secs(5));
        assert_eq!(r.ceiling(1_000), Duration::from_secs(5));
    }

    #[test]
    fn jitter_stays_inside_the_ceiling() {
        let r = RetryConfig::default();
        assert_eq!(r.backoff(2, 0.0), Duration::ZERO);
        assert_eq!(r.backoff(2, 0.5), Duration::from_millis(200));
        assert!(r.backoff(2, 0.999_999) <= r.ceiling(2));
        assert_eq!(r.backoff(2, 7.0), r.ceiling(2), "out-of-range draws are clamped");
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(parse_retry_after(" 12 ", now), Some(Duration::from_secs(12)));
        assert_eq!(parse_retry_after("Mon, 01 Jan 2024 00:00:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Sun, 31 Dec 2023 23:00:00 GMT", now), Some(Duration::ZERO), "past dates: now");
        assert_eq!(parse_retry_after("-3", now), None);
    }
}
