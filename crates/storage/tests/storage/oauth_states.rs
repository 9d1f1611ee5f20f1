//! OAuthStateRepository: single-use, atomic take, expiry purge.

use std::sync::Arc;

use tether_core::StorageError;
use tether_core::ports::OAuthStateRepository;
use tether_core::secret::OpaqueSecret;
use tether_testkit::TestDb;

use crate::common::*;

async fn a_state_is_taken_once(db: TestDb) {
    let store = store(&db);
    let expires = at(10);
    store
        .put("key-1", &OpaqueSecret::new("{\"flow\":1}"), expires)
        .await
        .unwrap();
    let err = store
        .put("key-1", &OpaqueSecret::new("other"), expires)
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Duplicate { .. }), "{err:?}");
    let taken = store.take("key-1").await.unwrap().unwrap();
    assert_eq!(taken.payload.expose_secret(), "{\"flow\":1}");
    assert_eq!(taken.expires_at, expires);
    assert!(store.take("key-1").await.unwrap().is_none());
    assert!(store.take("never-put").await.unwrap().is_none());
    // Expired entries are still handed back: the caller reports "expired".
    store
        .put("old", &OpaqueSecret::new("x"), at(-1))
        .await
        .unwrap();
    assert!(store.take("old").await.unwrap().is_some());
}

async fn of_concurrent_takers_exactly_one_gets_the_state(db: TestDb) {
    let store = Arc::new(store(&db));
    store
        .put("contested", &OpaqueSecret::new("payload"), at(10))
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let store = store.clone();
        tasks.spawn(async move { store.take("contested").await });
    }
    let mut winners = 0;
    while let Some(result) = tasks.join_next().await {
        if result.unwrap().unwrap().is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

async fn expired_states_are_purged(db: TestDb) {
    let store = store(&db);
    for (key, minutes) in [("a", -20), ("b", -1), ("c", 5)] {
        store
            .put(key, &OpaqueSecret::new(key), at(minutes))
            .await
            .unwrap();
    }
    assert_eq!(store.purge_expired(at(0)).await.unwrap(), 2);
    assert_eq!(store.purge_expired(at(0)).await.unwrap(), 0);
    assert!(store.take("a").await.unwrap().is_none());
    assert!(store.take("c").await.unwrap().is_some());
}

tether_testkit::engine_tests!(
    a_state_is_taken_once,
    of_concurrent_takers_exactly_one_gets_the_state,
    expired_states_are_purged,
);
