//! Tether storage: sea-orm repositories implementing the core ports on SQLite and
//! PostgreSQL, and the Fernet `TokenCipher` that encrypts secrets before they reach a row.

mod cipher;
pub mod db;
mod entities;
mod invalidations;
mod repo;
mod rotation;

pub use cipher::{CipherContext, CipherError, TokenCipher};
pub use db::{Engine, PoolOptions, connect};
pub use invalidations::PgInvalidations;
pub use repo::{SqlStore, append_audit};
pub use rotation::{KeyCheck, RotationReport, TableRotation, check_keys, rotate_keys};
