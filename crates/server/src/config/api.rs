//! The settings of the HTTP API and the OAuth engine: shared state (Redis), caller
//! authentication (JWT), where browsers may return to, CORS, rate limits, the sandbox, and
//! provider credentials from the file and the environment.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tether_core::ProviderKind;
use tether_core::secret::ClientSecret;
use tether_storage::Engine;

use super::error::{ConfigError, ConfigResult};
use super::layers::{Origins, RawConfig, RawProvider};
use super::validate::{non_empty, secret};

/// How user JWTs are verified.
#[derive(Debug, Clone)]
pub enum JwtSource {
    /// A shared HS256 secret (`jwt_secret`).
    Secret(tether_core::secret::OpaqueSecret),
    /// RS256/ES256 keys from a JWKS URL.
    Jwks(url::Url),
    /// Embedded development mode without settings: a secret generated into the data
    /// directory, used by `tether dev-token`.
    DevFile(PathBuf),
    /// Not configured with PostgreSQL: `serve` refuses to start (other commands need none).
    Missing,
}

/// Whether providers without credentials are served by the built-in sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxMode {
    On,
    Off,
}

/// One provider configured in the file or the environment.
#[derive(Debug, Clone)]
pub struct ProviderEntry {
    pub provider: ProviderKind,
    pub instance: String,
    pub client_id: String,
    pub client_secret: Option<ClientSecret>,
    pub endpoints: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    pub enabled: bool,
}

#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub redis_url: Option<tether_core::secret::OpaqueSecret>,
    pub redis_key_prefix: String,
    pub return_to: Vec<String>,
    pub jwt: JwtSource,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub cors_origins: Vec<String>,
    pub hsts: Option<bool>,
    pub rate_limit_oauth_per_minute: u32,
    pub rate_limit_api_per_minute: u32,
    pub rate_limit_auth_failures_per_minute: u32,
    pub trusted_proxies: tether_api::TrustedProxies,
    pub sandbox: SandboxMode,
    pub allow_shared_accounts: bool,
    /// How long a valid token read may be served from memory, and how many are kept.
    pub read_cache: tether_broker::ReadCacheConfig,
    /// Audit batches written at once (token reads wait for theirs: group commit).
    pub audit_writers: usize,
    pub providers: Vec<ProviderEntry>,
}

pub const JWT_DEV_FILE: &str = "jwt-dev.key";
pub const DEFAULT_JWT_ISSUER: &str = "tether-dev";
pub const DEFAULT_JWT_AUDIENCE: &str = "tether";

