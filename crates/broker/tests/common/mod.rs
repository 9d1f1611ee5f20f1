//! Test harness: the sandbox on port 0 as the upstream provider, real storage (SQLite or
//! PostgreSQL), real shared state (the database or Redis), and one or more brokers sharing
//! them, the way several replicas would.
#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the helpers"
)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tether_broker::{
    AuthorizationRequest, Broker, BrokerConfig, BrokerStores, CallbackParams, CallbackResult,
    ClientInfo, ProviderRegistry, ReturnToAllowlist, binding_cookie_name,
};
use tether_core::provider::Provider;
use tether_core::state::{FlowStateStore, LockManager};
use tether_core::{ProviderKind, ScopeSet, UserId};
use tether_provider_sandbox::SandboxProvider;
use tether_sandbox::{ClientConfig, GrantType, Sandbox, SandboxConfig, SandboxHandle};
use tether_state::{RedisState, RedisStateConfig, SqlFlowStore, SqlLocks};
use tether_storage::{SqlStore, TokenCipher};
use tether_testkit::{Engine, TestDb};

pub const CLIENT_ID: &str = "tether";
pub const CLIENT_SECRET: &str = "tether-secret";
pub const APP_CLIENT_ID: &str = "tether-app";
pub const PUBLIC_BASE: &str = "http://tether.test";
pub const RETURN_TO: &str = "https://app.example.com/settings/integrations";

/// Which shared-state implementation the brokers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// SQLite storage, flow state and locks in the database (the embedded default).
    Embedded,
    /// PostgreSQL storage, Redis flow state and locks (production).
    Production,
}

pub struct Harness {
    pub sandbox: SandboxHandle,
    pub db: TestDb,
    pub store: Arc<SqlStore>,
    pub brokers: Vec<Broker>,
    pub browser: reqwest::Client,
}

pub fn callback_uri(kind: ProviderKind) -> String {
    format!("{PUBLIC_BASE}/api/v1/oauth/{kind}/callback")
}

pub fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

pub fn client_info() -> ClientInfo {
    ClientInfo {
        ip: Some("203.0.113.9".into()),
        user_agent: Some("test-browser/1.0".into()),
    }
}

impl Harness {
    pub async fn start(mode: Mode) -> Self {
        Self::with(mode, 1, |_| {}).await
    }

