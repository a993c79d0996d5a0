//! The HTTP behaviour every live source shares: per-attempt and connect timeouts, retries with
//! exponential backoff and jitter on transient failures (timeouts, connection errors, 429, 5xx)
//! honouring `Retry-After`, a bound on a call's total time, and typed errors that never carry a
//! credential, a URL or a response body.
//!
//! Sources build a request per attempt (so a signer can date and sign each one) and read the whole
//! body once; responses here are small JSON or XML documents.

mod retry;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use spectra_core::{Clock, Error, Result, Secret, SystemClock};

pub use retry::{RetryConfig, parse_retry_after};

/// Why one HTTP exchange failed, inside [`Error::Source`] (statuses with their own meaning become
/// [`Error::Unauthenticated`], [`Error::NotFound`] or [`Error::RateLimited`] instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// No answer within the per-attempt timeout, after every retry.
    #[error("timed out after {attempts} attempt(s)")]
    Timeout {
        /// Attempts made.
        attempts: u32,
    },
    /// The connection failed (refused, reset, DNS), after every retry.
    #[error("connection failed after {attempts} attempt(s): {kind}")]
    Connect {
        /// Attempts made.
        attempts: u32,
        /// What kind of failure, without the URL.
        kind: String,
    },
    /// The server kept failing (5xx), after every retry.
    #[error("server error {status} after {attempts} attempt(s)")]
    Server {
        /// The last status.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// A status SPECTRA does not retry and has no typed error for (e.g. 400).
    #[error("unexpected status {status}")]
    Status {
        /// The status.
        status: u16,
    },
}

/// A response read in full.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status (2xx from `send`, which returns errors for the rest; any but 429/5xx from `send_raw`).
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON of type `T`; a malformed body is [`Error::BadResponse`] naming the line
    /// and column, never quoting the body.
    pub fn json<T: serde::de::DeserializeOwned>(&self, source_name: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::bad_response(source_name, describe_json_error(&e)))
    }

    /// The body as UTF-8 text.
    pub fn text(&self, source_name: &str) -> Result<&str> {
        std::str::from_utf8(&self.body).map_err(|e| Error::bad_response(source_name, format!("not UTF-8: {e}")))
    }
}

/// A serde_json error described without the values it may quote from the body.
pub fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Syntax => "malformed JSON",
        Category::Eof => "truncated JSON",
        Category::Data => "unexpected JSON shape",
        Category::Io => "unreadable JSON",
    };
    // For data errors the message names the missing field or expected type; it quotes a value
    // only for "invalid value" errors, which we cut at the colon.
    let detail = e.to_string();
    let detail = detail.split(" at line ").next().unwrap_or_default();
    let detail = match detail.find(": ") {
        Some(i) if detail.starts_with("invalid") => &detail[..i],
        _ => detail,
    };
    format!("{what} ({detail}) at line {}, column {}", e.line(), e.column())
}

/// The client of one live source: a connection pool plus its retry policy.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    retry: RetryConfig,
    source_name: &'static str,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient").field("source", &self.source_name).field("retry", &self.retry).finish()
    }
}

