//! The `Broker`: configuration, providers, ports and the in-process single flights.

use std::sync::Arc;

use tether_core::IntegrationId;
use tether_core::ports::{
    AuditRepository, ConsentRepository, EventRepository, IntegrationRepository, TokenRepository,
};
use tether_core::state::{FlowStateStore, LockManager};

use crate::app_tokens::AppGrant;
use crate::audit::Auditor;
use crate::audit::FlushingAuditReader;
use crate::config::BrokerConfig;
use crate::error::{BrokerError, BrokerResult};
use crate::oauth::ProviderHttp;
use crate::reads::AccessGrant;
use crate::registry::ProviderRegistry;
use crate::singleflight::SingleFlight;
use crate::usage::UsageRecorder;

/// The persistence ports the broker uses.
#[derive(Clone)]
pub struct BrokerStores {
    pub integrations: Arc<dyn IntegrationRepository>,
    pub tokens: Arc<dyn TokenRepository>,
    pub consents: Arc<dyn ConsentRepository>,
    pub audit: Arc<dyn AuditRepository>,
    pub events: Arc<dyn EventRepository>,
}

impl std::fmt::Debug for BrokerStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerStores").finish_non_exhaustive()
    }
}

impl BrokerStores {
    /// All the ports from one store that implements them (the SQL store does).
    pub fn from_store<S>(store: Arc<S>) -> Self
    where
        S: IntegrationRepository
            + TokenRepository
            + ConsentRepository
            + AuditRepository
            + EventRepository
            + 'static,
    {
        Self {
            integrations: store.clone(),
            tokens: store.clone(),
            consents: store.clone(),
            audit: store.clone(),
            events: store,
        }
    }
}

pub(crate) struct Inner {
    pub(crate) config: BrokerConfig,
    /// Swapped whole when provider configuration changes; every clone of the broker (the
    /// scheduler's too) sees the new set at once.
    pub(crate) providers: arc_swap::ArcSwap<ProviderRegistry>,
    pub(crate) stores: BrokerStores,
    pub(crate) audit: Auditor,
    pub(crate) usage: Arc<UsageRecorder>,
    pub(crate) flows: Arc<dyn FlowStateStore>,
    pub(crate) locks: Arc<dyn LockManager>,
    pub(crate) http: ProviderHttp,
    pub(crate) refreshes: SingleFlight<IntegrationId, BrokerResult<AccessGrant>>,
    pub(crate) app_tokens: SingleFlight<String, BrokerResult<AppGrant>>,
    pub(crate) read_cache: Option<crate::read_cache::ReadCache>,
    /// Cache misses read together (one query for the misses that happen at once).
    pub(crate) misses: crate::miss_loader::MissLoader,
    /// Where changed integrations are queued for the invalidation bus (see `coherence`).
    pub(crate) invalidations:
        std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<tether_core::IntegrationId>>,
    /// What carries them (`redis`, `postgres`), once attached.
    pub(crate) invalidation_bus: std::sync::OnceLock<&'static str>,
    pub(crate) observer: std::sync::OnceLock<Arc<dyn crate::observer::BrokerObserver>>,
}

/// The use-cases. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Broker {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("providers", &self.inner.providers)
            .finish_non_exhaustive()
    }
}

impl Broker {
    pub fn new(
        config: BrokerConfig,
        providers: ProviderRegistry,
        stores: BrokerStores,
        flows: Arc<dyn FlowStateStore>,
        locks: Arc<dyn LockManager>,
    ) -> BrokerResult<Self> {
        let http = ProviderHttp::new(config.provider_timeout)?;
        // The lease is renewed every third of it while a refresh runs, so it need not
        // outlast a provider call, only leave room for the renewals to land.
        if config.lock_ttl < std::time::Duration::from_millis(150) {
            return Err(BrokerError::Internal(
                "the refresh lock lease must be at least 150 ms".to_owned(),
            ));
        }
        let read_cache = crate::read_cache::ReadCache::new(config.read_cache);
        Ok(Self {
            inner: Arc::new(Inner {
                audit: Auditor::new(stores.audit.clone(), config.audit_sink),
                usage: UsageRecorder::new(stores.integrations.clone(), config.usage_flush_every),
                misses: crate::miss_loader::MissLoader::new(stores.tokens.clone()),
                config,
                providers: arc_swap::ArcSwap::from_pointee(providers),
                stores,
                flows,
                locks,
                http,
                refreshes: SingleFlight::default(),
                app_tokens: SingleFlight::default(),
                read_cache,
                invalidations: std::sync::OnceLock::new(),
                invalidation_bus: std::sync::OnceLock::new(),
                observer: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Replaces the provider set (after an operator changed provider configuration), for
    /// this broker and every clone of it. Calls in progress finish with the set they began
    /// with.
    pub fn set_providers(&self, providers: ProviderRegistry) {
        self.inner.providers.store(Arc::new(providers));
    }

    /// Writes an audit record for an operation done outside the broker (a proxied call, an
    /// SMS, a configuration change).
    pub async fn record_audit(&self, event: tether_core::audit::AuditEvent) {
        self.inner.audit.record(event).await;
    }

    /// Reports refreshes, token reads and scheduler lag to `observer` (metrics). Set once.
    pub fn observe(&self, observer: Arc<dyn crate::observer::BrokerObserver>) {
        let _ = self.inner.observer.set(observer);
    }

    pub(crate) fn observer(&self) -> Option<&Arc<dyn crate::observer::BrokerObserver>> {
        self.inner.observer.get()
    }

    pub fn config(&self) -> &BrokerConfig {
        &self.inner.config
    }

    /// The provider set in force.
    pub fn providers(&self) -> Arc<ProviderRegistry> {
        self.inner.providers.load_full()
    }

    /// The HTTP client used for provider calls (timeouts, no redirects).
    pub fn http(&self) -> &ProviderHttp {
        &self.inner.http
    }

    /// Writes what token reads left pending: their batched audit records and `last_used_at`.
    /// Returns once everything recorded before the call is in the database.
    pub async fn flush(&self) {
        self.inner.usage.flush().await;
        self.inner.audit.sink.flush().await;
    }

    /// [`Broker::flush`], then stops the background writers (call after the HTTP server
    /// stopped; a later read still gets its audit record, written inline).
    pub async fn shutdown(&self) {
        self.inner.usage.shutdown().await;
        self.inner.audit.sink.shutdown().await;
    }

    /// The audit repository for readers of the trail: a query first flushes this process's
    /// batched records, so a caller sees its own reads at once.
    pub fn audit_reader(&self) -> Arc<dyn AuditRepository> {
        Arc::new(FlushingAuditReader::new(&self.inner.audit))
    }

    /// How many batched audit records found the queue full and were written inline.
    pub fn audit_overflow_writes(&self) -> u64 {
        self.inner.audit.sink.overflow_writes()
    }
}
