//! Typed configuration under the seed backend's environment names.
//!
//! The core never reads the environment: [`Settings::from_lookup`] takes any key -> value function
//! (the `spectra` crate passes one over `.env` and the process environment), and every field can
//! be set in code.

use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::clock::default_sim_start;
use crate::{Error, Result};

/// A secret value (API key, token, AWS credential). `Debug` and `Display` never show it.
///
/// ```
/// use spectra_core::settings::Secret;
/// let key = Secret::new("sk-live-123");
/// assert_eq!(format!("{key:?}"), "Secret(***)");
/// assert_eq!(key.expose(), "sk-live-123");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that sends it (an auth header, a signer).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The deployment environment (`APP_ENV`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AppEnv {
    /// `development` (default).
    #[default]
    Development,
    /// `staging`.
    Staging,
    /// `production`.
    Production,
}

/// SPECTRA's configuration. Defaults are the seed backend's.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `DATABASE_URL`: the store file (`file:./dev.db` or a plain path); in-memory when unset.
    pub database_url: Option<String>,
    /// `SIM_START`: where the simulation clock starts (default 2024-01-01T00:00:00Z).
    pub sim_start: DateTime<Utc>,
    /// `SIM_TICK_INTERVAL_HOURS`: how often, in hours, the clock auto-advances (default 1).
    pub sim_tick_interval_hours: f64,
    /// `LATENCY_FETCH_INTERVAL_HOURS`: how often, in hours, latency refreshes (default 6).
    pub latency_fetch_interval_hours: f64,
    /// `CSV_DIR`: the Electricity Maps exports (default `./data/electricitymaps`).
    pub csv_dir: PathBuf,
    /// `LATENCY_VANTAGE_REGION`: the AWS region baseline latencies are measured from (default us-east-1).
    pub latency_vantage_region: String,
    /// `CLOUDFLARE_API_TOKEN`: enables live latency.
    pub cloudflare_api_token: Option<Secret>,
    /// `ELECTRICITY_MAPS_API_KEY`: enables live carbon intensity.
    pub electricity_maps_api_key: Option<Secret>,
    /// `AWS_ROLE_ARN`: a role to assume for AWS data.
    pub aws_role_arn: Option<String>,
    /// `AWS_ACCESS_KEY_ID`.
    pub aws_access_key_id: Option<Secret>,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub aws_secret_access_key: Option<Secret>,
    /// `AWS_SESSION_TOKEN`.
    pub aws_session_token: Option<Secret>,
    /// `CORS_ORIGINS`: comma-separated origins the HTTP face allows.
    pub cors_origins: Vec<String>,
    /// `APP_ENV`.
    pub app_env: AppEnv,
    /// `ADMIN_TOKEN`: when set, the HTTP face's admin endpoints require it as a bearer token.
    pub admin_token: Option<Secret>,
    /// `ELECTRICITY_MAPS_API_URL`: the Electricity Maps API base (default its public v3 API; tests
    /// point it at a local server).
    pub electricity_maps_api_url: Option<String>,
    /// `CLOUDFLARE_API_URL`: the Cloudflare API base (default `https://api.cloudflare.com/client/v4`).
    pub cloudflare_api_url: Option<String>,
    /// `AWS_ENDPOINT_URL`: one endpoint for every AWS service (the AWS SDKs' name; e.g. moto).
    pub aws_endpoint_url: Option<String>,
    /// `AWS_REGION` (or `AWS_DEFAULT_REGION`): the region for global calls such as STS and Cost
    /// Explorer, and the first region EC2 is asked about (default `us-east-1`).
    pub aws_region: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: None,
            sim_start: default_sim_start(),
            sim_tick_interval_hours: 1.0,
            latency_fetch_interval_hours: 6.0,
            csv_dir: PathBuf::from("./data/electricitymaps"),
            latency_vantage_region: "us-east-1".into(),
            cloudflare_api_token: None,
            electricity_maps_api_key: None,
            aws_role_arn: None,
            aws_access_key_id: None,
            aws_secret_access_key: None,
            aws_session_token: None,
            cors_origins: vec!["http://localhost:5173".into(), "http://localhost:3000".into()],
            app_env: AppEnv::Development,
            admin_token: None,
            electricity_maps_api_url: None,
            cloudflare_api_url: None,
            aws_endpoint_url: None,
            aws_region: None,
        }
    }
}

