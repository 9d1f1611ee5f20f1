//! The events outbox: each committed transition writes its events in the same transaction,
//! a rolled-back one writes none, and the feed reads them in order.

use tether_core::ProviderKind;
use tether_core::events::{AppTokenStatus, EventType, ReasonCode};
use tether_core::integration::{Integration, IntegrationStatus};
use tether_core::ports::{
    ConnectionWrite, EventRepository, IntegrationRepository, IntegrationWrite, RefreshWrite,
    TokenRepository,
};
use tether_core::token::TokenOwner;
use tether_testkit::TestDb;

use crate::common::*;

async fn types(store: &tether_storage::SqlStore) -> Vec<&'static str> {
    store
        .list_after(0, 1000, &[])
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.event_type.as_str())
        .collect()
}

async fn connecting_and_reconnecting_emit_connected_and_scope_changes(db: TestDb) {
    let store = store(&db);
    let (integration, _) = connected(&store).await;
    assert_eq!(types(&store).await, ["integration.connected"]);

    let mut again = integration.clone();
    again.granted_scopes = scopes("openid email calendar");
    let mut consent = consent_for(&new_integration("u1", "acct"));
    consent.integration_id = integration.id;
    store
        .save_connection(ConnectionWrite {
            integration: IntegrationWrite::Update(again),
            tokens: token_set("access-2", Some("refresh-2")),
            consent,
        })
        .await
        .unwrap();
    let events = store.list_after(0, 10, &[]).await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.event.event_type.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "integration.connected",
            "integration.connected",
            "integration.scopes_changed"
        ]
    );
    assert_eq!(events[1].event.data.reconnect, Some(true));
    assert_eq!(
        events[2].event.data.scopes.as_ref().unwrap().added,
        ["calendar"]
    );
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(events[0].event.data.integration_id, Some(integration.id));

    // The status history of one integration: newest first, only its own.
    let (other, _) = connected_as(&store, "u2", "acct-2").await;
    let history = store
        .list_for_integration(integration.id, 10)
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|e| e.seq).collect::<Vec<_>>(),
        events.iter().rev().map(|e| e.seq).collect::<Vec<_>>()
    );
    let latest = store.list_for_integration(integration.id, 1).await.unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(
        latest[0].event.event_type.as_str(),
        "integration.scopes_changed"
    );
    let theirs = store.list_for_integration(other.id, 10).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].event.data.integration_id, Some(other.id));
}

async fn lifecycle_transitions_emit_once_and_repeats_emit_nothing(db: TestDb) {
    let store = store(&db);
    let (integration, _) = connected(&store).await;
    let degrade = |from: &Integration| {
        let mut wanted = from.clone();
        wanted.status = IntegrationStatus::Degraded;
        wanted.failure_count += 1;
        wanted
    };
    let reason = ReasonCode::ProviderUnavailable;
    let once = store
        .update_lifecycle(&integration, &degrade(&integration), reason)
        .await
        .unwrap()
        .unwrap();
    let twice = store
        .update_lifecycle(&once, &degrade(&once), reason)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(twice.failure_count, 2);
    assert_eq!(
        types(&store).await,
        ["integration.connected", "integration.degraded"]
    );
}

async fn a_lifecycle_write_over_a_stale_read_reports_the_real_previous_status(db: TestDb) {
    let store = store(&db);
    let (integration, _) = connected(&store).await;
    let mut degraded = integration.clone();
    degraded.status = IntegrationStatus::Degraded;
    let degraded = store
        .update_lifecycle(&integration, &degraded, ReasonCode::ProviderUnavailable)
        .await
        .unwrap()
        .unwrap();
    // A writer that read the row before it degraded asks for reauth_required.
    let mut reauth = integration.clone();
    reauth.status = IntegrationStatus::ReauthRequired;
    let after = store
        .update_lifecycle(&integration, &reauth, ReasonCode::GrantRefused)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.status, IntegrationStatus::ReauthRequired);
    assert_eq!(after.version, degraded.version + 1);
    let events = store
        .list_after(0, 10, &[EventType::IntegrationReauthRequired])
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].event.data.previous_status.as_deref(),
        Some("degraded")
    );
    assert_eq!(events[0].event.data.reason, ReasonCode::GrantRefused);
}

