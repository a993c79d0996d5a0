//! The AWS live source: the fleet from EC2 (DescribeInstances, DescribeInstanceTypes), hourly CPU
//! from CloudWatch (GetMetricData) and billed cost per region from Cost Explorer
//! (GetCostAndUsage), every request signed with SigV4 by a small signer of our own
//! ([`sigv4`](self) is tested against the AWS documentation's vectors), optionally with temporary
//! credentials from STS AssumeRole.
//!
//! Built like object_store's `AmazonS3Builder`:
//!
//! ```
//! use spectra_sources::aws::{AmazonBuilder, AwsConfigKey};
//! let source = AmazonBuilder::new()
//!     .with_access_key_id("AKIDEXAMPLE")
//!     .with_secret_access_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
//!     .with_config("region".parse::<AwsConfigKey>().unwrap(), "eu-west-1")
//!     .with_endpoint("http://127.0.0.1:5000")
//!     .build()
//!     .unwrap();
//! assert!(!format!("{source:?}").contains("EXAMPLEKEY"));
//! ```
//!
//! Errors: rejected credentials or signatures (`AuthFailure`, `InvalidClientTokenId`,
//! `SignatureDoesNotMatch`, `ExpiredToken`... or HTTP 401/403) are [`Error::Unauthenticated`];
//! throttling codes are retried, then [`Error::RateLimited`]; 5xx, timeouts and connection failures
//! are retried by the shared client; other AWS errors are [`Error::Source`] holding an
//! [`AwsServiceError`] (status and code, never AWS's message); unreadable bodies are
//! [`Error::BadResponse`]. No credential, signature or body is ever part of an error or `Debug`.

mod client;
mod cloudwatch;
mod cost_explorer;
mod credential;
mod ec2;
pub mod pricing;
mod sigv4;
mod xml;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use spectra_core::settings::Settings;
use spectra_core::{
    Capabilities, Catalog, Clock, DataSource, Error, Instance, Provider, RegionCode, RegionCost, Result, Secret,
    SystemClock, TimeRange, UtilisationHour,
};

pub use client::AwsServiceError;
pub use cost_explorer::Granularity;
pub use credential::AwsCredential;

use crate::http::{HttpClient, RetryConfig};
use client::AwsClient;
use credential::{AssumeRole, CredentialProvider};
use pricing::PriceList;

/// The source's name in reports and errors.
pub const SOURCE_NAME: &str = "aws";

/// The default region: of STS calls, and of Cost Explorer's one endpoint.
pub const DEFAULT_REGION: &str = "us-east-1";

/// A configuration key of [`AmazonBuilder::with_config`], parsed from its environment name
/// (`AWS_ACCESS_KEY_ID`) or a short name (`access_key_id`), case-insensitively.
///
/// ```
/// use spectra_sources::aws::AwsConfigKey;
/// assert_eq!("AWS_SECRET_ACCESS_KEY".parse::<AwsConfigKey>().unwrap(), AwsConfigKey::SecretAccessKey);
/// assert_eq!("endpoint".parse::<AwsConfigKey>().unwrap(), AwsConfigKey::Endpoint);
/// assert!("aws_colour".parse::<AwsConfigKey>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AwsConfigKey {
    /// `AWS_ACCESS_KEY_ID`.
    AccessKeyId,
    /// `AWS_SECRET_ACCESS_KEY`.
    SecretAccessKey,
    /// `AWS_SESSION_TOKEN`.
    SessionToken,
    /// `AWS_ROLE_ARN`: a role to assume with STS.
    RoleArn,
    /// `AWS_ROLE_SESSION_NAME` (default `spectra`).
    RoleSessionName,
    /// `AWS_REGION` / `AWS_DEFAULT_REGION`.
    Region,
    /// `AWS_ENDPOINT_URL`: one endpoint for every service.
    Endpoint,
    /// `AWS_COST_GRANULARITY`: `DAILY` (default) or `MONTHLY`.
    CostGranularity,
    /// `AWS_EC2_PAGE_SIZE`: DescribeInstances `MaxResults`, 5 to 1000 (default 1000).
    PageSize,
}

