//! The short-lived read cache: changes made through this broker are seen at once; another
//! replica's revocation is seen once the cached entry lapses (the TTL bounds the staleness);
//! a zero TTL turns the cache off.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

mod common;

use std::time::Duration;

use common::{Harness, Mode, client_info};
use tether_broker::BrokerError;
use tether_core::ProviderKind;
use tether_core::audit::Actor;

const SERVICE: Actor = Actor::System;

async fn a_revocation_by_this_broker_is_seen_at_once(mode: Mode) {
    let h = Harness::with(mode, 1, |c| c.read_cache_ttl = Duration::from_secs(60)).await;
    let id = h
        .connect("alice", ProviderKind::Google, "alice")
        .await
        .integration_id
        .unwrap();
    h.broker().access_token(id, &SERVICE, None).await.unwrap();
    h.broker()
        .revoke(id, &SERVICE, &client_info())
        .await
        .unwrap();
    let read = h.broker().access_token(id, &SERVICE, None).await;
    assert!(
        matches!(read, Err(BrokerError::ReauthRequired { .. })),
        "{read:?}"
    );
}

async fn another_replicas_revocation_is_seen_within_the_ttl(mode: Mode) {
    let ttl = Duration::from_millis(800);
    let h = Harness::with(mode, 2, |c| c.read_cache_ttl = ttl).await;
    let (a, b) = (&h.brokers[0], &h.brokers[1]);
    let id = h
        .connect("alice", ProviderKind::Google, "alice")
        .await
        .integration_id
        .unwrap();
    a.access_token(id, &SERVICE, None).await.unwrap();
    b.revoke(id, &SERVICE, &client_info()).await.unwrap();
    // Replica A may serve its cached read until the entry lapses, never longer.
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let read = a.access_token(id, &SERVICE, None).await;
    assert!(
        matches!(read, Err(BrokerError::ReauthRequired { .. })),
        "{read:?}"
    );
}

async fn hot_reads_within_the_ttl_do_not_extend_it(mode: Mode) {
    let ttl = Duration::from_millis(600);
    let h = Harness::with(mode, 2, |c| c.read_cache_ttl = ttl).await;
    let (a, b) = (&h.brokers[0], &h.brokers[1]);
    let id = h
        .connect("alice", ProviderKind::Google, "alice")
        .await
        .integration_id
        .unwrap();
    a.access_token(id, &SERVICE, None).await.unwrap();
    b.revoke(id, &SERVICE, &client_info()).await.unwrap();
    // Reading all the time must not keep the stale entry alive.
    let deadline = tokio::time::Instant::now() + ttl * 3;
    let mut refused = false;
    while tokio::time::Instant::now() < deadline {
        if a.access_token(id, &SERVICE, None).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "a hot cached read outlived its TTL");
}

async fn a_zero_ttl_reads_the_database_every_time(mode: Mode) {
    let h = Harness::with(mode, 2, |c| c.read_cache_ttl = Duration::ZERO).await;
    let (a, b) = (&h.brokers[0], &h.brokers[1]);
    let id = h
        .connect("alice", ProviderKind::Google, "alice")
        .await
        .integration_id
        .unwrap();
    a.access_token(id, &SERVICE, None).await.unwrap();
    b.revoke(id, &SERVICE, &client_info()).await.unwrap();
    let read = a.access_token(id, &SERVICE, None).await;
    assert!(
        matches!(read, Err(BrokerError::ReauthRequired { .. })),
        "{read:?}"
    );
}

both_modes!(
    a_revocation_by_this_broker_is_seen_at_once,
    another_replicas_revocation_is_seen_within_the_ttl,
    hot_reads_within_the_ttl_do_not_extend_it,
    a_zero_ttl_reads_the_database_every_time,
);
