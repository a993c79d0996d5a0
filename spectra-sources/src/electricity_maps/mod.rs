//! Live carbon intensity from the Electricity Maps API (v3): latest, the last 24 hours, any past
//! range (split into the spans the API allows) and forecasts, per grid zone.
//!
//! ```no_run
//! use spectra_sources::electricity_maps::ElectricityMapsBuilder;
//! use spectra_sources::http::RetryConfig;
//! # fn run() -> spectra_core::Result<()> {
//! let source = ElectricityMapsBuilder::new()
//!     .with_api_key("my-key")
//!     .with_endpoint("http://127.0.0.1:8080/v3")   // tests point it at a local server
//!     .with_retry(RetryConfig::default())
//!     .build()?;
//! # Ok(()) }
//! ```

mod wire;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use spectra_core::{
    Capabilities, CarbonIntensityHour, Clock, DataSource, Error, Result, Secret, Settings, SystemClock, TimeRange,
};

use crate::http::{self, HttpClient, RetryConfig, join};

/// The public API's base URL.
pub const DEFAULT_ENDPOINT: &str = "https://api.electricitymap.org/v3";
/// The longest range one `past-range` call may cover at hourly granularity (the API's limit is
/// 10 days); longer ranges are split.
pub const DEFAULT_MAX_SPAN_HOURS: i64 = 240;
const NAME: &str = "electricity-maps";

/// Keys for [`ElectricityMapsBuilder::with_config`], parsed from their environment names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ElectricityMapsConfigKey {
    /// `ELECTRICITY_MAPS_API_KEY`.
    ApiKey,
    /// `ELECTRICITY_MAPS_API_URL`.
    Endpoint,
    /// `ELECTRICITY_MAPS_MAX_SPAN_HOURS`.
    MaxSpanHours,
}

impl FromStr for ElectricityMapsConfigKey {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_uppercase().as_str() {
            "ELECTRICITY_MAPS_API_KEY" | "API_KEY" => Ok(Self::ApiKey),
            "ELECTRICITY_MAPS_API_URL" | "ENDPOINT" => Ok(Self::Endpoint),
            "ELECTRICITY_MAPS_MAX_SPAN_HOURS" | "MAX_SPAN_HOURS" => Ok(Self::MaxSpanHours),
            other => Err(Error::config(other, "not an Electricity Maps setting")),
        }
    }
}

/// Builds an [`ElectricityMaps`] source.
#[derive(Clone)]
pub struct ElectricityMapsBuilder {
    api_key: Option<Secret>,
    endpoint: String,
    retry: RetryConfig,
    max_span_hours: i64,
    clock: Option<Arc<dyn Clock>>,
    bad_config: Option<(String, String)>,
}

impl fmt::Debug for ElectricityMapsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ElectricityMapsBuilder")
            .field("api_key", &self.api_key)
            .field("endpoint", &self.endpoint)
            .field("retry", &self.retry)
            .field("max_span_hours", &self.max_span_hours)
            .finish()
    }
}

impl Default for ElectricityMapsBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ElectricityMapsBuilder {
    /// A builder with the public endpoint and default retries, and no key yet.
    pub fn new() -> Self {
        Self {
            api_key: None,
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            retry: RetryConfig::default(),
            max_span_hours: DEFAULT_MAX_SPAN_HOURS,
            clock: None,
            bad_config: None,
        }
    }

    /// A builder from `ELECTRICITY_MAPS_API_KEY` and `ELECTRICITY_MAPS_API_URL` in the process
    /// environment.
    pub fn from_env() -> Self {
        let mut b = Self::new();
        for key in ["ELECTRICITY_MAPS_API_KEY", "ELECTRICITY_MAPS_API_URL", "ELECTRICITY_MAPS_MAX_SPAN_HOURS"] {
            if let (Ok(k), Ok(v)) = (key.parse(), std::env::var(key)) {
                b = b.with_config(k, v);
            }
        }
        b
    }

    /// A builder from [`Settings`] (key and endpoint).
    pub fn from_settings(settings: &Settings) -> Self {
        let mut b = Self::new();
        b.api_key = settings.electricity_maps_api_key.clone();
        if let Some(url) = &settings.electricity_maps_api_url {
            b.endpoint = url.clone();
        }
        b
    }

    /// Sets one value by key; an unparseable value is reported by [`Self::build`].
    pub fn with_config(mut self, key: ElectricityMapsConfigKey, value: impl Into<String>) -> Self {
        let value = value.into();
        match key {
            ElectricityMapsConfigKey::ApiKey => self.api_key = Some(Secret::new(value)),
            ElectricityMapsConfigKey::Endpoint => self.endpoint = value,
            ElectricityMapsConfigKey::MaxSpanHours => match value.parse::<i64>() {
                Ok(h) if h > 0 => self.max_span_hours = h,
                _ => {
                    self.bad_config =
                        Some(("ELECTRICITY_MAPS_MAX_SPAN_HOURS".into(), format!("{value:?} is not a positive integer")))
                }
            },
        }
        self
    }

