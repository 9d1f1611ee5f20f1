//! Wiring the services together: storage, shared state (Redis or the database), providers
//! (with the embedded sandbox), the broker and its refresh scheduler, webhooks and their
//! delivery worker, caller authentication and the API state. Only the server does this; every
//! other crate sees ports and traits.

mod connect_sessions;
mod openemr_sites;
mod provider_test;
mod providers;
mod readiness;
#[cfg(feature = "sandbox")]
mod sandbox_snapshots;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
#[cfg(feature = "sandbox")]
use rand::RngCore;
use sea_orm::DatabaseConnection;
use tether_api::auth::{ApiKeys, JwtConfig, JwtKeys, JwtVerifier};
use tether_api::{ApiConfig, ApiState, ApiStores, Limiters, ProviderSource};
use tether_broker::{
    Broker, BrokerConfig, BrokerStores, ProviderHttp, ReturnToAllowlist, SchedulerConfig,
};
use tether_console::{ConsoleSettings, ConsoleState, ConsoleStores};
#[cfg(feature = "sandbox")]
use tether_core::ProviderKind;
use tether_core::ports::EventRepository;
use tether_core::ports::ScopeCatalogRepository;
use tether_core::state::{FlowStateStore, InvalidationBus, LockManager};
use tether_core::token::RefreshTiming;
#[cfg(feature = "sandbox")]
pub use tether_sandbox::SandboxState;
#[cfg(feature = "sandbox")]
use tether_sandbox::{ClientConfig, SandboxConfig};
use tether_state::{
    RedisInvalidations, RedisState, RedisStateConfig, SqlFlowStore, SqlLocks,
    spawn_flow_state_purger,
};
use tether_storage::{PgInvalidations, SqlStore, TokenCipher};
use tokio::task::JoinHandle;

pub use providers::{SandboxClients, ServerProviders, build_into};

use crate::config::{Config, JwtSource, SandboxMode};
use crate::error::{ServerError, ServerResult};

/// Everything the HTTP server needs, and the background tasks to stop with it.
pub struct Wired {
    pub state: web::Data<ApiState>,
    pub console: web::Data<ConsoleState>,
    pub limiters: Arc<Limiters>,
    pub sandbox: Option<SandboxState>,
    pub background: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Wired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wired").finish_non_exhaustive()
    }
}

/// The URL browsers and providers reach Tether at: the configured one, or the bound address.
pub fn public_url(config: &Config, bound: SocketAddr) -> ServerResult<url::Url> {
    if let Some(url) = &config.public_url {
        return Ok(url.clone());
    }
    let host = if bound.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        bound.ip().to_string()
    };
    let host = if bound.is_ipv6() && !bound.ip().is_unspecified() {
        format!("[{host}]")
    } else {
        host
    };
    url::Url::parse(&format!("http://{host}:{}", bound.port()))
        .map_err(|e| ServerError::Startup(format!("cannot build the public URL: {e}")))
}

#[cfg(feature = "sandbox")]
fn random_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Saves the embedded sandbox's grants (at shutdown; a saver keeps them current meanwhile).
#[cfg(feature = "sandbox")]
pub async fn save_sandbox(conn: &sea_orm::DatabaseConnection, sandbox: &SandboxState) {
    sandbox_snapshots::save_now(conn, sandbox).await;
}

#[cfg(not(feature = "sandbox"))]
pub async fn save_sandbox(_conn: &sea_orm::DatabaseConnection, sandbox: &SandboxState) {
    match *sandbox {}
}

/// Without the `sandbox` feature there is no sandbox to serve: nothing of this type exists.
#[cfg(not(feature = "sandbox"))]
#[derive(Debug, Clone)]
pub enum SandboxState {}

