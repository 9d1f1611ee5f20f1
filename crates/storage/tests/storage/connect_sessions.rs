//! ConnectSessionRepository: sessions read back as written, are found by token hash only,
//! and are spent exactly once (a second, an expired or a concurrent take gets nothing).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Duration;
use tether_core::connect_session::{ConnectTarget, ConnectUpgrade, NewConnectSession};
use tether_core::ports::ConnectSessionRepository;
use tether_core::{ApiKeyId, ConnectSessionId, IntegrationId, ProviderKind};
use tether_testkit::TestDb;

use crate::common::*;

fn new_session(hash: &str, target: ConnectTarget, minutes: i64) -> NewConnectSession {
    NewConnectSession {
        id: ConnectSessionId::new(),
        token_hash: hash.to_owned(),
        user_id: user("user-1"),
        providers: vec![ProviderKind::Notion, ProviderKind::Google],
        scopes: BTreeMap::from([(ProviderKind::Google, scopes("openid email"))]),
        instances: BTreeMap::from([(ProviderKind::Notion, "workspace-b".to_owned())]),
        target,
        upgrade: None,
        created_by: Some(ApiKeyId::new()),
        created_at: at(0),
        expires_at: at(minutes),
    }
}

async fn connect_sessions_read_back_as_written(db: TestDb) {
    let store = store(&db);
    let new = new_session(
        "hash-1",
        ConnectTarget::ReturnTo("https://app.example.com/done".to_owned()),
        10,
    );
    let created = store.create_connect_session(new.clone()).await.unwrap();
    assert_eq!(created.id, new.id);
    assert_eq!(created.providers, new.providers, "order kept");
    assert_eq!(created.scopes, new.scopes);
    assert_eq!(created.instances, new.instances);
    assert_eq!(created.instance_for(ProviderKind::Notion), "workspace-b");
    assert_eq!(created.instance_for(ProviderKind::Google), "");
    assert_eq!(created.target, new.target);
    assert_eq!(created.created_by, new.created_by);
    assert_eq!(created.expires_at, new.expires_at);
    assert!(created.used_at.is_none() && created.chosen_provider.is_none());
    let found = store
        .connect_session_by_token_hash("hash-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, created);
    assert_eq!(store.connect_session(new.id).await.unwrap(), Some(created));
    assert!(
        store
            .connect_session_by_token_hash("hash-2")
            .await
            .unwrap()
            .is_none()
    );

    let mut upgrade = new_session(
        "hash-2",
        ConnectTarget::Opener("https://app.example.com".to_owned()),
        10,
    );
    upgrade.upgrade = Some(ConnectUpgrade {
        integration_id: IntegrationId::new(),
        extra_scopes: scopes("calendar.events"),
    });
    let created = store.create_connect_session(upgrade.clone()).await.unwrap();
    assert_eq!(created.upgrade, upgrade.upgrade);
    assert_eq!(created.target, upgrade.target);

    let err = store
        .create_connect_session(new_session(
            "hash-1",
            ConnectTarget::Opener("https://x.example".to_owned()),
            10,
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err, tether_core::StorageError::Duplicate { .. }),
        "{err:?}"
    );
}

async fn a_connect_session_is_taken_once_and_never_after_expiry(db: TestDb) {
    let store = store(&db);
    let target = ConnectTarget::Opener("https://app.example.com".to_owned());
    store
        .create_connect_session(new_session("live", target.clone(), 10))
        .await
        .unwrap();
    store
        .create_connect_session(new_session("old", target, 10))
        .await
        .unwrap();
    let now = at(1);
    let taken = store
        .take_connect_session("live", ProviderKind::Google, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.used_at, Some(now));
    assert_eq!(taken.chosen_provider, Some(ProviderKind::Google));
    assert!(
        store
            .take_connect_session("live", ProviderKind::Notion, now)
            .await
            .unwrap()
            .is_none(),
        "a second take gets nothing"
    );
    let after = store
        .connect_session_by_token_hash("live")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.chosen_provider, Some(ProviderKind::Google));

    assert!(
        store
            .take_connect_session("old", ProviderKind::Google, at(11))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(
        store
            .take_connect_session("unknown", ProviderKind::Google, now)
            .await
            .unwrap()
            .is_none()
    );

    assert_eq!(store.purge_connect_sessions(at(5)).await.unwrap(), 0);
    assert_eq!(
        store
            .purge_connect_sessions(at(0) + Duration::minutes(11))
            .await
            .unwrap(),
        2
    );
}

async fn concurrent_takes_of_one_connect_session_have_one_winner(db: TestDb) {
    let store = Arc::new(store(&db));
    store
        .create_connect_session(new_session(
            "raced",
            ConnectTarget::Opener("https://app.example.com".to_owned()),
            10,
        ))
        .await
        .unwrap();
    let now = at(0);
    let takes: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .take_connect_session("raced", ProviderKind::Google, now)
                    .await
                    .unwrap()
                    .is_some()
            })
        })
        .collect();
    let mut won = 0;
    for take in takes {
        if take.await.unwrap() {
            won += 1;
        }
    }
    assert_eq!(won, 1);
}

tether_testkit::engine_tests!(
    connect_sessions_read_back_as_written,
    a_connect_session_is_taken_once_and_never_after_expiry,
    concurrent_takes_of_one_connect_session_have_one_winner,
);