fn list(text: Option<String>) -> Vec<String> {
    non_empty(text)
        .map(|t| {
            t.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The API settings, moved out of the raw configuration before the rest is validated.
pub(super) struct ApiRaw {
    redis_url: Option<String>,
    redis_url_file: Option<PathBuf>,
    redis_key_prefix: Option<String>,
    return_to: Option<String>,
    jwt_secret: Option<String>,
    jwt_secret_file: Option<PathBuf>,
    jwt_jwks_url: Option<String>,
    jwt_issuer: Option<String>,
    jwt_audience: Option<String>,
    cors_origins: Option<String>,
    hsts: Option<bool>,
    rate_limit_oauth_per_minute: Option<u32>,
    rate_limit_api_per_minute: Option<u32>,
    rate_limit_auth_failures_per_minute: Option<u32>,
    trusted_proxies: Option<String>,
    sandbox: Option<String>,
    allow_shared_accounts: Option<bool>,
    read_cache_ms: Option<u64>,
    read_cache_coherent_secs: Option<u64>,
    read_cache_entries: Option<u64>,
    read_cache_mib: Option<u64>,
    audit_writers: Option<u64>,
    providers: Option<BTreeMap<String, RawProvider>>,
    provider_env: BTreeMap<String, String>,
}

impl ApiRaw {
    pub(super) fn take(raw: &mut RawConfig) -> Self {
        Self {
            redis_url: raw.redis_url.take(),
            redis_url_file: raw.redis_url_file.take(),
            redis_key_prefix: raw.redis_key_prefix.take(),
            return_to: raw.return_to.take(),
            jwt_secret: raw.jwt_secret.take(),
            jwt_secret_file: raw.jwt_secret_file.take(),
            jwt_jwks_url: raw.jwt_jwks_url.take(),
            jwt_issuer: raw.jwt_issuer.take(),
            jwt_audience: raw.jwt_audience.take(),
            cors_origins: raw.cors_origins.take(),
            hsts: raw.hsts.take(),
            rate_limit_oauth_per_minute: raw.rate_limit_oauth_per_minute.take(),
            rate_limit_api_per_minute: raw.rate_limit_api_per_minute.take(),
            rate_limit_auth_failures_per_minute: raw.rate_limit_auth_failures_per_minute.take(),
            trusted_proxies: raw.trusted_proxies.take(),
            sandbox: raw.sandbox.take(),
            allow_shared_accounts: raw.allow_shared_accounts.take(),
            read_cache_ms: raw.read_cache_ms.take(),
            read_cache_coherent_secs: raw.read_cache_coherent_secs.take(),
            read_cache_entries: raw.read_cache_entries.take(),
            read_cache_mib: raw.read_cache_mib.take(),
            audit_writers: raw.audit_writers.take(),
            providers: raw.providers.take(),
            provider_env: std::mem::take(&mut raw.provider_env),
        }
    }
}

pub(super) fn validate(
    mut raw: ApiRaw,
    origins: &Origins,
    engine: Engine,
    data_dir: &std::path::Path,
) -> ConfigResult<ApiSettings> {
    let invalid = |key: &str, reason: String| ConfigError::InvalidValue {
        key: key.to_owned(),
        origin: origins.of(key),
        reason,
    };
    let embedded = engine == Engine::Sqlite;
    let jwt_secret = secret(
        "jwt_secret",
        raw.jwt_secret.take(),
        raw.jwt_secret_file.take(),
    )?;
    let jwks = non_empty(raw.jwt_jwks_url.take());
    let jwt = match (jwt_secret, jwks) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::Other(
                "TETHER_JWT_SECRET and TETHER_JWT_JWKS_URL are both set; set the one your auth system uses".into(),
            ));
        }
        (Some(secret), None) if secret.len() < 32 => {
            return Err(invalid(
                "jwt_secret",
                "must be at least 32 characters".into(),
            ));
        }
        (Some(secret), None) => JwtSource::Secret(tether_core::secret::OpaqueSecret::new(secret)),
        (None, Some(url)) => JwtSource::Jwks(
            url::Url::parse(&url)
                .ok()
                .filter(|u| matches!(u.scheme(), "https" | "http"))
                .ok_or_else(|| invalid("jwt_jwks_url", format!("`{url}` is not an http(s) URL")))?,
        ),
        (None, None) if embedded => JwtSource::DevFile(data_dir.join(JWT_DEV_FILE)),
        (None, None) => JwtSource::Missing,
    };
    let sandbox = match non_empty(raw.sandbox.take()).as_deref().unwrap_or("auto") {
        "auto" if embedded => SandboxMode::On,
        "auto" | "off" => SandboxMode::Off,
        "on" => SandboxMode::On,
        other => {
            return Err(invalid(
                "sandbox",
                format!("`{other}`: expected auto, on or off"),
            ));
        }
    };
    let rate = |key: &str, value: Option<u32>, default: u32| match value {
        Some(0) => Err(invalid(key, "must be at least 1".into())),
        v => Ok(v.unwrap_or(default)),
    };
    let return_to = list(raw.return_to.take());
    for entry in &return_to {
        let ok = url::Url::parse(entry)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
        if !ok {
            return Err(invalid(
                "return_to",
                format!("`{entry}` is not an absolute http(s) URL"),
            ));
        }
    }
    let cors_origins = list(raw.cors_origins.take());
    Ok(ApiSettings {
        redis_url: secret("redis_url", raw.redis_url.take(), raw.redis_url_file.take())?
            .map(tether_core::secret::OpaqueSecret::new),
        redis_key_prefix: non_empty(raw.redis_key_prefix.take())
            .unwrap_or_else(|| "tether:".into()),
        return_to,
        jwt,
        jwt_issuer: non_empty(raw.jwt_issuer.take()).unwrap_or_else(|| DEFAULT_JWT_ISSUER.into()),
        jwt_audience: non_empty(raw.jwt_audience.take())
            .unwrap_or_else(|| DEFAULT_JWT_AUDIENCE.into()),
        cors_origins,
        hsts: raw.hsts,
        rate_limit_oauth_per_minute: rate(
            "rate_limit_oauth_per_minute",
            raw.rate_limit_oauth_per_minute,
            120,
        )?,
        rate_limit_api_per_minute: rate(
            "rate_limit_api_per_minute",
            raw.rate_limit_api_per_minute,
            60_000,
        )?,
        rate_limit_auth_failures_per_minute: rate(
            "rate_limit_auth_failures_per_minute",
            raw.rate_limit_auth_failures_per_minute,
            60,
        )?,
        trusted_proxies: tether_api::TrustedProxies::parse(
            raw.trusted_proxies.take().as_deref().unwrap_or_default(),
        )
        .map_err(|reason| invalid("trusted_proxies", reason))?,
        sandbox,
        allow_shared_accounts: raw.allow_shared_accounts.unwrap_or(false),
        read_cache: read_cache(&raw, origins)?,
        audit_writers: match raw.audit_writers {
            Some(n) if !(1..=16).contains(&n) => {
                return Err(ConfigError::InvalidValue {
                    key: "audit_writers".to_owned(),
                    origin: origins.of("audit_writers"),
                    reason: "must be between 1 and 16".to_owned(),
                });
            }
            n => usize::try_from(n.unwrap_or(2)).unwrap_or(2),
        },
        providers: providers(&mut raw)?,
    })
}

