//! Several replicas: two workers on two pools share a backlog without delivering an event
//! twice and in each integration's order; a worker that dies holding claims loses nothing;
//! the real worker loop delivers by itself and another replica finishes what an aborted one
//! had in flight.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use tether_core::audit::Actor;
use tether_core::integration::IntegrationStatus;
use tether_core::webhooks::{DeliveryStatus, WebhookRepository};
use tether_storage::SqlStore;
use tether_testkit::TestDb;
use tether_webhooks::{NewEndpoint, WebhookSettings, Webhooks};
use tokio::time::Instant;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

async fn second_pool(db: &TestDb, first: &SqlStore) -> Arc<SqlStore> {
    let pool = tether_storage::connect(&db.url, tether_storage::PoolOptions::default())
        .await
        .unwrap();
    Arc::new(SqlStore::new(pool, Arc::new(first.cipher().clone())))
}

async fn accepting(delay: StdDuration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(delay))
        .mount(&server)
        .await;
    server
}

/// Webhook ids received, and how many times each.
async fn ids(server: &MockServer) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for (id, _) in received(server).await {
        *seen.entry(id).or_default() += 1;
    }
    seen
}

async fn two_workers_share_a_backlog_and_deliver_each_event_once(db: TestDb) {
    let server = accepting(StdDuration::ZERO).await;
    let settings = WebhookSettings {
        concurrency: 8,
        ..loopback_settings()
    };
    let one = Harness::new(&db, settings.clone());
    let two = Harness::on(
        second_pool(&db, &one.store).await,
        settings,
        one.clock.clone(),
    );
    one.endpoint(&format!("{}/hooks", server.uri())).await;
    let mut integrations = Vec::new();
    for n in 0..20 {
        let integration = connect(&one.store, &format!("acct-{n}")).await;
        let degraded = set_status(&one.store, &integration, IntegrationStatus::Degraded).await;
        set_status(&one.store, &degraded, IntegrationStatus::Active).await;
        integrations.push(integration.id);
    }
    one.catch_up();

    let (a, b) = tokio::join!(one.webhooks.drain(), two.webhooks.drain());
    assert_eq!(a.delivered + b.delivered, 60, "{a:?} {b:?}");
    assert!(
        a.delivered > 0 && b.delivered > 0,
        "both replicas work: {a:?} {b:?}"
    );
    assert_eq!(a.stale + b.stale, 0);
    let seen = ids(&server).await;
    assert_eq!(seen.len(), 60);
    assert!(
        seen.values().all(|n| *n == 1),
        "an event was delivered twice"
    );

    let got = received(&server).await;
    for id in integrations {
        let types: Vec<&str> = got
            .iter()
            .filter(|(_, body)| body["data"]["integration_id"] == id.to_string())
            .map(|(_, body)| body["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "integration.connected",
                "integration.degraded",
                "integration.recovered"
            ]
        );
    }
}

async fn a_worker_that_dies_holding_claims_loses_nothing(db: TestDb) {
    let server = accepting(StdDuration::ZERO).await;
    let one = Harness::new(&db, loopback_settings());
    let two = Harness::on(
        second_pool(&db, &one.store).await,
        loopback_settings(),
        one.clock.clone(),
    );
    let (endpoint, _) = one.endpoint(&format!("{}/hooks", server.uri())).await;
    for n in 0..10 {
        let integration = connect(&one.store, &format!("acct-{n}")).await;
        set_status(&one.store, &integration, IntegrationStatus::Degraded).await;
    }
    one.catch_up();
    let now = tether_webhooks::Clock::now(one.clock.as_ref());
    let lease = Duration::from_std(one.webhooks.settings().lease).unwrap();

    // Replica one claims five deliveries and dies before attempting them.
    let held = one
        .store
        .claim_deliveries(now, 5, now + lease)
        .await
        .unwrap();
    assert_eq!(held.len(), 5);
    let meanwhile = two.webhooks.drain().await;
    assert_eq!(
        meanwhile.delivered, 10,
        "the other five integrations, both events each: {meanwhile:?}"
    );
    one.advance(lease + Duration::seconds(1));
    let after = two.webhooks.drain().await;
    assert_eq!(after.delivered, 10, "{after:?}");

    let seen = ids(&server).await;
    assert_eq!(seen.len(), 20);
    assert!(seen.values().all(|n| *n == 1));
    let records = two
        .webhooks
        .deliveries(endpoint.id, 100, None)
        .await
        .unwrap();
    assert_eq!(records.len(), 20);
    assert!(
        records
            .iter()
            .all(|r| r.status == DeliveryStatus::Delivered)
    );
}

/// Waits (polling, with a deadline) until `done` says so.
async fn wait_for<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + StdDuration::from_secs(30);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
}

async fn the_worker_loop_delivers_by_itself_and_another_replica_finishes_an_aborted_ones_work(
    db: TestDb,
) {
    // Real time here: the loop's own pacing is under test. Each answer takes 300 ms.
    let server = accepting(StdDuration::from_millis(300)).await;
    let settings = WebhookSettings {
        concurrency: 4,
        poll_interval: StdDuration::from_millis(50),
        lease: StdDuration::from_secs(2),
        ..loopback_settings()
    };
    let first_store = Arc::new(SqlStore::new(
        db.conn.clone(),
        Arc::new(
            tether_storage::TokenCipher::new(&[tether_storage::TokenCipher::generate_key()])
                .unwrap(),
        ),
    ));
    let second_store = second_pool(&db, &first_store).await;
    let first = Webhooks::new(first_store.clone(), first_store.clone(), settings.clone()).unwrap();
    let second = Webhooks::new(second_store.clone(), second_store, settings).unwrap();
    let (endpoint, _) = first
        .create(
            &Actor::System,
            NewEndpoint {
                url: format!("{}/hooks", server.uri()),
                enabled: true,
                ..NewEndpoint::default()
            },
        )
        .await
        .unwrap();
    let worker = first.spawn_worker();
    for n in 0..12 {
        connect(&first_store, &format!("acct-{n}")).await;
    }
    wait_for("the first requests", || async {
        !server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    })
    .await;
    // The replica stops with requests in flight: their claims must lapse, not vanish.
    worker.abort();
    let _ = worker.await;
    let replacement = second.spawn_worker();
    wait_for("every delivery to be recorded as delivered", || async {
        let records = second.deliveries(endpoint.id, 100, None).await.unwrap();
        records.len() == 12
            && records
                .iter()
                .all(|r| r.status == DeliveryStatus::Delivered)
    })
    .await;
    replacement.abort();
    let seen: HashSet<String> = ids(&server).await.into_keys().collect();
    assert_eq!(seen.len(), 12, "every event reached the receiver");
}

tether_testkit::engine_tests!(
    two_workers_share_a_backlog_and_deliver_each_event_once,
    a_worker_that_dies_holding_claims_loses_nothing,
    the_worker_loop_delivers_by_itself_and_another_replica_finishes_an_aborted_ones_work,
);
