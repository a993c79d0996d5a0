//! The AWS source end to end: against `moto_server` (EC2, CloudWatch, Cost Explorer with canned
//! results, STS AssumeRole), filled by `aws_setup.py` with boto3 and read back through SPECTRA's
//! own client; against the in-process mock server for the faults moto cannot stage (auth
//! failures, throttling, 5xx, malformed bodies, timeouts); and a secret-leak test over every
//! error path.
//!
//! moto_server is found through `MOTO_SERVER` or `PATH` (`.ci/moto-env` installs it on a fresh
//! machine). When it is missing the moto tests print "skipped: moto_server not found" and pass,
//! unless `SPECTRA_REQUIRE_MOTO=1` (set by CI), where they fail.

#![cfg(feature = "aws")]

mod support;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use spectra_core::{
    Catalog, DataSource, Error, Instance, InstanceState, RegionCode, RegionCost, TimeRange, UtilisationHour,
};
use spectra_sources::aws::{AmazonBuilder, AwsServiceError, pricing};
use spectra_sources::http::RetryConfig;
use support::mock_server::{self, MockResponse, MockServer, Recorded};
use support::moto::{setup, start_moto, start_moto_with};

const SECRET: &str = "leak-secret-KEY/abc+123";
const TOKEN: &str = "leak-session-TOKEN-xyz";

fn catalog() -> Arc<Catalog> {
    Arc::new(spectra_sources::bundled::catalog().unwrap())
}

fn fast_retry() -> RetryConfig {
    RetryConfig {
        max_retries: 3,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        ..RetryConfig::default()
    }
}

fn moto_builder(url: &str) -> AmazonBuilder {
    AmazonBuilder::new()
        .with_access_key_id("AKIDSPECTRA")
        .with_secret_access_key(SECRET)
        .with_region("us-east-1")
        .with_endpoint(url)
        .with_catalog(catalog())
        .with_retry(fast_retry())
        // Small pages and batches, so pagination and batching are exercised.
        .with_page_size(5)
        .with_metric_batch(4)
}

fn expected_instance(
    catalog: &Catalog,
    id: &str,
    name: &str,
    team: &str,
    region: &str,
    kind: (&str, u32, f64),
    state: InstanceState,
) -> Instance {
    let r = catalog.require(region).unwrap();
    Instance {
        id: id.into(),
        name: name.into(),
        team: team.into(),
        region: RegionCode::new(region),
        instance_type: kind.0.into(),
        vcpus: kind.1,
        memory_gb: kind.2,
        state,
        hourly_cost_usd: pricing::hourly_usd(kind.0, kind.1, kind.2, r),
    }
}

