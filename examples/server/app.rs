//! The HTTP face of the engine: the seed backend's endpoints (same paths and methods) plus the new
//! calls, as a thin axum router over `Spectra`. JSON leaves in camelCase, as the seed's Prisma
//! models did. Shared by `examples/server/main.rs` and the tests in `tests/server.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use spectra::{
    Error, GroupBy, InstanceSelector, Job, MigrationRequest, Provider, RankRequest, RegionCode, Secret, Spectra, Store,
    Workload,
};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

/// Shared state: the engine and the admin token (admin endpoints are open when it is unset).
pub struct App<S: Store> {
    /// The engine (shared with the background runner).
    pub engine: Arc<Spectra<S>>,
    /// `Authorization: Bearer <token>` required on `/api/admin/*` when set.
    pub admin_token: Option<Secret>,
}

type Shared<S> = Arc<App<S>>;
type Params = Query<HashMap<String, String>>;

/// An error as the API answers it: a status and `{"error": {"code", "message", "field"}}`.
pub struct ApiError(StatusCode, &'static str, String, Option<String>);

impl ApiError {
    fn bad(field: &str, message: impl Into<String>) -> Self {
        Self(StatusCode::BAD_REQUEST, "bad_request", message.into(), Some(field.to_owned()))
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let field = e.location().and_then(|l| l.column.clone());
        let (status, code) = match &e {
            Error::InvalidInput { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            Error::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            Error::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Error::Unauthenticated { .. } => (StatusCode::BAD_GATEWAY, "upstream_unauthenticated"),
            Error::RateLimited { .. } => (StatusCode::SERVICE_UNAVAILABLE, "upstream_rate_limited"),
            Error::NotSupported { .. } => (StatusCode::NOT_IMPLEMENTED, "not_supported"),
            Error::Config { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "config"),
            _ => (StatusCode::BAD_GATEWAY, "source"),
        };
        Self(status, code, e.to_string(), field)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.1, "message": self.2, "field": self.3 } });
        (self.0, Json(body)).into_response()
    }
}

type ApiResult = Result<Json<Value>, ApiError>;

/// snake_case keys to camelCase, recursively (the core's serde names are Rust's own).
fn camel(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let mut out = String::with_capacity(k.len());
                    let mut upper = false;
                    for c in k.chars() {
                        if c == '_' {
                            upper = true;
                        } else if upper {
                            out.extend(c.to_uppercase());
                            upper = false;
                        } else {
                            out.push(c);
                        }
                    }
                    (out, camel(v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(camel).collect()),
        other => other,
    }
}

fn reply(value: impl serde::Serialize) -> ApiResult {
    serde_json::to_value(value).map(|v| Json(camel(v))).map_err(|e| ApiError::from(Error::source("json", e)))
}

fn number<T: std::str::FromStr>(q: &HashMap<String, String>, key: &str) -> Result<Option<T>, ApiError> {
    q.get(key)
        .map(|v| v.trim().parse::<T>().map_err(|_| ApiError::bad(key, format!("{v:?} is not a valid {key}"))))
        .transpose()
}

fn time(q: &HashMap<String, String>, key: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    q.get(key)
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| ApiError::bad(key, format!("{v:?} is not an RFC 3339 time (e.g. 2024-01-01T00:00:00Z)")))
        })
        .transpose()
}

fn list(q: &HashMap<String, String>, key: &str) -> Vec<String> {
    q.get(key)
        .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn required<'a>(q: &'a HashMap<String, String>, key: &str) -> Result<&'a str, ApiError> {
    q.get(key).map(String::as_str).ok_or_else(|| ApiError::bad(key, format!("query parameter {key} is required")))
}

/// `from`/`to` from the query, defaulting to the 24 hours before the clock's now.
fn range<S: Store>(app: &App<S>, q: &HashMap<String, String>) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let to = time(q, "to")?.unwrap_or_else(|| app.engine.now());
    Ok((time(q, "from")?.unwrap_or(to - Duration::hours(24)), to))
}

