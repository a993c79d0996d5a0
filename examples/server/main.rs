//! The seed backend's HTTP API over the SPECTRA engine, for the SPECTRA dashboard.
//!
//! ```text
//! cargo run --example server -- --port 8000          # bundled data, in memory
//! DATABASE_URL=file:./dev.db cargo run --features duckdb-prebuilt --example server
//! ```
//! Options: `--host` (default 127.0.0.1), `--port` (default 8000), `--auto-tick` (advance the
//! clock every `SIM_TICK_INTERVAL_HOURS`; latency refreshes every `LATENCY_FETCH_INTERVAL_HOURS`
//! and live carbon every hour in any case),
//! `--no-import` (do not import the bundled data into an empty store at start). Configuration from
//! the seed's environment names (`DATABASE_URL`, `CORS_ORIGINS`, `APP_ENV`, `SIM_START`, intervals,
//! keys) and `ADMIN_TOKEN`, which protects `/api/admin/*`. Interactive docs at `/docs`.

mod app;

use std::process::ExitCode;
use std::sync::Arc;

use spectra::runner::{BackgroundRunner, RunnerOptions};
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
    let app = Arc::new(app::App { engine: Arc::new(engine), admin_token: settings.admin_token.clone() });
    let router = app::router(app.clone(), &settings.cors_origins);
    let listener = tokio::net::TcpListener::bind((options.host.as_str(), options.port))
        .await
        .map_err(|e| spectra::Error::config("--host/--port", e.to_string()))?;
    let addr = listener.local_addr().map_err(|e| spectra::Error::config("--port", e.to_string()))?;
    info!(store = app.engine.store().name(), "SPECTRA listening on http://{addr} (docs at /docs)");

    // Latency (and live carbon) refresh on their intervals; the clock ticks only with --auto-tick.
    let runner = BackgroundRunner::spawn_with_log(
        app.engine.clone(),
        RunnerOptions::from_settings(&settings, options.auto_tick),
        |what, e| error!("{what} failed: {e}"),
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| spectra::Error::source("http", e))?;
    runner.stop().await;
    info!("stopped");
    Ok(())
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
