//! Turning raw settings into a `Config`: secrets read from `_FILE`s, defaults that depend on
//! the engine resolved, and every value checked with a message naming its setting.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tether_core::secret::EncryptionKey;
use tether_storage::Engine;

use super::database_url::DatabaseUrl;
use super::error::{ConfigError, ConfigResult};
use super::layers::RawConfig;
use super::{Config, Database, KeySource, LogFormat};

pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_LOG_LEVEL: &str = "info";
pub const DEFAULT_DB_MAX_CONNECTIONS: u32 = 10;
pub const KEY_FILE_NAME: &str = "tether.key";
pub const DB_FILE_NAME: &str = "tether.db";

pub(super) fn validate(mut raw: RawConfig, config_file: Option<PathBuf>) -> ConfigResult<Config> {
    let origins = std::mem::take(&mut raw.origins);
    let api_raw = super::api::ApiRaw::take(&mut raw);
    let lifecycle_raw = super::lifecycle::LifecycleRaw::take(&mut raw);
    let webhooks_raw = super::webhooks::WebhooksRaw::take(&mut raw);
    let invalid = |key: &str, reason: &str| ConfigError::InvalidValue {
        key: key.to_owned(),
        origin: origins.of(key),
        reason: reason.to_owned(),
    };
    let data_dir = raw
        .data_dir
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let database = match secret("database_url", raw.database_url, raw.database_url_file)? {
        Some(url) => Database::Url(DatabaseUrl::parse(&url)?),
        None => Database::Embedded {
            path: data_dir.join(DB_FILE_NAME),
        },
    };
    let engine = database.engine();
    let encryption_keys = match secret(
        "encryption_keys",
        raw.encryption_keys,
        raw.encryption_keys_file,
    )? {
        Some(text) => KeySource::Configured(parse_keys(&text, "TETHER_ENCRYPTION_KEYS")?),
        None if engine == Engine::Sqlite => KeySource::KeyFile(data_dir.join(KEY_FILE_NAME)),
        None => KeySource::Missing,
    };
    let log_format = match non_empty(raw.log_format).as_deref().unwrap_or("auto") {
        "auto" if engine == Engine::Postgres => LogFormat::Json,
        "auto" | "pretty" => LogFormat::Pretty,
        "json" => LogFormat::Json,
        _ => return Err(invalid("log_format", "expected one of: auto, json, pretty")),
    };
    let log_level = non_empty(raw.log_level).unwrap_or_else(|| DEFAULT_LOG_LEVEL.to_owned());
    if let Err(e) = tracing_subscriber::EnvFilter::builder().parse(&log_level) {
        return Err(invalid(
            "log_level",
            &format!("{e} (e.g. info or info,tether=debug)"),
        ));
    }
    let api = super::api::validate(api_raw, &origins, engine, &data_dir)?;
    let lifecycle = super::lifecycle::validate(lifecycle_raw, &origins)?;
    let webhooks = super::webhooks::validate(webhooks_raw, &origins)?;
    Ok(Config {
        api,
        lifecycle,
        webhooks,
        data_dir,
        encryption_keys,
        listen: listen(raw.listen).map_err(|r| invalid("listen", &r))?,
        public_url: public_url(raw.public_url).map_err(|r| invalid("public_url", &r))?,
        auto_migrate: raw.auto_migrate.unwrap_or(engine == Engine::Sqlite),
        log_format,
        log_level,
        db_max_connections: match raw.db_max_connections {
            Some(0) => return Err(invalid("db_max_connections", "must be at least 1")),
            n => n.unwrap_or(DEFAULT_DB_MAX_CONNECTIONS),
        },
        database,
        config_file,
    })
}

/// Comma- (or whitespace-) separated Fernet keys, newest first. `origin` names where they came
/// from, for the message when one is bad.
pub fn parse_keys(text: &str, origin: &str) -> ConfigResult<Vec<EncryptionKey>> {
    let keys: Vec<&str> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|k| !k.is_empty())
        .collect();
    if keys.is_empty() {
        return Err(ConfigError::NoKeys {
            origin: origin.to_owned(),
        });
    }
    if let Some(position) = keys.iter().position(|k| fernet::Fernet::new(k).is_none()) {
        return Err(ConfigError::InvalidKey {
            origin: origin.to_owned(),
            position: position + 1,
            count: keys.len(),
        });
    }
    Ok(keys.into_iter().map(EncryptionKey::new).collect())
}

/// A secret given directly or through `<name>_file`, never both. File contents are trimmed.
pub(super) fn secret(
    name: &str,
    value: Option<String>,
    file: Option<PathBuf>,
) -> ConfigResult<Option<String>> {
    let setting = super::settings::env_var(name);
    let file = file.filter(|p| !p.as_os_str().is_empty());
    match (non_empty(value), file) {
        (Some(_), Some(_)) => Err(ConfigError::ValueAndFile { setting }),
        (Some(value), None) => Ok(Some(value)),
        (None, Some(path)) => read_secret_file(&setting, &path).map(Some),
        (None, None) => Ok(None),
    }
}

fn read_secret_file(setting: &str, path: &Path) -> ConfigResult<String> {
    let error = |reason: String| ConfigError::SecretFile {
        setting: setting.to_owned(),
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(error("the file is empty".to_owned()));
    }
    Ok(text.to_owned())
}

fn listen(value: Option<String>) -> Result<SocketAddr, String> {
    let text = non_empty(value).unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    text.parse().map_err(|_| {
        format!("`{text}` is not an IP address and port such as 127.0.0.1:8080 or 0.0.0.0:8080")
    })
}

fn public_url(value: Option<String>) -> Result<Option<url::Url>, String> {
    let Some(text) = non_empty(value) else {
        return Ok(None);
    };
    let reason = match url::Url::parse(&text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
            return Ok(Some(url));
        }
        Ok(_) => "must be an http:// or https:// URL with a host".to_owned(),
        Err(e) => e.to_string(),
    };
    Err(format!(
        "`{text}`: {reason} (e.g. https://tether.example.com)"
    ))
}

pub(super) fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}
