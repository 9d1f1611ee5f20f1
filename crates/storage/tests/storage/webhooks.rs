//! Webhook endpoints and deliveries: the fan-out in the event's transaction, encrypted and
//! rotated secrets, the claim (lease, per-integration order, disjoint between pools), the
//! record of attempts with automatic disabling, listing and redelivery, and cleanup.

use chrono::{DateTime, Duration, Utc};
use tether_core::events::{EventId, EventType, ReasonCode};
use tether_core::integration::{Integration, IntegrationStatus};
use tether_core::ports::{
    ConnectionWrite, EventRepository, IntegrationRepository, IntegrationWrite, RefreshWrite,
};
use tether_core::secret::WebhookSecret;
use tether_core::webhooks::{
    AttemptRecord, AutoDisable, ClaimedDelivery, DeliveryStatus, NewWebhookEndpoint, NextStep,
    Recorded, Redelivery, WebhookEndpoint, WebhookEndpointPatch, WebhookRepository,
};
use tether_core::{StorageError, WebhookEndpointId};
use tether_storage::SqlStore;
use tether_testkit::TestDb;

use crate::common::*;

async fn endpoint(store: &SqlStore, types: &[EventType], enabled: bool) -> WebhookEndpoint {
    store
        .create_endpoint(NewWebhookEndpoint {
            id: WebhookEndpointId::new(),
            url: "https://hooks.example.com/tether".parse().unwrap(),
            description: "test receiver".to_owned(),
            event_types: types.to_vec(),
            enabled,
            secret: WebhookSecret::new("whsec_dGVzdC1zZWNyZXQ="),
            at: at(0),
        })
        .await
        .unwrap()
}

async fn connect(store: &SqlStore, account: &str) -> Integration {
    let new = new_integration("u1", account);
    let (integration, _, _) = store
        .save_connection(ConnectionWrite {
            integration: IntegrationWrite::Create(new.clone()),
            tokens: token_set("access", Some("refresh")),
            consent: consent_for(&new),
        })
        .await
        .unwrap();
    integration
}

async fn degrade(store: &SqlStore, integration: &Integration) -> Integration {
    let mut wanted = integration.clone();
    wanted.status = IntegrationStatus::Degraded;
    store
        .update_lifecycle(integration, &wanted, ReasonCode::ProviderUnavailable)
        .await
        .unwrap()
        .unwrap()
}

async fn types_delivered_to(store: &SqlStore, id: WebhookEndpointId) -> Vec<&'static str> {
    let mut records = store.list_deliveries(id, 100, None).await.unwrap();
    records.reverse();
    records.into_iter().map(|r| r.event_type.as_str()).collect()
}

fn attempt(at: DateTime<Utc>, next: NextStep) -> AttemptRecord {
    let ok = next == NextStep::Delivered;
    AttemptRecord {
        at,
        status_code: Some(if ok { 200 } else { 503 }),
        latency_ms: 12,
        error: (!ok).then(|| "HTTP 503: down for maintenance".to_owned()),
        next,
    }
}

fn claimed_types(claimed: &[ClaimedDelivery]) -> Vec<&'static str> {
    claimed.iter().map(|c| c.event_type.as_str()).collect()
}

async fn events_fan_out_to_the_enabled_endpoints_whose_filter_accepts_them(db: TestDb) {
    let store = store(&db);
    let all = endpoint(&store, &[], true).await;
    let revoked_only = endpoint(&store, &[EventType::IntegrationRevoked], true).await;
    let disabled = endpoint(&store, &[], false).await;
    let integration = connect(&store, "acct").await;
    store
        .mark_revoked(integration.id, at(1), ReasonCode::DisconnectedByUser)
        .await
        .unwrap();

    assert_eq!(
        types_delivered_to(&store, all.id).await,
        ["integration.connected", "integration.revoked"]
    );
    assert_eq!(
        types_delivered_to(&store, revoked_only.id).await,
        ["integration.revoked"]
    );
    assert!(types_delivered_to(&store, disabled.id).await.is_empty());
    let records = store.list_deliveries(all.id, 10, None).await.unwrap();
    let feed = store.list_after(0, 10, &[]).await.unwrap();
    assert_eq!(records[0].event_id, feed[1].event.id);
    assert_eq!(records[0].event_seq, feed[1].seq);
    assert!(
        records
            .iter()
            .all(|r| r.status == DeliveryStatus::Pending && r.attempts == 0)
    );
}