impl AwsConfigKey {
    /// The environment name, e.g. `AWS_ACCESS_KEY_ID`.
    pub fn as_env(self) -> &'static str {
        match self {
            Self::AccessKeyId => "AWS_ACCESS_KEY_ID",
            Self::SecretAccessKey => "AWS_SECRET_ACCESS_KEY",
            Self::SessionToken => "AWS_SESSION_TOKEN",
            Self::RoleArn => "AWS_ROLE_ARN",
            Self::RoleSessionName => "AWS_ROLE_SESSION_NAME",
            Self::Region => "AWS_REGION",
            Self::Endpoint => "AWS_ENDPOINT_URL",
            Self::CostGranularity => "AWS_COST_GRANULARITY",
            Self::PageSize => "AWS_EC2_PAGE_SIZE",
        }
    }
}

impl FromStr for AwsConfigKey {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        let short = lower.strip_prefix("aws_").unwrap_or(&lower);
        Ok(match short {
            "access_key_id" => Self::AccessKeyId,
            "secret_access_key" => Self::SecretAccessKey,
            "session_token" | "token" => Self::SessionToken,
            "role_arn" => Self::RoleArn,
            "role_session_name" => Self::RoleSessionName,
            "region" | "default_region" => Self::Region,
            "endpoint" | "endpoint_url" => Self::Endpoint,
            "cost_granularity" => Self::CostGranularity,
            "ec2_page_size" | "page_size" => Self::PageSize,
            _ => return Err(Error::config(s.trim(), "not an AWS configuration key")),
        })
    }
}

/// Builds an [`AwsSource`]; see the [module docs](self).
#[derive(Clone, Default)]
pub struct AmazonBuilder {
    access_key_id: Option<Secret>,
    secret_access_key: Option<Secret>,
    session_token: Option<Secret>,
    role_arn: Option<String>,
    role_session_name: Option<String>,
    region: Option<String>,
    endpoint: Option<String>,
    cost_granularity: Option<String>,
    page_size: Option<String>,
    regions: Option<Vec<String>>,
    metric_batch: Option<usize>,
    retry: RetryConfig,
    catalog: Option<Arc<Catalog>>,
    clock: Option<Arc<dyn Clock>>,
}

