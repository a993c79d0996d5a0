//! SPECTRA in one screen, with no keys and no network: import the bundled data into the engine,
//! advance the simulation clock, rank every catalog region for a workload, execute one migration
//! and show its history, then the data used.
//!
//! ```text
//! cargo run --example quickstart
//! DATABASE_URL=file:./spectra.duckdb cargo run --features duckdb-prebuilt --example quickstart
//! ```
//! With a DuckDB feature and `DATABASE_URL`, state persists in that file and a second run continues
//! from it (the clock moves on, migrations accumulate). Settings come from the environment or
//! `.env` (`SIM_START`, `CSV_DIR`, `LATENCY_VANTAGE_REGION`, `DATABASE_URL`).

use std::io::IsTerminal;
use std::process::ExitCode;

use spectra::{
    ImportStep, InstanceSelector, MigrationRequest, RankRequest, Ranking, Settings, Spectra, Store, Workload,
};

/// Where the demo workload runs today.
const CURRENT: &str = "aws-us-east-1";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let result = match spectra::settings_from_env() {
        Err(e) => Err(e),
        Ok(settings) => open_and_run(settings).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "duckdb-prebuilt")]
async fn open_and_run(settings: Settings) -> spectra::Result<()> {
    if settings.database_url.is_some() {
        return run(spectra::open_duckdb(&settings)?, &settings).await;
    }
    run(spectra::engine(spectra::MemoryStore::new(), &settings)?, &settings).await
}

#[cfg(not(feature = "duckdb-prebuilt"))]
async fn open_and_run(settings: Settings) -> spectra::Result<()> {
    if settings.database_url.is_some() {
        eprintln!("note: DATABASE_URL is set but this build has no DuckDB feature; using memory.");
    }
    run(spectra::engine(spectra::MemoryStore::new(), &settings)?, &settings).await
}

async fn run<S: Store>(engine: Spectra<S>, settings: &Settings) -> spectra::Result<()> {
    let resumed = engine.now() != engine.clock().start() || !engine.migrations()?.is_empty();
    println!("SPECTRA quickstart (store: {})", engine.store().name());
    if resumed {
        println!("  continuing from stored state: clock at {}", engine.now().format("%Y-%m-%d %H:%M UTC"));
    }
    let show_progress = std::io::stderr().is_terminal();
    let report = engine
        .import_with_progress(&|step: ImportStep| {
            if show_progress {
                eprintln!("  import [{}/8] {step}", step.number());
            }
        })
        .await?;
    let c = &report.counts;
    println!(
        "  import     {} regions, {} carbon hours, {} instances, {} utilisation hours, {} anomalies, {} budgets, \
         {} jobs, {} settings inserted ({} rows already stored)",
        c.regions.inserted,
        c.carbon_hours.inserted,
        c.instances.inserted,
        c.utilisation.inserted,
        c.anomalies.inserted,
        c.budgets.inserted,
        c.jobs.inserted,
        c.settings.inserted,
        c.regions.skipped + c.carbon_hours.skipped + c.instances.skipped + c.utilisation.skipped + c.settings.skipped,
    );
    // Midday in Europe on the first simulated day: solar output makes the ranking interesting.
    engine.tick(12)?;

    let mut request = RankRequest::at(engine.now());
    request.current_region = Some(CURRENT.into());
    request.workload = Workload { instances: 10, ..Workload::default() };
    let ranking = engine.rank_regions(&request)?;
    print_header(settings, &engine, &request);
    print_ranking(&ranking);
    migrate_one_team(&engine, &ranking)?;
    print_accounting(&engine)?;
    print_best_window(&engine).await?;
    print_data_used(settings, &engine);
    Ok(())
}

fn print_header<S: Store>(settings: &Settings, engine: &Spectra<S>, request: &RankRequest) {
    let w = &request.weights;
    println!(
        "  clock      {} (SIM_START {})",
        engine.now().format("%Y-%m-%d %H:%M UTC"),
        engine.clock().start().format("%Y-%m-%d %H:%M")
    );
    println!(
        "  workload   {} instances x {:.2} W at ${:.3}/h (one m5.large each), current region {CURRENT}",
        request.workload.instances, request.workload.watts_per_instance, request.workload.usd_per_instance_hour,
    );
    println!(
        "  weights    carbon {:.2}, latency {:.2}, cost {:.2}; latency from {}",
        w.carbon, w.latency, w.cost, settings.latency_vantage_region
    );
    println!();
}