impl HttpClient {
    /// A client for `source_name` with `retry`'s timeouts.
    pub fn new(source_name: &'static str, retry: RetryConfig) -> Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(retry.connect_timeout)
            .timeout(retry.request_timeout)
            .user_agent(concat!("spectra/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::config(source_name, format!("cannot build an HTTP client: {}", e.without_url())))?;
        Ok(Self { client, retry, source_name, clock: Arc::new(SystemClock) })
    }

    /// The underlying client, to build requests with.
    pub fn inner(&self) -> &reqwest::Client {
        &self.client
    }

    /// The retry policy.
    pub fn retry(&self) -> &RetryConfig {
        &self.retry
    }

    /// Sends the request `build` makes (called once per attempt), retrying transient failures.
    ///
    /// 2xx returns the response; 401/403 is [`Error::Unauthenticated`]; 404 is
    /// [`Error::NotFound`] naming `what`; 429 is retried, then [`Error::RateLimited`]; 5xx,
    /// timeouts and connection failures are retried, then [`Error::Source`] with an [`HttpError`].
    pub async fn send(&self, what: &str, build: impl Fn() -> Result<reqwest::RequestBuilder>) -> Result<Response> {
        let response = self.send_raw(build, |_| false).await?;
        if (200..300).contains(&response.status) { Ok(response) } else { Err(self.status_error(response.status, what)) }
    }

    /// Like [`HttpClient::send`], but a status `send` would not retry (400, 401, 403, 404...) comes
    /// back as a response with its body, so a source can read its service's own error code (AWS
    /// says `Throttling` or `ExpiredToken` in a 400). `transient` marks which of those responses to
    /// retry like a 5xx; when retries run out on one, the last response is returned. 429, 5xx,
    /// timeouts and connection failures behave as in `send`.
    pub async fn send_raw(
        &self,
        build: impl Fn() -> Result<reqwest::RequestBuilder>,
        transient: impl Fn(&Response) -> bool,
    ) -> Result<Response> {
        let deadline = tokio::time::Instant::now() + self.retry.retry_timeout;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let (failure, answer) = match self.attempt_raw(build()?).await {
                Ok(RawAttempt::Answer(response)) if !transient(&response) => return Ok(response),
                Ok(RawAttempt::Answer(response)) => {
                    (Failure::Status { status: response.status, retry_after: None }, Some(response))
                }
                Ok(RawAttempt::Retryable { status, retry_after }) => (Failure::Status { status, retry_after }, None),
                Err(failure) => (failure, None),
            };
            let wait = match &failure {
                Failure::Status { retry_after: Some(after), .. } => *after,
                _ => self.retry.backoff(attempt - 1, fastrand::f64()),
            };
            if attempt > self.retry.max_retries || tokio::time::Instant::now() + wait >= deadline {
                return match answer {
                    Some(response) => Ok(response),
                    None => Err(self.exhausted(failure, attempt)),
                };
            }
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt_raw(&self, request: reqwest::RequestBuilder) -> std::result::Result<RawAttempt, Failure> {
        let response = request.send().await.map_err(Failure::from_reqwest)?;
        let status = response.status().as_u16();
        if status == 429 || (500..600).contains(&status) {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, self.clock.now()));
            return Ok(RawAttempt::Retryable { status, retry_after });
        }
        let body = response.bytes().await.map_err(Failure::from_reqwest)?;
        Ok(RawAttempt::Answer(Response { status, body: body.to_vec() }))
    }

    fn status_error(&self, status: u16, what: &str) -> Error {
        let source_name = self.source_name.to_owned();
        match status {
            401 | 403 => Error::Unauthenticated { source_name },
            404 => Error::NotFound { kind: "remote resource", key: format!("{} {what}", self.source_name) },
            _ => Error::source(source_name, HttpError::Status { status }),
        }
    }

    fn exhausted(&self, failure: Failure, attempts: u32) -> Error {
        let source_name = self.source_name.to_owned();
        match failure {
            Failure::Status { status: 429, retry_after } => Error::RateLimited { source_name, retry_after },
            Failure::Status { status, .. } => Error::source(source_name, HttpError::Server { status, attempts }),
            Failure::Timeout => Error::source(source_name, HttpError::Timeout { attempts }),
            Failure::Connect(kind) => Error::source(source_name, HttpError::Connect { attempts, kind }),
        }
    }
}

/// One attempt of [`HttpClient::send_raw`]: an answer to hand back (any status but 429/5xx), or a
/// transient status.
enum RawAttempt {
    Answer(Response),
    Retryable { status: u16, retry_after: Option<Duration> },
}

/// A transient failure of one attempt.
enum Failure {
    Status { status: u16, retry_after: Option<Duration> },
    Timeout,
    Connect(String),
}

impl Failure {
    fn from_reqwest(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            return Self::Timeout;
        }
        // reqwest's message names the URL; the kind is enough to act on.
        let kind = if e.is_connect() {
            "could not connect"
        } else if e.is_body() || e.is_decode() {
            "the response body was cut off"
        } else if e.is_request() {
            "the request could not be sent"
        } else {
            "transport error"
        };
        Self::Connect(kind.to_owned())
    }
}

/// The secret a builder was given, or [`Error::Config`] naming `key` when it is missing or empty.
pub fn required_secret(secret: Option<Secret>, key: &str) -> Result<Secret> {
    secret.filter(|s| !s.expose().is_empty()).ok_or_else(|| Error::config(key, "is not set"))
}

/// `url` when it is an http(s) URL, else [`Error::Config`] naming `key`. The message shows only
/// the scheme: a URL may carry credentials (`user:password@`).
pub fn endpoint(url: String, key: &str) -> Result<String> {
    if url.starts_with("http://") || url.starts_with("https://") {
        return Ok(url);
    }
    let scheme = url.split_once(':').map_or("none", |(scheme, _)| scheme);
    let scheme: String = scheme.chars().take(16).collect();
    Err(Error::config(key, format!("is not an http(s) URL (scheme {scheme:?})")))
}

/// Joins a base URL and a path with exactly one `/` between them.
pub fn join(base: &str, path: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_do_not_quote_the_body() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            a: f64,
        }
        let r = Response { status: 200, body: br#"{"a": "sk-secret-token"}"#.to_vec() };
        let e = r.json::<T>("src").unwrap_err().to_string();
        assert!(!e.contains("sk-secret-token"), "{e}");
        assert!(e.contains("line 1"), "{e}");
        let r = Response { status: 200, body: b"{\"a\": 1".to_vec() };
        assert!(r.json::<T>("src").unwrap_err().to_string().contains("truncated JSON"));
        let r = Response { status: 200, body: b"{}".to_vec() };
        assert!(r.json::<T>("src").unwrap_err().to_string().contains("missing field `a`"));
    }

    #[test]
    fn endpoints_must_be_http_and_errors_show_only_the_scheme() {
        assert_eq!(endpoint("https://h/v3".into(), "K").unwrap(), "https://h/v3");
        let e = endpoint("ftp://user:pw-secret@h".into(), "K").unwrap_err().to_string();
        assert!(e.contains("\"ftp\"") && !e.contains("pw-secret"), "{e}");
        assert!(required_secret(Some(Secret::new("")), "KEY").unwrap_err().to_string().contains("KEY"));
        assert_eq!(required_secret(Some(Secret::new("s")), "KEY").unwrap().expose(), "s");
    }

    #[test]
    fn urls_join_with_one_slash() {
        assert_eq!(join("http://h/v3/", "/carbon"), "http://h/v3/carbon");
        assert_eq!(join("http://h", "x"), "http://h/x");
    }
}