impl fmt::Debug for AmazonBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |s: &Option<Secret>| s.as_ref().map(|_| "***");
        f.debug_struct("AmazonBuilder")
            .field("access_key_id", &set(&self.access_key_id))
            .field("secret_access_key", &set(&self.secret_access_key))
            .field("session_token", &set(&self.session_token))
            .field("role_arn", &self.role_arn)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint.as_deref().map(redact_url))
            .field("regions", &self.regions)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl AmazonBuilder {
    /// An empty builder: everything unset, default retry policy, the bundled catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder from the process environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN`, `AWS_ROLE_ARN`, `AWS_ROLE_SESSION_NAME`, `AWS_REGION` (else
    /// `AWS_DEFAULT_REGION`), `AWS_ENDPOINT_URL`, `AWS_COST_GRANULARITY`, `AWS_EC2_PAGE_SIZE`.
    /// Empty values count as unset.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// [`AmazonBuilder::from_env`] over any name -> value function.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut builder = Self::new();
        let keys = [
            AwsConfigKey::AccessKeyId,
            AwsConfigKey::SecretAccessKey,
            AwsConfigKey::SessionToken,
            AwsConfigKey::RoleArn,
            AwsConfigKey::RoleSessionName,
            AwsConfigKey::Region,
            AwsConfigKey::Endpoint,
            AwsConfigKey::CostGranularity,
            AwsConfigKey::PageSize,
        ];
        for key in keys {
            let value = lookup(key.as_env())
                .or_else(|| (key == AwsConfigKey::Region).then(|| lookup("AWS_DEFAULT_REGION")).flatten());
            if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
                builder = builder.with_config(key, value);
            }
        }
        builder
    }

    /// A builder from SPECTRA's settings (`aws_*` fields; the settings store may have set them).
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            access_key_id: settings.aws_access_key_id.clone(),
            secret_access_key: settings.aws_secret_access_key.clone(),
            session_token: settings.aws_session_token.clone(),
            role_arn: settings.aws_role_arn.clone(),
            region: settings.aws_region.clone(),
            endpoint: settings.aws_endpoint_url.clone(),
            ..Self::new()
        }
    }

    /// Sets one value by key. Invalid values are reported by [`AmazonBuilder::build`].
    pub fn with_config(mut self, key: AwsConfigKey, value: impl Into<String>) -> Self {
        let value = value.into().trim().to_owned();
        match key {
            AwsConfigKey::AccessKeyId => self.access_key_id = Some(Secret::new(value)),
            AwsConfigKey::SecretAccessKey => self.secret_access_key = Some(Secret::new(value)),
            AwsConfigKey::SessionToken => self.session_token = Some(Secret::new(value)),
            AwsConfigKey::RoleArn => self.role_arn = Some(value),
            AwsConfigKey::RoleSessionName => self.role_session_name = Some(value),
            AwsConfigKey::Region => self.region = Some(value),
            AwsConfigKey::Endpoint => self.endpoint = Some(value),
            AwsConfigKey::CostGranularity => self.cost_granularity = Some(value),
            AwsConfigKey::PageSize => self.page_size = Some(value),
        }
        self
    }

    /// The access key id.
    pub fn with_access_key_id(self, value: impl Into<String>) -> Self {
        self.with_config(AwsConfigKey::AccessKeyId, value)
    }

    /// The secret access key.
    pub fn with_secret_access_key(self, value: impl Into<String>) -> Self {
        self.with_config(AwsConfigKey::SecretAccessKey, value)
    }

    /// A session token, for temporary credentials.
    pub fn with_session_token(self, value: impl Into<String>) -> Self {
        self.with_config(AwsConfigKey::SessionToken, value)
    }

    /// A role to assume with STS AssumeRole, signed with the access key.
    pub fn with_role_arn(self, value: impl Into<String>) -> Self {
        self.with_config(AwsConfigKey::RoleArn, value)
    }

    /// The home region (STS calls; default `us-east-1`).
    pub fn with_region(self, value: impl Into<String>) -> Self {
        self.with_config(AwsConfigKey::Region, value)
    }

    /// One endpoint for every service, e.g. `http://127.0.0.1:5000` for moto or a mock server.
    /// Requests are still signed for each service and region, which is how moto routes them.
    pub fn with_endpoint(self, url: impl Into<String>) -> Self {
        self.with_config(AwsConfigKey::Endpoint, url)
    }

    /// Cost Explorer's granularity (default daily).
    pub fn with_cost_granularity(mut self, granularity: Granularity) -> Self {
        self.cost_granularity = Some(granularity.as_str().to_owned());
        self
    }

    /// DescribeInstances page size (`MaxResults`, 5 to 1000; default 1000).
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = Some(page_size.to_string());
        self
    }

    /// The AWS regions to list (provider names, e.g. `eu-west-1`); each must be in the catalog.
    /// Default: every AWS region of the catalog that the account has enabled (DescribeRegions).
    pub fn with_regions<S: Into<String>>(mut self, regions: impl IntoIterator<Item = S>) -> Self {
        self.regions = Some(regions.into_iter().map(Into::into).collect());
        self
    }

    /// How many instances one GetMetricData request asks about (1 to 500; default 100).
    pub fn with_metric_batch(mut self, batch: usize) -> Self {
        self.metric_batch = Some(batch);
        self
    }

    /// The retry policy and timeouts.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// The region catalog (default: the bundled one).
    pub fn with_catalog(mut self, catalog: Arc<Catalog>) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// The clock requests are dated with (default the system clock; AWS refuses requests more
    /// than 5 minutes off, so only tests should change it).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Validates the configuration and builds the source. A missing or invalid value is
    /// [`Error::Config`] naming its variable (never quoting a secret).
    pub fn build(self) -> Result<AwsSource> {
        let key_id = self.access_key_id.filter(|s| !s.expose().is_empty());
        let key_id = key_id.ok_or_else(|| Error::config("AWS_ACCESS_KEY_ID", "missing"))?;
        let secret = self.secret_access_key.filter(|s| !s.expose().is_empty());
        let secret = secret.ok_or_else(|| Error::config("AWS_SECRET_ACCESS_KEY", "missing"))?;
        let token = self.session_token.filter(|s| !s.expose().is_empty());
        let base = Arc::new(AwsCredential { key_id, secret_key: secret, token });

        let home_region = self.region.filter(|r| !r.is_empty()).unwrap_or_else(|| DEFAULT_REGION.to_owned());
        if !home_region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(Error::config("AWS_REGION", "not a region name (letters, digits and dashes)"));
        }
        let endpoint = match self.endpoint.filter(|e| !e.is_empty()) {
            None => None,
            Some(e) => {
                let url = reqwest::Url::parse(&e)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                    .ok_or_else(|| Error::config("AWS_ENDPOINT_URL", "not an http(s) URL"))?;
                Some(url)
            }
        };
        let granularity = match self.cost_granularity {
            None => Granularity::Daily,
            Some(g) => g.parse()?,
        };
        let page_size = match self.page_size {
            None => 1000,
            Some(p) => p
                .parse::<u32>()
                .ok()
                .filter(|p| (5..=1000).contains(p))
                .ok_or_else(|| Error::config("AWS_EC2_PAGE_SIZE", "not a whole number from 5 to 1000"))?,
        };
        let metric_batch = self.metric_batch.unwrap_or(100);
        if !(1..=500).contains(&metric_batch) {
            return Err(Error::config("metric_batch", "GetMetricData takes 1 to 500 queries"));
        }
        let catalog = match self.catalog {
            Some(c) => c,
            None => Arc::new(crate::bundled::catalog()?),
        };
        let aws_regions: Vec<(String, RegionCode)> = catalog
            .regions()
            .iter()
            .filter(|r| r.provider == Provider::Aws)
            .map(|r| (r.cloud_region.clone(), r.code.clone()))
            .collect();
        let regions_explicit = self.regions.is_some();
        let regions =
            match self.regions {
                None => aws_regions,
                Some(wanted) => wanted
                    .iter()
                    .map(|w| {
                        aws_regions.iter().find(|(cloud, _)| cloud == w).cloned().ok_or_else(|| {
                            Error::config("regions", format!("{w:?} is not an AWS region of the catalog"))
                        })
                    })
                    .collect::<Result<_>>()?,
            };
        let clock: Arc<dyn Clock> = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let http = HttpClient::new(SOURCE_NAME, self.retry)?;
        let client = AwsClient::new(http, endpoint, home_region, clock.clone());
        let credentials = match self.role_arn.filter(|r| !r.is_empty()) {
            None => CredentialProvider::Static(base),
            Some(role_arn) => CredentialProvider::AssumeRole(AssumeRole {
                base,
                role_arn,
                session_name: self.role_session_name.unwrap_or_else(|| "spectra".to_owned()),
                duration_seconds: 3600,
                cache: Mutex::new(None),
            }),
        };
        Ok(AwsSource {
            client,
            credentials,
            catalog,
            regions,
            regions_explicit,
            page_size,
            metric_batch,
            granularity,
            clock,
            prices: PriceList::bundled(),
            types: Mutex::new(HashMap::new()),
            last_fleet: Mutex::new(None),
        })
    }
}

