//! IntegrationRepository: create, read, find, list, versioned update, refresh scan, usage.

use tether_core::integration::IntegrationStatus;
use tether_core::ports::IntegrationRepository;
use tether_core::{IntegrationId, ProviderKind, StorageError};
use tether_testkit::TestDb;

use crate::common::*;

async fn integrations_are_created_read_found_and_listed(db: TestDb) {
    let store = store(&db);
    let first = new_integration("u1", "acct-1");
    let created = store.create(first.clone()).await.unwrap();
    assert_eq!(created.id, first.id);
    assert_eq!(created.version, 1);
    assert_eq!(created.failure_count, 0);
    assert_eq!(created.granted_scopes, scopes("email openid"));
    assert_eq!(created.metadata["hd"], "example.com");
    assert_eq!(store.get(first.id).await.unwrap().unwrap(), created);
    assert!(store.get(IntegrationId::new()).await.unwrap().is_none());

    let found = store
        .find_by_account(&user("u1"), ProviderKind::Google, "acct-1")
        .await
        .unwrap();
    assert_eq!(found.unwrap().id, first.id);
    assert!(
        store
            .find_by_account(&user("u1"), ProviderKind::Microsoft, "acct-1")
            .await
            .unwrap()
            .is_none()
    );

    let second = store.create(new_integration("u1", "acct-2")).await.unwrap();
    store.create(new_integration("u2", "acct-3")).await.unwrap();
    let listed: Vec<_> = store
        .list_for_user(&user("u1"))
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(listed, [first.id, second.id]);
    assert!(
        store
            .list_for_user(&user("nobody"))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn the_same_account_cannot_be_connected_twice_by_one_user(db: TestDb) {
    let store = store(&db);
    store.create(new_integration("u1", "acct")).await.unwrap();
    let err = store
        .create(new_integration("u1", "acct"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::Duplicate {
                entity: "integration",
                ..
            }
        ),
        "{err:?}"
    );
    // Another user may link the same upstream account (the broker decides whether to allow it).
    store.create(new_integration("u2", "acct")).await.unwrap();
    let linked = store
        .find_by_upstream_account(ProviderKind::Google, "acct")
        .await
        .unwrap();
    let users: Vec<_> = linked
        .iter()
        .map(|i| i.user_id.as_str().to_owned())
        .collect();
    assert_eq!(users, ["u1", "u2"]);
}

async fn updates_bump_the_version_and_stale_versions_conflict(db: TestDb) {
    let store = store(&db);
    let created = store.create(new_integration("u1", "acct")).await.unwrap();
    let mut changed = created.clone();
    changed.status = IntegrationStatus::Degraded;
    changed.failure_count = 3;
    changed.last_error = Some("provider answered 503".to_owned());
    changed.granted_scopes = scopes("openid");
    changed.last_refreshed_at = Some(at(-5));
    let updated = store.update(&changed).await.unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.status, IntegrationStatus::Degraded);
    assert_eq!(updated.failure_count, 3);
    assert_eq!(updated.created_at, created.created_at);
    assert_eq!(store.get(created.id).await.unwrap().unwrap(), updated);

    // `changed` still carries version 1: someone else got there first.
    let err = store.update(&changed).await.unwrap_err();
    assert!(
        matches!(err, StorageError::VersionConflict { expected: 1, .. }),
        "{err:?}"
    );
    assert_eq!(store.get(created.id).await.unwrap().unwrap().version, 2);

    let mut gone = updated.clone();
    gone.id = IntegrationId::new();
    let err = store.update(&gone).await.unwrap_err();
    assert!(matches!(err, StorageError::NotFound { .. }), "{err:?}");
}

async fn claims_take_due_usable_integrations_soonest_first_and_only_once(db: TestDb) {
    let store = store(&db);
    let mut ids = Vec::new();
    for (account, minutes, status) in [
        ("later", 20, IntegrationStatus::Active),
        ("soon", 5, IntegrationStatus::Degraded),
        ("soonest", 1, IntegrationStatus::Active),
        ("reauth", 2, IntegrationStatus::ReauthRequired),
        ("revoked", 3, IntegrationStatus::Revoked),
        ("scopes", 4, IntegrationStatus::InsufficientScopes),
        ("not-yet", 90, IntegrationStatus::Active),
    ] {
        let mut new = new_integration("u1", account);
        new.status = status;
        new.next_refresh_at = Some(at(minutes));
        ids.push((account, store.create(new).await.unwrap().id));
    }
    let mut never = new_integration("u1", "no-schedule");
    never.next_refresh_at = None;
    store.create(never).await.unwrap();
    let id = |name: &str| ids.iter().find(|(n, _)| *n == name).unwrap().1;

    let claim = |now: i64, limit: u64, until: i64| {
        let store = store.clone();
        async move {
            store
                .claim_due(at(now), limit, at(until), &[])
                .await
                .unwrap()
                .into_iter()
                .map(|i| i.id)
                .collect::<Vec<_>>()
        }
    };
    assert!(claim(0, 10, 5).await.is_empty(), "nothing is due yet");
    assert_eq!(claim(30, 2, 32).await, [id("soonest"), id("soon")]);
    assert_eq!(
        claim(30, 10, 32).await,
        [id("later")],
        "claimed rows are not claimed again"
    );
    assert!(claim(31, 10, 40).await.is_empty());
    // A lapsed claim frees the row (the replica that held it died).
    assert_eq!(
        claim(33, 10, 40).await,
        [id("soonest"), id("soon"), id("later")]
    );
    // Released claims can be taken at once; a claim for other providers leaves them alone.
    store
        .release_claims(&[id("soonest"), id("soon")])
        .await
        .unwrap();
    let others = store
        .claim_due(at(34), 10, at(50), &[ProviderKind::Microsoft])
        .await
        .unwrap();
    assert!(others.is_empty(), "every row here is Google's");
    assert_eq!(claim(34, 10, 50).await, [id("soonest"), id("soon")]);
    // A state change (a refresh stored) ends the claim: due again, it is claimed at once.
    let refreshed = store.get(id("soon")).await.unwrap().unwrap();
    store.update(&refreshed).await.unwrap();
    assert_eq!(claim(35, 10, 60).await, [id("soon")]);
}

async fn concurrent_claims_get_disjoint_rows(db: TestDb) {
    let store = store(&db);
    for n in 0..60 {
        let mut new = new_integration("u1", &format!("acct-{n}"));
        new.next_refresh_at = Some(at(-1));
        store.create(new).await.unwrap();
    }
    // Six replicas claim batches of 7 until nothing is left.
    let claimers = (0..6).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store.claim_due(at(0), 7, at(5), &[]).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|i| i.id));
            }
        })
    });
    let mut seen = std::collections::HashSet::new();
    for claimer in claimers {
        for id in claimer.await.unwrap() {
            assert!(seen.insert(id), "an integration was claimed twice");
        }
    }
    assert_eq!(seen.len(), 60, "every due integration is claimed once");
}

