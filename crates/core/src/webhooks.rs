//! Webhooks: endpoints that receive the status-change events, and one delivery per endpoint
//! and event. Deliveries are created in the transaction that writes the event (the outbox), so
//! an event that commits is delivered at least once to every endpoint that wanted it when it
//! happened. The port [`WebhookRepository`] is implemented by `tether-storage`; signing,
//! sending and retrying live in `tether-webhooks`.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use url::Url;

use crate::closed_enum;
use crate::error::StorageResult;
use crate::events::{Event, EventId, EventType};
use crate::ids::WebhookEndpointId;
use crate::secret::WebhookSecret;

/// The `type` of the event a test send carries; never written to the outbox or the feed.
pub const TEST_EVENT_TYPE: &str = "webhook.test";

closed_enum! {
    /// Where a delivery stands.
    pub enum DeliveryStatus ("delivery status") {
        /// Not delivered yet: due at `next_attempt_at` (or being attempted).
        Pending = "pending",
        /// The endpoint answered 2xx.
        Delivered = "delivered",
        /// Every attempt of the retry schedule failed; Tether gave up (redeliver to try again).
        Failed = "failed",
    }
}

/// A destination for events, managed by operators.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub url: Url,
    pub description: String,
    /// The event types it receives; empty: every type.
    pub event_types: Vec<EventType>,
    pub enabled: bool,
    /// Why it is disabled, when it is (by an operator, or automatically after failing).
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Since when every attempt to it has failed (`None` after a success).
    pub failing_since: Option<DateTime<Utc>>,
    /// After a rotation, the replaced secret keeps signing (beside the new one) until then.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// The reason stored when an operator disables an endpoint (any other reason is Tether's own,
/// after failing deliveries).
pub const DISABLED_BY_OPERATOR: &str = "Disabled by an operator.";

/// Whether an endpoint receives events, and if not, who stopped it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointState {
    Enabled,
    /// By an operator.
    Disabled,
    /// By Tether, after its deliveries kept failing.
    AutoDisabled,
}

impl EndpointState {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointState::Enabled => "enabled",
            EndpointState::Disabled => "disabled",
            EndpointState::AutoDisabled => "auto-disabled",
        }
    }
}

impl std::fmt::Display for EndpointState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl WebhookEndpoint {
    /// Enabled, disabled by an operator, or disabled by Tether after failing.
    pub fn state(&self) -> EndpointState {
        match (self.enabled, self.disabled_reason.as_deref()) {
            (true, _) => EndpointState::Enabled,
            (false, None | Some(DISABLED_BY_OPERATOR)) => EndpointState::Disabled,
            (false, Some(_)) => EndpointState::AutoDisabled,
        }
    }

    /// Whether this endpoint wants events of this type.
    pub fn accepts(&self, event_type: EventType) -> bool {
        accepts(&self.event_types, event_type)
    }
}

/// Whether a filter (empty: everything) lets `event_type` through.
pub fn accepts(filter: &[EventType], event_type: EventType) -> bool {
    filter.is_empty() || filter.contains(&event_type)
}

/// A new endpoint with its first secret.
#[derive(Debug, Clone)]
pub struct NewWebhookEndpoint {
    pub id: WebhookEndpointId,
    pub url: Url,
    pub description: String,
    pub event_types: Vec<EventType>,
    pub enabled: bool,
    pub secret: WebhookSecret,
    pub at: DateTime<Utc>,
}

/// A change to an endpoint: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookEndpointPatch {
    pub url: Option<Url>,
    pub description: Option<String>,
    pub event_types: Option<Vec<EventType>>,
    pub enabled: Option<bool>,
}