#[tokio::test]
async fn moto_fleet_metrics_and_costs_read_back_exactly() {
    let Some(moto) = start_moto() else { return };
    let created = setup(&moto.url, &[]);
    let catalog = catalog();
    let source = moto_builder(&moto.url).build().unwrap();
    assert_eq!(source.name(), "aws");

    // EC2: every live instance of every catalog AWS region, paginated, with types and tags.
    let id = |key: &str, i: usize| created[key][i].as_str().unwrap().to_owned();
    let (m5, t3, m4, c5) = (("m5.large", 2, 8.0), ("t3.micro", 2, 1.0), ("m4.large", 2, 8.0), ("c5.xlarge", 4, 8.0));
    let mut expected = Vec::new();
    for i in 0..3 {
        expected.push(expected_instance(
            &catalog,
            &id("ml", i),
            &format!("ml-{i}"),
            "ml",
            "aws-eu-west-1",
            c5,
            InstanceState::Running,
        ));
    }
    for i in 0..7 {
        expected.push(expected_instance(
            &catalog,
            &id("web", i),
            &format!("web-{i}"),
            "web",
            "aws-us-east-1",
            m5,
            InstanceState::Running,
        ));
    }
    let bastion = created["bastion"].as_str().unwrap();
    expected.push(expected_instance(
        &catalog,
        bastion,
        "bastion",
        "unassigned",
        "aws-us-east-1",
        t3,
        InstanceState::Running,
    ));
    let etl = created["etl"].as_str().unwrap();
    expected.push(expected_instance(&catalog, etl, "etl", "data", "aws-us-east-1", m4, InstanceState::Stopped));
    expected.sort_by(|a, b| (&a.region, &a.id).cmp(&(&b.region, &b.id)));
    let instances = source.instances().await.unwrap();
    assert_eq!(instances, expected);
    assert!(!instances.iter().any(|i| i.id == created["terminated"].as_str().unwrap()));
    // Prices: the demo fleet's for listed types (m4.large $0.10 in us-east-1), an estimate otherwise.
    let etl_row = instances.iter().find(|i| i.id == etl).unwrap();
    assert_eq!(etl_row.hourly_cost_usd, 0.1);
    assert!(instances.iter().all(|i| i.hourly_cost_usd > 0.0));

    // CloudWatch: hourly averages of the datapoints put, whole hours of the range only.
    let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let range = TimeRange::new(t0, t0 + chrono::Duration::hours(6)).unwrap();
    let mut want: Vec<UtilisationHour> = Vec::new();
    for (instance, base) in [(id("web", 0), 15.0), (id("ml", 0), 50.0)] {
        for h in 0..6 {
            want.push(UtilisationHour {
                instance_id: instance.clone(),
                hour: t0 + chrono::Duration::hours(h),
                cpu_pct: base + h as f64,
                memory_pct: None,
            });
        }
    }
    want.sort_by(|a, b| (&a.instance_id, a.hour).cmp(&(&b.instance_id, b.hour)));
    assert_eq!(source.utilisation(range).await.unwrap(), want);
    // A range of part hours asks for nothing it cannot fill.
    let part = TimeRange::new(t0 + chrono::Duration::minutes(10), t0 + chrono::Duration::minutes(50)).unwrap();
    assert_eq!(source.utilisation(part).await.unwrap(), vec![]);

    // Cost Explorer: two canned pages; regions outside the catalog ("global") left out; the
    // ungrouped total of day 2 goes to the home region.
    let day = |d: u32| {
        TimeRange::new(
            Utc.with_ymd_and_hms(2024, 1, d, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2024, 1, d + 1, 0, 0, 0).unwrap(),
        )
        .unwrap()
    };
    let costs = source.costs(TimeRange::new(day(1).from, day(2).to).unwrap()).await.unwrap();
    assert_eq!(
        costs,
        vec![
            RegionCost { region: RegionCode::new("aws-eu-west-1"), range: day(1), usd: 3.25 },
            RegionCost { region: RegionCode::new("aws-us-east-1"), range: day(1), usd: 12.5 },
            RegionCost { region: RegionCode::new("aws-us-east-1"), range: day(2), usd: 7.75 },
        ]
    );

    // STS AssumeRole through moto: the temporary credentials read the same fleet.
    let assumed =
        moto_builder(&moto.url).with_role_arn("arn:aws:iam::123456789012:role/spectra-reader").build().unwrap();
    assert_eq!(assumed.instances().await.unwrap(), expected);
    drop(moto);
}

/// moto with authentication on checks each request's SigV4 signature as AWS would (it recomputes
/// it with botocore's signer) and the IAM policy of the key: SPECTRA's requests pass, a wrong
/// secret is refused and comes back as `Unauthenticated`.
#[tokio::test]
async fn moto_with_auth_accepts_our_signatures_and_refuses_a_wrong_secret() {
    let Some(moto) = start_moto_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]) else { return };
    let key = setup(&moto.url, &["iam-user"]);
    let (key_id, secret) = (key["key_id"].as_str().unwrap(), key["secret"].as_str().unwrap());
    let builder = |secret: &str| {
        AmazonBuilder::new()
            .with_access_key_id(key_id)
            .with_secret_access_key(secret)
            .with_endpoint(&moto.url)
            .with_catalog(catalog())
            .with_retry(fast_retry())
    };
    let source = builder(secret).build().unwrap();
    // DescribeRegions, then DescribeInstances in each enabled catalog region: all signed, all accepted.
    assert_eq!(source.instances().await.unwrap(), vec![]);
    let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let range = TimeRange::new(t0, t0 + chrono::Duration::days(1)).unwrap();
    assert_eq!(source.costs(range).await.unwrap(), vec![], "Cost Explorer's JSON protocol, signed");

    let wrong = builder("not-the-secret").build().unwrap();
    let err = wrong.instances().await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated { .. }), "{err}");
    let err = wrong.costs(range).await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated { .. }), "{err}");
}

