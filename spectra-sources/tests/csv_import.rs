//! The Electricity Maps CSV source against the bundled real exports and every kind of bad input.

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use spectra_core::{Catalog, DataSource, Error, TimeRange};
use spectra_sources::bundled;
use spectra_sources::csv::{ElectricityMapsCsv, HeaderFormat, ZoneResolution};

const LEGACY: &str = "Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO₂eq/kWh (direct),Carbon Intensity gCO₂eq/kWh (LCA),Low Carbon Percentage,Renewable Percentage,Data Source,Data Estimated,Data Estimation Method";
const CURRENT: &str = "Datetime (UTC),Country,Zone name,Zone id,Carbon intensity gCO₂eq/kWh (direct),Carbon intensity gCO₂eq/kWh (Life cycle),Carbon-free energy percentage (CFE%),Renewable energy percentage (RE%),Data source,Data estimated,Data estimation method";

fn catalog() -> Catalog {
    bundled::catalog().expect("the bundled catalog is valid")
}

/// Writes `contents` as `name` in a fresh directory and returns (dir guard, path).
fn file(name: &str, contents: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    (dir, path)
}

fn fr_row(hour: u32, lca: &str) -> String {
    format!("2023-01-01 {hour:02}:00:00,France,France,FR,35.34,{lca},92.78,40.96,opendata.reseaux-energies.fr,false,\n")
}

/// Loads a file expected to fail and returns its error, checking it points into that file.
fn load_err(path: &Path) -> (Error, Option<u64>, Option<String>) {
    let err = ElectricityMapsCsv::load(path, &catalog()).expect_err("bad input must be an error");
    let at = err.location().cloned().unwrap_or_default();
    assert_eq!(at.file.as_deref(), Some(path), "error names the file: {err}");
    (err, at.line, at.column)
}

#[test]
fn bundled_exports_load_with_their_real_quirks() {
    let csv = ElectricityMapsCsv::load(bundled::csv_dir(), &catalog()).unwrap();
    let report = csv.report();
    assert_eq!(report.files.len(), 32);
    let catalog = catalog();
    for f in &report.files {
        assert_eq!(f.zone_from, ZoneResolution::Column);
        assert_eq!(f.format, HeaderFormat::Legacy);
        assert!(f.zones.iter().all(|z| catalog.has_zone(z)), "{:?}", f.zones);
        assert!(f.rows == 8760 || f.rows == 8784, "{}: {}", f.path.display(), f.rows);
    }
    let zone_of = |name: &str| report.files.iter().find(|f| f.path.ends_with(name)).map(|f| f.zones.clone()).unwrap();
    assert_eq!(zone_of("DE-LU_2023_hourly.csv"), ["DE"]);
    assert_eq!(zone_of("BR-SP_2024_hourly.csv"), ["BR-CS"]);
    // US-NW-PACW has 24 hours without a value in 2023: skipped and counted, not an error.
    let pacw = report.files.iter().find(|f| f.path.ends_with("US-NW-PACW_2023_hourly.csv")).unwrap();
    assert_eq!((pacw.missing_values, pacw.inserted), (24, 8736));
    // GB's data-source cells start with a space; IN-WE hours are estimates.
    let table = csv.table();
    let h = spectra_core::series::hour_index(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap());
    assert_eq!(table.series("GB").unwrap().at(h), Some(96.44));
    assert!(table.series("IN-WE").unwrap().point(h).unwrap().1.estimated);
    assert_eq!(report.inserted(), table.present_hours() as u64);
    assert_eq!(report.skipped(), 24);
}

#[tokio::test]
async fn serves_history_as_a_data_source() {
    let csv = ElectricityMapsCsv::load(bundled::csv_dir().join("FR_2023_hourly.csv"), &catalog()).unwrap();
    let from = Utc.with_ymd_and_hms(2023, 1, 1, 0, 0, 0).unwrap();
    let range = TimeRange::new(from, from + chrono::Duration::hours(3)).unwrap();
    let hours = csv.carbon_history("FR", range).await.unwrap();
    assert_eq!(hours.len(), 3);
    assert_eq!((hours[0].lifecycle_g_per_kwh, hours[0].direct_g_per_kwh), (56.64, Some(35.34)));
    assert!(matches!(csv.carbon_history("DE", range).await, Err(Error::NotFound { .. })));
    assert!(matches!(csv.carbon_forecast("FR", from).await, Err(Error::NotSupported { .. })));
    let day = TimeRange::new(from, from + chrono::Duration::hours(24)).unwrap();
    spectra_core::testing::check_carbon_history(&csv, "FR", day).await;
    spectra_core::testing::check_undeclared_operations(&csv, "FR", day).await;
}

