//! The server's error type: every start-up and command failure, each with a one-line message
//! a person can act on. None carries a secret.

use std::net::SocketAddr;

use tether_core::StorageError;
use thiserror::Error;

use crate::config::ConfigError;

#[derive(Debug, Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] ConfigError),

    #[error("{0}")]
    KeyFile(String),

    #[error("invalid encryption key: {0}")]
    Cipher(String),

    #[error("cannot create the data directory {dir} (TETHER_DATA_DIR): {reason}")]
    DataDir { dir: String, reason: String },

    #[error("cannot open the database: {0}")]
    Connect(StorageError),

    #[error(transparent)]
    Storage(#[from] StorageError),

    #[error("migration failed: {0}")]
    Migration(String),

    #[error(
        "{count} pending migration{}: run `tether migrate up` (or set TETHER_AUTO_MIGRATE=true)",
        if *count == 1 { "" } else { "s" }
    )]
    PendingMigrations { count: usize },

    #[error(
        "stored tokens exist but none can be decrypted with the configured encryption keys — \
         wrong TETHER_ENCRYPTION_KEYS? (a wrong key must not look like all tokens gone)"
    )]
    KeysUnreadable,

    #[error("cannot listen on {address} (TETHER_LISTEN): {reason}")]
    Bind { address: SocketAddr, reason: String },

    #[error("{0}")]
    Usage(String),

    #[error("cannot start: {0}")]
    Startup(String),

    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl ServerError {
    pub fn migration(error: sea_orm::DbErr) -> Self {
        ServerError::Migration(error.to_string())
    }
}

pub type ServerResult<T> = Result<T, ServerError>;