impl WebhookEndpointPatch {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// The secrets that sign a request now: the current one, and the one it replaced while that
/// is within its grace period (receivers that have not switched yet still verify).
#[derive(Debug, Clone)]
pub struct SigningSecrets {
    pub current: WebhookSecret,
    pub previous: Option<WebhookSecret>,
}

/// One delivery row (of one event to one endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryId(pub i64);

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A delivery a worker holds (until its lease ends) and must attempt now.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: DeliveryId,
    pub endpoint_id: WebhookEndpointId,
    pub url: Url,
    pub secrets: SigningSecrets,
    pub event_id: EventId,
    pub event_type: EventType,
    /// The sequence it is delivered in ([`ordering_key`]).
    pub ordering_key: String,
    pub occurred_at: DateTime<Utc>,
    /// The event's JSON exactly as stored in the outbox: the request body.
    pub body: String,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    Delivered,
    RetryAt(DateTime<Utc>),
    /// The retry schedule is exhausted: the delivery is `failed`.
    GiveUp,
}

/// The outcome of one attempt, as recorded (never a body of the request).
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    pub at: DateTime<Utc>,
    /// The endpoint's HTTP status, when it answered.
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    /// A short, secret-free reason when it failed (with an excerpt of the answer).
    pub error: Option<String>,
    pub next: NextStep,
}

/// Disables the endpoint in the same transaction when this failed attempt extends a run of
/// failures that started before `failing_before`.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoDisable {
    pub failing_before: DateTime<Utc>,
    pub reason: String,
}

/// What recording an attempt did.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    Recorded {
        /// The endpoint, when this attempt got it disabled.
        disabled: Option<Box<WebhookEndpoint>>,
    },
    /// The claim had been taken over (its lease lapsed and another worker attempted the
    /// delivery): nothing was written.
    Stale,
}

/// A delivery as operators see it: never a body.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub event_seq: i64,
    pub event_id: EventId,
    pub event_type: EventType,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// When it is due again (pending deliveries only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<u16>,
    pub last_latency_ms: Option<u64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// What a redelivery request of one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redelivery {
    Queued,
    /// No such event in the outbox (never existed, or pruned after its retention).
    EventNotFound,
    /// The endpoint's event-type filter does not accept this event.
    FilteredOut,
}

/// The order in which an endpoint receives events: one sequence per integration (or per app
/// token), so `recovered` never overtakes the `degraded` it recovers from.
pub fn ordering_key(event: &Event) -> String {
    match event.data.integration_id {
        Some(id) => format!("integration:{id}"),
        None => format!(
            "app_token:{}:{}",
            event.data.provider,
            event.data.instance.as_deref().unwrap_or_default()
        ),
    }
}