async fn a_change_that_rolls_back_leaves_no_delivery(db: TestDb) {
    let store = store(&db);
    let receiver = endpoint(&store, &[], true).await;
    let new = new_integration("u1", "acct");
    let (integration, tokens, _) = store
        .save_connection(ConnectionWrite {
            integration: IntegrationWrite::Create(new.clone()),
            tokens: token_set("a", Some("r")),
            consent: consent_for(&new),
        })
        .await
        .unwrap();
    let degraded = degrade(&store, &integration).await;
    let mut active = degraded.clone();
    active.status = IntegrationStatus::Active;
    let conflict = store
        .save_refresh(RefreshWrite {
            before: &degraded,
            integration: &active,
            reason: ReasonCode::RefreshSucceeded,
            token_id: tokens.id,
            expected_version: tokens.version + 7,
            tokens: &token_set("a2", Some("r2")),
        })
        .await;
    assert!(matches!(
        conflict,
        Err(StorageError::VersionConflict { .. })
    ));
    assert_eq!(
        types_delivered_to(&store, receiver.id).await,
        ["integration.connected", "integration.degraded"]
    );
}

async fn secrets_are_encrypted_and_a_rotated_one_signs_until_its_grace_ends(db: TestDb) {
    let store = store(&db);
    let created = endpoint(&store, &[], true).await;
    let raw = raw_table_text(&db, "webhook_endpoints").await;
    assert!(
        raw.iter().all(|v| !v.contains("dGVzdC1zZWNyZXQ")),
        "the secret is stored in clear: {raw:?}"
    );
    let secrets = store
        .signing_secrets(created.id, at(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(secrets.current.expose_secret(), "whsec_dGVzdC1zZWNyZXQ=");
    assert!(secrets.previous.is_none());

    let until = at(60);
    let rotated = store
        .rotate_secret(created.id, &WebhookSecret::new("whsec_bmV3"), until, at(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rotated.previous_secret_expires_at, Some(until));
    assert_eq!(rotated.version, created.version + 1);
    let during = store
        .signing_secrets(created.id, at(59))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(during.current.expose_secret(), "whsec_bmV3");
    assert_eq!(
        during.previous.unwrap().expose_secret(),
        "whsec_dGVzdC1zZWNyZXQ="
    );
    let after = store
        .signing_secrets(created.id, at(61))
        .await
        .unwrap()
        .unwrap();
    assert!(after.previous.is_none());
    assert!(
        store
            .rotate_secret(
                WebhookEndpointId::new(),
                &WebhookSecret::new("whsec_eA=="),
                at(1),
                at(0)
            )
            .await
            .unwrap()
            .is_none()
    );
}

async fn a_claim_takes_the_earliest_pending_event_of_each_integration_only(db: TestDb) {
    let store = store(&db);
    let receiver = endpoint(&store, &[], true).await;
    let first = connect(&store, "first").await;
    degrade(&store, &first).await;
    let second = connect(&store, "second").await;
    let now = at(1);
    let lease = now + Duration::seconds(60);

    let claimed = store.claim_deliveries(now, 10, lease).await.unwrap();
    assert_eq!(claimed.len(), 2, "{:?}", claimed_types(&claimed));
    assert!(
        claimed
            .iter()
            .all(|c| c.event_type == EventType::IntegrationConnected)
    );
    let of_first = claimed
        .iter()
        .find(|c| c.body.contains(&first.id.to_string()))
        .unwrap();
    assert!(
        claimed
            .iter()
            .any(|c| c.body.contains(&second.id.to_string()))
    );

    // The first integration's connected event fails: its degraded event waits for it.
    let retry_at = now + Duration::seconds(5);
    assert_eq!(
        store
            .record_attempt(of_first, &attempt(now, NextStep::RetryAt(retry_at)), None)
            .await
            .unwrap(),
        Recorded::Recorded { disabled: None }
    );
    assert!(
        store
            .claim_deliveries(now, 10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_deliveries(retry_at, 10, retry_at + Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(claimed_types(&again), ["integration.connected"]);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].event_id, of_first.event_id);
    store
        .record_attempt(&again[0], &attempt(retry_at, NextStep::Delivered), None)
        .await
        .unwrap();
    let next = store
        .claim_deliveries(retry_at, 10, retry_at + Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(claimed_types(&next), ["integration.degraded"]);

    // A delivery given up no longer holds back the ones after it.
    store
        .record_attempt(&next[0], &attempt(retry_at, NextStep::GiveUp), None)
        .await
        .unwrap();
    let records = store.list_deliveries(receiver.id, 10, None).await.unwrap();
    let degraded = records
        .iter()
        .find(|r| r.event_type == EventType::IntegrationDegraded)
        .unwrap();
    assert_eq!(degraded.status, DeliveryStatus::Failed);
    assert_eq!(degraded.last_status_code, Some(503));
    assert_eq!(
        degraded.last_error.as_deref(),
        Some("HTTP 503: down for maintenance")
    );
    assert_eq!(degraded.next_attempt_at, None);
}

async fn a_claim_is_a_lease_and_a_late_record_does_not_overwrite_a_newer_one(db: TestDb) {
    let store = store(&db);
    endpoint(&store, &[], true).await;
    connect(&store, "acct").await;
    let now = at(1);
    let first = store
        .claim_deliveries(now, 10, now + Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        store
            .claim_deliveries(
                now + Duration::seconds(59),
                10,
                now + Duration::seconds(120)
            )
            .await
            .unwrap()
            .is_empty(),
        "a held claim is not taken again"
    );
    let later = now + Duration::seconds(61);
    let second = store
        .claim_deliveries(later, 10, later + Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(second.len(), 1, "a lapsed claim is taken again");
    assert_eq!(second[0].id, first[0].id);
    store
        .record_attempt(&second[0], &attempt(later, NextStep::Delivered), None)
        .await
        .unwrap();
    assert_eq!(
        store
            .record_attempt(
                &first[0],
                &attempt(later, NextStep::RetryAt(later + Duration::seconds(5))),
                None
            )
            .await
            .unwrap(),
        Recorded::Stale
    );
    let records = store
        .list_deliveries(first[0].endpoint_id, 10, None)
        .await
        .unwrap();
    assert_eq!(records[0].status, DeliveryStatus::Delivered);
    assert_eq!(records[0].attempts, 1);
    assert_eq!(records[0].delivered_at, Some(later));
}

async fn two_pools_claiming_at_once_get_disjoint_deliveries(db: TestDb) {
    let store = store(&db);
    endpoint(&store, &[], true).await;
    for n in 0..40 {
        connect(&store, &format!("acct-{n}")).await;
    }
    let other_pool = tether_storage::connect(&db.url, tether_storage::PoolOptions::default())
        .await
        .unwrap();
    let other = SqlStore::new(other_pool, std::sync::Arc::new(store.cipher().clone()));
    let now = at(1);
    let lease = now + Duration::seconds(60);
    let (a, b) = tokio::join!(
        store.claim_deliveries(now, 25, lease),
        other.claim_deliveries(now, 25, lease)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 40, "{} + {}", a.len(), b.len());
    let mut ids: Vec<_> = a.iter().chain(&b).map(|c| c.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40, "a delivery was claimed twice");
}

async fn an_endpoint_failing_past_the_threshold_is_disabled_and_enabling_it_resumes(db: TestDb) {
    let store = store(&db);
    let receiver = endpoint(&store, &[], true).await;
    connect(&store, "acct").await;
    let start = at(1);
    let rule = |now: DateTime<Utc>| AutoDisable {
        failing_before: now - Duration::days(5),
        reason: "Disabled automatically: failing for 5 days.".to_owned(),
    };
    let claimed = store
        .claim_deliveries(start, 10, start + Duration::seconds(60))
        .await
        .unwrap();
    let retry = start + Duration::days(3);
    let first = store
        .record_attempt(
            &claimed[0],
            &attempt(start, NextStep::RetryAt(retry)),
            Some(&rule(start)),
        )
        .await
        .unwrap();
    assert_eq!(first, Recorded::Recorded { disabled: None });
    let failing = store.get_endpoint(receiver.id).await.unwrap().unwrap();
    assert_eq!(failing.failing_since, Some(start));
    assert!(failing.enabled);

    let late = start + Duration::days(6);
    let claimed = store
        .claim_deliveries(late, 10, late + Duration::seconds(60))
        .await
        .unwrap();
    let Recorded::Recorded {
        disabled: Some(disabled),
    } = store
        .record_attempt(
            &claimed[0],
            &attempt(late, NextStep::RetryAt(late + Duration::hours(10))),
            Some(&rule(late)),
        )
        .await
        .unwrap()
    else {
        panic!("the endpoint should have been disabled");
    };
    assert!(!disabled.enabled);
    assert_eq!(disabled.failing_since, Some(start));
    assert_eq!(
        disabled.disabled_reason.as_deref(),
        Some("Disabled automatically: failing for 5 days.")
    );
    assert_eq!(disabled.disabled_at, Some(late));
    let due = late + Duration::days(1);
    assert!(
        store
            .claim_deliveries(due, 10, due + Duration::seconds(60))
            .await
            .unwrap()
            .is_empty(),
        "a disabled endpoint's deliveries wait"
    );

    let enabled = store
        .update_endpoint(
            receiver.id,
            &WebhookEndpointPatch {
                enabled: Some(true),
                ..Default::default()
            },
            due,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(enabled.enabled);
    assert_eq!(enabled.disabled_reason, None);
    assert_eq!(enabled.failing_since, None);
    let resumed = store
        .claim_deliveries(due, 10, due + Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(resumed.len(), 1);
    store
        .record_attempt(&resumed[0], &attempt(due, NextStep::Delivered), None)
        .await
        .unwrap();
    let healthy = store.get_endpoint(receiver.id).await.unwrap().unwrap();
    assert_eq!(healthy.failing_since, None);
}

async fn endpoints_are_changed_and_disabled_by_hand(db: TestDb) {
    let store = store(&db);
    let created = endpoint(&store, &[], true).await;
    let changed = store
        .update_endpoint(
            created.id,
            &WebhookEndpointPatch {
                url: Some("https://other.example.com/hook".parse().unwrap()),
                description: Some("renamed".to_owned()),
                event_types: Some(vec![EventType::IntegrationReauthRequired]),
                enabled: Some(false),
            },
            at(1),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.url.as_str(), "https://other.example.com/hook");
    assert_eq!(changed.description, "renamed");
    assert_eq!(changed.event_types, [EventType::IntegrationReauthRequired]);
    assert!(!changed.enabled);
    assert_eq!(
        changed.disabled_reason.as_deref(),
        Some("Disabled by an operator.")
    );
    assert_eq!(changed.version, created.version + 1);
    assert_eq!(
        store.get_endpoint(created.id).await.unwrap().unwrap(),
        changed
    );
    assert_eq!(store.list_endpoints().await.unwrap(), [changed]);
    assert!(
        store
            .update_endpoint(
                WebhookEndpointId::new(),
                &WebhookEndpointPatch::default(),
                at(1)
            )
            .await
            .unwrap()
            .is_none()
    );
}

async fn deliveries_are_listed_newest_first_and_redelivered_on_request(db: TestDb) {
    let store = store(&db);
    let receiver = endpoint(&store, &[], true).await;
    let connected_only = endpoint(&store, &[EventType::IntegrationConnected], true).await;
    let integration = connect(&store, "acct").await;
    degrade(&store, &integration).await;
    let now = at(1);
    let lease = now + Duration::seconds(60);
    let claimed = store.claim_deliveries(now, 10, lease).await.unwrap();
    for c in &claimed {
        store
            .record_attempt(c, &attempt(now, NextStep::Delivered), None)
            .await
            .unwrap();
    }
    let failing = store.claim_deliveries(now, 10, lease).await.unwrap();
    assert_eq!(claimed_types(&failing), ["integration.degraded"]);
    store
        .record_attempt(
            &failing[0],
            &attempt(now, NextStep::RetryAt(now + Duration::hours(2))),
            None,
        )
        .await
        .unwrap();
    let records = store.list_deliveries(receiver.id, 10, None).await.unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].attempts, 1);
    assert_eq!(records[0].next_attempt_at, Some(now + Duration::hours(2)));
    assert!(records[0].event_seq > records[1].event_seq);
    let page = store
        .list_deliveries(receiver.id, 10, Some(records[0].event_seq))
        .await
        .unwrap();
    assert_eq!(page, records[1..]);

    let degraded = records[0].event_id;
    assert_eq!(
        store
            .redeliver_event(receiver.id, degraded, now)
            .await
            .unwrap(),
        Redelivery::Queued
    );
    assert_eq!(
        store
            .redeliver_event(connected_only.id, degraded, now)
            .await
            .unwrap(),
        Redelivery::FilteredOut
    );
    assert_eq!(
        store
            .redeliver_event(receiver.id, EventId::new(), now)
            .await
            .unwrap(),
        Redelivery::EventNotFound
    );
    assert!(matches!(
        store
            .redeliver_event(WebhookEndpointId::new(), degraded, now)
            .await,
        Err(StorageError::NotFound { .. })
    ));
    let again = store.claim_deliveries(now, 10, lease).await.unwrap();
    assert_eq!(claimed_types(&again), ["integration.degraded"]);
    assert_eq!(again[0].attempts, 0, "a redelivery starts a fresh schedule");

    // Everything since before the connection: both events, the filter applied.
    assert_eq!(
        store
            .redeliver_since(receiver.id, at(-10), now)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .redeliver_since(connected_only.id, at(-10), now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .redeliver_since(receiver.id, at(10), now)
            .await
            .unwrap(),
        0
    );
    let pending = store.list_deliveries(receiver.id, 10, None).await.unwrap();
    assert!(pending.iter().all(|r| r.status == DeliveryStatus::Pending));
}

async fn deleting_an_endpoint_or_pruning_events_removes_their_deliveries(db: TestDb) {
    let store = store(&db);
    let gone = endpoint(&store, &[], true).await;
    let kept = endpoint(&store, &[], true).await;
    connect(&store, "acct").await;
    assert_eq!(count(&db, "webhook_deliveries").await, 2);
    assert!(store.delete_endpoint(gone.id).await.unwrap());
    assert!(!store.delete_endpoint(gone.id).await.unwrap());
    assert_eq!(count(&db, "webhook_deliveries").await, 1);
    assert_eq!(store.prune(at(10)).await.unwrap(), 1);
    assert_eq!(count(&db, "webhook_deliveries").await, 0);
    assert!(store.get_endpoint(kept.id).await.unwrap().is_some());
}

async fn a_redelivered_earlier_event_goes_first_and_holds_back_the_later_ones(db: TestDb) {
    let store = store(&db);
    endpoint(&store, &[], true).await;
    let integration = connect(&store, "acct").await;
    degrade(&store, &integration).await;
    let now = at(1);
    let lease = now + Duration::seconds(60);
    let connected = store.claim_deliveries(now, 10, lease).await.unwrap();
    assert_eq!(claimed_types(&connected), ["integration.connected"]);
    store
        .record_attempt(&connected[0], &attempt(now, NextStep::Delivered), None)
        .await
        .unwrap();
    let degraded = store.claim_deliveries(now, 10, lease).await.unwrap();
    assert_eq!(claimed_types(&degraded), ["integration.degraded"]);
    store
        .record_attempt(
            &degraded[0],
            &attempt(now, NextStep::RetryAt(now + Duration::minutes(5))),
            None,
        )
        .await
        .unwrap();

    store
        .redeliver_event(connected[0].endpoint_id, connected[0].event_id, now)
        .await
        .unwrap();
    let later = now + Duration::minutes(10);
    let lease = later + Duration::seconds(60);
    let first = store.claim_deliveries(later, 10, lease).await.unwrap();
    assert_eq!(
        claimed_types(&first),
        ["integration.connected"],
        "the earlier event goes first, the later one waits although it is due"
    );
    store
        .record_attempt(&first[0], &attempt(later, NextStep::Delivered), None)
        .await
        .unwrap();
    let then = store.claim_deliveries(later, 10, lease).await.unwrap();
    assert_eq!(claimed_types(&then), ["integration.degraded"]);
    assert_eq!(then[0].attempts, 1, "its own schedule is kept");
}

async fn pruning_the_event_a_delivery_waits_for_lets_it_go(db: TestDb) {
    let store = store(&db);
    let receiver = endpoint(&store, &[], false).await;
    let integration = connect(&store, "acct").await;
    // Enabled after the connection: only the degraded and recovered events reach it.
    store
        .update_endpoint(
            receiver.id,
            &WebhookEndpointPatch {
                enabled: Some(true),
                ..Default::default()
            },
            at(0),
        )
        .await
        .unwrap();
    let degraded = degrade(&store, &integration).await;
    let mut active = degraded.clone();
    active.status = IntegrationStatus::Active;
    store
        .update_lifecycle(&degraded, &active, ReasonCode::RefreshSucceeded)
        .await
        .unwrap();
    let old = store
        .list_after(0, 10, &[EventType::IntegrationDegraded])
        .await
        .unwrap();
    raw_exec(
        &db,
        "UPDATE events SET occurred_at = $1 WHERE seq = $2",
        vec![at(-60 * 24 * 40).into(), old[0].seq.into()],
    )
    .await;
    let now = at(1);
    let lease = now + Duration::seconds(60);
    assert_eq!(store.prune(at(-60 * 24 * 30)).await.unwrap(), 1);
    let claimed = store.claim_deliveries(now, 10, lease).await.unwrap();
    assert_eq!(claimed_types(&claimed), ["integration.recovered"]);
}

tether_testkit::engine_tests!(
    a_redelivered_earlier_event_goes_first_and_holds_back_the_later_ones,
    pruning_the_event_a_delivery_waits_for_lets_it_go,
    events_fan_out_to_the_enabled_endpoints_whose_filter_accepts_them,
    a_change_that_rolls_back_leaves_no_delivery,
    secrets_are_encrypted_and_a_rotated_one_signs_until_its_grace_ends,
    a_claim_takes_the_earliest_pending_event_of_each_integration_only,
    a_claim_is_a_lease_and_a_late_record_does_not_overwrite_a_newer_one,
    two_pools_claiming_at_once_get_disjoint_deliveries,
    an_endpoint_failing_past_the_threshold_is_disabled_and_enabling_it_resumes,
    endpoints_are_changed_and_disabled_by_hand,
    deliveries_are_listed_newest_first_and_redelivered_on_request,
    deleting_an_endpoint_or_pruning_events_removes_their_deliveries,
);
