//! Cloudflare Radar against an in-process server on 127.0.0.1 serving the recorded speed
//! summary of `data/fixtures/cloudflare_radar/`.
#![cfg(feature = "cloudflare-radar")]

mod support;

use std::time::Duration;

use chrono::Utc;
use spectra_core::{DataSource, Error, LatencySource};
use spectra_sources::cloudflare_radar::{CloudflareRadar, CloudflareRadarBuilder, location_of};
use spectra_sources::http::RetryConfig;
use support::mock_server::{MockResponse, MockServer, Recorded, fixture};

const TOKEN: &str = "cf-radar-token-81d3";

/// The recorded summary (latencyIdle 83.165385) for DE; other locations get their own figure so
/// the mapping is visible; JP has no data.
fn routes(r: &Recorded) -> MockResponse {
    if r.path != "/client/v4/radar/quality/speed/summary" {
        return MockResponse::status(404);
    }
    let body = fixture("cloudflare_radar/radar_quality_speed_summary.official-doc-example.json");
    match r.param("location").as_deref() {
        Some("DE") => MockResponse::json(body),
        Some("US") => MockResponse::json(body.replace("83.165385", "21.5")),
        Some("JP") => MockResponse::status(404),
        _ => MockResponse::json(body.replace("83.165385", "50")),
    }
}

fn radar(server: &MockServer) -> CloudflareRadar {
    CloudflareRadarBuilder::new()
        .with_api_token(TOKEN)
        .with_endpoint(format!("{}/client/v4", server.url()))
        .with_retry(RetryConfig { initial_backoff: Duration::from_millis(1), ..RetryConfig::default() })
        .build()
        .unwrap()
}

#[tokio::test]
async fn latency_is_read_per_location_and_mapped_to_regions() {
    let server = MockServer::start(routes).await;
    let catalog = spectra_sources::bundled::catalog().unwrap();
    let regions: Vec<_> = ["aws-eu-central-1", "aws-us-east-1", "aws-us-east-2", "aws-ap-northeast-1"]
        .iter()
        .map(|c| catalog.get(c).unwrap().clone())
        .collect();
    assert_eq!(regions.iter().map(location_of).collect::<Vec<_>>(), ["DE", "US", "US", "JP"]);
    let at = Utc::now();
    let samples = radar(&server).latency(&regions, at).await.unwrap();
    let got: Vec<(&str, f64)> = samples.iter().map(|s| (s.region.as_str(), s.ms)).collect();
    // Tokyo's location has no Radar data: it is left out (the engine keeps its baseline).
    assert_eq!(got, [("aws-eu-central-1", 83.165385), ("aws-us-east-1", 21.5), ("aws-us-east-2", 21.5)]);
    assert!(samples.iter().all(|s| s.source == LatencySource::Radar && s.time == at));
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "one request per distinct location");
    assert!(requests.iter().all(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}"))));
}

#[tokio::test]
async fn unsuccessful_envelopes_and_bad_numbers_are_bad_responses() {
    let server = MockServer::start(|_| {
        MockResponse::json(r#"{"success": false, "errors": [{"code": 10000, "message": "nope"}], "result": null}"#)
    })
    .await;
    let err = radar(&server).location_latency("DE").await.unwrap_err();
    assert!(matches!(err, Error::BadResponse { .. }) && err.to_string().contains("10000"), "{err}");

    let server = MockServer::start(|_| {
        MockResponse::json(r#"{"success": true, "result": {"meta": {}, "summary_0": {"latencyIdle": "fast"}}}"#)
    })
    .await;
    let err = radar(&server).location_latency("DE").await.unwrap_err();
    assert!(err.to_string().contains("latencyIdle is not a number"), "{err}");
}

#[tokio::test]
async fn a_rejected_token_is_unauthenticated_and_never_shown() {
    let server = MockServer::start(|_| MockResponse::status(403).body(format!("token {TOKEN} refused"))).await;
    let r = radar(&server);
    let err = r.location_latency("DE").await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated { .. }), "{err:?}");
    let shown = format!("{err} {err:?} {r:?} {:?}", CloudflareRadarBuilder::new().with_api_token(TOKEN));
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(
        matches!(CloudflareRadarBuilder::new().build(), Err(Error::Config { key, .. }) if key == "CLOUDFLARE_API_TOKEN")
    );
}

#[tokio::test]
async fn a_server_error_then_success_is_survived() {
    let server = MockServer::start(routes).await;
    server.enqueue(MockResponse::status(502));
    assert_eq!(radar(&server).location_latency("DE").await.unwrap(), Some(83.165385));
    assert_eq!(server.requests().len(), 2);
}