#[async_trait]
pub trait WebhookRepository: Send + Sync {
    /// Stores a new endpoint, its secret encrypted.
    async fn create_endpoint(&self, new: NewWebhookEndpoint) -> StorageResult<WebhookEndpoint>;
    /// Oldest first.
    async fn list_endpoints(&self) -> StorageResult<Vec<WebhookEndpoint>>;
    async fn get_endpoint(&self, id: WebhookEndpointId) -> StorageResult<Option<WebhookEndpoint>>;
    /// Applies `patch`. Enabling an endpoint clears its disabled reason and its run of
    /// failures; disabling it by hand records `Disabled by an operator.`. `None` when it does
    /// not exist.
    async fn update_endpoint(
        &self,
        id: WebhookEndpointId,
        patch: &WebhookEndpointPatch,
        at: DateTime<Utc>,
    ) -> StorageResult<Option<WebhookEndpoint>>;
    /// Deletes the endpoint and its deliveries; whether it existed.
    async fn delete_endpoint(&self, id: WebhookEndpointId) -> StorageResult<bool>;
    /// Makes `secret` the signing secret; the one it replaces keeps signing beside it until
    /// `previous_until`. `None` when the endpoint does not exist.
    async fn rotate_secret(
        &self,
        id: WebhookEndpointId,
        secret: &WebhookSecret,
        previous_until: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> StorageResult<Option<WebhookEndpoint>>;
    /// The secrets that sign a request to the endpoint at `now`.
    async fn signing_secrets(
        &self,
        id: WebhookEndpointId,
        now: DateTime<Utc>,
    ) -> StorageResult<Option<SigningSecrets>>;
    /// Claims up to `limit` deliveries due at `now` until `claim_until`, earliest due first:
    /// pending, not held by another worker (or its lease lapsed), of an enabled endpoint,
    /// and the earliest pending one of its endpoint and ordering key (a delivery waits for
    /// the earlier events of its integration, across their retries). Concurrent claimers get
    /// disjoint rows (PostgreSQL `FOR UPDATE SKIP LOCKED`; SQLite serialises writers).
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u64,
        claim_until: DateTime<Utc>,
    ) -> StorageResult<Vec<ClaimedDelivery>>;
    /// Records an attempt of a claimed delivery and ends the claim, only if no other worker
    /// recorded one since the claim (else [`Recorded::Stale`]). A success ends the endpoint's
    /// run of failures; a failure starts one, and with `disable` may disable the endpoint.
    async fn record_attempt(
        &self,
        claimed: &ClaimedDelivery,
        record: &AttemptRecord,
        disable: Option<&AutoDisable>,
    ) -> StorageResult<Recorded>;
    /// The endpoint's deliveries, newest event first, at most `limit`, of events before
    /// position `before` when given.
    async fn list_deliveries(
        &self,
        id: WebhookEndpointId,
        limit: u64,
        before: Option<i64>,
    ) -> StorageResult<Vec<DeliveryRecord>>;
    /// Makes the delivery of `event` to the endpoint pending and due at `now` with a fresh
    /// retry schedule (creating it if there was none). `NotFound` when the endpoint is gone.
    async fn redeliver_event(
        &self,
        id: WebhookEndpointId,
        event: EventId,
        now: DateTime<Utc>,
    ) -> StorageResult<Redelivery>;
    /// The same for every kept event the endpoint's filter accepts that occurred at or after
    /// `since`; returns how many were queued.
    async fn redeliver_since(
        &self,
        id: WebhookEndpointId,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StorageResult<u64>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{AppTokenStatus, app_token_event};
    use crate::provider::ProviderKind;

    #[test]
    fn delivery_statuses_round_trip_and_reject_unknown_text() {
        for status in DeliveryStatus::ALL {
            assert_eq!(status.as_str().parse::<DeliveryStatus>().unwrap(), *status);
        }
        assert!("sent".parse::<DeliveryStatus>().is_err());
    }

    #[test]
    fn an_endpoint_is_enabled_disabled_by_an_operator_or_disabled_by_tether() {
        let now = chrono::Utc::now();
        let mut endpoint = WebhookEndpoint {
            id: crate::WebhookEndpointId::new(),
            url: "https://example.com/hooks".parse().unwrap(),
            description: String::new(),
            event_types: Vec::new(),
            enabled: true,
            disabled_reason: None,
            disabled_at: None,
            failing_since: None,
            previous_secret_expires_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        assert_eq!(endpoint.state(), EndpointState::Enabled);
        endpoint.enabled = false;
        endpoint.disabled_reason = Some(DISABLED_BY_OPERATOR.to_owned());
        assert_eq!(endpoint.state(), EndpointState::Disabled);
        endpoint.disabled_reason = Some("Every delivery failed for 5 days.".to_owned());
        assert_eq!(endpoint.state(), EndpointState::AutoDisabled);
        assert_eq!(endpoint.state().to_string(), "auto-disabled");
    }

    #[test]
    fn an_empty_filter_accepts_every_type_and_a_list_only_its_own() {
        assert!(EventType::ALL.iter().all(|t| accepts(&[], *t)));
        let only = [EventType::IntegrationRevoked];
        assert!(accepts(&only, EventType::IntegrationRevoked));
        assert!(!accepts(&only, EventType::IntegrationDegraded));
    }

    #[test]
    fn app_token_events_are_ordered_per_provider_instance() {
        let at = Utc::now();
        let failed = app_token_event(
            ProviderKind::Orange,
            "default",
            None,
            AppTokenStatus::Failed,
            at,
        )
        .unwrap();
        assert_eq!(ordering_key(&failed), "app_token:orange:default");
        let other = app_token_event(
            ProviderKind::Orange,
            "other",
            None,
            AppTokenStatus::Failed,
            at,
        )
        .unwrap();
        assert_ne!(ordering_key(&failed), ordering_key(&other));
    }
}
