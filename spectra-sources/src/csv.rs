//! Electricity Maps hourly CSV exports: one file or a directory of them.
//!
//! Both portal header formats are read (the older `Zone Id`/`(LCA)` one and the newer
//! `Zone id`/`(Life cycle)` one); header names are matched case-insensitively after trimming.
//! Files are streamed record by record into dense per-zone series, never held whole in memory.
//!
//! The zone of each row comes from its `Zone Id` cell matched against the catalog's zones; when the
//! column is absent or the cell empty, from the catalog's file-name keywords. A zone id that is
//! present but matches no region is an error, not a guess from the file name: `DE-LU_*.csv` files
//! hold zone `DE` and `BR-SP_*.csv` files zone `BR-CS`, which the catalog lists as such.
//!
//! Loading is all-or-nothing: any error leaves the caller with nothing loaded. Two situations are
//! skipped and counted instead of failing, because real exports contain them:
//! - a row whose life-cycle intensity cell is empty (an hour Electricity Maps has no value for,
//!   e.g. US-NW-PACW on 2023-09-06): the hour stays missing, ranking falls back to the annual figure;
//! - a row repeating an hour already loaded with the same value (overlapping exports).
//!
//! A repeated hour with a *different* value is an error naming both places.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, Timelike, Utc};
use serde::Serialize;
use spectra_core::catalog::MAX_PLAUSIBLE_INTENSITY;
use spectra_core::series::{HourDetail, SetOutcome, hour_index, hour_start};
use spectra_core::{
    Capabilities, CarbonIntensityHour, CarbonSource, Catalog, DataSource, Error, IntensityTable, Location, Result,
    TimeRange,
};

/// Which portal export format a file's header is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderFormat {
    /// `Zone Id`, `Carbon Intensity gCO₂eq/kWh (LCA)`, `Low Carbon Percentage`...
    Legacy,
    /// `Zone id`, `Carbon intensity gCO₂eq/kWh (Life cycle)`, `Carbon-free energy percentage (CFE%)`...
    Current,
}

/// How the zone of a file's rows was determined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneResolution {
    /// From the `Zone Id` column.
    Column,
    /// From the catalog's file-name keywords.
    FileName,
}

/// What was read from one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// Its header format.
    pub format: HeaderFormat,
    /// The zones its rows belong to.
    pub zones: Vec<String>,
    /// How those zones were found.
    pub zone_from: ZoneResolution,
    /// Data rows read.
    pub rows: u64,
    /// Hours newly loaded.
    pub inserted: u64,
    /// Rows skipped because the intensity cell was empty.
    pub missing_values: u64,
    /// Rows skipped because the same hour with the same value was already loaded.
    pub duplicates: u64,
    /// First hour in the file.
    pub first_hour: Option<DateTime<Utc>>,
    /// Last hour in the file.
    pub last_hour: Option<DateTime<Utc>>,
}

/// What a load read, file by file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LoadReport {
    /// One entry per file, in load order.
    pub files: Vec<FileReport>,
}

impl LoadReport {
    /// Hours loaded, over all files.
    pub fn inserted(&self) -> u64 {
        self.files.iter().map(|f| f.inserted).sum()
    }

    /// Rows skipped (missing values and same-value duplicates), over all files.
    pub fn skipped(&self) -> u64 {
        self.files.iter().map(|f| f.missing_values + f.duplicates).sum()
    }
}

/// Roles of the columns SPECTRA reads; the rest (country, zone name, data source) are ignored.
#[derive(Debug, Default)]
struct Columns {
    datetime: Option<usize>,
    zone: Option<usize>,
    lifecycle: Option<usize>,
    direct: Option<usize>,
    low_carbon: Option<usize>,
    renewable: Option<usize>,
    estimated: Option<usize>,
    format: Option<HeaderFormat>,
    names: Vec<String>,
}

impl Columns {
    fn from_header(names: Vec<String>) -> Self {
        let mut c = Columns::default();
        for (i, name) in names.iter().enumerate() {
            let lower = name.to_lowercase();
            let slot = match lower.as_str() {
                "datetime (utc)" => &mut c.datetime,
                "zone id" => &mut c.zone,
                "carbon intensity gco₂eq/kwh (lca)" | "carbon intensity gco₂eq/kwh (life cycle)" => {
                    &mut c.lifecycle
                }
                "carbon intensity gco₂eq/kwh (direct)" => &mut c.direct,
                "low carbon percentage" | "carbon-free energy percentage (cfe%)" => &mut c.low_carbon,
                "renewable percentage" | "renewable energy percentage (re%)" => &mut c.renewable,
                "data estimated" => &mut c.estimated,
                _ => continue,
            };
            *slot = Some(i);
            if lower.ends_with("(lca)") || lower == "low carbon percentage" {
                c.format = Some(HeaderFormat::Legacy);
            } else if lower.ends_with("(life cycle)") || lower.contains("(cfe%)") {
                c.format = Some(HeaderFormat::Current);
            }
        }
        c.names = names;
        c
    }

