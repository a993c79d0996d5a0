//! Shared test support.

pub mod mock_server;