#[test]
fn newer_header_format_quoted_names_and_leading_spaces() {
    let body = format!(
        "{CURRENT}\n2024-05-01T00:00:00.000Z,Germany,\"Germany, Luxembourg\",DE, 300.5, 350.25,60,50, entsoe.eu,FALSE,\n"
    );
    let (_d, path) = file("export.csv", body.as_bytes());
    let csv = ElectricityMapsCsv::load(&path, &catalog()).unwrap();
    let f = &csv.report().files[0];
    assert_eq!(f.format, HeaderFormat::Current);
    let h = spectra_core::series::hour_index(Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap());
    assert_eq!(csv.table().series("DE").unwrap().at(h), Some(350.25));
}

#[test]
fn zone_from_file_name_keywords_when_the_column_is_absent() {
    let body = "Datetime (UTC),Carbon Intensity gCO₂eq/kWh (LCA)\n2023-01-01 00:00:00,185.8\n";
    let (_d, path) = file("DE-LU_2023_hourly.csv", body.as_bytes());
    let csv = ElectricityMapsCsv::load(&path, &catalog()).unwrap();
    assert_eq!(csv.report().files[0].zone_from, ZoneResolution::FileName);
    assert_eq!(csv.report().files[0].zones, ["DE"]);
}

#[test]
fn same_hour_same_value_is_a_counted_skip() {
    let body = format!("{LEGACY}\n{}{}", fr_row(0, "56.64"), fr_row(0, "56.64"));
    let (_d, path) = file("FR.csv", body.as_bytes());
    let csv = ElectricityMapsCsv::load(&path, &catalog()).unwrap();
    assert_eq!((csv.report().files[0].inserted, csv.report().files[0].duplicates), (1, 1));
}

#[test]
fn empty_file() {
    let (_d, path) = file("FR.csv", b"");
    let (err, line, _) = load_err(&path);
    assert_eq!(line, Some(1));
    assert!(err.to_string().contains("empty"), "{err}");
}

#[test]
fn header_only() {
    let (_d, path) = file("FR.csv", format!("{LEGACY}\n").as_bytes());
    let (err, line, _) = load_err(&path);
    assert_eq!(line, Some(2));
    assert!(err.to_string().contains("no data rows"), "{err}");
}

#[test]
fn missing_required_column() {
    let body = "Datetime (UTC),Zone Id\n2023-01-01 00:00:00,FR\n";
    let (_d, path) = file("FR.csv", body.as_bytes());
    let (err, line, column) = load_err(&path);
    assert_eq!((line, column.as_deref()), (Some(1), Some("Carbon Intensity gCO₂eq/kWh (LCA)")));
    assert!(err.to_string().contains("missing required column"), "{err}");
}

#[test]
fn unparseable_timestamp() {
    let body =
        format!("{LEGACY}\n{}{}", fr_row(0, "56.64"), fr_row(1, "58.1").replace("2023-01-01 01", "2023-13-01 01"));
    let (_d, path) = file("FR.csv", body.as_bytes());
    let (err, line, column) = load_err(&path);
    assert_eq!((line, column.as_deref()), (Some(3), Some("Datetime (UTC)")));
    assert!(err.to_string().contains("not a timestamp"), "{err}");
}

#[test]
fn unparseable_number() {
    let body = format!("{LEGACY}\n{}", fr_row(0, "56,64x"));
    // The comma splits the cell: quote it so the row keeps its field count and the number is bad.
    let body = body.replace("56,64x", "\"56,64\"");
    let (_d, path) = file("FR.csv", body.as_bytes());
    let (err, line, column) = load_err(&path);
    assert_eq!((line, column.as_deref()), (Some(2), Some("Carbon Intensity gCO₂eq/kWh (LCA)")));
    assert!(err.to_string().contains("not a number"), "{err}");
}

#[test]
fn negative_intensity() {
    let (_d, path) = file("FR.csv", format!("{LEGACY}\n{}", fr_row(0, "-5")).as_bytes());
    let (err, line, column) = load_err(&path);
    assert_eq!((line, column.as_deref()), (Some(2), Some("Carbon Intensity gCO₂eq/kWh (LCA)")));
    assert!(err.to_string().contains("out of range"), "{err}");
}

