//! Shared test support.

pub mod mock_server;
pub mod moto;
