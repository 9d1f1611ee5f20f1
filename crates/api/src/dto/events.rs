//! The event feed's answer: events as webhooks deliver them, with their feed positions.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tether_core::events::{Event, ScopeChange};
use tether_core::ports::StoredEvent;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::openapi::enums::{EventReason, EventType, Provider};

/// One page of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPageOut {
    /// Oldest first.
    pub events: Vec<EventOut>,
    /// Pass as `after` to get the next page (the last event's `seq`, or `after` unchanged
    /// when there was none).
    pub next_after: i64,
}

/// A status change. The same JSON (without `seq`) is a webhook's body.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    /// Position in the feed: rises in commit order.
    pub seq: i64,
    /// UUIDv7; a webhook's `webhook-id`. Use it to drop duplicates.
    pub id: Uuid,
    #[serde(rename = "type")]
    #[schema(value_type = EventType, example = "integration.reauth_required")]
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    pub data: EventDataOut,
}

/// What the event is about.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDataOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[schema(value_type = Provider, example = "google")]
    pub provider: String,
    /// App-token events: the provider instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_label: Option<String>,
    /// The status after the change.
    #[schema(example = "reauth_required")]
    pub status: String,
    /// The status before it; null for a new connection.
    pub previous_status: Option<String>,
    #[schema(value_type = EventReason, example = "grant_refused")]
    pub reason: String,
    /// A plain sentence for people.
    pub message: String,
    /// `integration.connected`: whether it was a reconnect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconnect: Option<bool>,
    /// `integration.scopes_changed` and `integration.insufficient_scopes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<ScopeChangeOut>,
}

/// How the granted scopes changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScopeChangeOut {
    pub granted: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

impl From<ScopeChange> for ScopeChangeOut {
    fn from(c: ScopeChange) -> Self {
        Self {
            granted: c.granted,
            added: c.added,
            removed: c.removed,
        }
    }
}

impl From<StoredEvent> for EventOut {
    fn from(stored: StoredEvent) -> Self {
        let Event {
            id,
            event_type,
            occurred_at,
            data,
        } = stored.event;
        Self {
            seq: stored.seq,
            id: id.as_uuid(),
            event_type: event_type.as_str().to_owned(),
            occurred_at,
            data: EventDataOut {
                integration_id: data.integration_id.map(|i| i.as_uuid()),
                user_id: data.user_id.map(String::from),
                provider: data.provider.as_str().to_owned(),
                instance: data.instance,
                account_label: data.account_label,
                status: data.status,
                previous_status: data.previous_status,
                reason: data.reason.as_str().to_owned(),
                message: data.message,
                reconnect: data.reconnect,
                scopes: data.scopes.map(Into::into),
            },
        }
    }
}
