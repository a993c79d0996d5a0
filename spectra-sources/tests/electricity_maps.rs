//! The Electricity Maps source against an in-process server on 127.0.0.1 serving the recorded
//! API responses of `data/fixtures/electricitymaps_api/`, and every fault the issue names.
#![cfg(feature = "electricity-maps")]

mod support;

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use spectra_core::{CarbonSource, DataSource, Error, TimeRange};
use spectra_sources::electricity_maps::{ElectricityMaps, ElectricityMapsBuilder, ElectricityMapsConfigKey};
use spectra_sources::http::{HttpError, RetryConfig};
use support::mock_server::{MockResponse, MockServer, Recorded, fixture};

const KEY: &str = "em-test-key-5f2c9a";

fn routes(r: &Recorded) -> MockResponse {
    let file = match r.path.as_str() {
        "/v3/carbon-intensity/latest" => "v3_carbon-intensity_latest_DE.voltorb.json",
        "/v3/carbon-intensity/history" => "v3_carbon-intensity_history_DE.voltorb.json",
        "/v3/carbon-intensity/past-range" => "v3_carbon-intensity_past-range_DE.voltorb.json",
        "/v3/carbon-intensity/forecast" => "v3_carbon-intensity_forecast_DK-DK2.voltorb.json",
        _ => return MockResponse::status(404),
    };
    MockResponse::json(fixture(&format!("electricitymaps_api/{file}")))
}

fn fast_retry() -> RetryConfig {
    RetryConfig {
        max_retries: 2,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        retry_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(5),
        ..RetryConfig::default()
    }
}

fn source(server: &MockServer) -> ElectricityMaps {
    ElectricityMapsBuilder::new()
        .with_api_key(KEY)
        .with_endpoint(format!("{}/v3", server.url()))
        .with_retry(fast_retry())
        .build()
        .unwrap()
}

fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

#[tokio::test]
async fn latest_history_and_forecast_parse_the_real_envelopes() {
    let server = MockServer::start(routes).await;
    let em = source(&server);

    let latest = em.latest("DE").await.unwrap().unwrap();
    // 18:07 is floored to its hour.
    assert_eq!((latest.hour, latest.lifecycle_g_per_kwh, latest.estimated), (utc(2018, 4, 25, 18), 302.0, true));
    assert_eq!(latest.source, CarbonSource::ElectricityMapsApi);

    let history = em.history("DE").await.unwrap();
    let got: Vec<(DateTime<Utc>, f64)> = history.iter().map(|h| (h.hour, h.lifecycle_g_per_kwh)).collect();
    assert_eq!(got, [(utc(2021, 8, 18, 13), 413.0), (utc(2021, 8, 19, 12), 338.0)]);

    let forecast = em.forecast("DK-DK2", utc(2018, 11, 26, 17)).await.unwrap();
    assert_eq!(forecast.iter().map(|h| h.lifecycle_g_per_kwh).collect::<Vec<_>>(), [326.0, 297.0, 194.0]);

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for r in &requests {
        assert_eq!(r.header("auth-token"), Some(KEY), "the key goes in the auth-token header");
        assert!(!r.query.contains(KEY), "never in the URL");
    }
    assert_eq!(requests[0].param("zone").as_deref(), Some("DE"));
}

#[tokio::test]
async fn a_long_past_range_is_split_into_allowed_spans() {
    let server = MockServer::start(routes).await;
    let em = ElectricityMapsBuilder::new()
        .with_api_key(KEY)
        .with_endpoint(format!("{}/v3", server.url()))
        .with_config("ELECTRICITY_MAPS_MAX_SPAN_HOURS".parse::<ElectricityMapsConfigKey>().unwrap(), "240")
        .build()
        .unwrap();
    let range = TimeRange::new(utc(2019, 5, 1, 0), utc(2019, 5, 26, 0)).unwrap();
    let hours = em.carbon_history("DE", range).await.unwrap();
    // The fixture's hours (2019-05-21 21:00 on) come back once each, in order, inside the range.
    assert!(!hours.is_empty());
    assert!(hours.windows(2).all(|w| w[0].hour < w[1].hour));
    assert_eq!(hours[0].hour, utc(2019, 5, 21, 21));
    let spans: Vec<(String, String)> =
        server.requests().iter().map(|r| (r.param("start").unwrap(), r.param("end").unwrap())).collect();
    assert_eq!(
        spans,
        [
            ("2019-05-01T00:00:00Z".to_owned(), "2019-05-11T00:00:00Z".to_owned()),
            ("2019-05-11T00:00:00Z".to_owned(), "2019-05-21T00:00:00Z".to_owned()),
            ("2019-05-21T00:00:00Z".to_owned(), "2019-05-26T00:00:00Z".to_owned()),
        ]
    );
}

