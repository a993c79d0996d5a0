//! Signed calls to AWS services over the shared [`HttpClient`], and AWS's error bodies mapped to
//! SPECTRA's typed errors.

use std::fmt;
use std::sync::Arc;

use spectra_core::{Clock, Error, Result};

use super::credential::AwsCredential;
use super::sigv4::{self, Scope};
use super::xml;
use crate::http::{HttpClient, Response};

/// The AWS services SPECTRA calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    Ec2,
    CloudWatch,
    CostExplorer,
    Sts,
}

impl Service {
    /// The SigV4 signing name, also the endpoint's host prefix.
    fn signing_name(self) -> &'static str {
        match self {
            Self::Ec2 => "ec2",
            Self::CloudWatch => "monitoring",
            Self::CostExplorer => "ce",
            Self::Sts => "sts",
        }
    }

    /// The region a call is signed for: Cost Explorer has one endpoint, in us-east-1.
    fn signing_region(self, region: &str) -> &str {
        match self {
            Self::CostExplorer => "us-east-1",
            _ => region,
        }
    }
}

/// An error answer of an AWS service that has no typed error of its own, inside
/// [`Error::Source`]: the HTTP status and AWS's error code (e.g. `InvalidParameterValue`), never
/// its message, which can quote the request (a `SignatureDoesNotMatch` message holds the string
/// that was signed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("AWS error {code} (HTTP {status})")]
pub struct AwsServiceError {
    /// HTTP status.
    pub status: u16,
    /// AWS's error code, or `unknown` when the body had none SPECTRA could read.
    pub code: String,
}

/// Codes AWS uses for rejected credentials or signatures.
const AUTH_CODES: &[&str] = &[
    "AuthFailure",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
    "InvalidSignatureException",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "RequestExpired",
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
];

/// Codes AWS uses to ask a client to slow down (botocore's list of throttling codes).
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Signs and sends AWS requests.
pub(crate) struct AwsClient {
    http: HttpClient,
    /// One endpoint for every service (moto, a mock server, a VPC endpoint), or AWS's own.
    endpoint: Option<reqwest::Url>,
    home_region: String,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for AwsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsClient")
            .field("http", &self.http)
            .field("endpoint", &self.endpoint.as_ref().map(|u| super::redact_url(u.as_str())))
            .field("home_region", &self.home_region)
            .finish()
    }
}

impl AwsClient {
    pub(crate) fn new(
        http: HttpClient,
        endpoint: Option<reqwest::Url>,
        home_region: String,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { http, endpoint, home_region, clock }
    }

