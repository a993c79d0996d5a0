//! Tables for Python as Arrow data: a [`Table`] holds one record batch and hands it out through
//! the Arrow PyCapsule interface (`__arrow_c_stream__`), so `polars.DataFrame(t)`, `pl.from_arrow(t)`
//! and `pyarrow.table(t)` all read it without copying and without this crate linking either
//! library (and so without pinning the user's polars or pyarrow version).

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::types::Date32Type;
use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, RecordBatch, RecordBatchIterator, StringArray,
    TimestampMicrosecondArray, UInt32Array, UInt64Array,
};
use arrow_schema::{Field, Schema};
use chrono::{DateTime, NaiveDate, Utc};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use crate::errors::SpectraError;

/// A table of rows, readable by any Arrow consumer (polars, pyarrow, DuckDB, pandas).
#[pyclass(frozen, module = "spectra._spectra")]
pub struct Table {
    batch: RecordBatch,
}

#[pymethods]
impl Table {
    /// The Arrow C stream of the table, in a capsule named `arrow_array_stream` (the Arrow
    /// PyCapsule interface). `requested_schema` is accepted and ignored: the protocol allows a
    /// producer to keep its own schema, and consumers cast.
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let reader = RecordBatchIterator::new([Ok(self.batch.clone())], self.batch.schema());
        let stream = FFI_ArrowArrayStream::new(Box::new(reader));
        // The capsule owns the stream; a consumer moves it out (leaving a released husk), and the
        // capsule's destructor drops whatever is left, which releases a stream nobody consumed.
        PyCapsule::new_with_value(py, stream, c"arrow_array_stream")
    }

    /// Number of rows.
    #[getter]
    fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// Column names, in order.
    #[getter]
    fn column_names(&self) -> Vec<String> {
        self.batch.schema().fields().iter().map(|f| f.name().clone()).collect()
    }

    fn __len__(&self) -> usize {
        self.batch.num_rows()
    }

    fn __repr__(&self) -> String {
        format!("Table({} rows: {})", self.batch.num_rows(), self.column_names().join(", "))
    }
}

/// Builds a [`Table`] column by column from a slice of rows.
pub struct Columns<'a, T> {
    rows: &'a [T],
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
}

impl<'a, T> Columns<'a, T> {
    /// Columns over `rows`.
    pub fn new(rows: &'a [T]) -> Self {
        Self { rows, fields: Vec::new(), arrays: Vec::new() }
    }

    fn push(mut self, name: &str, array: ArrayRef) -> Self {
        self.fields.push(Field::new(name, array.data_type().clone(), true));
        self.arrays.push(array);
        self
    }

    /// A text column.
    pub fn str(self, name: &str, f: impl Fn(&'a T) -> Option<&'a str>) -> Self {
        let array = StringArray::from_iter(self.rows.iter().map(f));
        self.push(name, Arc::new(array))
    }

    /// A text column of values made per row (enum labels, reasons).
    pub fn text(self, name: &str, f: impl Fn(&'a T) -> String) -> Self {
        let array = StringArray::from_iter_values(self.rows.iter().map(f));
        self.push(name, Arc::new(array))
    }

    /// A float column.
    pub fn f64(self, name: &str, f: impl Fn(&'a T) -> Option<f64>) -> Self {
        let array = Float64Array::from_iter(self.rows.iter().map(f));
        self.push(name, Arc::new(array))
    }

    /// An unsigned 32-bit integer column.
    pub fn u32(self, name: &str, f: impl Fn(&'a T) -> u32) -> Self {
        let array = UInt32Array::from_iter_values(self.rows.iter().map(f));
        self.push(name, Arc::new(array))
    }

    /// An unsigned 64-bit integer column.
    pub fn u64(self, name: &str, f: impl Fn(&'a T) -> u64) -> Self {
        let array = UInt64Array::from_iter_values(self.rows.iter().map(f));
        self.push(name, Arc::new(array))
    }

    /// A boolean column.
    pub fn bool(self, name: &str, f: impl Fn(&'a T) -> bool) -> Self {
        let array = BooleanArray::from_iter(self.rows.iter().map(|r| Some(f(r))));
        self.push(name, Arc::new(array))
    }

    /// A UTC timestamp column, microseconds (polars' and Python's resolution).
    pub fn time(self, name: &str, f: impl Fn(&'a T) -> Option<DateTime<Utc>>) -> Self {
        let array = TimestampMicrosecondArray::from_iter(self.rows.iter().map(|r| f(r).map(|t| t.timestamp_micros())))
            .with_timezone("UTC");
        self.push(name, Arc::new(array))
    }

    /// A calendar date column.
    pub fn date(self, name: &str, f: impl Fn(&'a T) -> Option<NaiveDate>) -> Self {
        let array = Date32Array::from_iter(self.rows.iter().map(|r| f(r).map(Date32Type::from_naive_date)));
        self.push(name, Arc::new(array))
    }

    /// A list-of-text column.
    pub fn strs(self, name: &str, f: impl Fn(&'a T) -> Vec<&'a str>) -> Self {
        let mut builder = ListBuilder::new(StringBuilder::new());
        for row in self.rows {
            for s in f(row) {
                builder.values().append_value(s);
            }
            builder.append(true);
        }
        self.push(name, Arc::new(builder.finish()))
    }

    /// The table.
    pub fn build(self) -> PyResult<Table> {
        let schema = Arc::new(Schema::new(self.fields));
        // Every column has one value per row by construction, so this cannot fail in practice;
        // should it, the caller gets an exception rather than a panic.
        let batch = RecordBatch::try_new(schema, self.arrays)
            .map_err(|e| SpectraError::new_err(format!("building an Arrow table: {e}")))?;
        Ok(Table { batch })
    }
}