#[cfg(feature = "sandbox")]
fn sandbox_state(public: &url::Url) -> ServerResult<(SandboxState, SandboxClients)> {
    let base = public.as_str().trim_end_matches('/');
    let clients = SandboxClients {
        issuer: format!("{base}/sandbox"),
        secret: random_secret(),
    };
    let config = SandboxConfig {
        issuer: Some(clients.issuer.clone()),
        clients: ProviderKind::ALL
            .iter()
            .map(|kind| {
                ClientConfig::new(SandboxClients::client_id(*kind), clients.secret.clone())
                    .with_redirect_uris([format!("{base}/api/v1/oauth/{kind}/callback")])
            })
            .collect(),
        admin_endpoints: false,
        ..SandboxConfig::default()
    };
    let state =
        SandboxState::new(config).map_err(|e| ServerError::Startup(format!("sandbox: {e}")))?;
    Ok((state, clients))
}

pub async fn wire(
    config: &Config,
    conn: DatabaseConnection,
    cipher: TokenCipher,
    bound: SocketAddr,
    clock: Arc<dyn tether_core::clock::Clock>,
) -> ServerResult<Wired> {
    let public = public_url(config, bound)?;
    let api = &config.api;
    let keys = match &api.jwt {
        JwtSource::Secret(secret) => JwtKeys::Hs256(secret.expose_secret().as_bytes().to_vec()),
        JwtSource::Jwks(url) => JwtKeys::Jwks(url.clone()),
        JwtSource::DevFile(path) => JwtKeys::Hs256(dev_jwt_secret(path)?.into_bytes()),
        JwtSource::Missing => return Err(crate::config::ConfigError::JwtRequired.into()),
    };
    let cipher = Arc::new(cipher);
    let store = Arc::new(SqlStore::new(conn.clone(), cipher.clone()));
    let mut background = Vec::new();

    let redis_config = api.redis_url.as_ref().map(|url| {
        let mut redis_config = RedisStateConfig::new(url.expose_secret());
        redis_config.key_prefix = api.redis_key_prefix.clone();
        redis_config
    });
    let redis = match &redis_config {
        Some(redis_config) => Some(Arc::new(
            RedisState::new(redis_config, cipher.clone())
                .map_err(|e| ServerError::Startup(e.to_string()))?,
        )),
        None => None,
    };
    // Cache invalidations between replicas: Redis pub/sub when Redis is configured,
    // PostgreSQL LISTEN/NOTIFY otherwise; none on SQLite (one process: short cache entries).
    let invalidations: Option<Arc<dyn InvalidationBus>> = match &redis_config {
        Some(redis_config) => Some(Arc::new(
            RedisInvalidations::new(redis_config)
                .map_err(|e| ServerError::Startup(e.to_string()))?,
        )),
        None => PgInvalidations::new(conn.clone()).map(|bus| Arc::new(bus) as _),
    };
    let (flows, locks): (Arc<dyn FlowStateStore>, Arc<dyn LockManager>) = match &redis {
        Some(redis) => (redis.clone(), redis.clone()),
        None => {
            let flows = SqlFlowStore::new(store.clone());
            background.push(spawn_flow_state_purger(
                flows.clone(),
                Duration::from_secs(300),
                Duration::from_secs(600),
            ));
            (Arc::new(flows), Arc::new(SqlLocks::new(store.clone())))
        }
    };

    let provider_http = ProviderHttp::new(Duration::from_secs(10))
        .map_err(|e| ServerError::Startup(e.to_string()))?;
    let http = provider_http.client().clone();
    let sandbox: Option<(SandboxState, SandboxClients)> = match api.sandbox {
        #[cfg(feature = "sandbox")]
        SandboxMode::On => Some(sandbox_state(&public)?),
        #[cfg(not(feature = "sandbox"))]
        SandboxMode::On => {
            return Err(ServerError::Startup(
                "setting `sandbox`: this build has no sandbox (built without the `sandbox` \
                 feature); set TETHER_SANDBOX=off and configure real provider credentials"
                    .into(),
            ));
        }
        SandboxMode::Off => None,
    };
    #[cfg(feature = "sandbox")]
    if let Some((sandbox, _)) = &sandbox {
        sandbox_snapshots::restore(&conn, sandbox)
            .await
            .map_err(ServerError::Startup)?;
        background.push(sandbox_snapshots::spawn_saver(
            conn.clone(),
            sandbox.clone(),
            sandbox_snapshots::SAVE_EVERY,
        ));
    }
    let providers = Arc::new(ServerProviders {
        entries: api.providers.clone(),
        db: store.clone(),
        sandbox: sandbox.as_ref().map(|(_, clients)| clients.clone()),
        http: http.clone(),
    });
    let registry = providers.registry().await.map_err(ServerError::Startup)?;
    let mut synced = Vec::new();
    for provider in registry.all() {
        if !synced.contains(&provider.kind()) {
            synced.push(provider.kind());
            store
                .sync(provider.kind(), &provider.scope_catalogue())
                .await
                .map_err(|e| {
                    ServerError::Startup(format!(
                        "syncing the {} scope catalogue: {e}",
                        provider.kind()
                    ))
                })?;
        }
    }

    let allow: Vec<String> = if api.return_to.is_empty() {
        vec![public.to_string()]
    } else {
        api.return_to.clone()
    };
    let allow_refs: Vec<&str> = allow.iter().map(String::as_str).collect();
    let mut broker_config = BrokerConfig::new(
        public.clone(),
        ReturnToAllowlist::new(&allow_refs).map_err(ServerError::Startup)?,
    );
    broker_config.allow_shared_accounts = api.allow_shared_accounts;
    broker_config.read_cache = api.read_cache;
    broker_config.audit_sink.writers = api.audit_writers;
    let lifecycle = &config.lifecycle;
    broker_config.refresh_timing = RefreshTiming {
        buffer: chrono::Duration::from_std(lifecycle.refresh_buffer).unwrap_or_default(),
        fraction: lifecycle.refresh_buffer_fraction,
    };
    broker_config.refresh_keepalive = lifecycle.refresh_keepalive;
    broker_config.consent_version = lifecycle.consent_version.clone();
    broker_config.consent_validity = lifecycle.consent_validity;
    broker_config.consent_validity_by_provider = lifecycle.consent_validity_by_provider.clone();
    let broker = Broker::new(
        broker_config,
        registry,
        BrokerStores::from_store(store.clone()),
        flows,
        locks,
    )
    .map_err(|e| ServerError::Startup(e.to_string()))?;
    if let Some(bus) = invalidations {
        background.push(broker.keep_cache_coherent(bus));
    }
    let scheduled = broker.clone();

    let jwt = JwtVerifier::new(
        JwtConfig {
            keys,
            issuer: api.jwt_issuer.clone(),
            audience: api.jwt_audience.clone(),
            leeway: Duration::from_secs(30),
            jwks_refetch_every: Duration::from_secs(30),
        },
        http.clone(),
    );
    let console_settings = ConsoleSettings {
        secure_cookies: public.scheme() == "https",
        trusted_proxies: api.trusted_proxies.clone(),
        ..ConsoleSettings::default()
    };
    let api_config = ApiConfig {
        hsts: api.hsts.unwrap_or(public.scheme() == "https"),
        public_url: public,
        proxy_max_body: 10 * 1024 * 1024,
        cors_origins: api.cors_origins.clone(),
        oauth_rate_per_minute: api.rate_limit_oauth_per_minute,
        api_rate_per_minute: api.rate_limit_api_per_minute,
        auth_failures_per_minute: api.rate_limit_auth_failures_per_minute,
        trusted_proxies: api.trusted_proxies.clone(),
    };
    let limiters = Limiters::new(
        api_config.oauth_rate_per_minute,
        api_config.api_rate_per_minute,
        api_config.auth_failures_per_minute,
    );
    let mut checks: Vec<Arc<dyn tether_api::ReadinessCheck>> =
        vec![Arc::new(readiness::Database(conn))];
    if let Some(redis) = redis {
        checks.push(Arc::new(readiness::Redis(redis)));
    }
    let webhooks = tether_webhooks::Webhooks::new(
        store.clone(),
        store.clone(),
        config.webhooks.settings.clone(),
    )
    .map_err(ServerError::Startup)?;
    // Token reads batch their audit records: the audit endpoint flushes them before querying.
    let audit = broker.audit_reader();
    let connect_sessions = tether_broker::ConnectSessions::new(
        broker.clone(),
        store.clone(),
        clock.clone(),
        config.lifecycle.connect_session_ttl,
    );
    background.push(connect_sessions::spawn_purger(
        store.clone(),
        clock.clone(),
        Duration::from_secs(3600),
    ));
    let state = web::Data::new(ApiState::new(
        broker,
        ApiStores {
            integrations: store.clone(),
            consents: store.clone(),
            audit,
            events: store.clone(),
            provider_configs: store.clone(),
            scopes: store.clone(),
        },
        jwt,
        ApiKeys::new(store.clone()),
        api_config,
        providers,
        checks,
        http,
        webhooks.clone(),
        connect_sessions,
    ));
    let revoked_state = state.clone();
    let console = web::Data::new(ConsoleState::new(
        ConsoleStores {
            accounts: store.clone(),
            overview: store.clone(),
            api_keys: store.clone(),
            audit: store.clone(),
        },
        console_settings,
        clock,
        Arc::new(move || revoked_state.api_keys.forget()),
    ));
    background.push(spawn_console_session_purger(
        store.clone(),
        Duration::from_secs(3600),
    ));
    // After the observer is attached, so the scheduler's and the webhook worker's first
    // reports reach /metrics.
    state.observe_broker();
    if config.webhooks.worker_enabled {
        background.push(webhooks.spawn_worker());
    }
    if lifecycle.scheduler_enabled {
        background.push(scheduled.spawn_refresh_scheduler(SchedulerConfig {
            interval: lifecycle.scheduler_interval,
            batch: lifecycle.scheduler_batch,
            concurrency: lifecycle.scheduler_concurrency,
            provider_concurrency: lifecycle.scheduler_provider_concurrency,
            provider_caps: lifecycle.scheduler_provider_caps.clone(),
            lease: lifecycle.scheduler_lease,
        }));
    }
    background.push(spawn_provider_sync(state.clone(), lifecycle.provider_sync));
    background.push(spawn_event_pruner(
        store.clone(),
        lifecycle.events_retention,
        Duration::from_secs(3600),
    ));
    Ok(Wired {
        state,
        console,
        limiters,
        sandbox: sandbox.map(|(state, _)| state),
        background,
    })
}

