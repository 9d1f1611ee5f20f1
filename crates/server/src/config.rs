//! Tether's configuration: defaults, then `tether.toml`, then `TETHER_*` environment variables,
//! validated at start-up into a `Config` that is passed by value (no globals).

mod api;
mod database_url;
mod error;
mod layers;
mod lifecycle;
mod settings;
mod validate;
mod webhooks;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tether_core::secret::EncryptionKey;
use tether_storage::Engine;

pub use api::{ApiSettings, JWT_DEV_FILE, JwtSource, ProviderEntry, SandboxMode};
pub use database_url::DatabaseUrl;
pub use error::{ConfigError, ConfigResult};
pub use layers::DEFAULT_CONFIG_FILE;
pub use lifecycle::LifecycleSettings;
pub use settings::{SETTINGS, Setting};
pub use validate::{DB_FILE_NAME, KEY_FILE_NAME, parse_keys};
pub use webhooks::WebhookConfig;

/// Validated configuration. `Debug` never shows a secret.
#[derive(Debug, Clone)]
pub struct Config {
    pub database: Database,
    pub data_dir: PathBuf,
    pub encryption_keys: KeySource,
    pub listen: SocketAddr,
    pub public_url: Option<url::Url>,
    pub auto_migrate: bool,
    pub log_format: LogFormat,
    pub log_level: String,
    pub db_max_connections: u32,
    /// The file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// The HTTP API and OAuth engine.
    pub api: ApiSettings,
    /// Refresh timing and the refresh scheduler.
    pub lifecycle: LifecycleSettings,
    /// Webhook delivery.
    pub webhooks: WebhookConfig,
}

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum Database {
    /// No URL configured: a SQLite file in the data directory.
    Embedded {
        path: PathBuf,
    },
    Url(DatabaseUrl),
}

impl Database {
    pub fn engine(&self) -> Engine {
        match self {
            Database::Embedded { .. } => Engine::Sqlite,
            Database::Url(url) => url.engine(),
        }
    }
}

/// Where the Fernet keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `encryption_keys`, newest first.
    Configured(Vec<EncryptionKey>),
    /// SQLite without configured keys: generated once into this file, then reused.
    KeyFile(PathBuf),
    /// PostgreSQL without keys: allowed only for commands that never touch a secret.
    Missing,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

impl Config {
    /// Loads and validates everything, including that encryption keys are available: what
    /// `serve`, `keys rotate` and `check-config` need.
    pub fn load(file: Option<&Path>) -> ConfigResult<Self> {
        let config = Self::load_without_keys(file)?;
        if matches!(config.encryption_keys, KeySource::Missing) {
            return Err(ConfigError::KeyRequired);
        }
        Ok(config)
    }

    /// Loads and validates everything but the presence of keys: for `migrate`, which never
    /// reads a secret, so a migration job needs only the database URL.
    pub fn load_without_keys(file: Option<&Path>) -> ConfigResult<Self> {
        let (raw, file) = layers::read(file)?;
        validate::validate(raw, file)
    }

    pub fn engine(&self) -> Engine {
        self.database.engine()
    }
}

#[cfg(test)]
mod tests;