/// An endpoint URL without user info, query or fragment (those could carry a secret).
fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}{}",
            u.scheme(),
            u.host_str().unwrap_or_default(),
            u.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => "(invalid)".to_owned(),
    }
}

/// The AWS source: fleet (EC2 + CloudWatch) and cost (Cost Explorer). Built by [`AmazonBuilder`].
pub struct AwsSource {
    client: AwsClient,
    credentials: CredentialProvider,
    catalog: Arc<Catalog>,
    /// (AWS region name, catalog code) of every region that may be listed.
    regions: Vec<(String, RegionCode)>,
    /// Whether `regions` was set with `with_regions` (else DescribeRegions narrows it).
    regions_explicit: bool,
    page_size: u32,
    metric_batch: usize,
    granularity: Granularity,
    clock: Arc<dyn Clock>,
    prices: &'static PriceList,
    /// vCPUs and memory GB per instance type, learnt from DescribeInstanceTypes.
    types: Mutex<HashMap<String, (u32, f64)>>,
    /// The last fleet listing and when it was made: `utilisation` right after `instances` (as an
    /// import calls them) reuses it instead of listing every region again.
    last_fleet: Mutex<Option<(chrono::DateTime<chrono::Utc>, Vec<Instance>)>>,
}

/// How long a fleet listing is reused by `utilisation`.
const FLEET_REUSE: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

impl fmt::Debug for AwsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsSource")
            .field("client", &self.client)
            .field("credentials", &self.credentials)
            .field("regions", &self.regions.len())
            .field("page_size", &self.page_size)
            .field("granularity", &self.granularity)
            .finish_non_exhaustive()
    }
}

impl AwsSource {
    fn name_str(&self) -> &'static str {
        SOURCE_NAME
    }

    /// The credential to sign with now (AssumeRole's cached temporary one, refreshed when due).
    async fn credential(&self) -> Result<Arc<AwsCredential>> {
        self.credentials.get(&self.client, self.clock.as_ref()).await
    }

    /// The catalog region of an AWS region name.
    fn region_code(&self, cloud_region: &str) -> Option<&RegionCode> {
        self.catalog
            .regions()
            .iter()
            .find(|r| r.provider == Provider::Aws && r.cloud_region == cloud_region)
            .map(|r| &r.code)
    }
}