async fn record_usage_sets_last_used_without_bumping_the_version(db: TestDb) {
    let store = store(&db);
    let a = store.create(new_integration("u1", "a")).await.unwrap();
    let b = store.create(new_integration("u1", "b")).await.unwrap();
    let (early, middle, late) = (at(-10), at(-3), at(-1));
    store
        .record_usage(&[
            (a.id, early),
            (b.id, middle),
            (a.id, late),
            (IntegrationId::new(), late),
        ])
        .await
        .unwrap();
    let a2 = store.get(a.id).await.unwrap().unwrap();
    assert_eq!(a2.last_used_at, Some(late));
    assert_eq!(a2.version, 1);
    assert_eq!(a2.updated_at, a.updated_at);
    assert_eq!(
        store.get(b.id).await.unwrap().unwrap().last_used_at,
        Some(middle)
    );
    // An older report never moves the time backwards.
    store.record_usage(&[(a.id, early)]).await.unwrap();
    assert_eq!(
        store.get(a.id).await.unwrap().unwrap().last_used_at,
        Some(late)
    );
    store.record_usage(&[]).await.unwrap();

    // More uses than one statement takes: the last (the newest id) is written too.
    let mut many: Vec<_> = (0..1500).map(|_| (IntegrationId::new(), late)).collect();
    let c = store.create(new_integration("u1", "c")).await.unwrap();
    many.push((c.id, middle));
    let now = at(0);
    many.push((a.id, now));
    store.record_usage(&many).await.unwrap();
    assert_eq!(
        store.get(c.id).await.unwrap().unwrap().last_used_at,
        Some(middle)
    );
    assert_eq!(
        store.get(a.id).await.unwrap().unwrap().last_used_at,
        Some(now)
    );
}

async fn an_unknown_stored_status_is_reported_as_corrupt(db: TestDb) {
    let store = store(&db);
    let created = store.create(new_integration("u1", "acct")).await.unwrap();
    raw_exec(
        &db,
        "UPDATE integrations SET status = 'refreshing' WHERE id = $1",
        vec![created.id.as_uuid().into()],
    )
    .await;
    let err = store.get(created.id).await.unwrap_err();
    match err {
        StorageError::Corrupt { table, row, reason } => {
            assert_eq!(table, "integrations");
            assert_eq!(row, created.id.to_string());
            assert!(reason.contains("refreshing"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

tether_testkit::engine_tests!(
    integrations_are_created_read_found_and_listed,
    the_same_account_cannot_be_connected_twice_by_one_user,
    updates_bump_the_version_and_stale_versions_conflict,
    claims_take_due_usable_integrations_soonest_first_and_only_once,
    concurrent_claims_get_disjoint_rows,
    record_usage_sets_last_used_without_bumping_the_version,
    an_unknown_stored_status_is_reported_as_corrupt,
);