fn print_ranking(ranking: &Ranking) {
    println!(
        "{:>4}  {:<28} {:>8} {:<8} {:>6} {:>7} {:>9} {:>6} {:>6} {:>7}  recommendation",
        "rank", "region", "gCO2/kWh", "basis", "PUE", "lat ms", "kgCO2e/mo", "$/mo", "score", "saving"
    );
    for row in &ranking.rows {
        let basis = match row.intensity_basis {
            spectra::IntensityBasis::Hourly => "hourly",
            spectra::IntensityBasis::HourlyEstimated => "est.",
            spectra::IntensityBasis::AnnualFallback => "annual*",
        };
        let saving = row.saving.map_or(String::new(), |s| format!("{:+.0}%", s.carbon_pct));
        println!(
            "{:>4}  {:<28} {:>8.1} {:<8} {:>6.3} {:>7.1} {:>9.2} {:>6.0} {:>6.3} {:>7}  {}: {}",
            row.rank,
            row.region,
            row.intensity_g_per_kwh,
            basis,
            row.pue,
            row.latency_ms,
            row.kg_co2e_per_month,
            row.cost_usd_per_month,
            row.score,
            saving,
            row.recommendation.action(),
            row.recommendation,
        );
    }
    println!("  * annual: no hourly value at this hour; the region's annual mean stands in (estimated).");
    println!();
}

/// Moves the first team that still has instances in the current region to the best region.
fn migrate_one_team<S: Store>(engine: &Spectra<S>, ranking: &Ranking) -> spectra::Result<()> {
    let Some(best) = ranking.rows.first().filter(|r| r.region.as_str() != CURRENT) else {
        println!("Migration: {CURRENT} already ranks first; nothing to move.");
        return Ok(());
    };
    let instances = engine.instances()?;
    match instances.iter().find(|i| i.region.as_str() == CURRENT) {
        None => println!("Migration: no instance left in {CURRENT}."),
        Some(first) => {
            let m = engine.execute_migration(&MigrationRequest {
                from_region: CURRENT.into(),
                to_region: best.region.clone(),
                instances: InstanceSelector::Team(first.team.clone()),
            })?;
            println!(
                "Migration #{}: team {} ({} instances) {} -> {}",
                m.id,
                first.team,
                m.instance_ids.len(),
                m.from_region,
                m.to_region
            );
        }
    }
    println!("Migration history:");
    println!(
        "  {:>3}  {:<17} {:<19} {:<26} {:>5} {:>16} {:>16}",
        "id", "executed", "from", "to", "inst.", "kgCO2e/mo", "$/mo"
    );
    for m in engine.migrations()? {
        println!(
            "  {:>3}  {:<17} {:<19} {:<26} {:>5} {:>7.2} -> {:<6.2} {:>7.0} -> {:<6.0}",
            m.id,
            m.executed_at.format("%Y-%m-%d %H:%M"),
            m.from_region,
            m.to_region,
            m.instance_ids.len(),
            m.kg_co2e_per_month_before,
            m.kg_co2e_per_month_after,
            m.cost_usd_per_month_before,
            m.cost_usd_per_month_after
        );
    }
    println!();
    Ok(())
}

