//! The seed backend's HTTP API over the SPECTRA engine, for the SPECTRA dashboard.
//!
//! ```text
//! cargo run --example server -- --port 8000          # bundled data, in memory
//! DATABASE_URL=file:./dev.db cargo run --features duckdb-prebuilt --example server
//! ```
//! Options: `--host` (default 127.0.0.1), `--port` (default 8000), `--auto-tick` (advance the
//! clock every `SIM_TICK_INTERVAL_HOURS` and refresh latency every `LATENCY_FETCH_INTERVAL_HOURS`),
//! `--no-import` (do not import the bundled data into an empty store at start). Configuration from
//! the seed's environment names (`DATABASE_URL`, `CORS_ORIGINS`, `APP_ENV`, `SIM_START`, intervals,
//! keys) and `ADMIN_TOKEN`, which protects `/api/admin/*`. Interactive docs at `/docs`.

mod app;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use spectra::{Settings, Spectra, Store};
use tracing::{error, info};

struct Options {
    host: String,
    port: u16,
    auto_tick: bool,
    import: bool,
}

fn options() -> Result<Options, String> {
    let mut o = Options { host: "127.0.0.1".into(), port: 8000, auto_tick: false, import: true };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--host" => o.host = args.next().ok_or("--host needs a value")?,
            "--port" => {
                let v = args.next().ok_or("--port needs a value")?;
                o.port = v.parse().map_err(|_| format!("--port: {v:?} is not a port"))?;
            }
            "--auto-tick" => o.auto_tick = true,
            "--no-import" => o.import = false,
            other => return Err(format!("unknown option {other:?} (see the file's documentation)")),
        }
    }
    Ok(o)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        .init();
    let result = async {
        let options = options().map_err(|e| spectra::Error::config("arguments", e))?;
        let settings = spectra::settings_from_env()?;
        open_and_serve(settings, options).await
    };
    match result.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "duckdb-prebuilt")]
async fn open_and_serve(settings: Settings, options: Options) -> spectra::Result<()> {
    if settings.database_url.is_some() {
        return serve(spectra::open_duckdb(&settings)?, settings, options).await;
    }
    serve(spectra::engine(spectra::MemoryStore::new(), &settings)?, settings, options).await
}

#[cfg(not(feature = "duckdb-prebuilt"))]
async fn open_and_serve(settings: Settings, options: Options) -> spectra::Result<()> {
    serve(spectra::engine(spectra::MemoryStore::new(), &settings)?, settings, options).await
}

async fn serve<S: Store + 'static>(engine: Spectra<S>, settings: Settings, options: Options) -> spectra::Result<()> {
    if options.import && engine.store().regions()?.is_empty() {
        let report = engine.import().await?;
        info!(inserted = report.counts.inserted(), "imported the bundled data into the empty store");
    }
    let app = Arc::new(app::App { engine, admin_token: settings.admin_token.clone() });
    let router = app::router(app.clone(), &settings.cors_origins);
    let listener = tokio::net::TcpListener::bind((options.host.as_str(), options.port))
        .await
        .map_err(|e| spectra::Error::config("--host/--port", e.to_string()))?;
    let addr = listener.local_addr().map_err(|e| spectra::Error::config("--port", e.to_string()))?;
    info!(store = app.engine.store().name(), "SPECTRA listening on http://{addr} (docs at /docs)");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let runner = options.auto_tick.then(|| tokio::spawn(run_background(app.clone(), settings.clone(), stop_rx)));
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| spectra::Error::source("http", e))?;
    let _ = stop_tx.send(true);
    if let Some(runner) = runner {
        let _ = runner.await;
    }
    info!("stopped");
    Ok(())
}

/// Advances the clock and refreshes latency on their intervals until told to stop.
async fn run_background<S: Store + 'static>(
    app: Arc<app::App<S>>,
    settings: Settings,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let every = |hours: f64| tokio::time::interval(Duration::from_secs_f64(hours * 3_600.0));
    let (mut tick, mut latency) =
        (every(settings.sim_tick_interval_hours), every(settings.latency_fetch_interval_hours));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => match app.engine.tick(1) {
                Ok(now) => info!(%now, "simulation clock ticked"),
                Err(e) => error!("tick failed: {e}"),
            },
            _ = latency.tick() => if let Err(e) = app.engine.refresh_latency().await {
                error!("latency refresh failed: {e}");
            },
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    info!("shutting down");
}
