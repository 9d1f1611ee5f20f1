//! Status-change events: what the product is told when a connection changes, so it can ask a
//! user to reconnect before a token read fails.
//!
//! An event is derived from a committed state change: [`integration_events`] compares an
//! integration before and after a write, [`app_token_event`] an app token's status. Storage
//! writes the events in the same transaction as the change (the outbox), so each transition
//! has exactly one event and a change that rolls back has none. Payloads carry ids, statuses,
//! a stable reason code and a plain message: never a token, code, secret or provider body.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::closed_enum;
pub use crate::ids::EventId;
use crate::ids::{IntegrationId, UserId};
use crate::integration::{Integration, IntegrationStatus};
use crate::provider::ProviderKind;
use crate::scope::ScopeSet;

closed_enum! {
    /// What happened. The catalogue with an example of each is in `docs/events.md`.
    pub enum EventType ("event type") {
        /// A user connected an account, or reconnected one (`reconnect`).
        IntegrationConnected = "integration.connected",
        /// The granted scopes differ from before (a reconnect, or a refresh that reports them).
        IntegrationScopesChanged = "integration.scopes_changed",
        /// A required scope is missing: the user must reconnect and grant it.
        IntegrationInsufficientScopes = "integration.insufficient_scopes",
        /// Refreshes keep failing for a transient reason (the provider is down); still retrying.
        IntegrationDegraded = "integration.degraded",
        /// A degraded integration refreshed again.
        IntegrationRecovered = "integration.recovered",
        /// The provider refused the grant for good: the user must reconnect.
        IntegrationReauthRequired = "integration.reauth_required",
        /// Disconnected (by the user, a service or an operator).
        IntegrationRevoked = "integration.revoked",
        /// A client-credentials token (Orange) could not be obtained.
        AppTokenFailed = "app_token.failed",
        /// A client-credentials token was obtained again after failing.
        AppTokenRecovered = "app_token.recovered",
    }
}

closed_enum! {
    /// Why it happened: stable codes a consumer may switch on.
    pub enum ReasonCode ("event reason") {
        /// The user connected this account for the first time.
        Connected = "connected",
        /// The user connected this account again.
        Reconnected = "reconnected",
        /// The user did not grant a scope the integration requires.
        RequiredScopesNotGranted = "required_scopes_not_granted",
        /// A refresh reported that the user withdrew a scope.
        ScopesWithdrawn = "scopes_withdrawn",
        /// A refresh succeeded.
        RefreshSucceeded = "refresh_succeeded",
        /// Refreshes failed for a transient reason (network, 5xx, 429).
        ProviderUnavailable = "provider_unavailable",
        /// The provider refused the refresh token (revoked, expired, consent withdrawn).
        GrantRefused = "grant_refused",
        /// The access token expired and the provider issued no refresh token.
        NoRefreshToken = "no_refresh_token",
        /// The user disconnected the account.
        DisconnectedByUser = "disconnected_by_user",
        /// A backend service disconnected the account (service API key).
        DisconnectedByService = "disconnected_by_service",
        /// An operator disconnected the account (admin API key, CLI or console).
        DisconnectedByOperator = "disconnected_by_operator",
        /// The provider refused the app's client credentials or failed to answer.
        AppTokenRequestFailed = "app_token_request_failed",
        /// The provider issued an app token again.
        AppTokenIssued = "app_token_issued",
    }
}

impl ReasonCode {
    /// A plain sentence for people (a product may show it), naming the provider.
    pub fn message(&self, provider: &str) -> String {
        match self {
            ReasonCode::Connected => format!("The user connected their {provider} account."),
            ReasonCode::Reconnected => format!("The user reconnected their {provider} account."),
            ReasonCode::RequiredScopesNotGranted => format!(
                "The user did not grant {provider} permissions this integration needs; they must reconnect and grant them."
            ),
            ReasonCode::ScopesWithdrawn => format!(
                "{provider} no longer grants permissions this integration needs; the user must reconnect and grant them."
            ),
            ReasonCode::RefreshSucceeded => {
                format!("The {provider} connection works again.")
            }
            ReasonCode::ProviderUnavailable => format!(
                "{provider} is not answering token refreshes; Tether keeps retrying and hands out tokens while they last."
            ),
            ReasonCode::GrantRefused => format!(
                "{provider} no longer accepts this connection (revoked, expired or consent withdrawn); the user must reconnect."
            ),
            ReasonCode::NoRefreshToken => format!(
                "The {provider} access token expired and {provider} issued no refresh token; the user must reconnect."
            ),
            ReasonCode::DisconnectedByUser => {
                format!("The user disconnected their {provider} account.")
            }
            ReasonCode::DisconnectedByService => {
                format!("A backend service disconnected this {provider} account.")
            }
            ReasonCode::DisconnectedByOperator => {
                format!("An operator disconnected this {provider} account.")
            }
            ReasonCode::AppTokenRequestFailed => format!(
                "Tether could not obtain a {provider} app token; calls that need it fail until it can."
            ),
            ReasonCode::AppTokenIssued => format!("{provider} issues app tokens again."),
        }
    }
}

