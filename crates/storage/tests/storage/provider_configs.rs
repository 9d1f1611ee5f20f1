//! ProviderConfigRepository: upsert (keeping the secret when none is given), list, delete.

use std::collections::BTreeMap;

use tether_core::ports::ProviderConfigRepository;
use tether_core::provider_config::ProviderConfigInput;
use tether_core::secret::ClientSecret;
use tether_core::{ProviderKind, StorageError};
use tether_testkit::TestDb;

use crate::common::*;

fn input(instance: &str, secret: Option<&str>) -> ProviderConfigInput {
    ProviderConfigInput {
        provider: ProviderKind::Openemr,
        instance: instance.to_owned(),
        client_id: "client-1".to_owned(),
        client_secret: secret.map(ClientSecret::new),
        redirect_base: Some("https://tether.example.com".to_owned()),
        endpoint_overrides: BTreeMap::from([(
            "token".to_owned(),
            "https://emr.example.com/token".to_owned(),
        )]),
        site_url: Some("https://emr.example.com".to_owned()),
        options: [("site".to_owned(), "clinic".to_owned())].into(),
        enabled: true,
    }
}

async fn upsert_creates_replaces_and_keeps_the_secret_when_none_is_given(db: TestDb) {
    let store = store(&db);
    let created = store
        .upsert(input("clinic-a", Some("s3cret-1")))
        .await
        .unwrap();
    assert_eq!(created.version, 1);
    assert_eq!(created.client_secret, Some(ClientSecret::new("s3cret-1")));
    assert_eq!(
        created.endpoint_overrides["token"],
        "https://emr.example.com/token"
    );
    assert_eq!(created.options["site"], "clinic", "options round-trip");
    assert_eq!(
        store
            .get(ProviderKind::Openemr, "clinic-a")
            .await
            .unwrap()
            .unwrap(),
        created
    );
    assert!(
        store
            .get(ProviderKind::Openemr, "clinic-b")
            .await
            .unwrap()
            .is_none()
    );

    let mut change = input("clinic-a", None);
    change.client_id = "client-2".to_owned();
    change.enabled = false;
    change.endpoint_overrides.clear();
    let updated = store.upsert(change).await.unwrap();
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.version, 2);
    assert_eq!(updated.created_at, created.created_at);
    assert_eq!(updated.client_id, "client-2");
    assert!(!updated.enabled);
    assert!(updated.endpoint_overrides.is_empty());
    assert_eq!(
        updated.client_secret,
        Some(ClientSecret::new("s3cret-1")),
        "secret kept"
    );

    let replaced = store
        .upsert(input("clinic-a", Some("s3cret-2")))
        .await
        .unwrap();
    assert_eq!(replaced.version, 3);
    assert_eq!(
        store
            .get(ProviderKind::Openemr, "clinic-a")
            .await
            .unwrap()
            .unwrap()
            .client_secret,
        Some(ClientSecret::new("s3cret-2"))
    );
    let no_secret = store.upsert(input("", None)).await.unwrap();
    assert!(no_secret.client_secret.is_none());
}

async fn configs_are_listed_and_deleted(db: TestDb) {
    let store = store(&db);
    store.upsert(input("b", None)).await.unwrap();
    store.upsert(input("a", Some("x"))).await.unwrap();
    let mut google = input("", Some("g"));
    google.provider = ProviderKind::Google;
    store.upsert(google).await.unwrap();
    let listed: Vec<_> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.provider, c.instance))
        .collect();
    assert_eq!(
        listed,
        [
            (ProviderKind::Google, String::new()),
            (ProviderKind::Openemr, "a".to_owned()),
            (ProviderKind::Openemr, "b".to_owned()),
        ]
    );
    assert!(store.delete(ProviderKind::Openemr, "a").await.unwrap());
    assert!(!store.delete(ProviderKind::Openemr, "a").await.unwrap());
    assert_eq!(store.list().await.unwrap().len(), 2);
}

async fn concurrent_upserts_never_lose_a_version(db: TestDb) {
    let store = std::sync::Arc::new(store(&db));
    store.upsert(input("site", Some("s"))).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.spawn(async move {
            let mut change = input("site", None);
            change.client_id = format!("client-{i}");
            store.upsert(change).await
        });
    }
    let mut succeeded = 0;
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(_) => succeeded += 1,
            Err(StorageError::VersionConflict { .. }) => {}
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert!(succeeded >= 1);
    let stored = store
        .get(ProviderKind::Openemr, "site")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 1 + succeeded);
    assert_eq!(stored.client_secret, Some(ClientSecret::new("s")));
}

tether_testkit::engine_tests!(
    upsert_creates_replaces_and_keeps_the_secret_when_none_is_given,
    configs_are_listed_and_deleted,
    concurrent_upserts_never_lose_a_version,
);
