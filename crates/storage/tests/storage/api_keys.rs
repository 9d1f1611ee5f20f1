//! ApiKeyRepository: create, look up by hash, list, touch, revoke.

use tether_core::api_key::{ApiKeyRole, NewApiKey};
use tether_core::ports::ApiKeyRepository;
use tether_core::{ApiKeyId, StorageError};
use tether_testkit::TestDb;

use crate::common::*;

fn new_key(name: &str, hash: &str) -> NewApiKey {
    NewApiKey {
        name: name.to_owned(),
        role: ApiKeyRole::Service,
        prefix: "tk_ab12".to_owned(),
        key_hash: hash.to_owned(),
    }
}

async fn api_keys_live_from_creation_to_revocation(db: TestDb) {
    let store = store(&db);
    let key = store
        .create(new_key("calendar-sync", "hash-1"))
        .await
        .unwrap();
    assert_eq!(key.role, ApiKeyRole::Service);
    assert!(key.last_used_at.is_none() && key.revoked_at.is_none());
    let mut admin = new_key("ops", "hash-2");
    admin.role = ApiKeyRole::Admin;
    let admin = store.create(admin).await.unwrap();
    let err = store.create(new_key("copy", "hash-1")).await.unwrap_err();
    assert!(matches!(err, StorageError::Duplicate { .. }), "{err:?}");

    assert_eq!(
        store.find_active_by_hash("hash-1").await.unwrap().unwrap(),
        key
    );
    assert!(store.find_active_by_hash("hash-3").await.unwrap().is_none());
    let listed: Vec<_> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(listed, [key.id, admin.id]);

    let used = at(0);
    store.touch(key.id, used).await.unwrap();
    assert_eq!(
        store
            .find_active_by_hash("hash-1")
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(used)
    );

    let revoked_at = at(1);
    assert!(store.revoke(key.id, revoked_at).await.unwrap());
    assert!(
        !store.revoke(key.id, at(2)).await.unwrap(),
        "already revoked"
    );
    assert!(!store.revoke(ApiKeyId::new(), at(2)).await.unwrap());
    assert!(store.find_active_by_hash("hash-1").await.unwrap().is_none());
    let listed = store.list().await.unwrap();
    assert_eq!(
        listed[0].revoked_at,
        Some(revoked_at),
        "revoked keys stay listed"
    );
    assert!(store.find_active_by_hash("hash-2").await.unwrap().is_some());
}

tether_testkit::engine_tests!(api_keys_live_from_creation_to_revocation);
