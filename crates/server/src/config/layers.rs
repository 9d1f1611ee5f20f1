//! Reading the layers — `tether.toml`, then `TETHER_*` environment variables — into raw,
//! unvalidated values, refusing any key that is not a setting.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Data, Env, Format, Toml};
use serde::Deserialize;

use super::error::{ConfigError, ConfigResult};
use super::settings::{self, ENV_PREFIX, SETTINGS};

/// The file read when neither `--config` nor `TETHER_CONFIG` names one, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "tether.toml";

/// Settings as given, before validation. Private to the config module and deliberately without
/// `Debug`: it holds secrets as plain strings until they are wrapped.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct RawConfig {
    pub database_url: Option<String>,
    pub database_url_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub encryption_keys: Option<String>,
    pub encryption_keys_file: Option<PathBuf>,
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub auto_migrate: Option<bool>,
    pub log_format: Option<String>,
    pub log_level: Option<String>,
    pub db_max_connections: Option<u32>,
    pub redis_url: Option<String>,
    pub redis_url_file: Option<PathBuf>,
    pub redis_key_prefix: Option<String>,
    pub return_to: Option<String>,
    pub jwt_secret: Option<String>,
    pub jwt_secret_file: Option<PathBuf>,
    pub jwt_jwks_url: Option<String>,
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    pub cors_origins: Option<String>,
    pub hsts: Option<bool>,
    pub rate_limit_oauth_per_minute: Option<u32>,
    pub rate_limit_api_per_minute: Option<u32>,
    pub rate_limit_auth_failures_per_minute: Option<u32>,
    pub trusted_proxies: Option<String>,
    pub sandbox: Option<String>,
    pub allow_shared_accounts: Option<bool>,
    pub read_cache_ms: Option<u64>,
    pub read_cache_coherent_secs: Option<u64>,
    pub read_cache_entries: Option<u64>,
    pub read_cache_mib: Option<u64>,
    pub audit_writers: Option<u64>,
    pub refresh_buffer_secs: Option<u64>,
    pub refresh_buffer_fraction: Option<f64>,
    pub refresh_keepalive_days: Option<u64>,
    pub scheduler_enabled: Option<bool>,
    pub scheduler_interval_secs: Option<u64>,
    pub scheduler_batch: Option<u64>,
    pub scheduler_concurrency: Option<u64>,
    pub scheduler_provider_concurrency: Option<u64>,
    pub scheduler_provider_caps: Option<String>,
    pub scheduler_lease_secs: Option<u64>,
    pub events_retention_days: Option<u64>,
    pub provider_sync_secs: Option<u64>,
    pub consent_version: Option<String>,
    pub consent_valid_days: Option<u64>,
    pub consent_valid_days_by_provider: Option<String>,
    pub connect_session_ttl_secs: Option<u64>,
    pub webhooks_enabled: Option<bool>,
    pub webhooks_concurrency: Option<u64>,
    pub webhooks_poll_interval_ms: Option<u64>,
    pub webhooks_lease_secs: Option<u64>,
    pub webhooks_connect_timeout_secs: Option<u64>,
    pub webhooks_timeout_secs: Option<u64>,
    pub webhooks_allow_http: Option<bool>,
    pub webhooks_allow_private: Option<bool>,
    pub webhooks_secret_grace_hours: Option<u64>,
    pub webhooks_disable_after_days: Option<u64>,
    /// `[providers.<name>]` (or `[providers."<name>:<instance>"]`) tables.
    pub providers: Option<BTreeMap<String, RawProvider>>,
    /// `provider_<name>_client_id` / `_client_secret` / `_client_secret_file`.
    #[serde(flatten)]
    pub provider_env: BTreeMap<String, String>,
    /// Where each given setting came from, to name it in messages.
    #[serde(skip)]
    pub origins: Origins,
}

/// One provider's table in the file.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawProvider {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    pub endpoints: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    pub enabled: Option<bool>,
}

/// Names where a setting's value came from: its environment variable or the file's path.
#[derive(Default)]
pub(super) struct Origins(HashMap<String, String>);

impl Origins {
    pub fn of(&self, key: &str) -> String {
        self.0
            .get(key)
            .cloned()
            .unwrap_or_else(|| settings::env_var(key))
    }
}

