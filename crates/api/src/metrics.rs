//! Prometheus metrics: HTTP requests, token reads and refreshes by provider and outcome,
//! the refresh scheduler (lag, running, restarts), webhook deliveries (attempts by outcome,
//! delay from event to delivery, endpoints disabled, the worker's health). Served as text at
//! `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The status class (`2xx`, `4xx`, …), so label values stay few.
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// The stable error code of the answer (a closed set, so label values stay few).
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderOutcome {
    pub provider: String,
    pub outcome: String,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    /// Error answers by code.
    pub errors: Family<ErrorLabels, Counter>,
    pub token_reads: Family<ProviderOutcome, Counter>,
    pub refreshes: Family<ProviderOutcome, Counter>,
    /// Seconds the oldest due integration waited at the last scheduler pass.
    pub scheduler_lag_seconds: Gauge,
    /// 1 while the refresh scheduler's loop runs, 0 between a crash and its restart.
    pub scheduler_running: Gauge,
    pub scheduler_restarts: Counter,
    /// Database lookups of API keys (cache misses) since start.
    pub api_key_lookups: Gauge,
    /// API-key lookups held in the cache.
    pub api_key_cache_entries: Gauge,
    /// Keys held by the rate limiters (addresses, callers, blocks).
    pub rate_limit_keys: Gauge,
    /// 1 while the read cache is coherent (invalidations subscribed), else 0.
    pub read_cache_coherent: Gauge,
    /// Token reads held in the read cache.
    pub read_cache_entries: Gauge,
    /// The memory the cached reads take, by their size (bounded by `read_cache_mib`).
    pub read_cache_bytes: Gauge,
    /// Invalidation messages received since start.
    pub read_cache_invalidations: Gauge,
    /// Times the invalidation subscription was lost since start.
    pub read_cache_subscriptions_lost: Gauge,
    /// Webhook attempts by outcome: `delivered`, `retry`, `failed` (gave up).
    pub webhook_attempts: Family<OutcomeLabel, Counter>,
    /// Seconds from an event to its delivery.
    pub webhook_delivery_delay_seconds: Histogram,
    pub webhook_endpoints_disabled: Counter,
    /// 1 while the webhook worker runs in this replica.
    pub webhook_worker_running: Gauge,
    pub webhook_worker_restarts: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tether");
        let requests = Family::<RequestLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "errors",
            "Error answers by code (stored_secret_unreadable means tampering or a missing key)",
            errors.clone(),
        );
        let token_reads = Family::<ProviderOutcome, Counter>::default();
        let refreshes = Family::<ProviderOutcome, Counter>::default();
        let scheduler_lag_seconds = Gauge::default();
        let scheduler_running = Gauge::default();
        let scheduler_restarts = Counter::default();
        let api_key_lookups = Gauge::default();
        let api_key_cache_entries = Gauge::default();
        let rate_limit_keys = Gauge::default();
        let read_cache_coherent = Gauge::default();
        let read_cache_entries = Gauge::default();
        let read_cache_bytes = Gauge::default();
        let read_cache_invalidations = Gauge::default();
        let read_cache_subscriptions_lost = Gauge::default();
        registry.register(
            "read_cache_coherent",
            "1 while this replica's token-read cache receives every replica's invalidations \
             (entries live until the refresh point); 0 while it serves short entries",
            read_cache_coherent.clone(),
        );
        registry.register(
            "read_cache_entries",
            "Token reads held in this replica's cache (bounded by read_cache_entries)",
            read_cache_entries.clone(),
        );
        registry.register(
            "read_cache_bytes",
            "Memory the token reads in this replica's cache take, by their size \
             (bounded by read_cache_mib)",
            read_cache_bytes.clone(),
        );
        registry.register(
            "read_cache_invalidations_received",
            "Cache invalidation messages this replica received since it started",
            read_cache_invalidations.clone(),
        );
        registry.register(
            "read_cache_subscriptions_lost",
            "Times this replica lost its cache invalidation subscription since it started",
            read_cache_subscriptions_lost.clone(),
        );
        registry.register(
            "api_key_lookups",
            "Database lookups of API keys (cache misses) since this replica started",
            api_key_lookups.clone(),
        );
        registry.register(
            "api_key_cache_entries",
            "API-key lookups held in this replica's cache (bounded)",
            api_key_cache_entries.clone(),
        );
        registry.register(
            "rate_limit_keys",
            "Client addresses, callers and blocks held by this replica's rate limiters (pruned)",
            rate_limit_keys.clone(),
        );
        let webhook_attempts = Family::<OutcomeLabel, Counter>::default();
        let webhook_delivery_delay_seconds = Histogram::new([
            0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0, 86_400.0,
        ]);
        let webhook_endpoints_disabled = Counter::default();
        let webhook_worker_running = Gauge::default();
        let webhook_worker_restarts = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests by method and status class",
            requests.clone(),
        );
        registry.register(
            "token_reads",
            "Token reads by provider and outcome",
            token_reads.clone(),
        );
        registry.register(
            "refreshes",
            "Token refreshes by provider and outcome",
            refreshes.clone(),
        );
        registry.register(
            "scheduler_lag_seconds",
            "How late the most overdue integration was at the scheduler's last claim",
            scheduler_lag_seconds.clone(),
        );
        registry.register(
            "scheduler_running",
            "1 while the refresh scheduler runs in this replica, 0 while it is down",
            scheduler_running.clone(),
        );
        registry.register(
            "scheduler_restarts",
            "Times the refresh scheduler died (panic or stop) and was restarted",
            scheduler_restarts.clone(),
        );
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts by outcome (delivered, retry, failed: the schedule is exhausted)",
            webhook_attempts.clone(),
        );
        registry.register(
            "webhook_delivery_delay_seconds",
            "Time from an event to its successful webhook delivery",
            webhook_delivery_delay_seconds.clone(),
        );
        registry.register(
            "webhook_endpoints_disabled",
            "Webhook endpoints disabled automatically because their deliveries kept failing",
            webhook_endpoints_disabled.clone(),
        );
        registry.register(
            "webhook_worker_running",
            "1 while the webhook delivery worker runs in this replica, 0 while it is down",
            webhook_worker_running.clone(),
        );
        registry.register(
            "webhook_worker_restarts",
            "Times the webhook delivery worker died (panic or stop) and was restarted",
            webhook_worker_restarts.clone(),
        );
        Self {
            registry,
            requests,
            errors,
            token_reads,
            refreshes,
            scheduler_lag_seconds,
            scheduler_running,
            scheduler_restarts,
            api_key_lookups,
            api_key_cache_entries,
            rate_limit_keys,
            read_cache_coherent,
            read_cache_entries,
            read_cache_bytes,
            read_cache_invalidations,
            read_cache_subscriptions_lost,
            webhook_attempts,
            webhook_delivery_delay_seconds,
            webhook_endpoints_disabled,
            webhook_worker_running,
            webhook_worker_restarts,
        }
    }
}