impl Settings {
    /// Reads every setting through `lookup` (a name -> value function); unset or empty values take
    /// the default. Errors name the variable.
    ///
    /// ```
    /// use spectra_core::settings::Settings;
    /// let s = Settings::from_lookup(|k| (k == "SIM_START").then(|| "2024-06-01T12:00:00Z".to_string())).unwrap();
    /// assert_eq!(s.sim_start.to_rfc3339(), "2024-06-01T12:00:00+00:00");
    /// assert!(Settings::from_lookup(|k| (k == "SIM_START").then(|| "soon".to_string())).is_err());
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |key: &str| lookup(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let d = Self::default();
        let hours = |key: &str, default: f64| -> Result<f64> {
            match get(key) {
                None => Ok(default),
                Some(v) => match v.parse::<f64>() {
                    Ok(h) if h.is_finite() && h > 0.0 => Ok(h),
                    _ => Err(Error::config(key, format!("{v:?} is not a positive number of hours"))),
                },
            }
        };
        Ok(Self {
            database_url: get("DATABASE_URL"),
            sim_start: match get("SIM_START") {
                None => d.sim_start,
                Some(v) => DateTime::parse_from_rfc3339(&v)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| Error::config("SIM_START", format!("{v:?} is not an RFC 3339 UTC time")))?,
            },
            sim_tick_interval_hours: hours("SIM_TICK_INTERVAL_HOURS", d.sim_tick_interval_hours)?,
            latency_fetch_interval_hours: hours("LATENCY_FETCH_INTERVAL_HOURS", d.latency_fetch_interval_hours)?,
            csv_dir: get("CSV_DIR").map(PathBuf::from).unwrap_or(d.csv_dir),
            latency_vantage_region: get("LATENCY_VANTAGE_REGION").unwrap_or(d.latency_vantage_region),
            cloudflare_api_token: get("CLOUDFLARE_API_TOKEN").map(Secret),
            electricity_maps_api_key: get("ELECTRICITY_MAPS_API_KEY").map(Secret),
            aws_role_arn: get("AWS_ROLE_ARN"),
            aws_access_key_id: get("AWS_ACCESS_KEY_ID").map(Secret),
            aws_secret_access_key: get("AWS_SECRET_ACCESS_KEY").map(Secret),
            aws_session_token: get("AWS_SESSION_TOKEN").map(Secret),
            admin_token: get("ADMIN_TOKEN").map(Secret),
            electricity_maps_api_url: get("ELECTRICITY_MAPS_API_URL"),
            cloudflare_api_url: get("CLOUDFLARE_API_URL"),
            aws_endpoint_url: get("AWS_ENDPOINT_URL"),
            aws_region: get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION")),
            cors_origins: match get("CORS_ORIGINS") {
                None => d.cors_origins,
                Some(v) => v.split(',').map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()).collect(),
            },
            app_env: match get("APP_ENV").as_deref() {
                None | Some("development") => AppEnv::Development,
                Some("staging") => AppEnv::Staging,
                Some("production") => AppEnv::Production,
                Some(other) => {
                    return Err(Error::config(
                        "APP_ENV",
                        format!("{other:?} is not development, staging or production"),
                    ));
                }
            },
        })
    }

    /// Whether AWS credentials are configured (a key pair; a role alone needs base credentials).
    pub fn has_aws_credentials(&self) -> bool {
        self.aws_access_key_id.is_some() && self.aws_secret_access_key.is_some()
    }

    /// The store file named by `DATABASE_URL`, accepting the seed's `file:./dev.db` form.
    pub fn database_path(&self) -> Option<PathBuf> {
        let url = self.database_url.as_deref()?;
        Some(PathBuf::from(url.strip_prefix("file://").or_else(|| url.strip_prefix("file:")).unwrap_or(url)))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_the_seeds() {
        let s = from(&[]).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.database_path(), None);
        assert_eq!(s.latency_fetch_interval_hours, 6.0);
    }

    #[test]
    fn reads_and_validates_every_kind_of_value() {
        let s = from(&[
            ("DATABASE_URL", "file:./dev.db"),
            ("CORS_ORIGINS", "http://a, http://b,"),
            ("APP_ENV", "production"),
            ("SIM_TICK_INTERVAL_HOURS", "0.5"),
            ("ELECTRICITY_MAPS_API_KEY", "em-secret-key"),
            ("AWS_SECRET_ACCESS_KEY", "aws-secret"),
        ])
        .unwrap();
        assert_eq!(s.database_path(), Some(PathBuf::from("./dev.db")));
        assert_eq!(s.cors_origins, ["http://a", "http://b"]);
        assert_eq!(s.app_env, AppEnv::Production);
        assert_eq!(s.sim_tick_interval_hours, 0.5);
        let debug = format!("{s:?}");
        assert!(!debug.contains("em-secret-key") && !debug.contains("aws-secret"), "{debug}");
        for (key, value) in [("SIM_TICK_INTERVAL_HOURS", "-1"), ("APP_ENV", "prod"), ("SIM_START", "2024-01-01")] {
            let err = from(&[(key, value)]).unwrap_err();
            assert!(matches!(&err, Error::Config { key: k, .. } if k == key), "{err}");
        }
    }
}
