//! The refresh scheduler: due tokens are refreshed without anyone reading them, idle refresh
//! tokens are kept alive, and replicas running passes at the same time refresh each
//! integration once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

mod common;

use std::time::Duration;

use common::{Harness, Mode};
use tether_broker::SchedulerConfig;
use tether_core::ProviderKind;
use tether_core::integration::IntegrationStatus;
use tether_sandbox::{Failure, GrantType};

async fn connect_stale(h: &Harness, accounts: &[&str]) -> Vec<tether_core::IntegrationId> {
    let mut ids = Vec::new();
    for account in accounts {
        let id = h
            .connect("alice", ProviderKind::Google, account)
            .await
            .integration_id
            .unwrap();
        h.make_due(id).await;
        ids.push(id);
    }
    ids
}

async fn a_due_token_is_refreshed_by_the_scheduler_before_anyone_reads_it(mode: Mode) {
    let h = Harness::start(mode).await;
    let ids = connect_stale(&h, &["a"]).await;
    let before = h.integration(ids[0]).await;
    assert!(
        before.next_refresh_at.unwrap() <= chrono::Utc::now(),
        "due: expires within the buffer"
    );

    let pass = h.broker().refresh_due(100, 4).await.unwrap();
    assert_eq!((pass.due, pass.refreshed, pass.failed), (1, 1, 0));
    assert_eq!(h.token_calls(GrantType::RefreshToken), 1);
    let after = h.integration(ids[0]).await;
    assert!(after.next_refresh_at.unwrap() > chrono::Utc::now() + chrono::Duration::minutes(30));
    assert!(after.last_refreshed_at > before.last_refreshed_at);

    let idle = h.broker().refresh_due(100, 4).await.unwrap();
    assert_eq!(idle.due, 0, "nothing is due any more");
    assert_eq!(h.token_calls(GrantType::RefreshToken), 1);
}

async fn replicas_running_passes_together_refresh_each_integration_once(mode: Mode) {
    let replicas = if mode == Mode::Production { 3 } else { 2 };
    let h = Harness::with(mode, replicas, |_| {}).await;
    let ids = connect_stale(&h, &["a", "b", "c", "d", "e", "f"]).await;
    let passes = h.brokers.iter().map(|b| {
        let b = b.clone();
        tokio::spawn(async move { b.refresh_due(100, 4).await })
    });
    let passes: Vec<_> = futures::future::join_all(passes)
        .await
        .into_iter()
        .map(|p| p.unwrap().unwrap())
        .collect();
    assert_eq!(
        h.token_calls(GrantType::RefreshToken),
        ids.len() as u64,
        "one refresh per integration"
    );
    assert_eq!(passes.iter().map(|p| p.refreshed).sum::<usize>(), ids.len());
    assert!(passes.iter().all(|p| p.failed == 0), "{passes:?}");
    assert_eq!(h.sandbox.stats().refresh_token_reuse_detected, 0);
}

