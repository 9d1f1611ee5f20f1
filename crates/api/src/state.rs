//! What every handler can reach: the broker, the read-side ports, caller authentication,
//! settings, metrics. The server builds one `ApiState` and shares it across workers.

use std::sync::Arc;

use async_trait::async_trait;
use tether_broker::{Broker, ConnectSessions, ProviderRegistry};
use tether_core::ports::{
    AuditRepository, ConsentRepository, EventRepository, IntegrationRepository,
    ProviderConfigRepository, ScopeCatalogRepository,
};

use tether_webhooks::Webhooks;

use crate::auth::{ApiKeys, JwtVerifier};
use crate::metrics::Metrics;

/// The read-side ports the API uses directly (writes go through the broker).
#[derive(Clone)]
pub struct ApiStores {
    pub integrations: Arc<dyn IntegrationRepository>,
    pub consents: Arc<dyn ConsentRepository>,
    pub audit: Arc<dyn AuditRepository>,
    pub events: Arc<dyn EventRepository>,
    pub provider_configs: Arc<dyn ProviderConfigRepository>,
    pub scopes: Arc<dyn ScopeCatalogRepository>,
}

impl std::fmt::Debug for ApiStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiStores").finish_non_exhaustive()
    }
}

/// Builds the provider registry from configuration (file, environment and the
/// `provider_configs` table); the server implements it. Called again after an admin changes
/// a provider configuration.
#[async_trait]
pub trait ProviderSource: Send + Sync {
    async fn registry(&self) -> Result<ProviderRegistry, String>;

    /// A value that changes whenever the stored provider configuration does (any replica's
    /// change): the replicas compare it periodically and rebuild their providers on a change.
    async fn version(&self) -> Result<String, String>;

    /// Whether these settings build a working provider configuration (checked before an
    /// admin's change is saved); the error says what is wrong.
    async fn validate(
        &self,
        kind: tether_core::ProviderKind,
        settings: &tether_core::provider::ProviderSettings,
    ) -> Result<(), String>;

    /// Tries the configured provider without a user: reachability of its endpoints, the
    /// discovery document (OpenEMR), an app token (Orange). Answers what was checked.
    async fn test(&self, kind: tether_core::ProviderKind, instance: &str)
    -> Result<String, String>;

    /// Reads an OpenEMR site's SMART configuration (or finds it has none): what Tether will
    /// use there. The error says what failed and what to check.
    async fn discover_site(
        &self,
        site_url: &str,
        site_name: Option<&str>,
    ) -> Result<SiteDiscovery, String>;

    /// Registers Tether as a confidential client at an OpenEMR site (dynamic registration).
    async fn register_site(
        &self,
        request: &SiteRegistrationRequest,
    ) -> Result<SiteRegistration, String>;
}

/// What an OpenEMR site's discovery found, as lines to show: (what, value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteDiscovery {
    /// The site's FHIR base, which Tether calls.
    pub fhir_base: String,
    /// Whether the site published a usable SMART configuration (otherwise Tether uses the
    /// documented paths).
    pub smart_configuration: bool,
    pub facts: Vec<(String, String)>,
}

/// What to register at an OpenEMR site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRegistrationRequest {
    pub site_url: String,
    pub site_name: Option<String>,
    /// Shown on OpenEMR's screens.
    pub client_name: String,
    /// E-mail addresses of the people responsible for the client.
    pub contacts: Vec<String>,
    /// Tether's OpenEMR callback (filled in from the public URL).
    pub redirect_uri: String,
}

/// A client registered at an OpenEMR site.
#[derive(Debug)]
pub struct SiteRegistration {
    pub client_id: String,
    /// OpenEMR shows it once: store it at once.
    pub client_secret: tether_core::secret::ClientSecret,
    pub site_url: String,
    pub site_name: String,
    pub fhir_base: String,
    pub scope: String,
    /// What the OpenEMR administrator must do next (enable the client, …).
    pub next_steps: Vec<String>,
}

