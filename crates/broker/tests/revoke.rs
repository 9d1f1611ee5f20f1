//! Disconnect: revocation reaches the provider, and a provider outage does not block the
//! local disconnect.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

mod common;

use common::{Harness, Mode, client_info};
use tether_broker::{BrokerError, ProviderRevocation};
use tether_core::ProviderKind;
use tether_core::audit::Actor;
use tether_core::integration::IntegrationStatus;
use tether_core::ports::ConsentRepository;

async fn revocation_reaches_the_provider_and_the_token_stops_working_there(mode: Mode) {
    let h = Harness::start(mode).await;
    let id = h
        .connect("alice", ProviderKind::Google, "alice")
        .await
        .integration_id
        .unwrap();
    let alice = Actor::User(common::user("alice"));
    let token = h
        .broker()
        .access_token(id, &alice, None)
        .await
        .unwrap()
        .access_token;
    let api = format!("{}/api/me", h.sandbox.issuer());
    assert_eq!(
        h.browser
            .get(&api)
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let outcome = h.broker().revoke(id, &alice, &client_info()).await.unwrap();
    assert_eq!(outcome.provider_revocation, ProviderRevocation::Revoked);
    assert_eq!(outcome.integration.status, IntegrationStatus::Revoked);
    assert_eq!(
        h.browser
            .get(&api)
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(h.count("tokens").await, 0);
    assert!(
        h.store
            .list_for_integration(id)
            .await
            .unwrap()
            .iter()
            .all(|c| c.revoked_at.is_some())
    );
    assert!(matches!(
        h.broker().access_token(id, &alice, None).await,
        Err(BrokerError::ReauthRequired { status: "revoked" })
    ));
    assert_eq!(h.integration(id).await.status, IntegrationStatus::Revoked);
}

async fn disconnect_completes_when_the_provider_is_down(mode: Mode) {
    let h = Harness::start(mode).await;
    let id = h
        .connect("alice", ProviderKind::Google, "alice")
        .await
        .integration_id
        .unwrap();
    h.sandbox.controls().set_down(true);
    let outcome = h
        .broker()
        .revoke(id, &Actor::System, &client_info())
        .await
        .unwrap();
    assert!(
        matches!(
            outcome.provider_revocation,
            ProviderRevocation::Failed { .. }
        ),
        "{:?}",
        outcome.provider_revocation
    );
    assert_eq!(outcome.integration.status, IntegrationStatus::Revoked);
    assert_eq!(h.count("tokens").await, 0);
}

async fn another_user_cannot_disconnect_an_integration(mode: Mode) {
    let h = Harness::start(mode).await;
    let id = h
        .connect("alice", ProviderKind::Google, "alice")
        .await
        .integration_id
        .unwrap();
    let bob = Actor::User(common::user("bob"));
    assert!(matches!(
        h.broker().revoke(id, &bob, &client_info()).await,
        Err(BrokerError::IntegrationNotFound)
    ));
    assert_eq!(h.integration(id).await.status, IntegrationStatus::Active);
}

async fn reconnecting_a_revoked_integration_keeps_its_id(mode: Mode) {
    let h = Harness::start(mode).await;
    let id = h
        .connect("alice", ProviderKind::Google, "alice")
        .await
        .integration_id
        .unwrap();
    h.broker()
        .revoke(id, &Actor::System, &client_info())
        .await
        .unwrap();
    let again = h.connect("alice", ProviderKind::Google, "alice").await;
    assert_eq!(again.integration_id, Some(id));
    assert_eq!(h.integration(id).await.status, IntegrationStatus::Active);
    let alice = Actor::User(common::user("alice"));
    assert!(
        h.broker().access_token(id, &alice, None).await.is_ok(),
        "tokens are usable again"
    );
    let consents = h.store.list_for_integration(id).await.unwrap();
    assert_eq!(consents.len(), 2);
    assert!(consents[0].revoked_at.is_some() && consents[1].revoked_at.is_none());
}

both_modes!(
    reconnecting_a_revoked_integration_keeps_its_id,
    revocation_reaches_the_provider_and_the_token_stops_working_there,
    disconnect_completes_when_the_provider_is_down,
    another_user_cannot_disconnect_an_integration,
);