async fn health<S: Store>(State(app): State<Shared<S>>) -> Response {
    let health = app.engine.health();
    let status = if health.ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    match reply(json!({ "status": if health.ok { "ok" } else { "degraded" }, "health": health })) {
        Ok(body) => (status, body).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn optimizer_regions<S: Store>(State(app): State<Shared<S>>, Query(q): Params) -> ApiResult {
    let mut req = RankRequest::at(time(&q, "at")?.unwrap_or_else(|| app.engine.now()));
    if let Some(w) = number(&q, "carbonWeight")? {
        req.weights.carbon = w;
    }
    if let Some(w) = number(&q, "latencyWeight")? {
        req.weights.latency = w;
    }
    if let Some(w) = number(&q, "costWeight")? {
        req.weights.cost = w;
    }
    req.constraints.max_latency_ms = number(&q, "maxLatencyMs")?;
    req.constraints.allowed_regions = list(&q, "regions").into_iter().map(RegionCode::new).collect();
    for p in list(&q, "providers") {
        req.constraints
            .allowed_providers
            .push(p.parse::<Provider>().map_err(|_| ApiError::bad("providers", format!("unknown provider {p:?}")))?);
    }
    req.current_region = q.get("currentRegion").map(RegionCode::new);
    req.workload = Workload {
        instances: number(&q, "instances")?.unwrap_or(1),
        watts_per_instance: number(&q, "wattsPerInstance")?.unwrap_or(Workload::default().watts_per_instance),
        usd_per_instance_hour: number(&q, "usdPerInstanceHour")?.unwrap_or(Workload::default().usd_per_instance_hour),
    };
    req.horizon_hours = number(&q, "horizonHours")?.unwrap_or(1);
    reply(app.engine.rank_regions(&req)?)
}

async fn signals_latest<S: Store>(State(app): State<Shared<S>>) -> ApiResult {
    reply(json!({ "simTime": app.engine.now(), "signals": app.engine.signals_latest() }))
}

async fn signals_history<S: Store>(State(app): State<Shared<S>>, Query(q): Params) -> ApiResult {
    let region = required(&q, "region")?;
    let (from, to) = range(&app, &q)?;
    reply(json!({ "region": region, "from": from, "to": to, "history": app.engine.signals_history(region, from, to)? }))
}

async fn latency_latest<S: Store>(State(app): State<Shared<S>>) -> ApiResult {
    reply(json!({ "simTime": app.engine.now(), "latency": app.engine.latency_latest()? }))
}

async fn latency_history<S: Store>(State(app): State<Shared<S>>, Query(q): Params) -> ApiResult {
    let region = required(&q, "region")?;
    let (from, to) = range(&app, &q)?;
    reply(json!({ "region": region, "from": from, "to": to, "history": app.engine.latency_history(region, from, to)? }))
}

async fn migrations_execute<S: Store>(
    State(app): State<Shared<S>>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(body) = body.map_err(|e| ApiError::bad("body", e.body_text()))?;
    let field = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let from = field("fromRegion").ok_or_else(|| ApiError::bad("fromRegion", "is required"))?;
    let to = field("toRegion").ok_or_else(|| ApiError::bad("toRegion", "is required"))?;
    let instances = match (body.get("instanceIds"), field("team")) {
        (Some(ids), _) => InstanceSelector::Ids(
            serde_json::from_value(ids.clone())
                .map_err(|_| ApiError::bad("instanceIds", "must be a list of instance ids"))?,
        ),
        (None, Some(team)) => InstanceSelector::Team(team),
        (None, None) => InstanceSelector::All,
    };
    let request = MigrationRequest { from_region: RegionCode::new(from), to_region: RegionCode::new(to), instances };
    reply(app.engine.execute_migration(&request)?)
}

async fn migrations<S: Store>(State(app): State<Shared<S>>) -> ApiResult {
    reply(app.engine.migrations()?)
}

async fn admin_import<S: Store>(State(app): State<Shared<S>>) -> ApiResult {
    reply(app.engine.import().await?)
}

async fn admin_tick<S: Store>(State(app): State<Shared<S>>, Query(q): Params) -> ApiResult {
    let hours = number::<u32>(&q, "hours")?.unwrap_or(1);
    reply(json!({ "simTime": app.engine.tick(hours)? }))
}

async fn admin_latency_fetch<S: Store>(State(app): State<Shared<S>>) -> ApiResult {
    reply(json!({ "simTime": app.engine.now(), "latency": app.engine.refresh_latency().await? }))
}

async fn best_window<S: Store>(State(app): State<Shared<S>>, Query(q): Params) -> ApiResult {
    let now = app.engine.now();
    let earliest = time(&q, "earliestStart")?.unwrap_or(now);
    let job = Job {
        duration_hours: number(&q, "durationHours")?.unwrap_or(4),
        earliest_start: earliest,
        deadline: time(&q, "deadline")?.unwrap_or(earliest + Duration::hours(48)),
        power_kw: number(&q, "powerKw")?.unwrap_or(1.0),
        current_region: RegionCode::new(required(&q, "currentRegion")?),
        candidate_regions: list(&q, "regions").into_iter().map(RegionCode::new).collect(),
    };
    reply(app.engine.best_window(&job).await?)
}

async fn fleet_emissions<S: Store>(State(app): State<Shared<S>>, Query(q): Params) -> ApiResult {
    let (from, to) = range(&app, &q)?;
    let mut group_by = Vec::new();
    for g in list(&q, "groupBy") {
        group_by.push(match g.as_str() {
            "instance" => GroupBy::Instance,
            "team" => GroupBy::Team,
            "region" => GroupBy::Region,
            "day" => GroupBy::Day,
            other => return Err(ApiError::bad("groupBy", format!("{other:?} is not instance, team, region or day"))),
        });
    }
    reply(json!({ "from": from, "to": to, "rows": app.engine.fleet_emissions(from, to, &group_by)? }))
}

async fn budgets<S: Store>(State(app): State<Shared<S>>) -> ApiResult {
    reply(app.engine.budgets()?)
}

async fn anomalies<S: Store>(State(app): State<Shared<S>>) -> ApiResult {
    reply(app.engine.anomalies()?)
}

async fn anomalies_detect<S: Store>(State(app): State<Shared<S>>) -> ApiResult {
    reply(app.engine.detect_anomalies()?)
}

async fn openapi() -> Json<Value> {
    Json(openapi_document())
}

async fn docs() -> Html<&'static str> {
    Html(DOCS_PAGE)
}

/// Admin endpoints need `Authorization: Bearer <token>` when a token is configured. The token is
/// compared in constant time and never logged.
async fn admin_guard<S: Store>(
    State(app): State<Shared<S>>,
    headers: HeaderMap,
    request: Request,
    next: Next,
) -> Response {
    if let Some(token) = &app.admin_token {
        let given =
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        let ok = given.is_some_and(|g| {
            let (a, b) = (g.as_bytes(), token.expose().as_bytes());
            a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
        });
        if !ok {
            return ApiError(StatusCode::UNAUTHORIZED, "unauthorized", "admin token missing or wrong".into(), None)
                .into_response();
        }
    }
    next.run(request).await
}

/// The router: every endpoint, CORS limited to `cors_origins`, request tracing.
pub fn router<S: Store + 'static>(app: Arc<App<S>>, cors_origins: &[String]) -> Router {
    let admin = Router::new()
        .route("/api/admin/import", post(admin_import::<S>))
        .route("/api/admin/tick", post(admin_tick::<S>))
        .route("/api/admin/latency/fetch-now", post(admin_latency_fetch::<S>))
        .route_layer(middleware::from_fn_with_state(app.clone(), admin_guard::<S>));
    let origins: Vec<HeaderValue> = cors_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION]);
    Router::new()
        .route("/health", get(health::<S>))
        .route("/api/optimizer/regions", get(optimizer_regions::<S>))
        .route("/api/regions/signals/latest", get(signals_latest::<S>))
        .route("/api/regions/signals/history", get(signals_history::<S>))
        .route("/api/regions/latency/latest", get(latency_latest::<S>))
        .route("/api/regions/latency/history", get(latency_history::<S>))
        .route("/api/migrations/execute", post(migrations_execute::<S>))
        .route("/api/migrations", get(migrations::<S>))
        .route("/api/migrations/history", get(migrations::<S>))
        .route("/api/schedule/best-window", get(best_window::<S>))
        .route("/api/fleet/emissions", get(fleet_emissions::<S>))
        .route("/api/budgets", get(budgets::<S>))
        .route("/api/anomalies", get(anomalies::<S>))
        .route("/api/anomalies/detect", post(anomalies_detect::<S>))
        .route("/openapi.json", get(openapi))
        .route("/docs", get(docs))
        .merge(admin)
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "not_found", "no such endpoint".into(), None) })
        .layer(cors)
        .layer(CatchPanicLayer::custom(|_| {
            ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error".into(), None).into_response()
        }))
        .layer(TraceLayer::new_for_http())
        .with_state(app)
}

