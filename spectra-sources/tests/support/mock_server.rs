//! An in-process HTTP server on 127.0.0.1:0 for the live sources' tests: it records every request
//! and answers from a queue of scripted responses first, then from a routing function (usually
//! serving the recorded fixtures in `data/fixtures/`).

#![allow(dead_code)] // each test binary uses a different part

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    /// The value of a header (lower-case name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The value of a query parameter (not percent-decoded beyond `%3A` and `%2B`, enough here).
    pub fn param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == name).then(|| v.replace("%3A", ":").replace("%2B", "+"))
        })
    }
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub struct MockResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Wait this long before answering (to trip the client's timeout).
    pub delay: Option<Duration>,
}

impl MockResponse {
    pub fn json(body: impl Into<String>) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
            delay: None,
        }
    }

    pub fn status(status: u16) -> Self {
        Self { status, headers: vec![], body: String::new(), delay: None }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}

type Route = dyn Fn(&Recorded) -> MockResponse + Send + Sync;

struct State {
    queue: Mutex<VecDeque<MockResponse>>,
    requests: Mutex<Vec<Recorded>>,
    route: Box<Route>,
}

/// The running server; stops when dropped.
pub struct MockServer {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl MockServer {
    /// Starts a server answering with `route` whenever the queue is empty.
    pub async fn start(route: impl Fn(&Recorded) -> MockResponse + Send + Sync + 'static) -> Self {
        let state = Arc::new(State {
            queue: Mutex::new(VecDeque::new()),
            requests: Mutex::new(vec![]),
            route: Box::new(route),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("bound address");
        let app = axum::Router::new().fallback(handle).with_state(state.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self { addr, state, stop: Some(stop) }
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers the next request with `response` (before the route; in order).
    pub fn enqueue(&self, response: MockResponse) {
        self.state.queue.lock().unwrap().push_back(response);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn handle(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let recorded = Recorded {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    state.requests.lock().unwrap().push(recorded.clone());
    let queued = state.queue.lock().unwrap().pop_front();
    let answer = queued.unwrap_or_else(|| (state.route)(&recorded));
    if let Some(delay) = answer.delay {
        // Simulates a slow server; the client under test must give up first.
        tokio::time::sleep(delay).await;
    }
    let mut response =
        (StatusCode::from_u16(answer.status).unwrap_or(StatusCode::IM_A_TEAPOT), answer.body).into_response();
    for (k, v) in answer.headers {
        if let (Ok(k), Ok(v)) = (k.parse::<axum::http::HeaderName>(), v.parse()) {
            response.headers_mut().insert(k, v);
        }
    }
    response
}

/// A fixture file of `data/fixtures/`.
pub fn fixture(path: &str) -> String {
    let full = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/fixtures/").to_owned() + path;
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("fixture {full}: {e}"))
}