fn print_accounting<S: Store>(engine: &Spectra<S>) -> spectra::Result<()> {
    let now = engine.now();
    let from = now - chrono::Duration::days(7);
    println!("Fleet emissions per team, {} .. {}:", from.format("%Y-%m-%d %H:%M"), now.format("%Y-%m-%d %H:%M"));
    println!(
        "  {:<10} {:>6} {:>10} {:>12} {:>10} {:>9} {:>6}",
        "team", "inst.h", "kWh", "operational", "embodied", "$", "est."
    );
    for row in engine.fleet_emissions(from, now, &[spectra::GroupBy::Team])? {
        println!(
            "  {:<10} {:>6} {:>10.2} {:>9.3} kg {:>7.3} kg {:>9.2} {:>5.0}%",
            row.team.as_deref().unwrap_or("-"),
            row.instance_hours,
            row.energy_kwh,
            row.operational_kg_co2e,
            row.embodied_kg_co2e,
            row.cost_usd,
            row.estimated_share * 100.0
        );
    }
    println!("Budgets:");
    for b in engine.budgets()? {
        println!(
            "  {:<10} {} used {:>7.2} of {:>6.1} kgCO2e ({:>5.1}%), projected {:>7.2}: {:?}",
            b.team, b.quarter, b.used_kg_co2e, b.budget_kg_co2e, b.used_pct, b.projected_kg_co2e, b.state
        );
    }
    let mut anomalies = engine.detect_anomalies()?;
    anomalies.sort_by_key(|a| std::cmp::Reverse(a.severity));
    println!("Top anomalies ({} found at {}):", anomalies.len(), now.format("%Y-%m-%d %H:%M"));
    for a in anomalies.iter().take(5) {
        println!("  {:?} {:?}: {}", a.severity, a.kind, a.evidence);
    }
    println!();
    Ok(())
}

async fn print_best_window<S: Store>(engine: &Spectra<S>) -> spectra::Result<()> {
    let job = spectra::Job {
        duration_hours: 4,
        earliest_start: engine.now(),
        deadline: engine.now() + chrono::Duration::hours(48),
        power_kw: 5.0,
        current_region: CURRENT.into(),
        candidate_regions: vec!["aws-us-east-2".into(), "aws-us-west-1".into(), "gcp-northamerica-northeast2".into()],
    };
    let choice = engine.best_window(&job).await?;
    println!("Best window for a 4-hour, 5 kW job in the next 48 hours (from {CURRENT}, 3 candidates):");
    for w in &choice.best {
        println!(
            "  {} at {}: {:.1} gCO2/kWh, {:.2} kgCO2e",
            w.region,
            w.start.format("%Y-%m-%d %H:%M UTC"),
            w.mean_intensity_g_per_kwh,
            w.kg_co2e
        );
    }
    println!(
        "  baseline (start now in {}): {:.2} kgCO2e; saving {:.2} kg ({:.0}%)",
        choice.baseline.region, choice.baseline.kg_co2e, choice.saving_kg_co2e, choice.saving_pct
    );
    println!();
    Ok(())
}

fn print_data_used<S: Store>(settings: &Settings, engine: &Spectra<S>) {
    let signals = engine.signals();
    let catalog = engine.catalog();
    println!(
        "Data used: Electricity Maps exports from {}, {} hours in the store",
        settings.csv_dir.display(),
        signals.table().present_hours()
    );
    println!("  {:<12} {:>7}  {:<24}  regions", "zone", "hours", "range");
    let mut zones: Vec<_> = signals.table().iter().collect();
    zones.sort_by_key(|(zone, _)| *zone);
    let day =
        |h: Option<i64>| h.map_or("?".to_owned(), |h| spectra::series::hour_start(h).format("%Y-%m-%d").to_string());
    for (zone, series) in zones {
        let regions: Vec<_> = catalog.regions().iter().filter(|r| r.zone == zone).map(|r| r.code.as_str()).collect();
        println!(
            "  {:<12} {:>7}  {} .. {}  {}",
            zone,
            series.present_hours(),
            day(series.first_hour()),
            day(series.last_present_hour()),
            regions.join(", ")
        );
    }
    let without: Vec<_> = catalog
        .regions()
        .iter()
        .filter(|r| signals.table().series(&r.zone).is_none())
        .map(|r| r.code.as_str())
        .collect();
    println!(
        "  {} catalog regions, {} without hourly data (annual figure): {}",
        catalog.len(),
        without.len(),
        without.join(", ")
    );
    // Which source served each signal: demo sources without keys, live APIs when keys are set.
    let served: Vec<String> = engine
        .health()
        .signals
        .iter()
        .map(|s| {
            let mode = if s.live { "live" } else { "demo" };
            let failed = s.last_error.as_ref().map_or(String::new(), |e| format!(", live failed: {e}"));
            format!("{} from {} ({mode}{failed})", s.signal, s.source)
        })
        .collect();
    println!("  signals: {}", served.join("; "));
}