/// Reads the file (if any) and the environment. `explicit` is the `--config`/`TETHER_CONFIG`
/// path, which must exist; otherwise `./tether.toml` is read only when present.
pub(super) fn read(explicit: Option<&Path>) -> ConfigResult<(RawConfig, Option<PathBuf>)> {
    let file = match explicit {
        Some(path) if path.is_file() => Some(path.to_path_buf()),
        Some(path) => {
            return Err(ConfigError::MissingFile {
                path: path.to_path_buf(),
            });
        }
        None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.is_file()),
    };
    let known = settings::known_keys();
    let mut figment = Figment::new();
    if let Some(path) = &file {
        let toml = Toml::file_exact(path);
        check_file_keys(&toml, path, &known)?;
        figment = figment.merge(toml);
    }
    check_env_keys(&known)?;
    let env_known: Vec<String> = known
        .iter()
        .filter(|k| !settings::FILE_ONLY.contains(&k.as_str()))
        .cloned()
        .collect();
    figment = figment.merge(
        Env::prefixed(ENV_PREFIX).filter(move |key| env_known.iter().any(|k| key == k.as_str())),
    );
    let mut raw = figment.extract::<RawConfig>().map_err(invalid_value)?;
    raw.origins = Origins(
        known
            .iter()
            .filter_map(|key| {
                let meta = figment.find_metadata(key)?;
                Some((key.clone(), origin(Some(meta), key)))
            })
            .collect(),
    );
    Ok((raw, file))
}

fn check_file_keys(toml: &Data<Toml>, path: &Path, known: &[String]) -> ConfigResult<()> {
    use figment::Provider;
    let data = toml.data().map_err(|e| parse_error(path, &e))?;
    for dict in data.values() {
        if let Some(key) = dict.keys().find(|k| !known.contains(k)) {
            return Err(unknown(key, &path.display().to_string(), known, false));
        }
    }
    Ok(())
}

fn check_env_keys(known: &[String]) -> ConfigResult<()> {
    for (var, _) in std::env::vars_os() {
        let Some(var) = var.to_str() else { continue };
        let Some(key) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let key = key.to_ascii_lowercase();
        let file_only = settings::FILE_ONLY.contains(&key.as_str());
        if !settings::is_ignored_env(var) && (!known.contains(&key) || file_only) {
            return Err(unknown(&key, "the environment", known, true));
        }
    }
    Ok(())
}

fn unknown(key: &str, origin: &str, known: &[String], env: bool) -> ConfigError {
    let shown = |k: &str| {
        if env {
            settings::env_var(k)
        } else {
            k.to_owned()
        }
    };
    let hint = settings::suggestion(key, known)
        .map(|k| format!(" (did you mean `{}`?)", shown(&k)))
        .unwrap_or_default();
    ConfigError::UnknownSetting {
        key: shown(key),
        origin: origin.to_owned(),
        hint,
        known: known
            .iter()
            .map(|k| shown(k))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A TOML syntax error quotes the offending line, which may hold a secret: keep only the
/// position and the reason.
fn parse_error(path: &Path, error: &figment::Error) -> ConfigError {
    let text = error.kind.to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let position = lines.next().unwrap_or("syntax error");
    let reason = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.contains('|') && *l != position)
        .unwrap_or_default();
    ConfigError::Other(format!(
        "cannot parse {}: {position} {reason}",
        path.display()
    ))
}

/// A value of the wrong type. The value itself is only shown for settings that are not secret.
fn invalid_value(error: figment::Error) -> ConfigError {
    let key = error.path.last().cloned().unwrap_or_default();
    let secret = SETTINGS
        .iter()
        .any(|s| s.secret && (key == s.name || key == format!("{}_file", s.name)));
    let origin = origin(error.metadata.as_ref(), &key);
    let reason = match &error.kind {
        figment::error::Kind::InvalidType(_, expected) if secret => format!("expected {expected}"),
        _ if secret => "invalid value".to_owned(),
        kind => kind.to_string(),
    };
    ConfigError::InvalidValue {
        key,
        origin,
        reason,
    }
}

fn origin(metadata: Option<&figment::Metadata>, key: &str) -> String {
    match metadata {
        Some(meta) if meta.name.contains("environment") => settings::env_var(key),
        Some(meta) => match meta.source.as_ref().and_then(|s| s.file_path()) {
            Some(path) => path.display().to_string(),
            None => meta.name.to_string(),
        },
        None => settings::env_var(key),
    }
}