/// The OpenAPI 3.1 document of the API.
pub fn openapi_document() -> Value {
    let q = |name: &str, required: bool, description: &str| json!({ "name": name, "in": "query", "required": required, "description": description, "schema": { "type": "string" } });
    let op = |summary: &str, params: Vec<Value>| {
        json!({ "summary": summary, "parameters": params, "responses": {
            "200": { "description": "OK (JSON, camelCase)" },
            "400": { "description": "bad parameter: {error: {code, message, field}}" },
            "404": { "description": "unknown region or endpoint" },
            "422": { "description": "invalid input" } } })
    };
    let range = || {
        vec![
            q("region", true, "region code, e.g. aws-eu-central-1"),
            q("from", false, "RFC 3339; default 24 h before to"),
            q("to", false, "RFC 3339; default the simulation clock's now"),
        ]
    };
    json!({
        "openapi": "3.1.0",
        "info": { "title": "SPECTRA", "version": env!("CARGO_PKG_VERSION"), "description": "Carbon intelligence for cloud workloads: the SPECTRA engine over HTTP." },
        "paths": {
            "/health": { "get": op("Liveness, store and each signal's source and freshness", vec![]) },
            "/api/optimizer/regions": { "get": op("Ranked regions with carbon, latency, cost and a recommendation", vec![
                q("carbonWeight", false, "default 0.5"), q("latencyWeight", false, "default 0.3"), q("costWeight", false, "default 0.2"),
                q("maxLatencyMs", false, "drop slower regions"), q("regions", false, "comma-separated allowed regions"),
                q("providers", false, "comma-separated: aws, gcp, azure"), q("currentRegion", false, "savings are against it"),
                q("instances", false, "workload size, default 1"), q("horizonHours", false, "mean carbon over the next hours"),
                q("at", false, "RFC 3339; default the clock's now")]) },
            "/api/regions/signals/latest": { "get": op("Carbon intensity and latency per region at the clock's now", vec![]) },
            "/api/regions/signals/history": { "get": op("Hourly carbon intensity of a region", range()) },
            "/api/regions/latency/latest": { "get": op("Latest latency sample per region", vec![]) },
            "/api/regions/latency/history": { "get": op("Latency samples of a region", range()) },
            "/api/migrations/execute": { "post": { "summary": "Move instances between regions; body {fromRegion, toRegion, instanceIds? | team?}",
                "requestBody": { "content": { "application/json": { "schema": { "type": "object" } } } },
                "responses": { "200": { "description": "the recorded migration" }, "404": { "description": "unknown region or no matching instances" }, "422": { "description": "invalid request" } } } },
            "/api/migrations": { "get": op("Migration history", vec![]) },
            "/api/migrations/history": { "get": op("Migration history", vec![]) },
            "/api/admin/import": { "post": op("Import (idempotent): the seed's seven steps; Bearer token when ADMIN_TOKEN is set", vec![]) },
            "/api/admin/tick": { "post": op("Advance the simulation clock", vec![q("hours", false, "default 1")]) },
            "/api/admin/latency/fetch-now": { "post": op("Refresh latency now", vec![]) },
            "/api/schedule/best-window": { "get": op("Lowest-carbon window for a batch job", vec![
                q("currentRegion", true, "where it runs today"), q("durationHours", false, "default 4"), q("powerKw", false, "default 1"),
                q("earliestStart", false, "default now"), q("deadline", false, "default earliest + 48 h"), q("regions", false, "candidate regions")]) },
            "/api/fleet/emissions": { "get": op("Fleet emissions", vec![q("from", false, "RFC 3339"), q("to", false, "RFC 3339"), q("groupBy", false, "comma-separated: instance, team, region, day")]) },
            "/api/budgets": { "get": op("Team budgets: used, projected, status", vec![]) },
            "/api/anomalies": { "get": op("Stored anomalies, newest first", vec![]) },
            "/api/anomalies/detect": { "post": op("Detect anomalies now (idempotent)", vec![]) }
        }
    })
}

