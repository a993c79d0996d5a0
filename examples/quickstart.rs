//! SPECTRA in one screen, with no keys and no network: load the bundled Electricity Maps exports,
//! set the simulation clock, rank every catalog region for a workload, and show the data used.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//! Settings come from the environment or `.env` (`SIM_START`, `CSV_DIR`, `LATENCY_VANTAGE_REGION`).

use std::collections::BTreeMap;
use std::process::ExitCode;

use spectra::{RankRequest, Ranking, Settings, Workload, rank_regions};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> spectra::Result<()> {
    let settings = spectra::settings_from_env()?;
    let data = spectra::load_csv_signals(&settings)?;
    let mut clock = spectra::SimClock::new(settings.sim_start);
    // Midday in Europe on the first simulated day: solar output makes the ranking interesting.
    clock.tick(12)?;

    let mut request = RankRequest::at(clock.now());
    request.current_region = Some("aws-us-east-1".into());
    request.workload = Workload { instances: 10, ..Workload::default() };
    let ranking = rank_regions(&data.signals, &request)?;

    print_header(&settings, &clock, &request);
    print_ranking(&ranking);
    print_data_used(&settings, &data);
    Ok(())
}

fn print_header(settings: &Settings, clock: &spectra::SimClock, request: &RankRequest) {
    let w = &request.weights;
    println!("SPECTRA quickstart: where should this workload run now?");
    println!(
        "  clock      {} (SIM_START {} + 12 h)",
        clock.now().format("%Y-%m-%d %H:%M UTC"),
        clock.start().format("%Y-%m-%d %H:%M")
    );
    println!(
        "  workload   {} instances x {:.2} W at ${:.3}/h (one m5.large each), current region {}",
        request.workload.instances,
        request.workload.watts_per_instance,
        request.workload.usd_per_instance_hour,
        request.current_region.as_ref().map_or("none", |c| c.as_str()),
    );
    println!(
        "  weights    carbon {:.2}, latency {:.2}, cost {:.2}; latency from {}",
        w.carbon, w.latency, w.cost, settings.latency_vantage_region
    );
    println!();
}

fn print_ranking(ranking: &Ranking) {
    println!(
        "{:>4}  {:<32} {:>7} {:<8} {:>6} {:>8} {:>9} {:>8} {:>6} {:>8}  recommendation",
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
            "{:>4}  {:<32} {:>8.1} {:<8} {:>6.3} {:>8.1} {:>9.2} {:>8.0} {:>6.3} {:>8}  {}: {}",
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
    println!("  * annual: no hourly value at this hour, the region's annual mean stands in (estimated).");
    if ranking.excluded > 0 {
        println!("  {} regions excluded by constraints.", ranking.excluded);
    }
    println!();
}

fn print_data_used(settings: &Settings, data: &spectra::CsvSignals) {
    let catalog = data.signals.catalog();
    let report = &data.report;
    println!(
        "Data used: {} files from {}, {} hours loaded, {} rows skipped (empty values or repeats)",
        report.files.len(),
        settings.csv_dir.display(),
        report.inserted(),
        report.skipped()
    );
    #[derive(Default)]
    struct ZoneSummary {
        files: usize,
        hours: u64,
        first: Option<chrono::DateTime<chrono::Utc>>,
        last: Option<chrono::DateTime<chrono::Utc>>,
    }
    let mut by_zone: BTreeMap<&str, ZoneSummary> = BTreeMap::new();
    for f in &report.files {
        for zone in &f.zones {
            let z = by_zone.entry(zone).or_default();
            z.files += 1;
            z.hours += f.inserted;
            z.first = z.first.into_iter().chain(f.first_hour).min();
            z.last = z.last.max(f.last_hour);
        }
    }
    let day = |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or("?".to_owned(), |t| t.format("%Y-%m-%d").to_string());
    println!("  {:<12} {:>5} {:>7}  {:<24}  regions", "zone", "files", "hours", "range");
    for (zone, z) in &by_zone {
        let regions: Vec<_> = catalog.regions().iter().filter(|r| r.zone == *zone).map(|r| r.code.as_str()).collect();
        println!(
            "  {:<12} {:>5} {:>7}  {} .. {}  {}",
            zone,
            z.files,
            z.hours,
            day(z.first),
            day(z.last),
            regions.join(", ")
        );
    }
    let without: Vec<_> =
        catalog.regions().iter().filter(|r| !by_zone.contains_key(r.zone.as_str())).map(|r| r.code.as_str()).collect();
    println!(
        "  {} catalog regions, {} without hourly data (annual figure): {}",
        catalog.len(),
        without.len(),
        without.join(", ")
    );
}