#[tokio::test]
async fn rate_limiting_with_retry_after_is_honoured_then_succeeds() {
    let server = MockServer::start(routes).await;
    server.enqueue(MockResponse::status(429).header("retry-after", "1"));
    let em = source(&server);
    let started = std::time::Instant::now();
    let history = em.history("DE").await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(server.requests().len(), 2, "one retry");
    // Retry-After was waited for (a lower bound on elapsed time, not a timing threshold).
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_retry_after_beyond_the_time_bound_gives_up_at_once_as_rate_limited() {
    let server = MockServer::start(routes).await;
    server.enqueue(MockResponse::status(429).header("retry-after", "3600"));
    let err = source(&server).history("DE").await.unwrap_err();
    match err {
        Error::RateLimited { retry_after, .. } => assert_eq!(retry_after, Some(Duration::from_secs(3600))),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed_or_give_up() {
    let server = MockServer::start(routes).await;
    server.enqueue(MockResponse::status(500));
    assert_eq!(source(&server).history("DE").await.unwrap().len(), 2);
    assert_eq!(server.requests().len(), 2);

    let failing = MockServer::start(|_| MockResponse::status(503)).await;
    let err = source(&failing).history("DE").await.unwrap_err();
    assert_eq!(failing.requests().len(), 3, "first attempt and two retries");
    let inner = std::error::Error::source(&err).and_then(|e| e.downcast_ref::<HttpError>());
    assert_eq!(inner, Some(&HttpError::Server { status: 503, attempts: 3 }), "{err}");
}

#[tokio::test]
async fn a_slow_server_times_out_with_a_typed_error() {
    let server = MockServer::start(|r| routes(r).delayed(Duration::from_secs(30))).await;
    let em = ElectricityMapsBuilder::new()
        .with_api_key(KEY)
        .with_endpoint(format!("{}/v3", server.url()))
        .with_retry(RetryConfig { max_retries: 1, ..fast_retry() }.with_request_timeout(Duration::from_millis(200)))
        .build()
        .unwrap();
    let err = em.history("DE").await.unwrap_err();
    let inner = std::error::Error::source(&err).and_then(|e| e.downcast_ref::<HttpError>());
    assert_eq!(inner, Some(&HttpError::Timeout { attempts: 2 }), "{err}");
}

#[tokio::test]
async fn malformed_json_is_a_bad_response_naming_the_position() {
    let server =
        MockServer::start(|_| MockResponse::json("{\"zone\": \"DE\", \"history\": [ {\"carbonIntensity\": ")).await;
    let err = source(&server).history("DE").await.unwrap_err();
    assert!(matches!(err, Error::BadResponse { .. }), "{err:?}");
    assert!(err.to_string().contains("line 1"), "{err}");

    let wrong_zone = MockServer::start(|_| MockResponse::json(r#"{"zone": "FR", "history": []}"#)).await;
    let err = source(&wrong_zone).history("DE").await.unwrap_err();
    assert!(err.to_string().contains("answered FR"), "{err}");

    let absurd = MockServer::start(|_| {
        MockResponse::json(r#"{"zone":"DE","history":[{"carbonIntensity":-5,"datetime":"2024-01-01T00:00:00Z"}]}"#)
    })
    .await;
    let err = source(&absurd).history("DE").await.unwrap_err();
    assert!(err.to_string().contains("out of range"), "{err}");
}

#[tokio::test]
async fn a_rejected_key_is_unauthenticated_without_retrying() {
    let server =
        MockServer::start(|_| MockResponse::status(401).body(format!("{{\"error\": \"bad key {KEY}\"}}"))).await;
    let err = source(&server).history("DE").await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated { .. }), "{err:?}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn no_error_or_debug_output_contains_the_key() {
    let refused = {
        // A port nothing listens on: bind, read the port, close.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let echo = |status: u16| move |_: &Recorded| MockResponse::status(status).body(format!("echo {KEY}"));
    let mut errors = Vec::new();
    for status in [400, 401, 403, 404, 429, 500] {
        let server = MockServer::start(echo(status)).await;
        errors.push(source(&server).history("DE").await.unwrap_err());
    }
    let bad = MockServer::start(|_| MockResponse::json(format!("{{\"zone\": \"{KEY}\", \"history\": 3}}"))).await;
    errors.push(source(&bad).history("DE").await.unwrap_err());
    let em = ElectricityMapsBuilder::new()
        .with_api_key(KEY)
        .with_endpoint(format!("http://127.0.0.1:{refused}/v3"))
        .with_retry(fast_retry())
        .build()
        .unwrap();
    errors.push(em.history("DE").await.unwrap_err());
    errors.push(ElectricityMapsBuilder::new().with_api_key(KEY).with_endpoint("ftp://x").build().unwrap_err());
    assert!(errors.len() >= 9);
    for e in &errors {
        let shown = format!("{e} {e:?} {:?}", std::error::Error::source(e));
        assert!(!shown.contains(KEY), "{shown}");
    }
    let builder = ElectricityMapsBuilder::new().with_api_key(KEY);
    let debug = format!("{builder:?} {:?}", builder.clone().build().unwrap());
    assert!(!debug.contains(KEY) && debug.contains("***"), "{debug}");
    assert!(
        matches!(ElectricityMapsBuilder::new().build(), Err(Error::Config { key, .. }) if key == "ELECTRICITY_MAPS_API_KEY")
    );
}
