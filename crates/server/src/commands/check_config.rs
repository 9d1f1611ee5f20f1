//! `tether check-config`: load and validate the configuration, then print what is in effect
//! with every secret redacted.

use std::path::Path;

use super::print;
use crate::config::{Config, Database, KeySource, LogFormat};
use crate::error::ServerResult;
use crate::keyfile;

pub fn run(file: Option<&Path>) -> ServerResult<()> {
    let config = Config::load(file)?;
    if let KeySource::KeyFile(path) = &config.encryption_keys {
        // An existing key file must be usable; a missing one is created at first start.
        keyfile::read(path, keyfile::ENCRYPTION_KEY)?;
    }
    print(describe(&config))
}

fn describe(config: &Config) -> Vec<String> {
    let config_file = match &config.config_file {
        Some(path) => path.display().to_string(),
        None => format!("(none: {} not found)", crate::config::DEFAULT_CONFIG_FILE),
    };
    let database_url = match &config.database {
        Database::Embedded { path } => format!("(not set: embedded SQLite at {})", path.display()),
        Database::Url(url) => url.redacted(),
    };
    let encryption_keys = match &config.encryption_keys {
        KeySource::Configured(keys) => format!("[redacted: {} key(s), newest first]", keys.len()),
        KeySource::KeyFile(path) if path.exists() => {
            format!("(not set: using the key file {})", path.display())
        }
        KeySource::KeyFile(path) => {
            format!(
                "(not set: the key file {} is created at first start)",
                path.display()
            )
        }
        KeySource::Missing => "(not set)".to_owned(),
    };
    let log_format = match config.log_format {
        LogFormat::Json => "json",
        LogFormat::Pretty => "pretty",
    };
    let public_url = config
        .public_url
        .as_ref()
        .map_or_else(|| "(not set)".to_owned(), ToString::to_string);
    [
        ("config file", config_file),
        ("database_url", database_url),
        ("data_dir", config.data_dir.display().to_string()),
        ("encryption_keys", encryption_keys),
        ("listen", config.listen.to_string()),
        ("public_url", public_url),
        ("auto_migrate", config.auto_migrate.to_string()),
        ("log_format", log_format.to_owned()),
        ("log_level", config.log_level.clone()),
        ("db_max_connections", config.db_max_connections.to_string()),
    ]
    .into_iter()
    .map(|(name, value)| format!("{name:<20} {value}"))
    .collect()
}
