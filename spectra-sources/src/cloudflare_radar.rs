//! Live latency from Cloudflare Radar's quality endpoints, per region's location.
//!
//! A region's location is the country of its grid zone (the ISO 3166 alpha-2 prefix of the
//! Electricity Maps zone id: `US-MIDA-PJM` -> `US`, `DE` -> `DE`). For each location SPECTRA asks
//! `GET /radar/quality/speed/summary?location=XX` and takes `summary_0.latencyIdle` (median idle
//! latency of speed tests from that country, in ms): what users near the region see on the last
//! mile, rather than the inter-region round trip of the baseline (cloudping) matrix. Locations
//! Radar has no data for (404) keep their baseline; any other failure fails the refresh, and the
//! engine falls back to the baseline for every region.
//!
//! ```no_run
//! use spectra_sources::cloudflare_radar::CloudflareRadarBuilder;
//! # fn run() -> spectra_core::Result<()> {
//! let radar = CloudflareRadarBuilder::new().with_api_token("token").with_endpoint("http://127.0.0.1:9/client/v4").build()?;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use spectra_core::{Capabilities, DataSource, Error, LatencySample, LatencySource, Region, Result, Secret, Settings};

use crate::http::{self, HttpClient, RetryConfig, join};

/// Cloudflare's API base URL.
pub const DEFAULT_ENDPOINT: &str = "https://api.cloudflare.com/client/v4";
const NAME: &str = "cloudflare-radar";

/// Keys for [`CloudflareRadarBuilder::with_config`], parsed from their environment names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloudflareRadarConfigKey {
    /// `CLOUDFLARE_API_TOKEN`.
    ApiToken,
    /// `CLOUDFLARE_API_URL`.
    Endpoint,
}

impl FromStr for CloudflareRadarConfigKey {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_uppercase().as_str() {
            "CLOUDFLARE_API_TOKEN" | "API_TOKEN" => Ok(Self::ApiToken),
            "CLOUDFLARE_API_URL" | "ENDPOINT" => Ok(Self::Endpoint),
            other => Err(Error::config(other, "not a Cloudflare Radar setting")),
        }
    }
}

/// Builds a [`CloudflareRadar`] source.
#[derive(Debug, Clone)]
pub struct CloudflareRadarBuilder {
    token: Option<Secret>,
    endpoint: String,
    retry: RetryConfig,
}

impl Default for CloudflareRadarBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl CloudflareRadarBuilder {
    /// A builder with the public endpoint and default retries, and no token yet.
    pub fn new() -> Self {
        Self { token: None, endpoint: DEFAULT_ENDPOINT.to_owned(), retry: RetryConfig::default() }
    }

    /// A builder from `CLOUDFLARE_API_TOKEN` and `CLOUDFLARE_API_URL` in the process environment.
    pub fn from_env() -> Self {
        let mut b = Self::new();
        for key in ["CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_URL"] {
            if let (Ok(k), Ok(v)) = (key.parse(), std::env::var(key)) {
                b = b.with_config(k, v);
            }
        }
        b
    }

    /// A builder from [`Settings`] (token and endpoint).
    pub fn from_settings(settings: &Settings) -> Self {
        let mut b = Self::new();
        b.token = settings.cloudflare_api_token.clone();
        if let Some(url) = &settings.cloudflare_api_url {
            b.endpoint = url.clone();
        }
        b
    }

    /// Sets one value by key.
    pub fn with_config(self, key: CloudflareRadarConfigKey, value: impl Into<String>) -> Self {
        match key {
            CloudflareRadarConfigKey::ApiToken => self.with_api_token(value),
            CloudflareRadarConfigKey::Endpoint => self.with_endpoint(value),
        }
    }

    /// The API token (sent as `Authorization: Bearer`).
    pub fn with_api_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Secret::new(token));
        self
    }

    /// The API base URL, e.g. `http://127.0.0.1:1234/client/v4`.
    pub fn with_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = url.into();
        self
    }

    /// The retry policy.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// The source, or [`Error::Config`] naming what is missing.
    pub fn build(self) -> Result<CloudflareRadar> {
        let token = http::required_secret(self.token, "CLOUDFLARE_API_TOKEN")?;
        let endpoint = http::endpoint(self.endpoint, "CLOUDFLARE_API_URL")?;
        Ok(CloudflareRadar { client: HttpClient::new(NAME, self.retry)?, token, endpoint })
    }
}

/// Cloudflare Radar as a [`DataSource`] of latency.
pub struct CloudflareRadar {
    client: HttpClient,
    token: Secret,
    endpoint: String,
}

impl fmt::Debug for CloudflareRadar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudflareRadar").field("endpoint", &self.endpoint).field("token", &self.token).finish()
    }
}

#[derive(Debug, Deserialize)]
struct Envelope<T> {
    success: bool,
    result: Option<T>,
    #[serde(default)]
    errors: Vec<ApiError>,
}

#[derive(Debug, Deserialize)]
struct ApiError {
    #[serde(default)]
    code: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct SpeedSummary {
    summary_0: SpeedFigures,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpeedFigures {
    /// Radar sends numbers as strings.
    latency_idle: String,
}

/// The location Radar knows a region by: its grid zone's country.
pub fn location_of(region: &Region) -> &str {
    region.zone.split('-').next().unwrap_or(&region.zone)
}

impl CloudflareRadar {
    /// Median idle latency (ms) of a location (ISO alpha-2), or `None` when Radar has no data.
    pub async fn location_latency(&self, location: &str) -> Result<Option<f64>> {
        let url = join(&self.endpoint, "radar/quality/speed/summary");
        let sent = self
            .client
            .send(&format!("speed summary of {location}"), || {
                Ok(self
                    .client
                    .inner()
                    .get(&url)
                    .query(&[("location", location), ("format", "JSON")])
                    .bearer_auth(self.token.expose()))
            })
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let envelope: Envelope<SpeedSummary> = response.json(NAME)?;
        let result = match envelope.result {
            Some(result) if envelope.success => result,
            _ => {
                let codes: Vec<String> =
                    envelope.errors.iter().map(|e| e.code.map_or("?".into(), |c| c.to_string())).collect();
                return Err(Error::bad_response(NAME, format!("success=false, error codes [{}]", codes.join(", "))));
            }
        };
        let ms: f64 = result
            .summary_0
            .latency_idle
            .trim()
            .parse()
            .map_err(|_| Error::bad_response(NAME, format!("{location}: summary_0.latencyIdle is not a number")))?;
        if !(ms.is_finite() && (0.0..=60_000.0).contains(&ms)) {
            return Err(Error::bad_response(NAME, format!("{location}: latency {ms} ms is out of range")));
        }
        Ok(Some(ms))
    }
}

#[async_trait]
impl DataSource for CloudflareRadar {
    fn name(&self) -> &str {
        NAME
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { latency: true, ..Capabilities::default() }
    }

    /// One request per distinct location; regions whose location Radar has no data for are left
    /// out (the engine keeps their baseline).
    async fn latency(&self, regions: &[Region], at: DateTime<Utc>) -> Result<Vec<LatencySample>> {
        let mut by_location: BTreeMap<&str, Option<f64>> = BTreeMap::new();
        for r in regions {
            by_location.entry(location_of(r)).or_default();
        }
        for (location, ms) in by_location.iter_mut() {
            *ms = self.location_latency(location).await?;
        }
        Ok(regions
            .iter()
            .filter_map(|r| {
                let ms = by_location.get(location_of(r)).copied().flatten()?;
                Some(LatencySample { region: r.code.clone(), time: at, ms, source: LatencySource::Radar })
            })
            .collect())
    }
}