async fn an_idle_refresh_token_is_kept_alive(mode: Mode) {
    let h = Harness::with(mode, 1, |c| {
        c.refresh_keepalive = Some(Duration::from_millis(500))
    })
    .await;
    let id = h
        .connect("alice", ProviderKind::Google, "alice")
        .await
        .integration_id
        .unwrap();
    assert_eq!(
        h.broker().refresh_due(100, 4).await.unwrap().due,
        0,
        "the access token is fresh for an hour"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    let pass = h.broker().refresh_due(100, 4).await.unwrap();
    assert_eq!(pass.refreshed, 1);
    assert_eq!(h.token_calls(GrantType::RefreshToken), 1);
    assert_eq!(h.integration(id).await.status, IntegrationStatus::Active);
}

async fn a_permanent_failure_in_a_pass_does_not_stop_the_others(mode: Mode) {
    let h = Harness::with(mode, 1, |_| {}).await;
    let ids = connect_stale(&h, &["a", "b", "c"]).await;
    h.sandbox
        .controls()
        .fail_next_for(GrantType::RefreshToken, 1, Failure::InvalidGrant);
    let pass = h.broker().refresh_due(100, 1).await.unwrap();
    assert_eq!((pass.due, pass.refreshed, pass.failed), (3, 2, 1));
    let mut statuses = Vec::new();
    for id in ids {
        statuses.push(h.integration(id).await.status);
    }
    statuses.sort();
    assert_eq!(
        statuses,
        [
            IntegrationStatus::Active,
            IntegrationStatus::Active,
            IntegrationStatus::ReauthRequired
        ]
    );
    assert_eq!(
        h.broker().refresh_due(100, 1).await.unwrap().due,
        0,
        "reauth_required is not retried"
    );
}

async fn running_schedulers_drain_a_backlog_without_pausing_between_batches(mode: Mode) {
    let h = Harness::with(mode, 2, |_| {}).await;
    let accounts: Vec<String> = (0..24).map(|n| format!("acct-{n}")).collect();
    let names: Vec<&str> = accounts.iter().map(String::as_str).collect();
    let ids = connect_stale(&h, &names).await;
    // Batches of 3, 2 at a time, and an hour between looks when idle: only draining
    // without a pause between batches gets through 24 integrations.
    let config = SchedulerConfig {
        interval: Duration::from_secs(3600),
        batch: 3,
        concurrency: 2,
        provider_concurrency: 2,
        ..SchedulerConfig::default()
    };
    let tasks: Vec<_> = h
        .brokers
        .iter()
        .map(|b| b.spawn_refresh_scheduler(config.clone()))
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while h.token_calls(GrantType::RefreshToken) < ids.len() as u64 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the backlog was not drained: {} of {} refreshed",
            h.token_calls(GrantType::RefreshToken),
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The provider answered every refresh; wait for the last ones to be stored.
    for id in &ids {
        loop {
            let integration = h.integration(*id).await;
            assert_eq!(integration.status, IntegrationStatus::Active);
            if integration.next_refresh_at.unwrap() > chrono::Utc::now() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "integration {id} was refreshed at the provider but never stored"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for task in tasks {
        task.abort();
    }
    assert_eq!(
        h.token_calls(GrantType::RefreshToken),
        ids.len() as u64,
        "two replicas, one refresh per integration"
    );
    assert_eq!(h.sandbox.stats().refresh_token_reuse_detected, 0);
}

async fn transient_failures_back_off_exponentially_by_consecutive_failures(mode: Mode) {
    let h = Harness::with(mode, 1, |c| {
        c.retry.max_attempts = 1;
        c.failure_backoff.base_delay = Duration::from_secs(60);
    })
    .await;
    let ids = connect_stale(&h, &["a"]).await;
    let mut waits = Vec::new();
    for _ in 0..3 {
        h.sandbox
            .controls()
            .fail_next_for(GrantType::RefreshToken, 1, Failure::Status(500));
        let before = chrono::Utc::now();
        let pass = h.broker().refresh_due(100, 1).await.unwrap();
        assert_eq!(pass.failed, 1);
        let integration = h.integration(ids[0]).await;
        waits.push((integration.next_refresh_at.unwrap() - before).num_seconds());
        // Due again, as if the wait had passed.
        let mut due = integration;
        due.next_refresh_at = Some(chrono::Utc::now());
        tether_core::ports::IntegrationRepository::update(&*h.store, &due)
            .await
            .unwrap();
        tether_core::ports::IntegrationRepository::release_claims(&*h.store, &[due.id])
            .await
            .unwrap();
    }
    // Full jitter within [half, whole] of 60 s, 120 s, 240 s.
    assert!((29..=60).contains(&waits[0]), "{waits:?}");
    assert!((59..=120).contains(&waits[1]), "{waits:?}");
    assert!((119..=240).contains(&waits[2]), "{waits:?}");
    assert_eq!(
        h.integration(ids[0]).await.status,
        IntegrationStatus::Degraded
    );
}

both_modes!(
    running_schedulers_drain_a_backlog_without_pausing_between_batches,
    transient_failures_back_off_exponentially_by_consecutive_failures,
    a_due_token_is_refreshed_by_the_scheduler_before_anyone_reads_it,
    replicas_running_passes_together_refresh_each_integration_once,
    an_idle_refresh_token_is_kept_alive,
    a_permanent_failure_in_a_pass_does_not_stop_the_others,
);
