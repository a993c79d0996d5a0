//! The HTTP face (examples/server) on 127.0.0.1:0, exercised endpoint by endpoint, including the
//! seed backend's own test scenarios, error codes, CORS, admin protection and a bounded load.

#[path = "../examples/server/app.rs"]
#[allow(dead_code)]
mod app;

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use spectra::{MemoryStore, Secret, Settings, bundled};

const TOKEN: &str = "s3cret-admin-token";
const ORIGIN: &str = "http://localhost:5173";

struct Server {
    base: String,
    client: reqwest::Client,
}

impl Server {
    async fn start() -> Self {
        let settings = Settings { csv_dir: bundled::csv_dir(), ..Settings::default() };
        let engine = spectra::engine(MemoryStore::new(), &settings).unwrap();
        engine.import().await.unwrap();
        engine.tick(12).unwrap();
        let app = Arc::new(app::App { engine: Arc::new(engine), admin_token: Some(Secret::new(TOKEN)) });
        let router = app::router(app, &[ORIGIN.to_string()]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { base: format!("http://{addr}"), client: reqwest::Client::new() }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let res = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value, token: Option<&str>) -> (u16, Value) {
        let mut req = self.client.post(format!("{}{path}", self.base)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_with_the_engines_data() {
    let s = Server::start().await;

    // The seed's test_health: health and optimizer ranking.
    let (status, health) = s.get("/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["health"]["signals"][0]["signal"], "carbon");
    let (status, ranking) = s.get("/api/optimizer/regions?currentRegion=aws-us-east-1&instances=10").await;
    assert_eq!(status, 200);
    let rows = ranking["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 33);
    assert_eq!(rows[0]["rank"], 1);
    assert!(rows[0]["kgCo2ePerMonth"].as_f64().unwrap() > 0.0, "camelCase keys: {}", rows[0]);
    assert!(rows[0]["recommendation"]["reason"].as_str().unwrap().contains("aws-us-east-1"));
    let (_, limited) =
        s.get("/api/optimizer/regions?maxLatencyMs=20&providers=aws&carbonWeight=1&latencyWeight=0&costWeight=0").await;
    assert!(limited["rows"].as_array().unwrap().iter().all(|r| r["latencyMs"].as_f64().unwrap() <= 20.0));

    // Signals and latency.
    let (status, latest) = s.get("/api/regions/signals/latest").await;
    assert_eq!((status, latest["signals"].as_array().unwrap().len()), (200, 33));
    assert_eq!(latest["simTime"], "2024-01-01T12:00:00Z");
    let (status, history) = s
        .get("/api/regions/signals/history?region=aws-eu-central-1&from=2024-01-01T00:00:00Z&to=2024-01-01T06:00:00Z")
        .await;
    assert_eq!((status, history["history"].as_array().unwrap().len()), (200, 6));
    assert!(history["history"][0]["lifecycleGPerKwh"].as_f64().is_some());
    let (status, lat) = s.get("/api/regions/latency/latest").await;
    assert_eq!((status, lat["latency"].as_array().unwrap().len()), (200, 33));
    let (status, lat) = s.get("/api/regions/latency/history?region=aws-us-east-1&from=2023-12-31T00:00:00Z").await;
    assert_eq!((status, lat["history"].as_array().unwrap().len()), (200, 1));

    // The seed's test_migrations: execute, then history.
    let (status, m) = s
        .post("/api/migrations/execute", json!({"fromRegion": "aws-us-east-1", "toRegion": "aws-eu-north-1"}), None)
        .await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["id"], 1);
    assert!(m["kgCo2ePerMonthAfter"].as_f64().unwrap() < m["kgCo2ePerMonthBefore"].as_f64().unwrap());
    let (status, all) = s.get("/api/migrations").await;
    assert_eq!((status, all.as_array().unwrap().len()), (200, 1));
    let (_, again) = s.get("/api/migrations/history").await;
    assert_eq!(again, all);

    // The new calls.
    let (status, w) =
        s.get("/api/schedule/best-window?currentRegion=aws-us-east-1&durationHours=4&regions=aws-us-west-1").await;
    assert_eq!(status, 200, "{w}");
    assert!(w["best"][0]["kgCo2e"].as_f64().unwrap() <= w["baseline"]["kgCo2e"].as_f64().unwrap());
    let (status, e) = s.get("/api/fleet/emissions?groupBy=team,day").await;
    assert_eq!(status, 200, "{e}");
    assert!(e["rows"].as_array().unwrap().iter().all(|r| r["team"].is_string() && r["day"].is_string()));
    let (status, b) = s.get("/api/budgets").await;
    assert_eq!((status, b.as_array().unwrap().len()), (200, 5));
    assert!(b[0]["state"].is_string());
    let (status, found) = s.post("/api/anomalies/detect", json!({}), None).await;
    assert_eq!(status, 200);
    let (_, stored) = s.get("/api/anomalies").await;
    assert!(stored.as_array().unwrap().len() >= found.as_array().unwrap().len());

    // Admin: protected by the token, which no answer repeats.
    let (status, body) = s.post("/api/admin/tick?hours=2", json!({}), None).await;
    assert_eq!(status, 401);
    let (status, body2) = s.post("/api/admin/tick?hours=2", json!({}), Some("wrong")).await;
    assert_eq!(status, 401);
    assert!(!format!("{body}{body2}").contains(TOKEN));
    let (status, t) = s.post("/api/admin/tick?hours=2", json!({}), Some(TOKEN)).await;
    assert_eq!((status, t["simTime"].as_str()), (200, Some("2024-01-01T14:00:00Z")));
    let (status, report) = s.post("/api/admin/import", json!({}), Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(report["counts"]["carbonHours"]["inserted"], 0, "re-import inserts no carbon hour");
    let (status, fetched) = s.post("/api/admin/latency/fetch-now", json!({}), Some(TOKEN)).await;
    assert_eq!((status, fetched["latency"].as_array().unwrap().len()), (200, 33));

    // Docs.
    let (status, doc) = s.get("/openapi.json").await;
    assert_eq!(status, 200);
    for path in [
        "/health",
        "/api/optimizer/regions",
        "/api/regions/signals/latest",
        "/api/regions/signals/history",
        "/api/regions/latency/latest",
        "/api/regions/latency/history",
        "/api/migrations/execute",
        "/api/admin/import",
        "/api/admin/tick",
        "/api/admin/latency/fetch-now",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing from the OpenAPI document");
    }
    let html = s.client.get(format!("{}/docs", s.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("/openapi.json") && !html.contains("https://"), "self-contained docs page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_field_and_map_to_status_codes() {
    let s = Server::start().await;
    let cases = [
        ("/api/optimizer/regions?carbonWeight=abc", 400, Some("carbonWeight")),
        ("/api/optimizer/regions?carbonWeight=-1", 422, Some("weights.carbon")),
        ("/api/optimizer/regions?providers=ibm", 400, Some("providers")),
        ("/api/optimizer/regions?currentRegion=mars-1", 404, None),
        ("/api/regions/signals/history", 400, Some("region")),
        ("/api/regions/signals/history?region=mars-1", 404, None),
        ("/api/regions/signals/history?region=aws-us-east-1&from=yesterday", 400, Some("from")),
        ("/api/fleet/emissions?groupBy=planet", 400, Some("groupBy")),
        ("/api/schedule/best-window?currentRegion=aws-us-east-1&durationHours=100", 422, Some("duration_hours")),
        ("/no/such/endpoint", 404, None),
    ];
    for (path, code, field) in cases {
        let (status, body) = s.get(path).await;
        assert_eq!(status, code, "{path}: {body}");
        assert!(body["error"]["message"].is_string(), "{path}: {body}");
        if let Some(field) = field {
            assert_eq!(body["error"]["field"], field, "{path}: {body}");
        }
    }
    let (status, body) = s.post("/api/migrations/execute", json!({"fromRegion": "aws-us-east-1"}), None).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("toRegion")));
    let (status, _) = s
        .post("/api/migrations/execute", json!({"fromRegion": "aws-us-east-1", "toRegion": "aws-us-east-1"}), None)
        .await;
    assert_eq!(status, 422);
    let (status, _) =
        s.post("/api/migrations/execute", json!({"fromRegion": "mars", "toRegion": "aws-us-east-1"}), None).await;
    assert_eq!(status, 404);
    let res = s
        .client
        .post(format!("{}/api/migrations/execute", s.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_only_the_configured_origins() {
    let s = Server::start().await;
    let preflight = |origin: &'static str| {
        s.client
            .request(reqwest::Method::OPTIONS, format!("{}/api/optimizer/regions", s.base))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
    };
    let ok = preflight(ORIGIN).await.unwrap();
    assert_eq!(ok.headers().get("access-control-allow-origin").unwrap(), ORIGIN);
    let other = preflight("http://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_loopback_load_has_no_errors() {
    let s = Arc::new(Server::start().await);
    let (connections, per_connection) = (50, 40);
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut errors = 0;
                for _ in 0..per_connection {
                    let (status, body) = s.get("/api/optimizer/regions?currentRegion=aws-us-east-1").await;
                    if status != 200 || body["rows"].as_array().map_or(0, Vec::len) != 33 {
                        errors += 1;
                    }
                }
                errors
            })
        })
        .collect();
    let mut errors = 0;
    for t in tasks {
        errors += t.await.unwrap();
    }
    let elapsed = started.elapsed();
    let total = connections * per_connection;
    println!(
        "{total} ranking requests over {connections} connections in {elapsed:?}: {:.0} req/s",
        total as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(errors, 0);
}
