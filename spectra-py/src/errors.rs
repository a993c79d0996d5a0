//! SPECTRA's errors as Python exceptions: one base class, `SpectraError`, and a subclass per kind
//! of [`spectra::Error`] a caller may want to catch separately. The message is the Rust error's
//! `Display`, which never carries a credential (the core redacts before it builds an error).

use pyo3::PyErr;
use pyo3::create_exception;
use pyo3::exceptions::PyException;

create_exception!(spectra, SpectraError, PyException, "Base class of every error SPECTRA raises.");
create_exception!(spectra, NotFoundError, SpectraError, "A named region, instance or zone does not exist.");
create_exception!(
    spectra,
    InvalidInputError,
    SpectraError,
    "An argument, file or request is malformed or out of range."
);
create_exception!(
    spectra,
    ConfigError,
    SpectraError,
    "A configuration value is missing or invalid, or the build lacks a feature."
);
create_exception!(
    spectra,
    AuthError,
    SpectraError,
    "A source rejected its credentials (never included in the message)."
);
create_exception!(
    spectra,
    RateLimitedError,
    SpectraError,
    "A source asked to slow down; the message says for how long, when the source said."
);
create_exception!(spectra, ConflictError, SpectraError, "A state conflict, e.g. a second writer on a store file.");
create_exception!(spectra, NotSupportedError, SpectraError, "The source does not provide this operation.");

/// The Python exception for a SPECTRA error.
pub fn to_py(err: spectra::Error) -> PyErr {
    use spectra::Error as E;
    let message = err.to_string();
    match err {
        E::NotFound { .. } => NotFoundError::new_err(message),
        E::InvalidInput { .. } => InvalidInputError::new_err(message),
        E::Config { .. } => ConfigError::new_err(message),
        E::Unauthenticated { .. } => AuthError::new_err(message),
        // The message carries the wait ("retry after 7s") when the source said.
        E::RateLimited { .. } => RateLimitedError::new_err(message),
        E::Conflict(_) => ConflictError::new_err(message),
        E::NotSupported { .. } => NotSupportedError::new_err(message),
        // `Source` and any kind added later: the base class, still with the message.
        _ => SpectraError::new_err(message),
    }
}

/// `?`-friendly conversion of a SPECTRA result.
pub trait IntoPy<T> {
    /// The value, or the error as its Python exception.
    fn py(self) -> pyo3::PyResult<T>;
}

impl<T> IntoPy<T> for spectra::Result<T> {
    fn py(self) -> pyo3::PyResult<T> {
        self.map_err(to_py)
    }
}