fn read_cache(raw: &ApiRaw, origins: &Origins) -> ConfigResult<tether_broker::ReadCacheConfig> {
    let invalid = |key: &str, reason: String| ConfigError::InvalidValue {
        key: key.to_owned(),
        origin: origins.of(key),
        reason,
    };
    let short_life = match raw.read_cache_ms {
        Some(ms) if ms > 60_000 => {
            return Err(invalid(
                "read_cache_ms",
                "must be at most 60000 (a minute); 0 turns the cache off".into(),
            ));
        }
        ms => std::time::Duration::from_millis(ms.unwrap_or(1000)),
    };
    let coherent_life = match raw.read_cache_coherent_secs {
        Some(secs) if secs > 86_400 => {
            return Err(invalid(
                "read_cache_coherent_secs",
                "must be at most 86400 (a day)".into(),
            ));
        }
        secs => std::time::Duration::from_secs(secs.unwrap_or(300)).max(short_life),
    };
    // A size limit: at least 1 (a zero life, not a zero size, turns the cache off).
    let limit = |key: &str, value: Option<u64>, max: u64, default: u64| match value {
        Some(0) => Err(invalid(
            key,
            "must be at least 1 (set read_cache_ms to 0 to turn the cache off)".into(),
        )),
        Some(n) if n > max => Err(invalid(key, format!("must be at most {max}"))),
        n => Ok(n.unwrap_or(default)),
    };
    let entries = limit(
        "read_cache_entries",
        raw.read_cache_entries,
        10_000_000,
        100_000,
    )?;
    let mib = limit("read_cache_mib", raw.read_cache_mib, 65_536, 16)?;
    let capacity = usize::try_from(entries).unwrap_or(100_000);
    let max_bytes = usize::try_from(mib << 20).unwrap_or(16 << 20);
    Ok(tether_broker::ReadCacheConfig {
        short_life,
        coherent_life,
        capacity,
        max_bytes,
    })
}

/// `[providers.<name>]` tables plus `TETHER_PROVIDER_<NAME>_CLIENT_ID/SECRET`.
fn providers(raw: &mut ApiRaw) -> ConfigResult<Vec<ProviderEntry>> {
    let mut out: BTreeMap<(ProviderKind, String), ProviderEntry> = BTreeMap::new();
    for (name, table) in raw.providers.take().unwrap_or_default() {
        let (kind, instance) = parse_name(&name)?;
        let entry = entry(kind, instance.clone(), table, &format!("providers.{name}"))?;
        out.insert((kind, instance), entry);
    }
    let env = std::mem::take(&mut raw.provider_env);
    for kind in ProviderKind::ALL {
        let key = |field: &str| format!("provider_{kind}_{field}");
        let id = env.get(&key("client_id")).cloned();
        let secret_value = env.get(&key("client_secret")).cloned();
        let secret_file = env.get(&key("client_secret_file")).map(PathBuf::from);
        if id.is_none() && secret_value.is_none() && secret_file.is_none() {
            continue;
        }
        let secret = secret(&key("client_secret"), secret_value, secret_file)?;
        let slot = out
            .entry((*kind, String::new()))
            .or_insert_with(|| ProviderEntry {
                provider: *kind,
                instance: String::new(),
                client_id: String::new(),
                client_secret: None,
                endpoints: BTreeMap::new(),
                options: BTreeMap::new(),
                enabled: true,
            });
        if let Some(id) = non_empty(id) {
            slot.client_id = id;
        }
        if let Some(secret) = secret {
            slot.client_secret = Some(ClientSecret::new(secret));
        }
    }
    for entry in out.values() {
        if entry.client_id.is_empty() {
            return Err(ConfigError::Other(format!(
                "provider {}: client_id is missing (set it in [providers.{}] or TETHER_PROVIDER_{}_CLIENT_ID)",
                entry.provider,
                entry.provider,
                entry.provider.as_str().to_ascii_uppercase()
            )));
        }
    }
    Ok(out.into_values().collect())
}

fn parse_name(name: &str) -> ConfigResult<(ProviderKind, String)> {
    let (kind, instance) = name.split_once(':').unwrap_or((name, ""));
    let kind = kind
        .parse::<ProviderKind>()
        .map_err(|e| ConfigError::Other(format!("[providers.{name}]: {e}")))?;
    Ok((kind, instance.to_owned()))
}

fn entry(
    kind: ProviderKind,
    instance: String,
    table: RawProvider,
    origin: &str,
) -> ConfigResult<ProviderEntry> {
    let secret_name = format!("{origin}.client_secret");
    let client_secret = match (non_empty(table.client_secret), table.client_secret_file) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::Other(format!(
                "{secret_name} and {secret_name}_file are both set; set only one of them"
            )));
        }
        (Some(value), None) => Some(value),
        (None, Some(path)) => Some(
            std::fs::read_to_string(&path)
                .map(|t| t.trim().to_owned())
                .map_err(|e| ConfigError::SecretFile {
                    setting: secret_name.clone(),
                    path: path.clone(),
                    reason: e.to_string(),
                })?,
        ),
        (None, None) => None,
    };
    Ok(ProviderEntry {
        provider: kind,
        instance,
        client_id: non_empty(table.client_id).unwrap_or_default(),
        client_secret: client_secret.map(ClientSecret::new),
        endpoints: table.endpoints,
        options: table.options,
        enabled: table.enabled.unwrap_or(true),
    })
}
