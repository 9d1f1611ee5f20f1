//! save_connection, save_refresh and mark_revoked: several tables, one transaction each.

use tether_core::events::ReasonCode;
use tether_core::integration::IntegrationStatus;
use tether_core::ports::{
    ConnectionWrite, ConsentRepository, IntegrationRepository, IntegrationWrite, RefreshWrite,
    TokenRepository,
};
use tether_core::token::TokenOwner;
use tether_core::{IntegrationId, StorageError};
use tether_testkit::TestDb;

use crate::common::*;

async fn save_connection_writes_integration_tokens_and_consent(db: TestDb) {
    let store = store(&db);
    let new = new_integration("u1", "acct");
    let (integration, tokens, consent) = store
        .save_connection(ConnectionWrite {
            integration: IntegrationWrite::Create(new.clone()),
            tokens: token_set("access-1", Some("refresh-1")),
            consent: consent_for(&new),
        })
        .await
        .unwrap();
    assert_eq!(integration.id, new.id);
    assert_eq!(tokens.owner, TokenOwner::Integration(new.id));
    assert_eq!(tokens.tokens.access_token.expose_secret(), "access-1");
    assert_eq!(consent.integration_id, new.id);
    assert_eq!(
        IntegrationRepository::get(&store, new.id)
            .await
            .unwrap()
            .unwrap(),
        integration
    );
    assert_eq!(
        TokenRepository::get(&store, &tokens.owner)
            .await
            .unwrap()
            .unwrap(),
        tokens
    );
    assert_eq!(store.list_for_integration(new.id).await.unwrap(), [consent]);
}

async fn reconnecting_keeps_the_integration_and_token_row_and_adds_a_consent(db: TestDb) {
    let store = store(&db);
    let new = new_integration("u1", "acct");
    let (first, first_tokens, _) = store
        .save_connection(ConnectionWrite {
            integration: IntegrationWrite::Create(new.clone()),
            tokens: token_set("access-1", Some("refresh-1")),
            consent: consent_for(&new),
        })
        .await
        .unwrap();
    let mut again = first.clone();
    again.status = IntegrationStatus::Active;
    again.granted_scopes = scopes("openid email profile");
    let (second, second_tokens, _) = store
        .save_connection(ConnectionWrite {
            integration: IntegrationWrite::Update(again),
            tokens: token_set("access-2", Some("refresh-2")),
            consent: consent_for(&new),
        })
        .await
        .unwrap();
    assert_eq!(second.id, first.id);
    assert_eq!(second.version, 2);
    assert_eq!(second_tokens.id, first_tokens.id);
    assert!(second_tokens.version > first_tokens.version);
    assert_eq!(
        second_tokens.tokens.refresh_token.unwrap().expose_secret(),
        "refresh-2"
    );
    assert_eq!(store.list_for_integration(first.id).await.unwrap().len(), 2);
    assert_eq!(count(&db, "tokens").await, 1);

    // A stale version changes nothing at all, tokens included.
    let err = store
        .save_connection(ConnectionWrite {
            integration: IntegrationWrite::Update(first.clone()),
            tokens: token_set("access-3", None),
            consent: consent_for(&new),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, StorageError::VersionConflict { .. }),
        "{err:?}"
    );
    let owner = TokenOwner::Integration(first.id);
    let kept = TokenRepository::get(&store, &owner).await.unwrap().unwrap();
    assert_eq!(kept.tokens.access_token.expose_secret(), "access-2");
    assert_eq!(store.list_for_integration(first.id).await.unwrap().len(), 2);
}

async fn save_connection_is_all_or_nothing(db: TestDb) {
    let store = store(&db);
    // The consent names an integration that does not exist: its insert fails last.
    let new = new_integration("u1", "acct");
    let mut bad_consent = consent_for(&new);
    bad_consent.integration_id = IntegrationId::new();
    let err = store
        .save_connection(ConnectionWrite {
            integration: IntegrationWrite::Create(new.clone()),
            tokens: token_set("access-1", None),
            consent: bad_consent,
        })
        .await;
    assert!(err.is_err());
    assert!(
        IntegrationRepository::get(&store, new.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(count(&db, "integrations").await, 0);
    assert_eq!(count(&db, "tokens").await, 0);
    assert_eq!(count(&db, "consents").await, 0);

    // A duplicate account writes nothing either.
    store.create(new_integration("u1", "taken")).await.unwrap();
    let dup = new_integration("u1", "taken");
    let err = store
        .save_connection(ConnectionWrite {
            integration: IntegrationWrite::Create(dup.clone()),
            tokens: token_set("access-1", None),
            consent: consent_for(&dup),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Duplicate { .. }), "{err:?}");
    assert_eq!(count(&db, "integrations").await, 1);
    assert_eq!(count(&db, "tokens").await, 0);
    assert_eq!(count(&db, "consents").await, 0);
}

async fn mark_revoked_deletes_tokens_and_revokes_consents(db: TestDb) {
    let store = store(&db);
    let new = new_integration("u1", "acct");
    let (integration, _, _) = store
        .save_connection(ConnectionWrite {
            integration: IntegrationWrite::Create(new.clone()),
            tokens: token_set("access-1", Some("refresh-1")),
            consent: consent_for(&new),
        })
        .await
        .unwrap();
    let other = store.create(new_integration("u1", "other")).await.unwrap();
    let mut other_consent = consent_for(&new);
    other_consent.integration_id = other.id;
    store.record(other_consent).await.unwrap();

    let when = at(1);
    let revoked = store
        .mark_revoked(integration.id, when, ReasonCode::DisconnectedByUser)
        .await
        .unwrap();
    assert_eq!(revoked.id, integration.id);
    assert_eq!(revoked.status, IntegrationStatus::Revoked);
    assert_eq!(revoked.version, integration.version + 1);
    assert_eq!(
        IntegrationRepository::get(&store, integration.id)
            .await
            .unwrap()
            .unwrap(),
        revoked
    );
    assert!(
        TokenRepository::get(&store, &TokenOwner::Integration(integration.id))
            .await
            .unwrap()
            .is_none()
    );
    let consents = store.list_for_integration(integration.id).await.unwrap();
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0].revoked_at, Some(when));
    // Other integrations are untouched.
    assert!(
        store.list_for_integration(other.id).await.unwrap()[0]
            .revoked_at
            .is_none()
    );

    let err = store
        .mark_revoked(IntegrationId::new(), when, ReasonCode::DisconnectedByUser)
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::NotFound { .. }), "{err:?}");
}