/// Applies provider configuration changed on another replica: every `every`, compares the
/// stored configuration's version with the one the providers were built from.
fn spawn_provider_sync(state: web::Data<ApiState>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match state.sync_providers().await {
                Ok(true) => tracing::info!("provider configuration changed; providers rebuilt"),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "checking the provider configuration failed"),
            }
        }
    })
}

/// Deletes events older than `retention` every `every` (from start-up on). Every replica
/// runs it: the delete is idempotent, so two replicas pruning at once only repeat work.
fn spawn_event_pruner(
    store: Arc<SqlStore>,
    retention: Duration,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let Ok(retention) = chrono::Duration::from_std(retention) else {
                return;
            };
            match store.prune(chrono::Utc::now() - retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(pruned = n, "pruned events past their retention"),
                Err(e) => tracing::warn!(error = %e, "pruning events failed"),
            }
        }
    })
}

/// Deletes expired console sessions every `every` (they are refused anyway; this keeps the
/// table small). Every replica runs it; the delete is idempotent.
fn spawn_console_session_purger(
    store: Arc<SqlStore>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match tether_core::ports::ConsoleRepository::purge_expired_sessions(
                store.as_ref(),
                chrono::Utc::now(),
            )
            .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "purged expired console sessions"),
                Err(e) => tracing::warn!(error = %e, "purging console sessions failed"),
            }
        }
    })
}

/// The embedded mode's JWT secret for `tether dev-token`: generated once into the data
/// directory (mode 0600) and reused.
pub fn dev_jwt_secret(path: &std::path::Path) -> ServerResult<String> {
    let keys = crate::keyfile::load_or_create(path, crate::keyfile::DEV_JWT_SECRET)?;
    keys.first()
        .map(|k| k.expose_secret().to_owned())
        .ok_or_else(|| ServerError::Startup("the development JWT key file is empty".into()))
}