    pub(crate) fn source_name(&self) -> &'static str {
        super::SOURCE_NAME
    }

    /// The region of global calls (STS) and the first region asked about.
    pub(crate) fn home_region(&self) -> &str {
        &self.home_region
    }

    fn url(&self, service: Service, region: &str) -> Result<reqwest::Url> {
        if let Some(endpoint) = &self.endpoint {
            return Ok(endpoint.clone());
        }
        let region = service.signing_region(region);
        let domain = if partition(region) == "aws-cn" { "amazonaws.com.cn" } else { "amazonaws.com" };
        let host = format!("https://{}.{region}.{domain}/", service.signing_name());
        reqwest::Url::parse(&host).map_err(|_| Error::config("AWS_REGION", "not a valid region name"))
    }

    /// A Query API call (EC2, CloudWatch, STS): a form-encoded POST; returns the XML body.
    pub(crate) async fn query(
        &self,
        service: Service,
        region: &str,
        credential: &AwsCredential,
        params: &[(&str, &str)],
        what: &str,
    ) -> Result<String> {
        let body = sigv4::form_encode(params.iter().copied());
        let headers = [("content-type", "application/x-www-form-urlencoded; charset=utf-8".to_owned())];
        let response = self.send(service, region, credential, &headers, body.into_bytes(), what).await?;
        Ok(response.text(self.source_name())?.to_owned())
    }

    /// A JSON 1.1 call (Cost Explorer): `target` is the `X-Amz-Target`; returns the JSON body.
    pub(crate) async fn json(
        &self,
        service: Service,
        region: &str,
        credential: &AwsCredential,
        target: &str,
        body: &serde_json::Value,
        what: &str,
    ) -> Result<Response> {
        let headers = [("content-type", "application/x-amz-json-1.1".to_owned()), ("x-amz-target", target.to_owned())];
        self.send(service, region, credential, &headers, body.to_string().into_bytes(), what).await
    }

    async fn send(
        &self,
        service: Service,
        region: &str,
        credential: &AwsCredential,
        headers: &[(&str, String)],
        body: Vec<u8>,
        what: &str,
    ) -> Result<Response> {
        let url = self.url(service, region)?;
        let scope = Scope { region: service.signing_region(region), service: service.signing_name() };
        // Signed afresh per attempt: a retry minutes later must carry its own date.
        let build = || {
            let signed = sigv4::sign(
                credential,
                scope,
                &sigv4::Request { method: "POST", url: &url, headers, body: &body },
                self.clock.now(),
                false,
            );
            let mut request = self.http.inner().post(url.clone()).body(body.clone());
            for (name, value) in headers.iter().chain(signed.iter()) {
                request = request.header(*name, value.as_str());
            }
            Ok(request)
        };
        let response = self.http.send_raw(build, is_throttling).await?;
        if (200..300).contains(&response.status) {
            return Ok(response);
        }
        Err(service_error(self.source_name(), &response, what))
    }
}

/// The AWS partition of a region: credentials of one partition are unknown in the others.
pub(crate) fn partition(region: &str) -> &'static str {
    if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("cn-") {
        "aws-cn"
    } else {
        "aws"
    }
}

fn is_throttling(response: &Response) -> bool {
    error_code(&response.body).is_some_and(|code| THROTTLING_CODES.contains(&code.as_str()))
}

/// The typed error for a non-2xx answer: rejected credentials are [`Error::Unauthenticated`],
/// throttling [`Error::RateLimited`], 404 [`Error::NotFound`], the rest [`Error::Source`] with an
/// [`AwsServiceError`].
pub(crate) fn service_error(source_name: &str, response: &Response, what: &str) -> Error {
    let code = error_code(&response.body);
    let code_is = |list: &[&str]| code.as_deref().is_some_and(|c| list.contains(&c));
    let source_name = source_name.to_owned();
    if code_is(AUTH_CODES) || matches!(response.status, 401 | 403) {
        Error::Unauthenticated { source_name }
    } else if code_is(THROTTLING_CODES) {
        Error::RateLimited { source_name, retry_after: None }
    } else if response.status == 404 {
        Error::NotFound { kind: "remote resource", key: format!("{source_name} {what}") }
    } else {
        let code = code.unwrap_or_else(|| "unknown".into());
        Error::source(source_name, AwsServiceError { status: response.status, code })
    }
}

/// AWS's error code in an error body: `<Code>` of an XML error (`<Response><Errors><Error>` for
/// EC2, `<ErrorResponse><Error>` for the others) or `__type` of a JSON one, without its namespace.
/// Only a plain identifier is returned, so nothing else of the body can reach a message.
pub(crate) fn error_code(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    let raw = if text.starts_with('<') {
        let doc = roxmltree::Document::parse(text).ok()?;
        let code = doc.descendants().find(|n| n.is_element() && n.tag_name().name() == "Code")?;
        code.text()?.trim().to_owned()
    } else {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let code = value.get("__type").or_else(|| value.get("code")).or_else(|| value.get("Code"))?;
        code.as_str()?.to_owned()
    };
    // JSON types look like `com.amazon.coral.service#ThrottlingException` or `Code:http://...`.
    let code = raw.rsplit('#').next().unwrap_or_default();
    let code = code.split(':').next().unwrap_or_default();
    let plain = !code.is_empty()
        && code.len() <= 64
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    plain.then(|| code.to_owned())
}

