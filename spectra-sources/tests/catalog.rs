//! The region catalog file: the bundled catalog, vantage-dependent latency, and bad entries.

use std::path::{Path, PathBuf};

use spectra_core::{Error, Provider};
use spectra_sources::bundled;
use spectra_sources::catalog_file::load_catalog;

fn matrix() -> PathBuf {
    bundled::data_dir().join("reference/latency/aws_cloudping_p50_1y_matrix.csv")
}

const ENTRY: &str = r#"
[[region]]
code = "aws-eu-west-3"
display_name = "Paris (France)"
provider = "aws"
cloud_region = "eu-west-3"
zone = "FR"
annual_intensity_g_per_kwh = 99.4
pue = 1.135
price_factor = 1.161
csv_keywords = ["FR_"]
"#;

fn load_text(text: &str) -> (tempfile::TempDir, Result<spectra_core::Catalog, Error>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("regions.toml");
    std::fs::write(&path, text).unwrap();
    let result = load_catalog(&path, &matrix(), "us-east-1");
    (dir, result)
}

#[test]
fn bundled_catalog_covers_every_aws_region_with_data() {
    let catalog = bundled::catalog().unwrap();
    // Every AWS region with an hourly export or an annual figure in the shared reference data.
    for region in [
        "af-south-1",
        "ap-east-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ca-central-1",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "il-central-1",
        "me-south-1",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "us-gov-east-1",
        "us-gov-west-1",
        "cn-north-1",
        "cn-northwest-1",
    ] {
        let r = catalog.require(&format!("aws-{region}")).unwrap();
        assert_eq!((r.provider, r.cloud_region.as_str()), (Provider::Aws, region));
    }
    assert_eq!(catalog.get("aws-eu-central-1").unwrap().zone, "DE");
    assert_eq!(catalog.get("aws-sa-east-1").unwrap().zone, "BR-CS");
    // The diagonal of the matrix: us-east-1 to itself is a few ms.
    assert!(catalog.get("aws-us-east-1").unwrap().baseline_latency_ms < 10.0);
}

#[test]
fn latency_follows_the_vantage_region() {
    let from_virginia = bundled::catalog_from("us-east-1").unwrap();
    let from_frankfurt = bundled::catalog_from("eu-central-1").unwrap();
    let paris = |c: &spectra_core::Catalog| c.get("aws-eu-west-3").unwrap().baseline_latency_ms;
    assert!(paris(&from_frankfurt) < paris(&from_virginia));
    let err = bundled::catalog_from("mars-north-1").unwrap_err();
    assert!(matches!(&err, Error::Config { key, .. } if key == "LATENCY_VANTAGE_REGION"), "{err}");
}

#[test]
fn a_minimal_entry_loads() {
    let (_d, catalog) = load_text(ENTRY);
    let catalog = catalog.unwrap();
    assert_eq!(catalog.len(), 1);
    assert!(catalog.get("aws-eu-west-3").unwrap().baseline_latency_ms > 50.0);
}

#[test]
fn syntax_errors_name_the_line() {
    let (_d, r) = load_text(&format!("{ENTRY}\n[[region]]\ncode = \n"));
    let err = r.unwrap_err();
    assert_eq!(err.location().unwrap().line, Some(14), "{err}");
}

#[test]
fn unknown_keys_and_bad_values_are_rejected() {
    let (_d, r) = load_text(&ENTRY.replace("pue = 1.135", "pue = 1.135\npeu = 1.2"));
    assert!(r.unwrap_err().to_string().contains("peu"));
    let (_d, r) = load_text(&ENTRY.replace("pue = 1.135", "pue = 7.0"));
    assert_eq!(r.unwrap_err().location().unwrap().column.as_deref(), Some("region[0].pue"));
    let (_d, r) = load_text(&ENTRY.replace("provider = \"aws\"", "provider = \"ibm\""));
    assert!(r.is_err());
}

#[test]
fn a_region_missing_from_the_matrix_needs_a_proxy() {
    let (_d, r) = load_text(&ENTRY.replace("cloud_region = \"eu-west-3\"", "cloud_region = \"eu-west-9\""));
    let err = r.unwrap_err();
    assert_eq!(err.location().unwrap().column.as_deref(), Some("region[0].latency_proxy"), "{err}");
    let (_d, r) = load_text(
        &ENTRY.replace("cloud_region = \"eu-west-3\"", "cloud_region = \"eu-west-9\"\nbaseline_latency_ms = 42.0"),
    );
    assert_eq!(r.unwrap().get("aws-eu-west-3").unwrap().baseline_latency_ms, 42.0);
}

#[test]
fn missing_files_are_errors_naming_the_file() {
    let err = load_catalog(Path::new("/nonexistent/regions.toml"), &matrix(), "us-east-1").unwrap_err();
    assert!(err.to_string().contains("/nonexistent/regions.toml"), "{err}");
}
