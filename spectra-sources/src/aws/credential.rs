//! AWS credentials: a static key pair (with an optional session token), or temporary credentials
//! from STS AssumeRole, fetched with the static ones and cached until shortly before they expire.

use std::fmt;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use spectra_core::{Clock, Error, Result, Secret};

use super::client::{AwsClient, Service};
use super::xml;

/// An access key id, secret access key and optional session token. `Debug` shows none of them.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredential {
    /// `AWS_ACCESS_KEY_ID` (not secret in itself, but it names an account's key, so it is kept out
    /// of logs as well).
    pub key_id: Secret,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_key: Secret,
    /// `AWS_SESSION_TOKEN`, for temporary credentials.
    pub token: Option<Secret>,
}

impl AwsCredential {
    /// A credential from its parts.
    pub fn new(key_id: impl Into<String>, secret_key: impl Into<String>, token: Option<String>) -> Self {
        Self { key_id: Secret::new(key_id), secret_key: Secret::new(secret_key), token: token.map(Secret::new) }
    }
}

impl fmt::Debug for AwsCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCredential")
            .field("key_id", &self.key_id)
            .field("secret_key", &self.secret_key)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Temporary credentials are refreshed this long before they expire, so a request signed just
/// before expiry does not arrive after it.
const REFRESH_MARGIN_MINUTES: i64 = 5;

/// How the source obtains the credential it signs with.
pub(crate) enum CredentialProvider {
    /// The configured key pair.
    Static(Arc<AwsCredential>),
    /// STS AssumeRole with the configured key pair.
    AssumeRole(AssumeRole),
}

impl fmt::Debug for CredentialProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Static(c) => f.debug_tuple("Static").field(c).finish(),
            Self::AssumeRole(a) => f
                .debug_struct("AssumeRole")
                .field("role_arn", &a.role_arn)
                .field("session_name", &a.session_name)
                .field("base", &a.base)
                .finish_non_exhaustive(),
        }
    }
}

/// The AssumeRole provider's state.
pub(crate) struct AssumeRole {
    pub base: Arc<AwsCredential>,
    pub role_arn: String,
    pub session_name: String,
    pub duration_seconds: u32,
    pub cache: Mutex<Option<(Arc<AwsCredential>, DateTime<Utc>)>>,
}

impl CredentialProvider {
    /// The credential to sign the next request with.
    pub(crate) async fn get(&self, client: &AwsClient, clock: &dyn Clock) -> Result<Arc<AwsCredential>> {
        match self {
            Self::Static(c) => Ok(c.clone()),
            Self::AssumeRole(role) => role.get(client, clock).await,
        }
    }
}

impl AssumeRole {
    async fn get(&self, client: &AwsClient, clock: &dyn Clock) -> Result<Arc<AwsCredential>> {
        let now = clock.now();
        if let Some((credential, expires)) = self.cached() {
            if now + Duration::minutes(REFRESH_MARGIN_MINUTES) < expires {
                return Ok(credential);
            }
        }
        // Two concurrent refreshes may both call STS; both results are valid, so that costs one
        // extra call and needs no async lock.
        let (credential, expires) = self.fetch(client).await?;
        let credential = Arc::new(credential);
        if let Ok(mut cache) = self.cache.lock() {
            *cache = Some((credential.clone(), expires));
        }
        Ok(credential)
    }

    fn cached(&self) -> Option<(Arc<AwsCredential>, DateTime<Utc>)> {
        // A poisoned lock only means another thread panicked while storing: refetch.
        self.cache.lock().ok().and_then(|c| c.clone())
    }

    async fn fetch(&self, client: &AwsClient) -> Result<(AwsCredential, DateTime<Utc>)> {
        let duration = self.duration_seconds.to_string();
        let params = [
            ("Action", "AssumeRole"),
            ("Version", "2011-06-15"),
            ("RoleArn", self.role_arn.as_str()),
            ("RoleSessionName", self.session_name.as_str()),
            ("DurationSeconds", duration.as_str()),
        ];
        let region = client.home_region().to_owned();
        let response = client.query(Service::Sts, &region, &self.base, &params, "STS AssumeRole").await?;
        parse_assume_role(client.source_name(), &response)
    }
}

/// Reads an AssumeRole response's credentials and expiry.
pub(crate) fn parse_assume_role(source_name: &str, body: &str) -> Result<(AwsCredential, DateTime<Utc>)> {
    let doc = xml::parse(source_name, body)?;
    let credentials = xml::path(doc.root_element(), &["AssumeRoleResult", "Credentials"])
        .ok_or_else(|| Error::bad_response(source_name, "AssumeRole response without Credentials"))?;
    let field = |name: &'static str| {
        xml::child_text(credentials, name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::bad_response(source_name, format!("AssumeRole credentials without {name}")))
    };
    let credential = AwsCredential {
        key_id: Secret::new(field("AccessKeyId")?),
        secret_key: Secret::new(field("SecretAccessKey")?),
        token: Some(Secret::new(field("SessionToken")?)),
    };
    let expiration = field("Expiration")?;
    let expires = DateTime::parse_from_rfc3339(expiration)
        .map_err(|_| Error::bad_response(source_name, "AssumeRole Expiration is not an RFC 3339 time"))?
        .with_timezone(&Utc);
    Ok((credential, expires))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_part_of_a_credential() {
        let c = AwsCredential::new("AKIDSHOWN", "s3cr3t-key", Some("t0ken".into()));
        let debug = format!("{c:?} {:?}", CredentialProvider::Static(Arc::new(c.clone())));
        for secret in ["AKIDSHOWN", "s3cr3t-key", "t0ken"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }

    #[test]
    fn parses_sts_credentials_and_refuses_incomplete_ones() {
        let body = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
            <Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>sk/+1</SecretAccessKey>
            <SessionToken>tok</SessionToken><Expiration>2026-12-03T22:09:37.950431Z</Expiration></Credentials>
            </AssumeRoleResult></AssumeRoleResponse>"#;
        let (c, expires) = parse_assume_role("aws", body).unwrap();
        assert_eq!((c.key_id.expose(), c.secret_key.expose()), ("ASIA1", "sk/+1"));
        assert_eq!(c.token.unwrap().expose(), "tok");
        assert_eq!(expires.to_rfc3339(), "2026-12-03T22:09:37.950431+00:00");
        let err = parse_assume_role("aws", &body.replace("<SessionToken>tok</SessionToken>", "")).unwrap_err();
        assert!(matches!(err, Error::BadResponse { .. }), "{err}");
        let err = parse_assume_role("aws", &body.replace("2026-12-03T22", "soon")).unwrap_err();
        assert!(!err.to_string().contains("sk/+1"), "{err}");
    }
}
