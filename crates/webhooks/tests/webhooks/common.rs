//! Shared fixtures: a store with a webhooks service on a manual clock, integrations driven
//! through real status changes, a counting observer and a recording receiver.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::Utc;
use tether_core::audit::Actor;
use tether_core::consent::NewConsent;
use tether_core::events::ReasonCode;
use tether_core::integration::{Integration, IntegrationStatus, NewIntegration};
use tether_core::ports::{ConnectionWrite, IntegrationRepository, IntegrationWrite};
use tether_core::secret::{AccessToken, RefreshToken, WebhookSecret};
use tether_core::token::TokenSet;
use tether_core::webhooks::WebhookEndpoint;
use tether_core::{IntegrationId, ProviderKind, ScopeSet, UserId};
use tether_storage::{SqlStore, TokenCipher};
use tether_testkit::TestDb;
use tether_webhooks::destination::DestinationPolicy;
use tether_webhooks::{ManualClock, NewEndpoint, WebhookObserver, WebhookSettings, Webhooks};
use wiremock::{MockServer, Request};

/// Settings that reach a wiremock receiver on 127.0.0.1 over plain http.
pub fn loopback_settings() -> WebhookSettings {
    WebhookSettings {
        destinations: DestinationPolicy {
            allow_http: true,
            allow_private: true,
        },
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(5),
        ..WebhookSettings::default()
    }
}

/// Everything a delivery test needs, on one database.
pub struct Harness {
    pub store: Arc<SqlStore>,
    pub clock: Arc<ManualClock>,
    pub webhooks: Webhooks,
    pub observed: Arc<Counting>,
}

impl Harness {
    pub fn new(db: &TestDb, settings: WebhookSettings) -> Self {
        let cipher = Arc::new(TokenCipher::new(&[TokenCipher::generate_key()]).unwrap());
        let store = Arc::new(SqlStore::new(db.conn.clone(), cipher));
        Self::on(store, settings, Arc::new(ManualClock::starting_now()))
    }

    /// Another service (a replica) on its own store, sharing the clock.
    pub fn on(store: Arc<SqlStore>, settings: WebhookSettings, clock: Arc<ManualClock>) -> Self {
        let webhooks =
            Webhooks::with_clock(store.clone(), store.clone(), settings, clock.clone()).unwrap();
        let observed = Arc::new(Counting::default());
        webhooks.observe(observed.clone());
        Self {
            store,
            clock,
            webhooks,
            observed,
        }
    }

    /// An endpoint for `url` receiving every event type; its secret.
    pub async fn endpoint(&self, url: &str) -> (WebhookEndpoint, WebhookSecret) {
        self.webhooks
            .create(
                &Actor::System,
                NewEndpoint {
                    url: url.to_owned(),
                    description: "test receiver".to_owned(),
                    event_types: Vec::new(),
                    enabled: true,
                },
            )
            .await
            .unwrap()
    }

    /// Moves the clock past every delivery created so far (they are due at the system's time
    /// when written).
    pub fn catch_up(&self) {
        let behind = Utc::now() - tether_webhooks::Clock::now(self.clock.as_ref());
        if behind > chrono::Duration::zero() {
            self.clock
                .advance(behind + chrono::Duration::milliseconds(1));
        }
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
    }
}

pub async fn connect(store: &SqlStore, account: &str) -> Integration {
    let new = NewIntegration {
        id: IntegrationId::new(),
        user_id: UserId::parse("u1").unwrap(),
        provider: ProviderKind::Google,
        provider_account_id: account.to_owned(),
        account_label: Some(format!("{account}@example.com")),
        status: IntegrationStatus::Active,
        requested_scopes: ScopeSet::parse_delimited("openid email").unwrap(),
        granted_scopes: ScopeSet::parse_delimited("openid email").unwrap(),
        metadata: serde_json::json!({}),
        next_refresh_at: None,
    };
    let consent = NewConsent {
        integration_id: new.id,
        user_id: new.user_id.clone(),
        scopes: new.granted_scopes.clone(),
        granted_at: Utc::now(),
        expires_at: None,
        ip_address: None,
        user_agent: None,
        consent_version: "test".to_owned(),
    };
    let (integration, _, _) = store
        .save_connection(ConnectionWrite {
            integration: IntegrationWrite::Create(new),
            tokens: TokenSet {
                access_token: AccessToken::new("access"),
                refresh_token: Some(RefreshToken::new("refresh")),
                token_type: "Bearer".to_owned(),
                expires_at: None,
                refresh_expires_at: None,
                scope: None,
                launch_context: None,
            },
            consent,
        })
        .await
        .unwrap();
    integration
}

/// Moves an integration to `status` through the lifecycle write (with its event).
pub async fn set_status(
    store: &SqlStore,
    integration: &Integration,
    status: IntegrationStatus,
) -> Integration {
    let mut wanted = integration.clone();
    wanted.status = status;
    let reason = match status {
        IntegrationStatus::Degraded => ReasonCode::ProviderUnavailable,
        IntegrationStatus::ReauthRequired => ReasonCode::GrantRefused,
        _ => ReasonCode::RefreshSucceeded,
    };
    store
        .update_lifecycle(integration, &wanted, reason)
        .await
        .unwrap()
        .unwrap()
}

/// What the receiver got, in order: (webhook-id, body as JSON).
pub async fn received(server: &MockServer) -> Vec<(String, serde_json::Value)> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                header(r, "webhook-id"),
                serde_json::from_slice(&r.body).unwrap(),
            )
        })
        .collect()
}

pub fn header(request: &Request, name: &str) -> String {
    request
        .headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Counts what the worker reports.
#[derive(Debug, Default)]
pub struct Counting {
    pub delivered: AtomicUsize,
    pub retried: AtomicUsize,
    pub failed: AtomicUsize,
    pub disabled: AtomicUsize,
}

impl Counting {
    pub fn get(counter: &AtomicUsize) -> usize {
        counter.load(Ordering::SeqCst)
    }
}

impl WebhookObserver for Counting {
    fn attempt(&self, outcome: &'static str) {
        let counter = match outcome {
            "delivered" => &self.delivered,
            "retry" => &self.retried,
            _ => &self.failed,
        };
        counter.fetch_add(1, Ordering::SeqCst);
    }
    fn delivered_after(&self, _delay: Duration) {}
    fn endpoint_disabled(&self) {
        self.disabled.fetch_add(1, Ordering::SeqCst);
    }
    fn worker_running(&self, _running: bool) {}
    fn worker_restarted(&self) {}
}