    /// The API key (sent as the `auth-token` header).
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(Secret::new(key));
        self
    }

    /// The API base URL, e.g. `http://127.0.0.1:1234/v3`.
    pub fn with_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = url.into();
        self
    }

    /// The retry policy.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// The longest span of one `past-range` call, in hours.
    pub fn with_max_span_hours(mut self, hours: i64) -> Self {
        self.max_span_hours = hours.max(1);
        self
    }

    /// The clock that says what "now" is for the API (default the system clock): ranges are
    /// never asked past it.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The source, or [`Error::Config`] naming what is missing.
    pub fn build(self) -> Result<ElectricityMaps> {
        if let Some((key, reason)) = self.bad_config {
            return Err(Error::config(key, reason));
        }
        let api_key = http::required_secret(self.api_key, "ELECTRICITY_MAPS_API_KEY")?;
        let endpoint = http::endpoint(self.endpoint, "ELECTRICITY_MAPS_API_URL")?;
        Ok(ElectricityMaps {
            client: HttpClient::new(NAME, self.retry)?,
            api_key,
            endpoint,
            max_span: Duration::hours(self.max_span_hours),
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
        })
    }
}

/// The Electricity Maps API as a [`DataSource`] (carbon history and forecasts).
pub struct ElectricityMaps {
    client: HttpClient,
    api_key: Secret,
    endpoint: String,
    max_span: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for ElectricityMaps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ElectricityMaps")
            .field("endpoint", &self.endpoint)
            .field("api_key", &self.api_key)
            .field("max_span", &self.max_span)
            .finish()
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl ElectricityMaps {
    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T> {
        let url = join(&self.endpoint, path);
        let what = format!("{path}?zone={}", query.iter().find(|(k, _)| *k == "zone").map_or("", |(_, v)| v));
        let response = self
            .client
            .send(&what, || Ok(self.client.inner().get(&url).query(query).header("auth-token", self.api_key.expose())))
            .await?;
        response.json(NAME)
    }

    /// The latest hour of a zone.
    pub async fn latest(&self, zone: &str) -> Result<Option<CarbonIntensityHour>> {
        let r: wire::Latest = self.get("carbon-intensity/latest", &[("zone", zone.to_owned())]).await?;
        Ok(wire::to_hours(NAME, zone, &r.zone, vec![r.point])?.pop())
    }

    /// The last 24 hours of a zone, as the API's `history` endpoint gives them.
    pub async fn history(&self, zone: &str) -> Result<Vec<CarbonIntensityHour>> {
        let r: wire::History = self.get("carbon-intensity/history", &[("zone", zone.to_owned())]).await?;
        wire::to_hours(NAME, zone, &r.zone, r.history)
    }

    /// Hours of a zone in `range`, in as many `past-range` calls as the span limit needs, never
    /// past the clock's now. In time order, one record per hour.
    pub async fn past_range(&self, zone: &str, range: TimeRange) -> Result<Vec<CarbonIntensityHour>> {
        let end = range.to.min(self.clock.now());
        let mut from = range.from;
        let mut out = Vec::new();
        while from < end {
            let to = (from + self.max_span).min(end);
            let r: wire::PastRange = self
                .get(
                    "carbon-intensity/past-range",
                    &[("zone", zone.to_owned()), ("start", rfc3339(from)), ("end", rfc3339(to))],
                )
                .await?;
            out.extend(wire::to_hours(NAME, zone, &r.zone, r.data)?.into_iter().filter(|h| range.contains(h.hour)));
            from = to;
        }
        out.sort_by_key(|h| h.hour);
        out.dedup_by_key(|h| h.hour);
        Ok(out)
    }

    /// The forecast of a zone from `from` on.
    pub async fn forecast(&self, zone: &str, from: DateTime<Utc>) -> Result<Vec<CarbonIntensityHour>> {
        let r: wire::Forecast = self.get("carbon-intensity/forecast", &[("zone", zone.to_owned())]).await?;
        let mut hours = wire::to_hours(NAME, zone, &r.zone, r.forecast)?;
        hours.retain(|h| h.hour + Duration::hours(1) > from);
        Ok(hours)
    }
}

#[async_trait]
impl DataSource for ElectricityMaps {
    fn name(&self) -> &str {
        NAME
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { carbon_history: true, carbon_forecast: true, ..Capabilities::default() }
    }

    async fn carbon_history(&self, zone: &str, range: TimeRange) -> Result<Vec<CarbonIntensityHour>> {
        self.past_range(zone, range).await
    }

    async fn carbon_forecast(&self, zone: &str, from: DateTime<Utc>) -> Result<Vec<CarbonIntensityHour>> {
        self.forecast(zone, from).await
    }
}