/// How the granted scopes changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeChange {
    /// Everything granted now.
    pub granted: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// One event, as delivered (webhook body and feed entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub occurred_at: DateTime<Utc>,
    pub data: EventData,
}

/// What an event is about. Integration events name the integration and its user; app-token
/// events name the provider instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventData {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub integration_id: Option<IntegrationId>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_id: Option<UserId>,
    pub provider: ProviderKind,
    /// The provider instance of an app token (`default`, or an OpenEMR site).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub instance: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub account_label: Option<String>,
    /// The status after the change (an integration status, or `ok` / `failed` for app tokens).
    pub status: String,
    /// The status before it; `None` for a new connection.
    pub previous_status: Option<String>,
    pub reason: ReasonCode,
    pub message: String,
    /// On `integration.connected`: whether this was a reconnect of an existing integration.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reconnect: Option<bool>,
    /// On `integration.scopes_changed` and `integration.insufficient_scopes`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scopes: Option<ScopeChange>,
}

/// Why an integration's state is being written; with the row before and after, it decides
/// the events ([`integration_events`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The connect flow's callback stored tokens (new connection or reconnect).
    Connect,
    /// A refresh, or a refresh failure with this reason.
    Lifecycle(ReasonCode),
    /// A disconnect with this reason.
    Disconnect(ReasonCode),
}

/// The events a committed change of an integration emits, in order: none when nothing a
/// consumer cares about changed (a repeated failure in the same status, a routine refresh).
/// `before` is `None` for a new integration.
pub fn integration_events(
    before: Option<&Integration>,
    after: &Integration,
    cause: Cause,
    at: DateTime<Utc>,
) -> Vec<Event> {
    let provider_name = after.provider.display_name();
    let previous = before.map(|b| b.status);
    let changed = before
        .map(|b| scope_change(&b.granted_scopes, &after.granted_scopes))
        .filter(|c| !c.added.is_empty() || !c.removed.is_empty());
    let mut events = Vec::new();
    let mut push = |event_type, reason: ReasonCode, scopes: Option<ScopeChange>, reconnect| {
        events.push(Event {
            id: EventId::new(),
            event_type,
            occurred_at: at,
            data: EventData {
                integration_id: Some(after.id),
                user_id: Some(after.user_id.clone()),
                provider: after.provider,
                instance: None,
                account_label: after.account_label.clone(),
                status: after.status.as_str().to_owned(),
                previous_status: previous.map(|p| p.as_str().to_owned()),
                reason,
                message: reason.message(provider_name),
                reconnect,
                scopes,
            },
        });
    };
    let everything = || scope_change(&ScopeSet::default(), &after.granted_scopes);
    match cause {
        Cause::Connect => {
            if after.status == IntegrationStatus::InsufficientScopes {
                push(
                    EventType::IntegrationInsufficientScopes,
                    ReasonCode::RequiredScopesNotGranted,
                    Some(changed.clone().unwrap_or_else(everything)),
                    None,
                );
            } else {
                let reason = if before.is_some() {
                    ReasonCode::Reconnected
                } else {
                    ReasonCode::Connected
                };
                push(
                    EventType::IntegrationConnected,
                    reason,
                    None,
                    Some(before.is_some()),
                );
            }
            if let Some(change) = changed {
                push(
                    EventType::IntegrationScopesChanged,
                    ReasonCode::Reconnected,
                    Some(change),
                    None,
                );
            }
        }
        Cause::Lifecycle(reason) | Cause::Disconnect(reason) => {
            if let Some(change) = changed.clone() {
                push(
                    EventType::IntegrationScopesChanged,
                    if change.removed.is_empty() {
                        reason
                    } else {
                        ReasonCode::ScopesWithdrawn
                    },
                    Some(change),
                    None,
                );
            }
            if previous != Some(after.status) {
                let event_type = match after.status {
                    IntegrationStatus::Active => Some(EventType::IntegrationRecovered),
                    IntegrationStatus::Degraded => Some(EventType::IntegrationDegraded),
                    IntegrationStatus::ReauthRequired => Some(EventType::IntegrationReauthRequired),
                    IntegrationStatus::InsufficientScopes => {
                        Some(EventType::IntegrationInsufficientScopes)
                    }
                    IntegrationStatus::Revoked => Some(EventType::IntegrationRevoked),
                };
                if let Some(event_type) = event_type {
                    let scopes = (after.status == IntegrationStatus::InsufficientScopes)
                        .then(|| changed.unwrap_or_else(everything));
                    push(event_type, reason, scopes, None);
                }
            }
        }
    }
    events
}

