//! The DuckDB store: the shared conformance suite, durability, one writer per file, schema.
#![cfg(feature = "duckdb-prebuilt")]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use spectra_core::{Error, SettingEntry, SimClock, Store};
use spectra_sources::duckdb_store::{DuckDbStore, SCHEMA};

#[test]
fn in_memory_store_passes_the_conformance_suite() {
    spectra_core::testing::check_store(|| DuckDbStore::in_memory().unwrap());
}

#[test]
fn file_store_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let n = std::sync::atomic::AtomicUsize::new(0);
    spectra_core::testing::check_store(|| {
        let k = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        DuckDbStore::open(dir.path().join(format!("conformance-{k}.duckdb"))).unwrap()
    });
}

#[test]
fn state_survives_closing_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spectra.duckdb");
    let mut clock = SimClock::default();
    clock.tick(42).unwrap();
    {
        let store = DuckDbStore::open(&path).unwrap();
        store.save_clock(&clock).unwrap();
        store.put_setting(&SettingEntry { key: "k".into(), value: "v".into(), secret: true }).unwrap();
    }
    let store = DuckDbStore::open(&path).unwrap();
    assert_eq!(store.clock().unwrap(), Some(clock));
    assert_eq!(store.settings().unwrap(), vec![SettingEntry { key: "k".into(), value: "v".into(), secret: true }]);
    assert_eq!(store.schema_version().unwrap(), SCHEMA.len());
}

#[test]
fn a_second_writer_in_this_process_gets_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one-writer.duckdb");
    let first = DuckDbStore::open(&path).unwrap();
    let err = DuckDbStore::open(&path).unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    drop(first);
    DuckDbStore::open(&path).expect("the file is free again once the first store is dropped");
}

/// Not a test of its own: run by `a_second_writer_in_another_process_gets_a_conflict` in a child
/// process, it holds the database open until its standard input closes.
#[test]
fn hold_database_open_helper() {
    let Ok(path) = std::env::var("SPECTRA_TEST_HOLD_DB") else { return };
    let _store = DuckDbStore::open(&path).unwrap();
    println!("locked");
    std::io::stdout().flush().unwrap();
    let mut sink = String::new();
    while std::io::stdin().read_line(&mut sink).unwrap_or(0) > 0 {}
}

#[test]
fn a_second_writer_in_another_process_gets_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.duckdb");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "hold_database_open_helper", "--nocapture", "--test-threads=1"])
        .env("SPECTRA_TEST_HOLD_DB", &path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the child says it holds the file: synchronised on its output, not on time.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.map(|l| l.contains("locked")).unwrap_or(false)), "the helper never locked the file");
    let err = DuckDbStore::open(&path).unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    DuckDbStore::open(&path).expect("free once the other process exits");
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.duckdb");
    {
        let conn = duckdb_crate::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (999);",
        )
        .unwrap();
    }
    let err = DuckDbStore::open(&path).unwrap_err();
    assert!(matches!(&err, Error::Config { key, .. } if key == "DATABASE_URL"), "{err}");
}