/// Interactive docs with no external asset: lists the operations of /openapi.json, with a form
/// per operation to call it and show the response.
const DOCS_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SPECTRA API</title>
<style>body{font:14px system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
details{border:1px solid #ccc;border-radius:6px;margin:.5rem 0;padding:.5rem}summary{cursor:pointer}
code{background:#f3f3f3;padding:0 .2rem}label{display:block;margin:.2rem 0}input{width:20rem}
pre{background:#111;color:#eee;padding:.5rem;overflow:auto;max-height:25rem}</style></head>
<body><h1>SPECTRA API</h1><p>From <a href="/openapi.json">/openapi.json</a>. Admin calls need a token when the server has one.</p>
<label>Admin token <input id="token" type="password" autocomplete="off"></label><div id="ops"></div>
<script>
fetch('/openapi.json').then(r => r.json()).then(doc => {
  const ops = document.getElementById('ops');
  for (const [path, methods] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(methods)) {
    const d = document.createElement('details');
    d.innerHTML = `<summary><code>${method.toUpperCase()} ${path}</code> ${op.summary}</summary>`;
    const form = document.createElement('form');
    for (const p of op.parameters || []) form.insertAdjacentHTML('beforeend',
      `<label>${p.name}${p.required ? ' *' : ''} <input name="${p.name}" placeholder="${p.description || ''}"></label>`);
    if (op.requestBody) form.insertAdjacentHTML('beforeend', '<label>JSON body <input name="__body" value="{}"></label>');
    form.insertAdjacentHTML('beforeend', '<button>Send</button><pre></pre>');
    form.onsubmit = async e => {
      e.preventDefault();
      const data = new FormData(form), qs = new URLSearchParams();
      for (const [k, v] of data) if (k !== '__body' && v) qs.append(k, v);
      const headers = {'content-type': 'application/json'}, token = document.getElementById('token').value;
      if (token) headers.authorization = 'Bearer ' + token;
      const res = await fetch(path + (qs.toString() ? '?' + qs : ''), {method: method.toUpperCase(), headers,
        body: method === 'post' ? (data.get('__body') || '{}') : undefined});
      form.querySelector('pre').textContent = res.status + '\n' + JSON.stringify(await res.json(), null, 2);
    };
    d.appendChild(form); ops.appendChild(d);
  }
});
</script></body></html>"#;