#[test]
fn absurd_intensity() {
    let (_d, path) = file("FR.csv", format!("{LEGACY}\n{}{}", fr_row(0, "56"), fr_row(1, "99999")).as_bytes());
    let (err, line, _) = load_err(&path);
    assert_eq!(line, Some(3));
    assert!(err.to_string().contains("out of range"), "{err}");
}

#[test]
fn duplicate_hour_with_different_values() {
    let body = format!("{LEGACY}\n{}{}{}", fr_row(0, "56.64"), fr_row(1, "58.0"), fr_row(0, "70.0"));
    let (_d, path) = file("FR.csv", body.as_bytes());
    let (err, line, _) = load_err(&path);
    assert_eq!(line, Some(4));
    assert!(err.to_string().contains("duplicate hour"), "{err}");
}

#[test]
fn zone_matching_no_region() {
    let body = format!("{LEGACY}\n{}", fr_row(0, "56").replace(",FR,", ",XX-NOWHERE,"));
    let (_d, path) = file("FR.csv", body.as_bytes());
    let (err, line, column) = load_err(&path);
    assert_eq!((line, column.as_deref()), (Some(2), Some("Zone Id")));
    assert!(err.to_string().contains("XX-NOWHERE"), "{err}");
}

#[test]
fn file_name_matching_no_region_without_zone_column() {
    let body = "Datetime (UTC),Carbon Intensity gCO₂eq/kWh (LCA)\n2023-01-01 00:00:00,185.8\n";
    let (_d, path) = file("mystery.csv", body.as_bytes());
    let (err, line, _) = load_err(&path);
    assert_eq!(line, Some(2));
    assert!(err.to_string().contains("csv_keywords"), "{err}");
}

#[test]
fn non_utf8_byte() {
    let mut body = format!("{LEGACY}\n{}", fr_row(0, "56")).into_bytes();
    let pos = body.windows(6).rposition(|w| w == b"France").unwrap();
    body[pos + 1] = 0xE9; // a Latin-1 'é' where UTF-8 is required
    let (_d, path) = file("FR.csv", &body);
    let (err, line, column) = load_err(&path);
    assert_eq!((line, column.as_deref()), (Some(2), Some("Zone Name")));
    assert!(err.to_string().contains("UTF-8"), "{err}");
}

#[test]
fn truncated_last_line() {
    let body = format!("{LEGACY}\n{}2023-01-01 01:00:00,France,Fra", fr_row(0, "56"));
    let (_d, path) = file("FR.csv", body.as_bytes());
    let (err, line, _) = load_err(&path);
    assert_eq!(line, Some(3));
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn directory_load_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a_FR.csv"), format!("{LEGACY}\n{}", fr_row(0, "56"))).unwrap();
    std::fs::write(dir.path().join("b_FR.csv"), format!("{LEGACY}\n{}", fr_row(1, "oops"))).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
    let err = ElectricityMapsCsv::load(dir.path(), &catalog()).unwrap_err();
    assert!(err.location().unwrap().file.as_ref().unwrap().ends_with("b_FR.csv"));
    let empty = tempfile::tempdir().unwrap();
    assert!(ElectricityMapsCsv::load(empty.path(), &catalog()).unwrap_err().to_string().contains("no .csv"));
    assert!(ElectricityMapsCsv::load(dir.path().join("absent.csv"), &catalog()).is_err());
}

#[test]
fn duplicate_hour_across_files_names_the_later_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a_FR.csv"), format!("{LEGACY}\n{}{}", fr_row(0, "56"), fr_row(1, "57"))).unwrap();
    std::fs::write(dir.path().join("b_FR.csv"), format!("{LEGACY}\n{}{}", fr_row(1, "57"), fr_row(0, "99"))).unwrap();
    let err = ElectricityMapsCsv::load(dir.path(), &catalog()).unwrap_err();
    let at = err.location().unwrap();
    assert!(at.file.as_ref().unwrap().ends_with("b_FR.csv"), "{err}");
    assert_eq!(at.line, Some(3), "{err}");
    assert!(err.to_string().contains("duplicate hour"), "{err}");
    // The same hour with the same value in two files is a counted skip.
    std::fs::write(dir.path().join("b_FR.csv"), format!("{LEGACY}\n{}{}", fr_row(1, "57"), fr_row(2, "58"))).unwrap();
    let csv = ElectricityMapsCsv::load(dir.path(), &catalog()).unwrap();
    let b = &csv.report().files[1];
    assert_eq!((b.inserted, b.duplicates), (1, 1));
    assert_eq!(csv.report().inserted(), csv.table().present_hours() as u64);
}