async fn a_refresh_that_recovers_emits_recovered_and_a_conflicting_one_emits_nothing(db: TestDb) {
    let store = store(&db);
    let (integration, tokens) = connected(&store).await;
    let mut degraded = integration.clone();
    degraded.status = IntegrationStatus::Degraded;
    let degraded = store
        .update_lifecycle(&integration, &degraded, ReasonCode::ProviderUnavailable)
        .await
        .unwrap()
        .unwrap();
    let mut active = degraded.clone();
    active.status = IntegrationStatus::Active;

    // A stale token version: the status change and its event roll back together.
    let err = store
        .save_refresh(RefreshWrite {
            before: &degraded,
            integration: &active,
            reason: ReasonCode::RefreshSucceeded,
            token_id: tokens.id,
            expected_version: tokens.version + 5,
            tokens: &token_set("access-2", Some("refresh-2")),
        })
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        tether_core::StorageError::VersionConflict { .. }
    ));
    assert_eq!(
        IntegrationRepository::get(&store, integration.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        IntegrationStatus::Degraded
    );
    assert_eq!(
        types(&store).await,
        ["integration.connected", "integration.degraded"]
    );

    store
        .save_refresh(RefreshWrite {
            before: &degraded,
            integration: &active,
            reason: ReasonCode::RefreshSucceeded,
            token_id: tokens.id,
            expected_version: tokens.version,
            tokens: &token_set("access-2", Some("refresh-2")),
        })
        .await
        .unwrap();
    assert_eq!(
        types(&store).await,
        [
            "integration.connected",
            "integration.degraded",
            "integration.recovered"
        ]
    );
}

async fn a_disconnect_emits_revoked_once(db: TestDb) {
    let store = store(&db);
    let (integration, _) = connected(&store).await;
    store
        .mark_revoked(integration.id, at(1), ReasonCode::DisconnectedByUser)
        .await
        .unwrap();
    store
        .mark_revoked(integration.id, at(2), ReasonCode::DisconnectedByUser)
        .await
        .unwrap();
    let events = store
        .list_after(0, 10, &[EventType::IntegrationRevoked])
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event.data.reason, ReasonCode::DisconnectedByUser);
    assert_eq!(
        events[0].event.data.previous_status.as_deref(),
        Some("active")
    );
    assert!(
        TokenRepository::get(&store, &TokenOwner::Integration(integration.id))
            .await
            .unwrap()
            .is_none()
    );
}

async fn app_token_statuses_emit_on_change_only(db: TestDb) {
    let store = store(&db);
    let record =
        |status| store.record_app_token_status(ProviderKind::Orange, "default", status, at(0));
    assert!(record(AppTokenStatus::Ok).await.unwrap().is_none());
    let failed = record(AppTokenStatus::Failed).await.unwrap().unwrap();
    assert_eq!(failed.event_type, EventType::AppTokenFailed);
    assert_eq!(failed.data.instance.as_deref(), Some("default"));
    assert!(record(AppTokenStatus::Failed).await.unwrap().is_none());
    let recovered = record(AppTokenStatus::Ok).await.unwrap().unwrap();
    assert_eq!(recovered.event_type, EventType::AppTokenRecovered);
    assert_eq!(
        types(&store).await,
        ["app_token.failed", "app_token.recovered"]
    );
}

async fn the_feed_pages_by_position_and_prunes_by_age(db: TestDb) {
    let store = store(&db);
    for n in 0..5 {
        let new = new_integration("u1", &format!("acct-{n}"));
        store
            .save_connection(ConnectionWrite {
                integration: IntegrationWrite::Create(new.clone()),
                tokens: token_set("a", Some("r")),
                consent: consent_for(&new),
            })
            .await
            .unwrap();
    }
    let first = store.list_after(0, 2, &[]).await.unwrap();
    assert_eq!(first.len(), 2);
    let rest = store.list_after(first[1].seq, 10, &[]).await.unwrap();
    assert_eq!(rest.len(), 3);
    assert!(rest[0].seq > first[1].seq);
    assert!(
        store
            .list_after(0, 10, &[EventType::IntegrationRevoked])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.prune(at(-60)).await.unwrap(), 0);
    assert_eq!(store.prune(at(1)).await.unwrap(), 5);
    assert!(store.list_after(0, 10, &[]).await.unwrap().is_empty());
}

async fn concurrent_writers_of_one_transition_emit_one_event(db: TestDb) {
    let store = store(&db);
    let (integration, _) = connected(&store).await;
    let mut degraded = integration.clone();
    degraded.status = IntegrationStatus::Degraded;
    // Eight writers that all read the integration while it was active.
    let writers = (0..8).map(|_| {
        let store = store.clone();
        let before = integration.clone();
        let wanted = degraded.clone();
        tokio::spawn(async move {
            store
                .update_lifecycle(&before, &wanted, ReasonCode::ProviderUnavailable)
                .await
        })
    });
    for writer in writers.collect::<Vec<_>>() {
        let written = writer.await.unwrap().unwrap().unwrap();
        assert_eq!(written.status, IntegrationStatus::Degraded);
    }
    assert_eq!(
        types(&store).await,
        ["integration.connected", "integration.degraded"]
    );
}

tether_testkit::engine_tests!(
    connecting_and_reconnecting_emit_connected_and_scope_changes,
    lifecycle_transitions_emit_once_and_repeats_emit_nothing,
    a_lifecycle_write_over_a_stale_read_reports_the_real_previous_status,
    a_refresh_that_recovers_emits_recovered_and_a_conflicting_one_emits_nothing,
    a_disconnect_emits_revoked_once,
    app_token_statuses_emit_on_change_only,
    the_feed_pages_by_position_and_prunes_by_age,
    concurrent_writers_of_one_transition_emit_one_event,
);