#[async_trait]
impl DataSource for AwsSource {
    fn name(&self) -> &str {
        SOURCE_NAME
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { fleet: true, cost: true, ..Capabilities::default() }
    }

    /// Live (pending, running, stopping, stopped) EC2 instances of the listed regions (see
    /// [`AmazonBuilder::with_regions`]), in region then id order: `Name` tag (else the id), `team`
    /// tag (else `unassigned`), vCPUs and memory from DescribeInstanceTypes, and an estimated
    /// hourly cost ([`pricing`]).
    async fn instances(&self) -> Result<Vec<Instance>> {
        let fleet = self.describe_fleet().await?;
        // A poisoned lock only loses the reuse; the listing is replaced whole.
        *self.last_fleet.lock().unwrap_or_else(|p| p.into_inner()) = Some((self.clock.now(), fleet.clone()));
        Ok(fleet)
    }

    /// Hourly average `CPUUtilization` of every listed instance, for the whole hours inside
    /// `range`, in instance then hour order; `memory_pct` is `None` (CloudWatch has no memory
    /// metric without its agent).
    async fn utilisation(&self, range: TimeRange) -> Result<Vec<UtilisationHour>> {
        let recent = self
            .last_fleet
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .filter(|(at, _)| self.clock.now() - *at <= FLEET_REUSE)
            .map(|(_, fleet)| fleet.clone());
        let instances = match recent {
            Some(fleet) => fleet,
            None => self.describe_fleet().await?,
        };
        self.cpu_hours(&instances, range).await
    }

    /// Unblended cost per catalog region and period (day or month) of `range`, from Cost Explorer.
    async fn costs(&self, range: TimeRange) -> Result<Vec<RegionCost>> {
        self.cost_and_usage(range).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> AmazonBuilder {
        AmazonBuilder::new().with_access_key_id("AKIDTEST").with_secret_access_key("very-secret/key")
    }

    #[test]
    fn missing_and_invalid_values_name_their_variable() {
        let cases = [
            (AmazonBuilder::new().with_secret_access_key("s"), "AWS_ACCESS_KEY_ID"),
            (AmazonBuilder::new().with_access_key_id("a"), "AWS_SECRET_ACCESS_KEY"),
            (keys().with_endpoint("not a url"), "AWS_ENDPOINT_URL"),
            (keys().with_region("eu west"), "AWS_REGION"),
            (keys().with_config(AwsConfigKey::CostGranularity, "HOURLY"), "AWS_COST_GRANULARITY"),
            (keys().with_page_size(2), "AWS_EC2_PAGE_SIZE"),
            (keys().with_regions(["mars-1"]), "regions"),
        ];
        for (builder, key) in cases {
            let err = builder.build().unwrap_err();
            assert!(matches!(&err, Error::Config { key: k, .. } if k == key), "{key}: {err}");
            assert!(!err.to_string().contains("very-secret"), "{err}");
        }
    }

    #[test]
    fn env_names_settings_and_debug() {
        let env: HashMap<&str, &str> = [
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
            ("AWS_SESSION_TOKEN", "env-token"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL", "http://user:pw@127.0.0.1:1/?sig=x"),
        ]
        .into();
        let builder = AmazonBuilder::from_lookup(|k| env.get(k).map(|v| v.to_string()));
        assert_eq!(builder.region.as_deref(), Some("eu-west-1"));
        let source = builder.clone().build().unwrap();
        let debug = format!("{builder:?} {source:?}");
        for secret in ["AKIDENV", "env-secret", "env-token", "pw", "sig=x"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert_eq!(source.capabilities(), Capabilities { fleet: true, cost: true, ..Capabilities::default() });
        assert_eq!(source.region_code("eu-west-1").map(RegionCode::as_str), Some("aws-eu-west-1"));

        let settings = Settings {
            aws_access_key_id: Some(Secret::new("AKIDSET")),
            aws_secret_access_key: Some(Secret::new("set-secret")),
            aws_role_arn: Some("arn:aws:iam::123456789012:role/r".into()),
            ..Settings::default()
        };
        let source = AmazonBuilder::from_settings(&settings).build().unwrap();
        let debug = format!("{source:?}");
        assert!(debug.contains("AssumeRole") && !debug.contains("set-secret") && !debug.contains("AKIDSET"), "{debug}");
    }
}