async fn save_refresh_writes_the_pair_and_the_lifecycle_fields_together(db: TestDb) {
    let store = store(&db);
    let (integration, tokens) = connected(&store).await;
    let (refreshed_at, next) = (at(5), at(50));
    let mut wanted = integration.clone();
    wanted.status = IntegrationStatus::Active;
    wanted.failure_count = 0;
    wanted.last_refreshed_at = Some(refreshed_at);
    wanted.next_refresh_at = Some(next);
    wanted.granted_scopes = scopes("openid email");
    // Not a lifecycle field: a refresh must not overwrite it.
    wanted.account_label = Some("changed by the refresher".to_owned());
    let refreshed = token_set("access-2", Some("refresh-2"));
    let (updated, saved) = store
        .save_refresh(RefreshWrite {
            before: &integration,
            integration: &wanted,
            reason: ReasonCode::RefreshSucceeded,
            token_id: tokens.id,
            expected_version: tokens.version,
            tokens: &refreshed,
        })
        .await
        .unwrap();
    assert_eq!(updated.version, integration.version + 1);
    assert_eq!(updated.last_refreshed_at, Some(refreshed_at));
    assert_eq!(updated.next_refresh_at, Some(next));
    assert_eq!(updated.granted_scopes, scopes("openid email"));
    assert_eq!(updated.account_label, integration.account_label);
    assert_eq!(saved.version, tokens.version + 1);
    assert_eq!(
        saved.tokens.refresh_token.as_ref().unwrap().expose_secret(),
        "refresh-2"
    );

    let (read, read_tokens) = store
        .read_for_refresh(integration.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, updated);
    assert_eq!(read_tokens.unwrap(), saved);
}

async fn save_refresh_with_a_stale_token_version_writes_nothing(db: TestDb) {
    let store = store(&db);
    let (integration, tokens) = connected(&store).await;
    // Someone else stored a newer pair meanwhile.
    let newer = store
        .save(
            &TokenOwner::Integration(integration.id),
            &token_set("access-other", Some("refresh-other")),
            Some(tokens.version),
        )
        .await
        .unwrap();
    let mut wanted = integration.clone();
    wanted.next_refresh_at = Some(at(50));
    wanted.failure_count = 7;
    let err = store
        .save_refresh(RefreshWrite {
            before: &integration,
            integration: &wanted,
            reason: ReasonCode::RefreshSucceeded,
            token_id: tokens.id,
            expected_version: tokens.version,
            tokens: &token_set("access-2", Some("refresh-2")),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, StorageError::VersionConflict { .. }),
        "{err:?}"
    );
    let (read, read_tokens) = store
        .read_for_refresh(integration.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        read, integration,
        "the integration's update was rolled back"
    );
    assert_eq!(read_tokens.unwrap(), newer);
}

async fn save_refresh_after_a_disconnect_is_refused(db: TestDb) {
    let store = store(&db);
    let (integration, tokens) = connected(&store).await;
    let revoked = store
        .mark_revoked(integration.id, at(1), ReasonCode::DisconnectedByUser)
        .await
        .unwrap();
    let mut wanted = integration.clone();
    wanted.status = IntegrationStatus::Active;
    let err = store
        .save_refresh(RefreshWrite {
            before: &integration,
            integration: &wanted,
            reason: ReasonCode::RefreshSucceeded,
            token_id: tokens.id,
            expected_version: tokens.version,
            tokens: &token_set("access-2", Some("refresh-2")),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::NotFound { .. }), "{err:?}");
    let (read, read_tokens) = store
        .read_for_refresh(integration.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, revoked);
    assert!(read_tokens.is_none());
    assert!(
        store
            .read_for_refresh(IntegrationId::new())
            .await
            .unwrap()
            .is_none()
    );
}

tether_testkit::engine_tests!(
    save_connection_writes_integration_tokens_and_consent,
    save_refresh_writes_the_pair_and_the_lifecycle_fields_together,
    save_refresh_with_a_stale_token_version_writes_nothing,
    save_refresh_after_a_disconnect_is_refused,
    reconnecting_keeps_the_integration_and_token_row_and_adds_a_consent,
    save_connection_is_all_or_nothing,
    mark_revoked_deletes_tokens_and_revokes_consents,
);
