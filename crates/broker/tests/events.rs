//! Status-change events through the broker: a connection's whole life emits exactly one event
//! per transition, in order, and a failure repeated in the same status emits nothing new.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

mod common;

use common::{Harness, Mode, client_info, user};
use tether_core::ProviderKind;
use tether_core::audit::Actor;
use tether_core::events::{EventType, ReasonCode};
use tether_core::ports::{EventRepository, StoredEvent};
use tether_sandbox::{Failure, GrantType};

const SERVICE: Actor = Actor::System;

async fn events(h: &Harness) -> Vec<StoredEvent> {
    h.store.list_after(0, 1000, &[]).await.unwrap()
}

async fn kinds(h: &Harness) -> Vec<&'static str> {
    events(h)
        .await
        .iter()
        .map(|e| e.event.event_type.as_str())
        .collect()
}

async fn a_connections_life_emits_one_event_per_transition(mode: Mode) {
    let h = Harness::with(mode, 1, |c| {
        c.retry.max_attempts = 1;
        c.degraded_after_failures = 1;
    })
    .await;
    let id = h
        .connect("alice", ProviderKind::Google, "alice")
        .await
        .integration_id
        .unwrap();
    assert_eq!(kinds(&h).await, ["integration.connected"]);

    // Two transient failures in a row: one `degraded`.
    for _ in 0..2 {
        h.make_due(id).await;
        h.sandbox
            .controls()
            .fail_next_for(GrantType::RefreshToken, 1, Failure::Status(500));
        h.broker().force_refresh(id, &SERVICE).await.unwrap_err();
    }
    assert_eq!(
        kinds(&h).await,
        ["integration.connected", "integration.degraded"]
    );

    // Recovery, then a refusal for good.
    h.broker().force_refresh(id, &SERVICE).await.unwrap();
    h.sandbox
        .controls()
        .fail_next_for(GrantType::RefreshToken, 1, Failure::InvalidGrant);
    h.broker().force_refresh(id, &SERVICE).await.unwrap_err();

    // The user reconnects, then disconnects.
    h.connect("alice", ProviderKind::Google, "alice").await;
    h.broker()
        .revoke(id, &Actor::User(user("alice")), &client_info())
        .await
        .unwrap();

    let all = events(&h).await;
    let got: Vec<_> = all
        .iter()
        .map(|e| (e.event.event_type, e.event.data.reason))
        .collect();
    assert_eq!(
        got,
        [
            (EventType::IntegrationConnected, ReasonCode::Connected),
            (
                EventType::IntegrationDegraded,
                ReasonCode::ProviderUnavailable
            ),
            (
                EventType::IntegrationRecovered,
                ReasonCode::RefreshSucceeded
            ),
            (
                EventType::IntegrationReauthRequired,
                ReasonCode::GrantRefused
            ),
            (EventType::IntegrationConnected, ReasonCode::Reconnected),
            (
                EventType::IntegrationRevoked,
                ReasonCode::DisconnectedByUser
            ),
        ]
    );
    assert!(all.iter().all(|e| e.event.data.integration_id == Some(id)));
    let statuses: Vec<_> = all
        .iter()
        .map(|e| {
            format!(
                "{}->{}",
                e.event.data.previous_status.as_deref().unwrap_or("none"),
                e.event.data.status
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            "none->active",
            "active->degraded",
            "degraded->active",
            "active->reauth_required",
            "reauth_required->active",
            "active->revoked",
        ]
    );
    assert_eq!(all[4].event.data.reconnect, Some(true));
    // Only the documented fields: nothing that could carry a token or a provider's body.
    let documented = [
        "integration_id",
        "user_id",
        "provider",
        "account_label",
        "status",
        "previous_status",
        "reason",
        "message",
        "reconnect",
        "scopes",
    ];
    for event in &all {
        let data = serde_json::to_value(&event.event.data).unwrap();
        for key in data.as_object().unwrap().keys() {
            assert!(
                documented.contains(&key.as_str()),
                "undocumented field {key}"
            );
        }
    }
}

async fn an_app_token_that_fails_and_recovers_emits_two_events(mode: Mode) {
    let h = Harness::with(mode, 1, |c| c.retry.max_attempts = 1).await;
    h.sandbox
        .controls()
        .fail_next_for(GrantType::ClientCredentials, 2, Failure::Status(503));
    for _ in 0..2 {
        h.broker()
            .app_token(ProviderKind::Orange, "")
            .await
            .unwrap_err();
    }
    h.broker()
        .app_token(ProviderKind::Orange, "")
        .await
        .unwrap();
    let all = events(&h).await;
    let got: Vec<_> = all.iter().map(|e| e.event.event_type.as_str()).collect();
    assert_eq!(got, ["app_token.failed", "app_token.recovered"]);
    assert_eq!(all[0].event.data.instance.as_deref(), Some("default"));
    assert_eq!(all[0].event.data.provider, ProviderKind::Orange);
}

both_modes!(
    a_connections_life_emits_one_event_per_transition,
    an_app_token_that_fails_and_recovers_emits_two_events,
);