fn scope_change(before: &ScopeSet, after: &ScopeSet) -> ScopeChange {
    let names = |set: &ScopeSet| {
        set.iter()
            .map(|s| s.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    ScopeChange {
        granted: names(after),
        added: names(&after.missing_from(before)),
        removed: names(&before.missing_from(after)),
    }
}

/// The status of an app token (client credentials) as events report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppTokenStatus {
    Ok,
    Failed,
}

impl AppTokenStatus {
    pub const fn as_str(&self) -> &'static str {
        match self {
            AppTokenStatus::Ok => "ok",
            AppTokenStatus::Failed => "failed",
        }
    }
}

/// The event of an app token's status change, if it is one (`previous` is `None` before its
/// first request: a first success is not a recovery).
pub fn app_token_event(
    provider: ProviderKind,
    instance: &str,
    previous: Option<AppTokenStatus>,
    now: AppTokenStatus,
    at: DateTime<Utc>,
) -> Option<Event> {
    let provider_name = provider.display_name();
    let (event_type, reason) = match (previous, now) {
        (Some(AppTokenStatus::Failed), AppTokenStatus::Ok) => {
            (EventType::AppTokenRecovered, ReasonCode::AppTokenIssued)
        }
        (None | Some(AppTokenStatus::Ok), AppTokenStatus::Failed) => {
            (EventType::AppTokenFailed, ReasonCode::AppTokenRequestFailed)
        }
        _ => return None,
    };
    Some(Event {
        id: EventId::new(),
        event_type,
        occurred_at: at,
        data: EventData {
            integration_id: None,
            user_id: None,
            provider,
            instance: Some(instance.to_owned()),
            account_label: None,
            status: now.as_str().to_owned(),
            previous_status: previous.map(|p| p.as_str().to_owned()),
            reason,
            message: reason.message(provider_name),
            reconnect: None,
            scopes: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::IntegrationId;

    fn integration(status: IntegrationStatus, granted: &str) -> Integration {
        let now = Utc::now();
        Integration {
            id: IntegrationId::new(),
            user_id: UserId::parse("u1").unwrap(),
            provider: ProviderKind::Google,
            provider_account_id: "sub".into(),
            account_label: Some("a@example.com".into()),
            status,
            requested_scopes: ScopeSet::parse_delimited("openid email").unwrap(),
            granted_scopes: ScopeSet::parse_delimited(granted).unwrap(),
            metadata: serde_json::Value::Null,
            last_refreshed_at: None,
            last_used_at: None,
            next_refresh_at: None,
            failure_count: 0,
            last_error: None,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    fn types(events: &[Event]) -> Vec<&'static str> {
        events.iter().map(|e| e.event_type.as_str()).collect()
    }

    fn with_status(i: &Integration, status: IntegrationStatus) -> Integration {
        Integration {
            status,
            ..i.clone()
        }
    }

    #[test]
    fn a_new_connection_is_connected_and_not_a_reconnect() {
        let after = integration(IntegrationStatus::Active, "openid email");
        let events = integration_events(None, &after, Cause::Connect, Utc::now());
        assert_eq!(types(&events), ["integration.connected"]);
        let data = &events[0].data;
        assert_eq!(data.reconnect, Some(false));
        assert_eq!(data.reason, ReasonCode::Connected);
        assert_eq!(data.previous_status, None);
        assert_eq!(data.integration_id, Some(after.id));
        assert!(data.message.contains("Google"), "{}", data.message);
    }

    #[test]
    fn a_reconnect_with_other_scopes_is_connected_and_scopes_changed() {
        let before = integration(IntegrationStatus::ReauthRequired, "openid email");
        let mut after = with_status(&before, IntegrationStatus::Active);
        after.granted_scopes = ScopeSet::parse_delimited("openid email calendar").unwrap();
        let events = integration_events(Some(&before), &after, Cause::Connect, Utc::now());
        assert_eq!(
            types(&events),
            ["integration.connected", "integration.scopes_changed"]
        );
        assert_eq!(events[0].data.reconnect, Some(true));
        assert_eq!(
            events[0].data.previous_status.as_deref(),
            Some("reauth_required")
        );
        let change = events[1].data.scopes.as_ref().unwrap();
        assert_eq!(change.added, ["calendar"]);
        assert!(change.removed.is_empty());
    }

    #[test]
    fn a_reconnect_that_loses_a_required_scope_is_insufficient_scopes() {
        let before = integration(IntegrationStatus::Active, "openid email");
        let mut after = with_status(&before, IntegrationStatus::InsufficientScopes);
        after.granted_scopes = ScopeSet::parse_delimited("openid").unwrap();
        let events = integration_events(Some(&before), &after, Cause::Connect, Utc::now());
        assert_eq!(
            types(&events),
            [
                "integration.insufficient_scopes",
                "integration.scopes_changed"
            ]
        );
        assert_eq!(events[0].data.scopes.as_ref().unwrap().removed, ["email"]);
    }

    #[test]
    fn status_transitions_emit_once_and_repeats_emit_nothing() {
        let active = integration(IntegrationStatus::Active, "openid email");
        let degraded = with_status(&active, IntegrationStatus::Degraded);
        let lifecycle = Cause::Lifecycle(ReasonCode::ProviderUnavailable);
        let now = Utc::now();
        assert_eq!(
            types(&integration_events(
                Some(&active),
                &degraded,
                lifecycle,
                now
            )),
            ["integration.degraded"]
        );
        assert!(integration_events(Some(&degraded), &degraded, lifecycle, now).is_empty());
        assert!(integration_events(Some(&active), &active, lifecycle, now).is_empty());
        let recovered = integration_events(
            Some(&degraded),
            &active,
            Cause::Lifecycle(ReasonCode::RefreshSucceeded),
            now,
        );
        assert_eq!(types(&recovered), ["integration.recovered"]);
        assert_eq!(
            recovered[0].data.previous_status.as_deref(),
            Some("degraded")
        );
        let reauth = with_status(&active, IntegrationStatus::ReauthRequired);
        assert_eq!(
            types(&integration_events(
                Some(&degraded),
                &reauth,
                Cause::Lifecycle(ReasonCode::GrantRefused),
                now
            )),
            ["integration.reauth_required"]
        );
        let revoked = with_status(&active, IntegrationStatus::Revoked);
        let events = integration_events(
            Some(&active),
            &revoked,
            Cause::Disconnect(ReasonCode::DisconnectedByUser),
            now,
        );
        assert_eq!(types(&events), ["integration.revoked"]);
        assert_eq!(events[0].data.reason, ReasonCode::DisconnectedByUser);
    }

    #[test]
    fn app_tokens_emit_on_failure_and_on_recovery_only() {
        let now = Utc::now();
        let event = |previous, status| {
            app_token_event(ProviderKind::Orange, "default", previous, status, now)
                .map(|e| e.event_type.as_str())
        };
        assert_eq!(event(None, AppTokenStatus::Ok), None);
        assert_eq!(
            event(None, AppTokenStatus::Failed),
            Some("app_token.failed")
        );
        assert_eq!(
            event(Some(AppTokenStatus::Ok), AppTokenStatus::Failed),
            Some("app_token.failed")
        );
        assert_eq!(
            event(Some(AppTokenStatus::Failed), AppTokenStatus::Failed),
            None
        );
        assert_eq!(
            event(Some(AppTokenStatus::Failed), AppTokenStatus::Ok),
            Some("app_token.recovered")
        );
    }

    #[test]
    fn payloads_serialize_with_the_type_tag_and_no_empty_fields() {
        let after = integration(IntegrationStatus::Active, "openid email");
        let event = integration_events(None, &after, Cause::Connect, Utc::now()).remove(0);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "integration.connected");
        assert_eq!(json["data"]["status"], "active");
        assert_eq!(json["data"]["previous_status"], serde_json::Value::Null);
        assert!(json["data"].get("scopes").is_none());
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }
}