// ---------------------------------------------------------------- mock server

const DESCRIBE_TYPES: &str = "<DescribeInstanceTypesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15\">\
    <instanceTypeSet><item><instanceType>m5.large</instanceType><vCpuInfo><defaultVCpus>2</defaultVCpus></vCpuInfo>\
    <memoryInfo><sizeInMiB>8192</sizeInMiB></memoryInfo></item></instanceTypeSet></DescribeInstanceTypesResponse>";

const ASSUMED: &str = "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>\
    <Credentials><AccessKeyId>ASIATEMPORARY</AccessKeyId><SecretAccessKey>temporary-secret</SecretAccessKey>\
    <SessionToken>temporary-token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>\
    </AssumeRoleResult></AssumeRoleResponse>";

fn xml(body: impl Into<String>) -> MockResponse {
    MockResponse::status(200).header("content-type", "text/xml").body(body)
}

/// An AWS XML error, whose message (as AWS's do for SignatureDoesNotMatch) quotes what was signed:
/// here the secret and token themselves, so a leak would show.
fn aws_error(status: u16, code: &str) -> MockResponse {
    MockResponse::status(status).header("content-type", "text/xml").body(format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>canonical request: {SECRET} {TOKEN}</Message></Error></ErrorResponse>"
    ))
}

/// Answers EC2 like AWS would, from the recorded DescribeInstances body.
fn ec2_route(r: &Recorded) -> MockResponse {
    if r.body.contains("Action=DescribeInstances&") {
        xml(mock_server::fixture("aws/raw_ec2_DescribeInstances.xml"))
    } else if r.body.contains("Action=DescribeInstanceTypes") {
        xml(DESCRIBE_TYPES)
    } else if r.body.contains("Action=AssumeRole") {
        xml(ASSUMED)
    } else {
        aws_error(400, "InvalidAction")
    }
}

fn mock_builder(url: &str) -> AmazonBuilder {
    AmazonBuilder::new()
        .with_access_key_id("AKIDMOCK")
        .with_secret_access_key(SECRET)
        .with_session_token(TOKEN)
        .with_endpoint(url)
        .with_regions(["us-east-1"])
        .with_catalog(catalog())
        .with_retry(fast_retry())
}

fn signature(r: &Recorded) -> String {
    let auth = r.header("authorization").unwrap();
    auth.split("Signature=").nth(1).unwrap().to_owned()
}

