//! The one public error type of the core, shared by every source and store.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A `Result` whose error defaults to SPECTRA's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where bad input was found: a file, a line and a column or field, each when known.
///
/// Displayed as `file:line, column "name"`, so an error message points a person at the exact cell.
///
/// ```
/// use spectra_core::Location;
/// let at = Location::file("data/FR.csv").line(12).column("Datetime (UTC)");
/// assert_eq!(at.to_string(), "data/FR.csv:12, column \"Datetime (UTC)\"");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// The file (or other named input) the problem is in.
    pub file: Option<PathBuf>,
    /// 1-based line number, counting the header as line 1.
    pub line: Option<u64>,
    /// The column or field name.
    pub column: Option<String>,
}

impl Location {
    /// A location in a file.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self { file: Some(path.into()), ..Self::default() }
    }

    /// A location naming only a field (for inputs that are not files, such as a request).
    pub fn field(name: impl Into<String>) -> Self {
        Self { column: Some(name.into()), ..Self::default() }
    }

    /// The same location at a 1-based line.
    #[must_use]
    pub fn line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

    /// The same location at a named column or field.
    #[must_use]
    pub fn column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut wrote = false;
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            wrote = true;
        }
        if let Some(line) = self.line {
            if wrote {
                write!(f, ":{line}")?;
            } else {
                write!(f, "line {line}")?;
            }
            wrote = true;
        }
        if let Some(column) = &self.column {
            if wrote {
                write!(f, ", ")?;
            }
            write!(f, "column \"{column}\"")?;
            wrote = true;
        }
        if !wrote {
            write!(f, "input")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in SPECTRA.
///
/// Messages never carry credentials or raw response bodies: sources redact before they build one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Input (a file, a request, a catalog entry) is malformed or out of range.
    #[error("invalid input at {location}: {reason}")]
    InvalidInput {
        /// Where the bad input is.
        location: Location,
        /// What is wrong with it.
        reason: String,
    },
    /// A named thing (region, instance, zone...) does not exist.
    #[error("{kind} not found: {key}")]
    NotFound {
        /// What kind of thing was looked up, e.g. `"region"`.
        kind: &'static str,
        /// The key that was looked up.
        key: String,
    },
    /// A configuration value is missing or invalid.
    #[error("configuration {key}: {reason}")]
    Config {
        /// The setting's name, e.g. `SIM_START`.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The source rejected the credentials (never included here).
    #[error("{source_name}: not authenticated (credentials rejected or missing)")]
    Unauthenticated {
        /// The source that refused.
        source_name: String,
    },
    /// The source asked us to slow down.
    #[error("{source_name}: rate limited{}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// The source that refused.
        source_name: String,
        /// How long the source asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The source does not provide this operation.
    #[error("{source_name} does not support {operation}")]
    NotSupported {
        /// The operation asked for, e.g. `"carbon_forecast"`.
        operation: &'static str,
        /// The source asked.
        source_name: String,
    },
    /// A source answered with something SPECTRA cannot read (malformed JSON or XML, a missing
    /// field). The reason names what was wrong, never the body itself.
    #[error("{source_name}: bad response: {reason}")]
    BadResponse {
        /// The source that answered.
        source_name: String,
        /// What was wrong, e.g. `missing field "carbonIntensity" at line 3, column 5`.
        reason: String,
    },
    /// A state conflict, e.g. a second writer on a store file.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A source or store failed for a reason of its own.
    #[error("{source_name}: {source}")]
    Source {
        /// The failing source or store.
        source_name: String,
        /// The underlying error (already redacted).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

impl Error {
    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(location: Location, reason: impl Into<String>) -> Self {
        Self::InvalidInput { location, reason: reason.into() }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(kind: &'static str, key: impl Into<String>) -> Self {
        Self::NotFound { kind, key: key.into() }
    }

    /// Shorthand for [`Error::Config`].
    pub fn config(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Config { key: key.into(), reason: reason.into() }
    }

    /// Wraps any error of a named source or store.
    pub fn source(
        source_name: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self::Source { source_name: source_name.into(), source: source.into() }
    }

    /// Shorthand for [`Error::BadResponse`].
    pub fn bad_response(source_name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::BadResponse { source_name: source_name.into(), reason: reason.into() }
    }

    /// The location of bad input, when this is [`Error::InvalidInput`].
    pub fn location(&self) -> Option<&Location> {
        match self {
            Self::InvalidInput { location, .. } => Some(location),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_display_covers_partial_locations() {
        assert_eq!(Location::default().to_string(), "input");
        assert_eq!(Location::default().line(3).to_string(), "line 3");
        assert_eq!(Location::field("weights.carbon").to_string(), "column \"weights.carbon\"");
        assert_eq!(Location::file("a.csv").line(2).to_string(), "a.csv:2");
    }

    #[test]
    fn rate_limited_mentions_retry_after() {
        let e = Error::RateLimited { source_name: "x".into(), retry_after: Some(Duration::from_secs(7)) };
        assert_eq!(e.to_string(), "x: rate limited, retry after 7s");
    }
}
