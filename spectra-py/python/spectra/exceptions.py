"""SPECTRA's exceptions. Every error the engine raises is a :class:`SpectraError`; the subclasses
say what kind, and the message is the Rust error's (it never contains a credential).

========================  ==========================================================
``NotFoundError``         a named region, instance or zone does not exist
``InvalidInputError``     an argument, file or request is malformed or out of range
``ConfigError``           a configuration value is missing or invalid, or the build
                          lacks a feature (``database=`` without DuckDB)
``AuthError``             a source rejected its credentials
``RateLimitedError``      a source asked to slow down (the message says for how long)
``ConflictError``         a state conflict, e.g. a second writer on a store file
``NotSupportedError``     the source does not provide this operation
========================  ==========================================================
"""

from spectra._spectra import (
    AuthError,
    ConfigError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    NotSupportedError,
    RateLimitedError,
    SpectraError,
)

__all__ = [
    "AuthError",
    "ConfigError",
    "ConflictError",
    "InvalidInputError",
    "NotFoundError",
    "NotSupportedError",
    "RateLimitedError",
    "SpectraError",
]