#[tokio::test]
async fn mock_reads_the_recorded_fleet_signed_with_the_session_token() {
    let server = MockServer::start(ec2_route).await;
    let source = mock_builder(&server.url()).build().unwrap();
    let instances = source.instances().await.unwrap();
    assert_eq!(
        instances.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        ["i-470b9eb74f0ece0af", "i-6bee02ea67fae4fc2"]
    );
    assert!(instances.iter().all(|i| i.team == "ml" && i.name == i.id && i.vcpus == 2 && i.memory_gb == 8.0));
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "DescribeInstances then DescribeInstanceTypes");
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(r.header("content-type"), Some("application/x-www-form-urlencoded; charset=utf-8"));
        assert_eq!(r.header("x-amz-security-token"), Some(TOKEN));
        let auth = r.header("authorization").unwrap();
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDMOCK/"), "{auth}");
        assert!(auth.contains("/us-east-1/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="), "{auth}");
    }
    assert!(
        requests[0].body.starts_with("Action=DescribeInstances&Version=2016-11-15&MaxResults=1000"),
        "{}",
        requests[0].body
    );
    // The instance types are learnt once.
    source.instances().await.unwrap();
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn mock_assume_role_signs_with_the_temporary_credentials_and_caches_them() {
    let server = MockServer::start(ec2_route).await;
    let source = mock_builder(&server.url()).with_role_arn("arn:aws:iam::123456789012:role/reader").build().unwrap();
    source.instances().await.unwrap();
    source.instances().await.unwrap();
    let requests = server.requests();
    let sts: Vec<_> = requests.iter().filter(|r| r.body.contains("Action=AssumeRole")).collect();
    assert_eq!(sts.len(), 1, "cached until shortly before 2099");
    assert!(sts[0].body.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Freader"), "{}", sts[0].body);
    assert!(
        sts[0].header("authorization").unwrap().contains("Credential=AKIDMOCK/")
            && sts[0].header("authorization").unwrap().contains("/sts/aws4_request")
    );
    for r in requests.iter().filter(|r| !r.body.contains("Action=AssumeRole")) {
        assert!(r.header("authorization").unwrap().contains("Credential=ASIATEMPORARY/"));
        assert_eq!(r.header("x-amz-security-token"), Some("temporary-token"));
    }
    let debug = format!("{source:?}");
    assert!(!debug.contains("temporary-secret") && !debug.contains("temporary-token"), "{debug}");
}

#[tokio::test]
async fn mock_assume_role_refreshes_credentials_about_to_expire() {
    // Credentials that expire in two minutes, inside the refresh margin: each call fetches anew.
    let soon = (Utc::now() + chrono::Duration::minutes(2)).to_rfc3339();
    let server = MockServer::start(move |r| {
        if r.body.contains("Action=AssumeRole") {
            xml(ASSUMED.replace("2099-01-01T00:00:00Z", &soon))
        } else {
            ec2_route(r)
        }
    })
    .await;
    let source = mock_builder(&server.url()).with_role_arn("arn:aws:iam::123456789012:role/reader").build().unwrap();
    source.instances().await.unwrap();
    source.instances().await.unwrap();
    let sts = server.requests().iter().filter(|r| r.body.contains("Action=AssumeRole")).count();
    assert_eq!(sts, 2);
}

#[tokio::test]
async fn mock_auth_failures_are_unauthenticated() {
    for answer in [
        MockResponse::status(401),
        MockResponse::status(403),
        aws_error(401, "AuthFailure"),
        aws_error(403, "SignatureDoesNotMatch"),
        aws_error(400, "ExpiredToken"),
        aws_error(400, "UnrecognizedClientException"),
    ] {
        let server = MockServer::start(ec2_route).await;
        server.enqueue(answer.clone());
        let err = mock_builder(&server.url()).build().unwrap().instances().await.unwrap_err();
        assert!(matches!(err, Error::Unauthenticated { ref source_name } if source_name == "aws"), "{answer:?}: {err}");
        assert_eq!(server.requests().len(), 1, "not retried");
    }
}

#[tokio::test]
async fn mock_throttling_and_5xx_are_retried_then_typed() {
    // Throttled (400 Throttling, 503 RequestLimitExceeded) and failing (500) once each, then fine.
    let server = MockServer::start(ec2_route).await;
    server.enqueue(aws_error(400, "Throttling"));
    server.enqueue(aws_error(503, "RequestLimitExceeded"));
    server.enqueue(MockResponse::status(500));
    let instances = mock_builder(&server.url()).build().unwrap().instances().await.unwrap();
    assert_eq!(instances.len(), 2);
    assert_eq!(server.requests().len(), 5, "3 failures + DescribeInstances + DescribeInstanceTypes");

    // Throttled every time: RateLimited after the retries.
    let server = MockServer::start(|_| aws_error(400, "Throttling")).await;
    let err = mock_builder(&server.url()).build().unwrap().instances().await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err}");
    assert_eq!(server.requests().len(), 4, "first attempt + 3 retries");

    // Other AWS errors: Source with the code, not retried.
    let server = MockServer::start(|_| aws_error(400, "InvalidParameterValue")).await;
    let err = mock_builder(&server.url()).build().unwrap().instances().await.unwrap_err();
    let Error::Source { source, .. } = &err else { panic!("{err}") };
    assert_eq!(source.downcast_ref::<AwsServiceError>().unwrap().code, "InvalidParameterValue");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn mock_malformed_bodies_are_bad_responses() {
    for (body, what) in [
        (format!("<DescribeInstancesResponse><reservationSet>{SECRET}"), "malformed XML"),
        ("<SomethingElse/>".to_owned(), "not a DescribeInstancesResponse"),
    ] {
        let server = MockServer::start(ec2_route).await;
        server.enqueue(xml(body));
        let err = mock_builder(&server.url()).build().unwrap().instances().await.unwrap_err();
        assert!(matches!(err, Error::BadResponse { .. }), "{err}");
        assert!(err.to_string().contains(what), "{err}");
    }
    // Cost Explorer's JSON.
    let server =
        MockServer::start(|_| MockResponse::json(format!("{{\"ResultsByTime\": [{{\"TimePeriod\": \"{SECRET}\"}}]}}")))
            .await;
    let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let range = TimeRange::new(t0, t0 + chrono::Duration::days(1)).unwrap();
    let err = mock_builder(&server.url()).build().unwrap().costs(range).await.unwrap_err();
    assert!(matches!(err, Error::BadResponse { .. }), "{err}");
    let r = &server.requests()[0];
    assert_eq!(r.header("x-amz-target"), Some("AWSInsightsIndexService.GetCostAndUsage"));
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    assert!(r.header("authorization").unwrap().contains("/us-east-1/ce/aws4_request"));
    let sent: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(sent["TimePeriod"], serde_json::json!({"Start": "2024-01-01", "End": "2024-01-02"}));
    assert_eq!(sent["GroupBy"], serde_json::json!([{"Type": "DIMENSION", "Key": "REGION"}]));
}

// ---------------------------------------------------------------- secrets

/// Every error path's Display and Debug, and the builder's and source's Debug, hold neither the
/// secret key, the session token nor a signature that was sent.
#[tokio::test]
async fn no_error_path_leaks_a_secret_or_a_signature() {
    let mut texts: BTreeMap<&str, String> = BTreeMap::new();
    let mut signatures: Vec<String> = Vec::new();
    let render = |e: &Error| format!("{e} | {e:?}");

    // Auth failure, throttling, other AWS error, bad XML: each answer quotes the secrets.
    for (name, answer) in [
        ("auth failure", aws_error(403, "SignatureDoesNotMatch")),
        ("expired token", aws_error(400, "ExpiredToken")),
        ("throttled", aws_error(400, "Throttling")),
        ("aws error", aws_error(400, "InvalidParameterValue")),
        ("bad xml", xml(format!("<DescribeInstancesResponse>{SECRET}{TOKEN}<"))),
        ("server error", aws_error(500, "InternalError")),
    ] {
        let server = MockServer::start(move |_| answer.clone()).await;
        let builder = mock_builder(&server.url());
        texts.insert("builder debug", format!("{builder:?}"));
        let source = builder.build().unwrap();
        texts.insert("source debug", format!("{source:?}"));
        let err = source.instances().await.unwrap_err();
        texts.insert(name, render(&err));
        signatures.extend(server.requests().iter().map(signature));
    }

    // AssumeRole refused.
    let server = MockServer::start(|_| aws_error(403, "InvalidClientTokenId")).await;
    let source = mock_builder(&server.url()).with_role_arn("arn:aws:iam::1:role/r").build().unwrap();
    texts.insert("assume role source debug", format!("{source:?}"));
    texts.insert("assume role", render(&source.instances().await.unwrap_err()));
    signatures.extend(server.requests().iter().map(signature));

    // Timeout.
    let server = MockServer::start(|_| xml("<x/>").delayed(Duration::from_secs(5))).await;
    let retry = RetryConfig { max_retries: 1, ..fast_retry() }.with_request_timeout(Duration::from_millis(100));
    let err = mock_builder(&server.url()).with_retry(retry).build().unwrap().instances().await.unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    texts.insert("timeout", render(&err));
    signatures.extend(server.requests().iter().map(signature));

    // Connection refused: a port that was free a moment ago.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = mock_builder(&format!("http://127.0.0.1:{port}")).build().unwrap().instances().await.unwrap_err();
    assert!(err.to_string().contains("connect"), "{err}");
    texts.insert("connection refused", render(&err));

    // Configuration errors.
    for (name, builder) in [
        ("no key id", AmazonBuilder::new().with_secret_access_key(SECRET).with_session_token(TOKEN)),
        ("no secret", AmazonBuilder::new().with_access_key_id("AKID").with_session_token(TOKEN)),
        ("bad endpoint", mock_builder(&format!("ftp://{SECRET}"))),
    ] {
        texts.insert("config builder debug", format!("{builder:?}"));
        texts.insert(name, render(&builder.build().unwrap_err()));
    }

    assert!(signatures.len() >= 8, "{signatures:?}");
    for (name, text) in &texts {
        for secret in [SECRET, TOKEN, "temporary-secret", "temporary-token"] {
            assert!(!text.contains(secret), "{name} leaks {secret}: {text}");
        }
        for sig in &signatures {
            assert!(!text.contains(sig.as_str()), "{name} leaks a signature: {text}");
        }
    }
}