    fn name(&self, i: usize) -> &str {
        &self.names[i]
    }
}

/// Loads Electricity Maps CSV exports into an [`IntensityTable`] and serves them as a [`DataSource`].
///
/// ```
/// use spectra_sources::{bundled, csv::ElectricityMapsCsv};
/// let catalog = bundled::catalog().unwrap();
/// let csv = ElectricityMapsCsv::load(bundled::data_dir().join("electricitymaps/FR_2023_hourly.csv"), &catalog).unwrap();
/// assert_eq!(csv.table().series("FR").unwrap().present_hours(), 8760);
/// ```
#[derive(Debug, Clone)]
pub struct ElectricityMapsCsv {
    table: IntensityTable,
    report: LoadReport,
}

impl ElectricityMapsCsv {
    /// Loads one CSV file, or every `*.csv` file of a directory in name order. All or nothing.
    ///
    /// Files are parsed in parallel (one thread per core), then merged in name order, so the
    /// result and the first error reported are those of a sequential load.
    pub fn load(path: impl AsRef<Path>, catalog: &Catalog) -> Result<Self> {
        let files = csv_files(path.as_ref())?;
        let mut loader = Self { table: IntensityTable::new(), report: LoadReport::default() };
        for (file, parsed) in files.iter().zip(parse_all(&files, catalog)) {
            let (mut report, part) = parsed?;
            loader.merge(file, &mut report, part)?;
            loader.report.files.push(report);
        }
        Ok(loader)
    }

