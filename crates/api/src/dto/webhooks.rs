//! Webhook endpoints and deliveries as the admin API shows them. A secret appears only in
//! the answers to creating an endpoint and rotating its secret; delivery records never carry
//! a body.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tether_core::webhooks::{DeliveryRecord, WebhookEndpoint};
use tether_webhooks::TestSend;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::openapi::enums::{DeliveryStatus, EventType};

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointIn {
    /// Where events are POSTed: an `https://` URL on a public address.
    #[schema(
        example = "https://assistant.example.com/hooks/tether",
        pattern = "^https://",
        max_length = 2048
    )]
    pub url: String,
    /// For people: what receives these events (one line).
    #[serde(default)]
    #[schema(max_length = 500, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub description: Option<String>,
    /// Only these event types (see docs/events.md); empty or absent: every type.
    #[serde(default)]
    #[schema(
        value_type = Option<Vec<EventType>>,
        example = json!(["integration.reauth_required", "integration.revoked"])
    )]
    pub event_types: Option<Vec<String>>,
    /// Default true.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// A change to an endpoint: absent fields stay as they are; at least one is given.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct WebhookEndpointPatch {
    /// An `https://` URL on a public address.
    #[serde(default, deserialize_with = "given")]
    #[schema(value_type = String, required = false, pattern = "^https://", max_length = 2048)]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "given")]
    #[schema(value_type = String, required = false, max_length = 500, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub description: Option<String>,
    /// Empty: every type.
    #[serde(default, deserialize_with = "given")]
    #[schema(value_type = Vec<EventType>, required = false)]
    pub event_types: Option<Vec<String>>,
    /// `true` enables an endpoint again (also one disabled automatically), `false` pauses
    /// it. Events that happen while it is disabled are not queued for it.
    #[serde(default, deserialize_with = "given")]
    #[schema(value_type = bool, required = false)]
    pub enabled: Option<bool>,
}

/// A field that may be left out but, when given, is not null.
fn given<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointOut {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    /// Empty: every type.
    #[schema(value_type = Vec<EventType>)]
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why it is disabled: by an operator, or automatically after its deliveries kept
    /// failing (with the last error).
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Since when every delivery attempt has failed; null while it works.
    pub failing_since: Option<DateTime<Utc>>,
    /// After a rotation, the previous secret also signs until then.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<WebhookEndpoint> for WebhookEndpointOut {
    fn from(e: WebhookEndpoint) -> Self {
        Self {
            id: e.id.as_uuid(),
            url: e.url.to_string(),
            description: e.description,
            event_types: e
                .event_types
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            disabled_at: e.disabled_at,
            failing_since: e.failing_since,
            previous_secret_expires_at: e.previous_secret_expires_at,
            created_at: e.created_at,
            updated_at: e.updated_at,
            version: e.version,
        }
    }
}

/// An endpoint with its signing secret: the answer to creating it or rotating its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointSecretOut {
    #[serde(flatten)]
    pub endpoint: WebhookEndpointOut,
    /// `whsec_…`: verify signatures with it. Shown this once: store it now.
    pub secret: String,
}

/// How a test send went.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookTestOut {
    /// The test event's id (`webhook-id`); its type is `webhook.test`.
    pub event_id: String,
    /// Whether the endpoint answered 2xx.
    pub delivered: bool,
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    /// Why it failed, with an excerpt of the answer.
    pub error: Option<String>,
}

impl From<TestSend> for WebhookTestOut {
    fn from(t: TestSend) -> Self {
        Self {
            event_id: t.event_id,
            delivered: t.delivered,
            status_code: t.status_code,
            latency_ms: t.latency_ms,
            error: t.error,
        }
    }
}

/// One event's delivery to the endpoint (never its body).
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    pub event_id: Uuid,
    /// The event's position in the feed.
    pub event_seq: i64,
    #[schema(value_type = EventType, example = "integration.degraded")]
    pub event_type: String,
    #[schema(value_type = DeliveryStatus)]
    pub status: String,
    pub attempts: u32,
    /// When a pending delivery is tried next.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<u16>,
    pub last_latency_ms: Option<u64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<DeliveryRecord> for DeliveryOut {
    fn from(d: DeliveryRecord) -> Self {
        Self {
            event_id: d.event_id.as_uuid(),
            event_seq: d.event_seq,
            event_type: d.event_type.as_str().to_owned(),
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_attempt_at: d.last_attempt_at,
            last_status_code: d.last_status_code,
            last_latency_ms: d.last_latency_ms,
            last_error: d.last_error,
            delivered_at: d.delivered_at,
            created_at: d.created_at,
        }
    }
}

/// A page of deliveries, newest event first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPageOut {
    pub deliveries: Vec<DeliveryOut>,
    /// Pass as `before` for the next (older) page; null when this page is the last.
    pub next_before: Option<i64>,
}

/// Redeliver every kept event since a time.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeliverIn {
    /// Events that occurred at or after this time (RFC 3339), within the retention.
    pub since: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RedeliveryOut {
    /// How many events were queued for delivery again.
    pub queued: u64,
}