/// The `NextToken` (or `nextToken`) of a Query API page: `None` when absent or empty.
pub(crate) fn next_token(root: roxmltree::Node<'_, '_>, path: &[&str]) -> Option<String> {
    xml::path(root, path).and_then(|n| n.text()).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
}

/// Fails when a service hands back the token it was just given, which would loop forever.
pub(crate) fn check_progress(source_name: &str, sent: Option<&str>, next: Option<&str>) -> Result<()> {
    match (sent, next) {
        (Some(a), Some(b)) if a == b => Err(Error::bad_response(source_name, "pagination token did not advance")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response {
        Response { status, body: body.as_bytes().to_vec() }
    }

    #[test]
    fn error_codes_are_read_from_xml_and_json_and_sanitised() {
        let ec2 = "<Response><Errors><Error><Code>AuthFailure</Code><Message>x</Message></Error></Errors></Response>";
        assert_eq!(error_code(ec2.as_bytes()).as_deref(), Some("AuthFailure"));
        let sts = r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>
            <Code>ExpiredToken</Code></Error></ErrorResponse>"#;
        assert_eq!(error_code(sts.as_bytes()).as_deref(), Some("ExpiredToken"));
        let ce = r#"{"__type":"com.amazon.coral.service#ThrottlingException","message":"slow"}"#;
        assert_eq!(error_code(ce.as_bytes()).as_deref(), Some("ThrottlingException"));
        assert_eq!(error_code(b"<Code>has spaces and secret</Code>"), None);
        assert_eq!(error_code(b"not a body"), None);
    }

    #[test]
    fn partitions_and_their_endpoints() {
        assert_eq!(
            (partition("eu-west-1"), partition("us-gov-east-1"), partition("cn-north-1")),
            ("aws", "aws-us-gov", "aws-cn")
        );
        let client = AwsClient::new(
            HttpClient::new("aws", crate::http::RetryConfig::default()).unwrap(),
            None,
            "us-east-1".into(),
            Arc::new(spectra_core::SystemClock),
        );
        assert_eq!(client.url(Service::Ec2, "eu-west-1").unwrap().as_str(), "https://ec2.eu-west-1.amazonaws.com/");
        assert_eq!(
            client.url(Service::CloudWatch, "cn-north-1").unwrap().as_str(),
            "https://monitoring.cn-north-1.amazonaws.com.cn/"
        );
        assert_eq!(
            client.url(Service::CostExplorer, "eu-west-1").unwrap().as_str(),
            "https://ce.us-east-1.amazonaws.com/"
        );
        assert_eq!(client.url(Service::Sts, "eu-west-1").unwrap().as_str(), "https://sts.eu-west-1.amazonaws.com/");
    }

    #[test]
    fn statuses_and_codes_map_to_typed_errors() {
        let xml = |code: &str| format!("<ErrorResponse><Error><Code>{code}</Code></Error></ErrorResponse>");
        assert!(matches!(
            service_error("aws", &response(400, &xml("ExpiredToken")), "x"),
            Error::Unauthenticated { .. }
        ));
        assert!(matches!(service_error("aws", &response(403, ""), "x"), Error::Unauthenticated { .. }));
        assert!(matches!(service_error("aws", &response(400, &xml("Throttling")), "x"), Error::RateLimited { .. }));
        assert!(matches!(service_error("aws", &response(404, ""), "x"), Error::NotFound { .. }));
        let err = service_error("aws", &response(400, &xml("InvalidParameterValue")), "x");
        assert_eq!(err.to_string(), "aws: AWS error InvalidParameterValue (HTTP 400)");
        assert!(is_throttling(&response(400, &xml("RequestLimitExceeded"))));
        assert!(!is_throttling(&response(400, &xml("AuthFailure"))));
    }
}