impl Metrics {
    pub fn count(family: &Family<ProviderOutcome, Counter>, provider: &str, outcome: &str) {
        family
            .get_or_create(&ProviderOutcome {
                provider: provider.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl tether_broker::BrokerObserver for Metrics {
    fn refresh(&self, provider: tether_core::ProviderKind, outcome: &'static str) {
        Self::count(&self.refreshes, provider.as_str(), outcome);
    }

    fn token_read(&self, provider: tether_core::ProviderKind, outcome: &'static str) {
        Self::count(&self.token_reads, provider.as_str(), outcome);
    }

    fn scheduler_lag(&self, lag: std::time::Duration) {
        self.scheduler_lag_seconds
            .set(i64::try_from(lag.as_secs()).unwrap_or(i64::MAX));
    }

    fn scheduler_running(&self, running: bool) {
        self.scheduler_running.set(i64::from(running));
    }

    fn scheduler_restarted(&self) {
        self.scheduler_restarts.inc();
    }
}

impl tether_webhooks::WebhookObserver for Metrics {
    fn attempt(&self, outcome: &'static str) {
        self.webhook_attempts
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    fn delivered_after(&self, delay: std::time::Duration) {
        self.webhook_delivery_delay_seconds
            .observe(delay.as_secs_f64());
    }

    fn endpoint_disabled(&self) {
        self.webhook_endpoints_disabled.inc();
    }

    fn worker_running(&self, running: bool) {
        self.webhook_worker_running.set(i64::from(running));
    }

    fn worker_restarted(&self) {
        self.webhook_worker_restarts.inc();
    }
}