/// One dependency `/readyz` checks.
#[async_trait]
pub trait ReadinessCheck: Send + Sync {
    fn name(&self) -> &'static str;
    async fn check(&self) -> Result<(), String>;
}

#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Tether's public base URL.
    pub public_url: url::Url,
    /// Largest request or upstream response body the proxy passes through.
    pub proxy_max_body: usize,
    /// Browser origins allowed to call the API (CORS); empty: none.
    pub cors_origins: Vec<String>,
    /// Send `Strict-Transport-Security`.
    pub hsts: bool,
    /// Requests per minute per client IP on the OAuth browser endpoints.
    pub oauth_rate_per_minute: u32,
    /// Requests per minute per caller on the rest of the API.
    pub api_rate_per_minute: u32,
    /// Failed authentications per minute per client address before its requests are refused.
    pub auth_failures_per_minute: u32,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` name the client (default: none).
    pub trusted_proxies: crate::client_addr::TrustedProxies,
}

impl ApiConfig {
    /// Cookies are `Secure` when Tether is served over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

pub struct ApiState {
    broker: Broker,
    /// The provider configuration version the broker's providers were built from.
    provider_version: tokio::sync::Mutex<Option<String>>,
    pub stores: ApiStores,
    pub jwt: JwtVerifier,
    pub api_keys: ApiKeys,
    pub config: ApiConfig,
    pub providers: Arc<dyn ProviderSource>,
    pub readiness: Vec<Arc<dyn ReadinessCheck>>,
    /// For proxied provider calls: timeouts, no redirects.
    pub proxy_http: reqwest::Client,
    pub metrics: Arc<Metrics>,
    /// Webhook endpoints (admin) and their delivery.
    pub webhooks: Webhooks,
    /// Hosted connect links (`POST /connect-sessions` and the `/connect` pages).
    pub connect_sessions: ConnectSessions,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ApiState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        broker: Broker,
        stores: ApiStores,
        jwt: JwtVerifier,
        api_keys: ApiKeys,
        config: ApiConfig,
        providers: Arc<dyn ProviderSource>,
        readiness: Vec<Arc<dyn ReadinessCheck>>,
        proxy_http: reqwest::Client,
        webhooks: Webhooks,
        connect_sessions: ConnectSessions,
    ) -> Self {
        Self {
            broker,
            provider_version: tokio::sync::Mutex::new(None),
            stores,
            jwt,
            api_keys,
            config,
            providers,
            readiness,
            proxy_http,
            metrics: Arc::new(Metrics::default()),
            webhooks,
            connect_sessions,
        }
    }

    /// The broker in force (cheap clone).
    pub fn broker(&self) -> Broker {
        self.broker.clone()
    }

    /// Connects the broker's reports (refreshes, token reads, scheduler lag) and the webhook
    /// worker's (deliveries, disabled endpoints, restarts) to the metrics.
    pub fn observe_broker(&self) {
        self.broker().observe(self.metrics.clone());
        self.webhooks.observe(self.metrics.clone());
    }

    /// Rebuilds the providers after a configuration change on this replica.
    pub async fn reload_providers(&self) -> Result<(), String> {
        let mut built_from = self.provider_version.lock().await;
        // Read before building: a change landing meanwhile makes the next sync build again.
        let version = self.providers.version().await?;
        self.broker.set_providers(self.providers.registry().await?);
        *built_from = Some(version);
        Ok(())
    }

    /// Rebuilds the providers when the stored configuration changed since they were built
    /// (another replica's admin change, or the first call). Answers whether it rebuilt.
    pub async fn sync_providers(&self) -> Result<bool, String> {
        let mut built_from = self.provider_version.lock().await;
        let version = self.providers.version().await?;
        if built_from.as_deref() == Some(version.as_str()) {
            return Ok(false);
        }
        self.broker.set_providers(self.providers.registry().await?);
        *built_from = Some(version);
        Ok(true)
    }
}