    /// `brokers` replicas sharing one database and one shared-state store.
    pub async fn with(mode: Mode, brokers: usize, tweak: impl Fn(&mut BrokerConfig)) -> Self {
        let sandbox = Sandbox::start(SandboxConfig::with_clients([
            ClientConfig::new(CLIENT_ID, CLIENT_SECRET).with_redirect_uris(
                [ProviderKind::Google, ProviderKind::Microsoft].map(callback_uri),
            ),
            ClientConfig::new(APP_CLIENT_ID, CLIENT_SECRET),
        ]))
        .await
        .expect("sandbox starts");
        let db = TestDb::new(match mode {
            Mode::Embedded => Engine::Sqlite,
            Mode::Production => Engine::Postgres,
        })
        .await;
        let cipher = Arc::new(TokenCipher::new(&[TokenCipher::generate_key()]).unwrap());
        let store = Arc::new(SqlStore::new(db.conn.clone(), cipher.clone()));
        let (flows, locks): (Arc<dyn FlowStateStore>, Arc<dyn LockManager>) = match mode {
            Mode::Embedded => (
                Arc::new(SqlFlowStore::new(store.clone())),
                Arc::new(SqlLocks::new(store.clone())),
            ),
            Mode::Production => {
                let mut config = RedisStateConfig::new(tether_testkit::redis_url());
                config.key_prefix = format!("tether-test:{}:", uuid::Uuid::new_v4().simple());
                let redis = Arc::new(RedisState::new(&config, cipher).unwrap());
                (redis.clone(), redis)
            }
        };
        let http = reqwest::Client::new();
        let mut registry = ProviderRegistry::new();
        for kind in [ProviderKind::Google, ProviderKind::Microsoft] {
            registry.register(Arc::new(SandboxProvider::new(
                kind,
                sandbox.issuer(),
                CLIENT_ID,
                CLIENT_SECRET,
                http.clone(),
            )));
        }
        registry.register(Arc::new(SandboxProvider::new(
            ProviderKind::Orange,
            sandbox.issuer(),
            APP_CLIENT_ID,
            CLIENT_SECRET,
            http.clone(),
        )));
        let brokers = (0..brokers)
            .map(|_| {
                let mut config = BrokerConfig::new(
                    PUBLIC_BASE.parse().unwrap(),
                    ReturnToAllowlist::new(&["https://app.example.com/settings"]).unwrap(),
                );
                config.retry.base_delay = Duration::from_millis(20);
                tweak(&mut config);
                Broker::new(
                    config,
                    registry.clone(),
                    BrokerStores::from_store(store.clone()),
                    flows.clone(),
                    locks.clone(),
                )
                .unwrap()
            })
            .collect();
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            sandbox,
            db,
            store,
            brokers,
            browser,
        }
    }

    pub fn broker(&self) -> &Broker {
        &self.brokers[0]
    }

    /// Replaces a provider of every broker (for providers with special behaviour).
    pub fn rebuild_with(&mut self, provider: Arc<dyn Provider>) {
        for broker in &self.brokers {
            let mut registry = (*broker.providers()).clone();
            registry.register(provider.clone());
            broker.set_providers(registry);
        }
    }

    pub fn token_calls(&self, grant: GrantType) -> u64 {
        let client = if grant == GrantType::ClientCredentials {
            APP_CLIENT_ID
        } else {
            CLIENT_ID
        };
        self.sandbox.stats().token_calls(client, grant)
    }

    /// Steps 1 and 2: returns the provider authorize URL, the state and the binding cookie.
    pub async fn begin(&self, user_id: &str, kind: ProviderKind, scopes: Option<&str>) -> Pending {
        let start = self
            .broker()
            .begin_authorization(
                AuthorizationRequest {
                    user_id: user(user_id),
                    provider: kind,
                    instance: String::new(),
                    scopes: scopes.map(|s| ScopeSet::parse_delimited(s).unwrap()),
                    return_to: format!("{RETURN_TO}?tab=1"),
                    login_hint: None,
                },
                &client_info(),
            )
            .await
            .unwrap();
        let flow = start
            .start_url
            .query_pairs()
            .find(|(k, _)| k == "flow")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        assert!(
            start
                .start_url
                .as_str()
                .starts_with(&format!("{PUBLIC_BASE}/api/v1/oauth/{kind}/start?"))
        );
        let redirect = self.broker().start(kind, &flow).await.unwrap();
        let query: HashMap<String, String> =
            redirect.authorize_url.query_pairs().into_owned().collect();
        let state = query["state"].clone();
        assert_eq!(redirect.cookie_name, binding_cookie_name(&state));
        Pending {
            authorize_query: query,
            state,
            cookie: redirect.cookie_value.expose_secret().to_owned(),
        }
    }

    /// The user at the sandbox's consent page: allows `grant` (or denies with `None`).
    pub async fn consent(
        &self,
        pending: &Pending,
        username: &str,
        grant: Option<&[&str]>,
    ) -> CallbackParams {
        let mut form: Vec<(String, String)> = pending
            .authorize_query
            .iter()
            .filter(|(k, _)| k.as_str() != "scope")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        form.push(("username".into(), username.into()));
        match grant {
            Some(scopes) => {
                form.extend(scopes.iter().map(|s| ("scope".to_owned(), (*s).to_owned())));
                form.push(("decision".into(), "allow".into()));
            }
            None => form.push(("decision".into(), "deny".into())),
        }
        form.push((
            "requested_scope".into(),
            pending
                .authorize_query
                .get("scope")
                .cloned()
                .unwrap_or_default(),
        ));
        let response = self
            .browser
            .post(format!("{}/oauth/authorize", self.sandbox.issuer()))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 302, "{:?}", response.text().await);
        let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        let q: HashMap<String, String> = location.query_pairs().into_owned().collect();
        CallbackParams {
            state: q.get("state").cloned(),
            code: q.get("code").cloned(),
            error: q.get("error").cloned(),
            error_description: q.get("error_description").cloned(),
            iss: q.get("iss").cloned(),
        }
    }

    /// The whole flow for `username` granting every requested scope.
    pub async fn connect(
        &self,
        user_id: &str,
        kind: ProviderKind,
        username: &str,
    ) -> CallbackResult {
        let pending = self.begin(user_id, kind, None).await;
        let requested = pending.authorize_query["scope"].clone();
        let grant: Vec<&str> = requested.split(' ').collect();
        let params = self.consent(&pending, username, Some(&grant)).await;
        self.broker()
            .complete_callback(kind, params, Some(&pending.cookie), &client_info())
            .await
            .unwrap()
    }

    /// Moves the integration's stored token to its refresh point now (as if time had passed):
    /// the next read or scheduler pass must refresh it.
    pub async fn make_due(&self, id: tether_core::IntegrationId) {
        use tether_core::ports::{IntegrationRepository, TokenRepository};
        let owner = tether_core::token::TokenOwner::Integration(id);
        let mut stored = TokenRepository::get(&*self.store, &owner)
            .await
            .unwrap()
            .unwrap();
        let now = chrono::Utc::now();
        stored.tokens.expires_at = Some(now);
        TokenRepository::save(&*self.store, &owner, &stored.tokens, Some(stored.version))
            .await
            .unwrap();
        let mut integration = self.integration(id).await;
        integration.next_refresh_at = Some(now);
        IntegrationRepository::update(&*self.store, &integration)
            .await
            .unwrap();
    }

    pub async fn integration(&self, id: tether_core::IntegrationId) -> tether_core::Integration {
        tether_core::ports::IntegrationRepository::get(&*self.store, id)
            .await
            .unwrap()
            .expect("the integration exists")
    }

    pub async fn count(&self, table: &str) -> usize {
        self.db
            .query_all(&format!("SELECT 1 AS one FROM {table}"))
            .await
            .len()
    }
}