    /// Adds one file's hours to the table: a zone seen for the first time moves in whole;
    /// otherwise hour by hour, counting repeats and refusing conflicts.
    fn merge(&mut self, file: &Path, report: &mut FileReport, part: IntensityTable) -> Result<()> {
        for (zone, series) in part.into_zones() {
            if self.table.series(&zone).is_none() {
                *self.table.series_mut(&zone) = series;
                continue;
            }
            let Some(first) = series.first_hour() else { continue };
            for hour in first..series.end_hour() {
                let Some((value, detail)) = series.point(hour) else { continue };
                match self.table.series_mut(&zone).set(hour, value, detail) {
                    SetOutcome::Inserted => {}
                    SetOutcome::Unchanged => {
                        report.inserted -= 1;
                        report.duplicates += 1;
                    }
                    SetOutcome::Conflict(existing) => {
                        let mut at = Location::file(file).column("Carbon Intensity gCO₂eq/kWh (LCA)");
                        at.line = line_of_hour(file, hour);
                        return Err(Error::invalid(
                            at,
                            format!(
                                "duplicate hour: zone {zone} {} is {value} here but {existing} in an earlier file",
                                hour_start(hour).format("%Y-%m-%d %H:%M")
                            ),
                        ));
                    }
                    SetOutcome::OutOfSpan => {
                        return Err(Error::invalid(
                            Location::file(file),
                            format!("zone {zone}: hours more than 30 years apart across files"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The hourly series loaded, by zone.
    pub fn table(&self) -> &IntensityTable {
        &self.table
    }

    /// Gives up the loaded series.
    pub fn into_table(self) -> IntensityTable {
        self.table
    }

    /// What was read.
    pub fn report(&self) -> &LoadReport {
        &self.report
    }
}

/// Parses every file, in parallel over the available cores; results in file order.
fn parse_all(files: &[PathBuf], catalog: &Catalog) -> Vec<Result<(FileReport, IntensityTable)>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(files.len()).max(1);
    if threads == 1 {
        return files.iter().map(|f| load_file(f, catalog)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<_> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(file) = files.get(i) else { break };
                        done.push((i, load_file(file, catalog)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| {
                // A worker panicking would be a bug in the parser; surface it as an error.
                w.join().unwrap_or_else(|_| {
                    vec![(0, Err(Error::source("electricitymaps-csv", "a parser thread panicked")))]
                })
            })
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// The line of the first row of `file` for `hour`: used only to point a cross-file conflict at
/// its line, so a plain rescan is fine.
fn line_of_hour(file: &Path, hour: i64) -> Option<u64> {
    let mut reader = ::csv::ReaderBuilder::new().flexible(true).from_path(file).ok()?;
    let mut record = ::csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).ok()? {
        let text = std::str::from_utf8(record.get(0)?).ok()?.trim();
        if parse_hour(text).ok() == Some(hour) {
            return record.position().map(|p| p.line());
        }
    }
    None
}

/// Parses one file into its own table.
fn load_file(path: &Path, catalog: &Catalog) -> Result<(FileReport, IntensityTable)> {
    let mut table = IntensityTable::new();
    {
        let at = || Location::file(path);
        let io_err = |e: std::io::Error| Error::invalid(at(), format!("cannot read: {e}"));
        let file = File::open(path).map_err(io_err)?;
        if file.metadata().map_err(io_err)?.len() == 0 {
            return Err(Error::invalid(at().line(1), "the file is empty (expected a header and hourly rows)"));
        }
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            // Only the header is trimmed by the reader; cells are trimmed when read (cheaper).
            .trim(::csv::Trim::Headers)
            .from_reader(BufReader::with_capacity(1 << 16, file));
        let header = reader.byte_headers().map_err(|e| csv_error(path, e, &[]))?.clone();
        let mut names = Vec::with_capacity(header.len());
        for (i, raw) in header.iter().enumerate() {
            let name = std::str::from_utf8(raw)
                .map_err(|_| Error::invalid(at().line(1).column(format!("#{}", i + 1)), "header is not valid UTF-8"))?;
            names.push(name.trim_start_matches('\u{feff}').trim().to_owned());
        }
        let cols = Columns::from_header(names);
        let required = [(cols.datetime, "Datetime (UTC)"), (cols.lifecycle, "Carbon Intensity gCO₂eq/kWh (LCA)")];
        for (col, name) in required {
            if col.is_none() {
                return Err(Error::invalid(
                    at().line(1).column(name),
                    format!("missing required column (header has: {})", cols.names.join(", ")),
                ));
            }
        }
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let keyword_zone = catalog.zone_for_file_name(&file_name).map(str::to_owned);
        let mut report = FileReport {
            path: path.to_owned(),
            format: cols.format.unwrap_or(HeaderFormat::Legacy),
            zones: Vec::new(),
            zone_from: ZoneResolution::Column,
            rows: 0,
            inserted: 0,
            missing_values: 0,
            duplicates: 0,
            first_hour: None,
            last_hour: None,
        };
        // The last zone id seen and found in the catalog: files hold one zone, so look it up once.
        let mut known_zone: Option<String> = None;
        let mut record = ::csv::StringRecord::new();
        let mut hours = (i64::MAX, i64::MIN);
        loop {
            // One UTF-8 check per record; a bad byte is reported with its field's name.
            match reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(csv_error(path, e, &cols.names)),
            }
            let line = record.position().map_or(0, |p| p.line());
            if record.len() != cols.names.len() {
                return Err(Error::invalid(
                    at().line(line),
                    format!(
                        "row has {} fields, the header has {} (truncated or malformed line)",
                        record.len(),
                        cols.names.len()
                    ),
                ));
            }
            report.rows += 1;
            let cell = |i: usize| -> Result<&str> { Ok(record[i].trim()) };
            // Column presence was checked above.
            let (dt_col, lca_col) = (cols.datetime.unwrap_or(0), cols.lifecycle.unwrap_or(0));
            let hour =
                parse_hour(cell(dt_col)?).map_err(|r| Error::invalid(at().line(line).column(cols.name(dt_col)), r))?;

            let zone_cell = match cols.zone {
                Some(i) => cell(i)?,
                None => "",
            };
            let zone = if zone_cell.is_empty() {
                report.zone_from = ZoneResolution::FileName;
                keyword_zone.as_deref().ok_or_else(|| {
                    Error::invalid(
                        at().line(line).column(cols.zone.map_or("Zone Id", |i| cols.name(i))),
                        format!("no zone id, and the file name {file_name:?} matches no region's csv_keywords"),
                    )
                })?
            } else {
                match &known_zone {
                    Some(z) if z == zone_cell => zone_cell,
                    _ => {
                        if !catalog.has_zone(zone_cell) {
                            return Err(Error::invalid(
                                at().line(line).column(cols.zone.map_or("Zone Id", |i| cols.name(i))),
                                format!("zone {zone_cell:?} matches no region in the catalog"),
                            ));
                        }
                        known_zone = Some(zone_cell.to_owned());
                        zone_cell
                    }
                }
            };

            let lca_text = cell(lca_col)?;
            if lca_text.is_empty() {
                report.missing_values += 1;
                continue;
            }
            let number = |i: usize, max: f64| -> Result<f32> {
                let text = cell(i)?;
                let v: f64 = text.parse().map_err(|_| {
                    Error::invalid(at().line(line).column(cols.name(i)), format!("{text:?} is not a number"))
                })?;
                if !(v.is_finite() && (0.0..=max).contains(&v)) {
                    return Err(Error::invalid(
                        at().line(line).column(cols.name(i)),
                        format!("{v} is out of range [0, {max}]"),
                    ));
                }
                Ok(v as f32)
            };
            let optional = |col: Option<usize>, max: f64| -> Result<f32> {
                match col {
                    Some(i) if !cell(i)?.is_empty() => number(i, max),
                    _ => Ok(f32::NAN),
                }
            };
            let lifecycle = number(lca_col, MAX_PLAUSIBLE_INTENSITY)?;
            let detail = HourDetail {
                direct: optional(cols.direct, MAX_PLAUSIBLE_INTENSITY)?,
                low_carbon_pct: optional(cols.low_carbon, 100.0)?,
                renewable_pct: optional(cols.renewable, 100.0)?,
                estimated: match cols.estimated {
                    Some(i) => {
                        parse_bool(cell(i)?).map_err(|r| Error::invalid(at().line(line).column(cols.name(i)), r))?
                    }
                    None => false,
                },
                source: CarbonSource::Csv,
            };
            match table.series_mut(zone).set(hour, lifecycle, detail) {
                SetOutcome::Inserted => report.inserted += 1,
                SetOutcome::Unchanged => report.duplicates += 1,
                SetOutcome::Conflict(existing) => {
                    return Err(Error::invalid(
                        at().line(line).column(cols.name(lca_col)),
                        format!(
                            "duplicate hour: zone {zone} {} is {lifecycle} here but {existing} in an earlier row",
                            hour_start(hour).format("%Y-%m-%d %H:%M")
                        ),
                    ));
                }
                SetOutcome::OutOfSpan => {
                    return Err(Error::invalid(
                        at().line(line).column(cols.name(dt_col)),
                        "hour is more than 30 years away from the zone's other hours",
                    ));
                }
            }
            if !report.zones.iter().any(|z| z == zone) {
                report.zones.push(zone.to_owned());
            }
            hours = (hours.0.min(hour), hours.1.max(hour));
        }
        if report.rows == 0 {
            return Err(Error::invalid(at().line(2), "the file has a header but no data rows"));
        }
        if hours.0 <= hours.1 {
            report.first_hour = Some(hour_start(hours.0));
            report.last_hour = Some(hour_start(hours.1));
        }
        Ok((report, table))
    }
}

/// The CSV files to load: `path` itself, or the `*.csv` files of directory `path` by name.
fn csv_files(path: &Path) -> Result<Vec<PathBuf>> {
    let meta =
        std::fs::metadata(path).map_err(|e| Error::invalid(Location::file(path), format!("cannot read: {e}")))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let entries =
        std::fs::read_dir(path).map_err(|e| Error::invalid(Location::file(path), format!("cannot list: {e}")))?;
    let mut files = Vec::new();
    for entry in entries {
        let p = entry.map_err(|e| Error::invalid(Location::file(path), format!("cannot list: {e}")))?.path();
        if p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
            files.push(p);
        }
    }
    if files.is_empty() {
        return Err(Error::invalid(Location::file(path), "the directory has no .csv file"));
    }
    files.sort();
    Ok(files)
}

/// A csv-crate error (I/O, bad UTF-8, malformed quoting) as an [`Error`] naming the file, the line
/// and, for bad UTF-8, the column (from `names`, the header).
fn csv_error(path: &Path, e: ::csv::Error, names: &[String]) -> Error {
    let mut at = Location::file(path);
    at.line = e.position().map(|p| p.line());
    let reason = match e.kind() {
        ::csv::ErrorKind::Io(io) => format!("cannot read: {io}"),
        ::csv::ErrorKind::Utf8 { err, .. } => {
            at.column = names.get(err.field()).cloned();
            format!("not valid UTF-8 (byte {}); re-export the file as UTF-8", err.valid_up_to() + 1)
        }
        _ => format!("malformed CSV: {e}"),
    };
    Error::invalid(at, reason)
}

/// Parses `2024-01-01 00:00:00`, `2024-01-01T00:00:00` (both UTC) or RFC 3339 (any offset) to an
/// hour index; the time must fall on the hour. The two fixed layouts take a fast path (no format
/// parser: this runs once per row).
fn parse_hour(text: &str) -> std::result::Result<i64, String> {
    let not_a_timestamp = || format!("{text:?} is not a timestamp (expected e.g. 2024-01-01 00:00:00)");
    let b = text.as_bytes();
    let t = if b.len() == 19
        && matches!(b[10], b' ' | b'T')
        && b[4] == b'-'
        && b[7] == b'-'
        && b[13] == b':'
        && b[16] == b':'
    {
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
        };
        let (y, mo, d, h, mi, se) = (num(0..4), num(5..7), num(8..10), num(11..13), num(14..16), num(17..19));
        let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(se)) = (y, mo, d, h, mi, se) else {
            return Err(not_a_timestamp());
        };
        chrono::NaiveDate::from_ymd_opt(y as i32, mo, d)
            .and_then(|date| date.and_hms_opt(h, mi, se))
            .ok_or_else(not_a_timestamp)?
            .and_utc()
    } else {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|_| not_a_timestamp())?
    };
    if t.minute() != 0 || t.second() != 0 || t.nanosecond() != 0 {
        return Err(format!("{text:?} is not on the hour (hourly data expected)"));
    }
    Ok(hour_index(t))
}

fn parse_bool(text: &str) -> std::result::Result<bool, String> {
    if text.eq_ignore_ascii_case("true") || text == "1" {
        Ok(true)
    } else if text.is_empty() || text.eq_ignore_ascii_case("false") || text == "0" {
        Ok(false)
    } else {
        Err(format!("{text:?} is not true or false"))
    }
}

#[async_trait]
impl DataSource for ElectricityMapsCsv {
    fn name(&self) -> &str {
        "electricitymaps-csv"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { carbon_history: true, ..Capabilities::default() }
    }

    async fn carbon_history(&self, zone: &str, range: TimeRange) -> Result<Vec<CarbonIntensityHour>> {
        if self.table.series(zone).is_none() {
            return Err(Error::not_found("zone", zone));
        }
        Ok(self.table.records(zone, range.from, range.to).collect())
    }
}

/// Electricity Maps exports in a file or directory as a [`DataSource`], re-read on every call so
/// files dropped into the directory are picked up by the next import.
#[derive(Debug, Clone)]
pub struct CsvCarbonSource {
    path: PathBuf,
    catalog: std::sync::Arc<Catalog>,
}

impl CsvCarbonSource {
    /// A source over `path` (a file or a directory), matching zones against `catalog`.
    pub fn new(path: impl Into<PathBuf>, catalog: std::sync::Arc<Catalog>) -> Self {
        Self { path: path.into(), catalog }
    }

    /// The file or directory read.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait]
impl DataSource for CsvCarbonSource {
    fn name(&self) -> &str {
        "electricitymaps-csv"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { carbon_history: true, carbon_snapshot: true, ..Capabilities::default() }
    }

    async fn carbon_history(&self, zone: &str, range: TimeRange) -> Result<Vec<CarbonIntensityHour>> {
        ElectricityMapsCsv::load(&self.path, &self.catalog)?.carbon_history(zone, range).await
    }

    async fn carbon_snapshot(&self) -> Result<IntensityTable> {
        Ok(ElectricityMapsCsv::load(&self.path, &self.catalog)?.into_table())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_every_export_style() {
        let h = parse_hour("2024-01-01 00:00:00").unwrap();
        assert_eq!(parse_hour("2024-01-01T00:00:00").unwrap(), h);
        assert_eq!(parse_hour("2024-01-01T00:00:00.000Z").unwrap(), h);
        assert_eq!(parse_hour("2024-01-01T01:00:00+01:00").unwrap(), h);
        assert!(parse_hour("2024-01-01 00:30:00").unwrap_err().contains("on the hour"));
        assert!(parse_hour("01/01/2024").is_err());
        assert!(parse_hour("2024-02-30 00:00:00").is_err(), "no February 30th");
        assert!(parse_hour("2024-01-01 24:00:00").is_err());
        assert!(parse_hour("2024-0a-01 00:00:00").is_err());
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("TRUE"), Ok(true));
        assert_eq!(parse_bool(""), Ok(false));
        assert!(parse_bool("maybe").is_err());
    }
}
