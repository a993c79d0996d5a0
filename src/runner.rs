//! Background work for services: a task that advances the simulation clock every
//! `SIM_TICK_INTERVAL_HOURS` (when enabled), refreshes latency every
//! `LATENCY_FETCH_INTERVAL_HOURS` and live carbon every hour, until stopped.
//!
//! ```no_run
//! # async fn run() -> spectra::Result<()> {
//! use std::sync::Arc;
//! use spectra::runner::{BackgroundRunner, RunnerOptions};
//! let settings = spectra::settings_from_env()?;
//! let engine = Arc::new(spectra::engine(spectra::MemoryStore::new(), &settings)?);
//! let runner = BackgroundRunner::spawn(engine.clone(), RunnerOptions::from_settings(&settings, true));
//! // ... serve requests ...
//! runner.stop().await; // the current refresh finishes, nothing is cut half-way
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use spectra_core::{Settings, Spectra, Store};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, Interval, MissedTickBehavior};

/// How often the runner does each thing (`None`: never). Periods are real time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunnerOptions {
    /// Advance the simulation clock one hour this often.
    pub tick_every: Option<Duration>,
    /// Refresh latency (live, or the baseline) this often.
    pub latency_every: Option<Duration>,
    /// Fetch the live carbon source's latest hours this often (a no-op without one).
    pub carbon_every: Option<Duration>,
}

fn hours(h: f64) -> Duration {
    Duration::from_secs_f64(h * 3_600.0)
}

impl RunnerOptions {
    /// The seed's intervals: ticks every `sim_tick_interval_hours` when `auto_tick`, latency every
    /// `latency_fetch_interval_hours`, live carbon every hour (Electricity Maps' granularity).
    pub fn from_settings(settings: &Settings, auto_tick: bool) -> Self {
        Self {
            tick_every: auto_tick.then(|| hours(settings.sim_tick_interval_hours)),
            latency_every: Some(hours(settings.latency_fetch_interval_hours)),
            carbon_every: Some(hours(1.0)),
        }
    }
}

/// The running background task; [`BackgroundRunner::stop`] ends it cleanly.
#[derive(Debug)]
pub struct BackgroundRunner {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// An interval whose first tick is one period from now (not at once), or one that never fires.
fn every(period: Option<Duration>) -> Option<Interval> {
    let period = period.filter(|p| !p.is_zero())?;
    let mut interval = tokio::time::interval_at(Instant::now() + period, period);
    // After a slow refresh, carry on from now rather than firing a burst to catch up.
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    Some(interval)
}

async fn next(interval: &mut Option<Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

impl BackgroundRunner {
    /// Spawns the task on the current tokio runtime. Failures are logged to stderr through
    /// `log_error` and the runner carries on.
    pub fn spawn<S: Store + 'static>(engine: Arc<Spectra<S>>, options: RunnerOptions) -> Self {
        Self::spawn_with_log(engine, options, |what, e| eprintln!("spectra runner: {what} failed: {e}"))
    }

    /// [`BackgroundRunner::spawn`] with a function that reports failures (e.g. to `tracing`).
    pub fn spawn_with_log<S: Store + 'static>(
        engine: Arc<Spectra<S>>,
        options: RunnerOptions,
        log_error: impl Fn(&str, &spectra_core::Error) + Send + 'static,
    ) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let (mut tick, mut latency, mut carbon) =
                (every(options.tick_every), every(options.latency_every), every(options.carbon_every));
            loop {
                tokio::select! {
                    // `changed` also ends the loop when the runner is dropped without `stop`.
                    _ = stopped.changed() => return,
                    _ = next(&mut tick) => if let Err(e) = engine.tick(1) {
                        log_error("tick", &e);
                    },
                    _ = next(&mut latency) => if let Err(e) = engine.refresh_latency().await {
                        log_error("latency refresh", &e);
                    },
                    _ = next(&mut carbon) => if let Err(e) = engine.refresh_carbon().await {
                        log_error("carbon refresh", &e);
                    },
                }
            }
        });
        Self { stop, task }
    }

    /// Stops the task and waits for it: a refresh in progress finishes first.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryStore, bundled};

    /// Paused time: advancing it fires the intervals deterministically, with no waiting. Yields
    /// let the runner handle each firing before the next check.
    async fn settle() {
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn ticks_and_refreshes_on_its_intervals_and_stops() {
        let settings = Settings {
            csv_dir: bundled::csv_dir(),
            sim_tick_interval_hours: 1.0,
            latency_fetch_interval_hours: 2.0,
            ..Settings::default()
        };
        let engine = Arc::new(crate::engine(MemoryStore::new(), &settings).unwrap());
        let start = engine.now();
        let runner = BackgroundRunner::spawn(engine.clone(), RunnerOptions::from_settings(&settings, true));
        settle().await;
        for _ in 0..3 {
            tokio::time::advance(Duration::from_secs(3_600)).await;
            settle().await;
        }
        assert_eq!(engine.now(), start + chrono::Duration::hours(3), "one tick per interval");
        // The latency refresh at 2 h ran at the simulation time of that moment.
        let samples =
            engine.latency_history("aws-us-east-1", start, engine.now() + chrono::Duration::hours(1)).unwrap();
        assert_eq!(samples.len(), 1, "{samples:?}");
        runner.stop().await;
        let stopped_at = engine.now();
        tokio::time::advance(Duration::from_secs(10 * 3_600)).await;
        settle().await;
        assert_eq!(engine.now(), stopped_at, "a stopped runner ticks no more");
    }

    #[tokio::test(start_paused = true)]
    async fn without_auto_tick_the_clock_stays() {
        let settings = Settings { csv_dir: bundled::csv_dir(), ..Settings::default() };
        let engine = Arc::new(crate::engine(MemoryStore::new(), &settings).unwrap());
        let start = engine.now();
        let runner = BackgroundRunner::spawn(engine.clone(), RunnerOptions::from_settings(&settings, false));
        settle().await; // the runner arms its intervals
        tokio::time::advance(Duration::from_secs(7 * 3_600)).await;
        settle().await;
        assert_eq!(engine.now(), start);
        assert!(
            !engine.latency_history("aws-us-east-1", start, start + chrono::Duration::hours(1)).unwrap().is_empty()
        );
        runner.stop().await;
    }
}