pub struct Pending {
    pub authorize_query: HashMap<String, String>,
    pub state: String,
    pub cookie: String,
}

/// Generates `embedded::NAME` and `postgres::redis::NAME` tests from `async fn NAME(Mode)`.
#[macro_export]
macro_rules! both_modes {
    ($($name:ident),+ $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::common::Mode::Embedded).await;
                }
            )+
        }
        mod postgres {
            mod redis {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $name() {
                        super::super::$name($crate::common::Mode::Production).await;
                    }
                )+
            }
        }
    };
}

/// The sandbox provider with test-only changes: token answers that lose their refresh token,
/// an OpenEMR-style launch context on the first token answer only, or scopes added to every
/// request (as Google adds `openid email`).
#[derive(Debug)]
pub struct Tweaked {
    pub inner: SandboxProvider,
    pub drop_refresh_token: bool,
    pub launch_context_once: Option<serde_json::Value>,
    pub launched: std::sync::atomic::AtomicBool,
    pub implicit: ScopeSet,
    /// The nonce each identity lookup was given.
    pub identity_nonces: std::sync::Mutex<Vec<Option<String>>>,
    /// Every identity lookup fails so (an ID token that does not verify).
    pub identity_refused: Option<tether_core::provider::ProviderError>,
}

impl Tweaked {
    /// No changes, standing in for `kind` at a sandbox that no test talks to (fields are
    /// meant to be replaced with `..Tweaked::default_for(kind)`).
    pub fn default_for(kind: ProviderKind) -> Self {
        Self {
            inner: SandboxProvider::new(
                kind,
                "http://127.0.0.1:9",
                CLIENT_ID,
                CLIENT_SECRET,
                reqwest::Client::new(),
            ),
            drop_refresh_token: false,
            launch_context_once: None,
            launched: Default::default(),
            implicit: ScopeSet::new(),
            identity_nonces: Default::default(),
            identity_refused: None,
        }
    }
}

#[async_trait::async_trait]
impl Provider for Tweaked {
    fn kind(&self) -> ProviderKind {
        self.inner.kind()
    }
    fn endpoints(&self) -> &tether_core::provider::ProviderEndpoints {
        self.inner.endpoints()
    }
    fn client(&self) -> &tether_core::provider::ClientCredentials {
        self.inner.client()
    }
    fn capabilities(&self) -> tether_core::provider::ProviderCapabilities {
        self.inner.capabilities()
    }
    fn default_scopes(&self) -> ScopeSet {
        self.inner.default_scopes()
    }
    fn scope_catalogue(&self) -> Vec<tether_core::scope_catalog::ScopeCatalogEntry> {
        self.inner.scope_catalogue()
    }
    fn implicit_scopes(&self) -> ScopeSet {
        self.implicit.clone()
    }
    fn parse_token_response(
        &self,
        body: &[u8],
    ) -> Result<tether_core::provider::RawTokenResponse, tether_core::provider::ProviderError> {
        let mut raw = self.inner.parse_token_response(body)?;
        if self.drop_refresh_token {
            raw.refresh_token = None;
        }
        Ok(raw)
    }
    async fn launch_context(
        &self,
        _: &tether_core::provider::RawTokenResponse,
        _: Option<&str>,
    ) -> Option<serde_json::Value> {
        let first = !self
            .launched
            .swap(true, std::sync::atomic::Ordering::SeqCst);
        self.launch_context_once.clone().filter(|_| first)
    }
    async fn fetch_identity(
        &self,
        token: &tether_core::secret::AccessToken,
        raw: &tether_core::provider::RawTokenResponse,
        nonce: Option<&str>,
    ) -> Result<tether_core::provider::AccountIdentity, tether_core::provider::ProviderError> {
        self.identity_nonces
            .lock()
            .unwrap()
            .push(nonce.map(str::to_owned));
        if let Some(refused) = &self.identity_refused {
            return Err(refused.clone());
        }
        self.inner.fetch_identity(token, raw, nonce).await
    }
    async fn test_connection(
        &self,
        token: &tether_core::secret::AccessToken,
    ) -> Result<tether_core::provider::ConnectionReport, tether_core::provider::ProviderError> {
        self.inner.test_connection(token).await
    }
}
