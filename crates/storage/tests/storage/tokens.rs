//! TokenRepository: integration and app tokens, versioned saves, deletes.

use tether_core::ports::{IntegrationRepository, TokenRepository};
use tether_core::token::TokenOwner;
use tether_core::{IntegrationId, ProviderKind, StorageError};
use tether_testkit::TestDb;

use crate::common::*;

async fn integration_tokens_are_saved_read_and_updated_with_versions(db: TestDb) {
    let store = store(&db);
    let integration = store.create(new_integration("u1", "acct")).await.unwrap();
    let owner = TokenOwner::Integration(integration.id);
    assert!(
        TokenRepository::get(&store, &owner)
            .await
            .unwrap()
            .is_none()
    );

    let first = token_set("access-1", Some("refresh-1"));
    let saved = store.save(&owner, &first, None).await.unwrap();
    assert_eq!(saved.version, 1);
    assert_eq!(saved.owner, owner);
    assert_eq!(saved.tokens, first);
    assert_eq!(
        TokenRepository::get(&store, &owner).await.unwrap().unwrap(),
        saved
    );

    let err = store.save(&owner, &first, None).await.unwrap_err();
    assert!(matches!(err, StorageError::Duplicate { .. }), "{err:?}");

    let second = token_set("access-2", None);
    let updated = store.save(&owner, &second, Some(1)).await.unwrap();
    assert_eq!(updated.id, saved.id);
    assert_eq!(updated.version, 2);
    let read = TokenRepository::get(&store, &owner).await.unwrap().unwrap();
    assert_eq!(read.tokens.access_token.expose_secret(), "access-2");
    assert!(read.tokens.refresh_token.is_none());

    // A refresher that read version 1 must not overwrite the newer tokens.
    let err = store
        .save(&owner, &token_set("stale", None), Some(1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StorageError::VersionConflict { expected: 1, .. }),
        "{err:?}"
    );
    assert_eq!(
        TokenRepository::get(&store, &owner)
            .await
            .unwrap()
            .unwrap()
            .tokens
            .access_token
            .expose_secret(),
        "access-2"
    );

    assert!(store.delete(&owner).await.unwrap());
    assert!(!store.delete(&owner).await.unwrap());
    assert!(
        TokenRepository::get(&store, &owner)
            .await
            .unwrap()
            .is_none()
    );
    let err = store.save(&owner, &second, Some(2)).await.unwrap_err();
    assert!(matches!(err, StorageError::NotFound { .. }), "{err:?}");
}

async fn tokens_for_a_missing_integration_are_refused(db: TestDb) {
    let store = store(&db);
    let owner = TokenOwner::Integration(IntegrationId::new());
    let err = store
        .save(&owner, &token_set("a", None), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::NotFound {
                entity: "integration"
            }
        ),
        "{err:?}"
    );
    assert_eq!(count(&db, "tokens").await, 0);
}

async fn app_tokens_are_keyed_by_provider_and_key_with_no_integration(db: TestDb) {
    let store = store(&db);
    let sms = TokenOwner::App {
        provider: ProviderKind::Orange,
        key: "client-a".to_owned(),
    };
    let other_key = TokenOwner::App {
        provider: ProviderKind::Orange,
        key: "client-b".to_owned(),
    };
    let other_provider = TokenOwner::App {
        provider: ProviderKind::Dexcom,
        key: "client-a".to_owned(),
    };
    let saved = store
        .save(&sms, &token_set("app-token", None), None)
        .await
        .unwrap();
    assert_eq!(saved.owner, sms);
    assert!(
        TokenRepository::get(&store, &other_key)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        TokenRepository::get(&store, &other_provider)
            .await
            .unwrap()
            .is_none()
    );
    store
        .save(&other_key, &token_set("app-token-b", None), None)
        .await
        .unwrap();
    let err = store
        .save(&sms, &token_set("again", None), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Duplicate { .. }), "{err:?}");

    let renewed = store
        .save(&sms, &token_set("app-token-2", None), Some(1))
        .await
        .unwrap();
    assert_eq!(renewed.version, 2);
    let read = TokenRepository::get(&store, &sms).await.unwrap().unwrap();
    assert_eq!(read.tokens.access_token.expose_secret(), "app-token-2");

    let rows = raw_query(
        &db,
        "SELECT provider, app_key FROM tokens WHERE integration_id IS NULL ORDER BY app_key",
        vec![],
    )
    .await;
    let rows: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("", "provider").unwrap(),
                r.try_get("", "app_key").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("orange".into(), "client-a".into()),
            ("orange".into(), "client-b".into())
        ]
    );
    assert!(store.delete(&sms).await.unwrap());
    assert!(
        TokenRepository::get(&store, &other_key)
            .await
            .unwrap()
            .is_some()
    );
}

async fn integration_token_rows_name_the_integration_and_no_app_key(db: TestDb) {
    let store = store(&db);
    let integration = store.create(new_integration("u1", "acct")).await.unwrap();
    store
        .save(
            &TokenOwner::Integration(integration.id),
            &token_set("a", None),
            None,
        )
        .await
        .unwrap();
    let rows = raw_query(
        &db,
        "SELECT provider FROM tokens WHERE integration_id = $1 AND app_key IS NULL",
        vec![integration.id.as_uuid().into()],
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].try_get::<String>("", "provider").unwrap(), "google");
}

async fn expiries_are_read_for_many_integrations_without_decrypting(db: TestDb) {
    let writer = store(&db);
    let with_token = writer.create(new_integration("u1", "a")).await.unwrap();
    let without_token = writer.create(new_integration("u1", "b")).await.unwrap();
    let tokens = token_set("access", Some("refresh"));
    writer
        .save(&TokenOwner::Integration(with_token.id), &tokens, None)
        .await
        .unwrap();
    // A store with another key cannot decrypt the row, and does not need to.
    let reader = store(&db);
    let expiries = reader
        .expiries(&[with_token.id, without_token.id, IntegrationId::new()])
        .await
        .unwrap();
    assert_eq!(expiries.len(), 1, "{expiries:?}");
    assert_eq!(expiries[&with_token.id], tokens.expires_at);
    assert!(reader.expiries(&[]).await.unwrap().is_empty());
}

tether_testkit::engine_tests!(
    expiries_are_read_for_many_integrations_without_decrypting,
    integration_tokens_are_saved_read_and_updated_with_versions,
    tokens_for_a_missing_integration_are_refused,
    app_tokens_are_keyed_by_provider_and_key_with_no_integration,
    integration_token_rows_name_the_integration_and_no_app_key,
);
