//! The Cloud Carbon Footprint coefficients (`data/reference/ccf/`) as a [`PowerModel`].
//!
//! Reads `coefficients-aws-use.csv` (min/max watts per vCPU by microarchitecture),
//! `aws-instances.csv` (vCPUs, platform vCPUs, processor and memory per instance type; numbers may
//! use decimal commas, as in `"0,5"`) and `coefficients-aws-embodied.csv` (total embodied kgCO2e per
//! type). A type whose processor maps to no known architecture is left out, and the model then
//! gives it CCF's AWS averages.

use std::collections::HashMap;
use std::path::Path;

use spectra_core::power::{Coefficients, InstanceType, PowerModel, architecture_of_cpu};
use spectra_core::{Error, Location, Result};

/// Reads a CSV file into its header and records, with errors naming the file and line.
fn read(path: &Path) -> Result<(csv::StringRecord, Vec<csv::StringRecord>)> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| Error::invalid(Location::file(path), format!("cannot read: {e}")))?;
    let header = reader.headers().map_err(|e| Error::invalid(Location::file(path).line(1), e.to_string()))?.clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let mut at = Location::file(path);
            at.line = e.position().map(|p| p.line());
            Error::invalid(at, e.to_string())
        })?;
        rows.push(record);
    }
    Ok((header, rows))
}

/// A column's index by name, or an error naming the file and the column.
fn column(path: &Path, header: &csv::StringRecord, name: &str) -> Result<usize> {
    header
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| Error::invalid(Location::file(path).line(1).column(name), "missing required column"))
}

/// A number that may use a decimal comma (`"0,29"`).
fn number(path: &Path, record: &csv::StringRecord, i: usize, name: &str) -> Result<f64> {
    let text = record.get(i).unwrap_or_default();
    text.replace(',', ".").parse::<f64>().map_err(|_| {
        let mut at = Location::file(path).column(name);
        at.line = record.position().map(|p| p.line());
        Error::invalid(at, format!("{text:?} is not a number"))
    })
}

/// Loads the power model from a folder holding CCF's AWS files.
pub fn load_power_model(dir: &Path) -> Result<PowerModel> {
    let path = dir.join("coefficients-aws-use.csv");
    let (header, rows) = read(&path)?;
    let (arch, min, max) = (
        column(&path, &header, "Architecture")?,
        column(&path, &header, "Min Watts")?,
        column(&path, &header, "Max Watts")?,
    );
    let mut architectures = HashMap::new();
    for r in &rows {
        let name = r.get(arch).unwrap_or_default().to_owned();
        let c = Coefficients {
            min_watts_per_vcpu: number(&path, r, min, "Min Watts")?,
            max_watts_per_vcpu: number(&path, r, max, "Max Watts")?,
        };
        architectures.insert(name, c);
    }

    let path = dir.join("coefficients-aws-embodied.csv");
    let (header, rows) = read(&path)?;
    let (ty, total) = (column(&path, &header, "type")?, column(&path, &header, "total")?);
    let mut embodied = HashMap::new();
    for r in &rows {
        embodied.insert(r.get(ty).unwrap_or_default().to_owned(), number(&path, r, total, "total")?);
    }

    let path = dir.join("aws-instances.csv");
    let (header, rows) = read(&path)?;
    let cols = [
        "Instance type",
        "Instance vCPU",
        "Platform Total Number of vCPU",
        "Platform CPU Name",
        "Instance Memory (in GB)",
    ]
    .map(|name| column(&path, &header, name));
    let [name, vcpu, platform, cpu, memory] = cols;
    let (name, vcpu, platform, cpu, memory) = (name?, vcpu?, platform?, cpu?, memory?);
    let mut types = Vec::with_capacity(rows.len());
    for r in &rows {
        let Some(architecture) = architecture_of_cpu(r.get(cpu).unwrap_or_default()) else { continue };
        if !architectures.contains_key(architecture) {
            continue;
        }
        let type_name = r.get(name).unwrap_or_default().to_owned();
        types.push(InstanceType {
            embodied_kg_co2e: embodied.get(&type_name).copied(),
            name: type_name,
            vcpus: number(&path, r, vcpu, "Instance vCPU")? as u32,
            platform_vcpus: number(&path, r, platform, "Platform Total Number of vCPU")? as u32,
            memory_gb: number(&path, r, memory, "Instance Memory (in GB)")?,
            architecture: architecture.to_owned(),
        });
    }
    PowerModel::new(architectures, types)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_coefficients_load() {
        let model = load_power_model(&crate::bundled::data_dir().join("reference/ccf")).unwrap();
        let m4 = model.instance_type("m4.large").unwrap();
        assert_eq!((m4.vcpus, m4.platform_vcpus, m4.memory_gb, m4.architecture.as_str()), (2, 72, 8.0, "Broadwell"));
        assert!(m4.embodied_kg_co2e.is_some());
        // a1.medium's memory is written "2" and its watts "0,29": decimal commas parse.
        assert_eq!(model.instance_type("a1.medium").unwrap().architecture, "Graviton");
        // m4.large at 30%, worked by hand in spectra-core's power tests: 6.345164 W.
        assert!((model.average_watts("m4.large", 2, 8.0, Some(30.0)) - 6.345_164_439).abs() < 1e-6);
    }

    #[test]
    fn a_missing_column_names_file_and_column() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["coefficients-aws-embodied.csv", "aws-instances.csv"] {
            std::fs::copy(crate::bundled::data_dir().join("reference/ccf").join(f), dir.path().join(f)).unwrap();
        }
        std::fs::write(dir.path().join("coefficients-aws-use.csv"), ",Architecture,Min Watts\n0,Graviton,0.4\n")
            .unwrap();
        let err = load_power_model(dir.path()).unwrap_err();
        assert_eq!(err.location().unwrap().column.as_deref(), Some("Max Watts"), "{err}");
    }
}
