//! Tether storage: sea-orm repositories implementing the core ports on SQLite and
//! PostgreSQL, and the Fernet `TokenCipher` that encrypts secrets before they reach a row.

pub mod db;

pub use db::{Engine, PoolOptions, connect};
