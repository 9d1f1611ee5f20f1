//! Token reads and refresh against the sandbox: the refresh storm across replicas, rotation,
//! permanent and transient failures and the statuses they lead to.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Harness, Mode, Tweaked, client_info};
use tether_broker::BrokerError;
use tether_core::audit::{Actor, AuditAction, AuditQuery};
use tether_core::integration::IntegrationStatus;
use tether_core::ports::{AuditRepository, TokenRepository};
use tether_core::token::TokenOwner;
use tether_core::{IntegrationId, ProviderKind};
use tether_provider_sandbox::SandboxProvider;
use tether_sandbox::{Failure, GrantType};

const SERVICE: Actor = Actor::System;

/// Connects alice and moves her token to its refresh point, so the next read must refresh.
async fn connected_with_a_stale_token(h: &Harness) -> IntegrationId {
    let id = h
        .connect("alice", ProviderKind::Google, "alice")
        .await
        .integration_id
        .unwrap();
    h.make_due(id).await;
    id
}

async fn stored_refresh_token(h: &Harness, id: IntegrationId) -> String {
    let stored = TokenRepository::get(&*h.store, &TokenOwner::Integration(id))
        .await
        .unwrap()
        .unwrap();
    stored
        .tokens
        .refresh_token
        .unwrap()
        .expose_secret()
        .to_owned()
}

/// Token reads the audit trail accounts for (identical reads are coalesced into one record
/// with a `count`).
async fn reads_accounted(h: &Harness, id: IntegrationId) -> u64 {
    h.store
        .query(&AuditQuery {
            integration_id: Some(id),
            action: Some(AuditAction::TokenRead),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .map(|r| {
            r.event
                .detail
                .as_ref()
                .and_then(|d| d["count"].as_u64())
                .unwrap_or(1)
        })
        .sum()
}

async fn audited(h: &Harness, id: IntegrationId, action: AuditAction) -> usize {
    h.store
        .query(&AuditQuery {
            integration_id: Some(id),
            action: Some(action),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .len()
}

async fn a_fresh_token_is_read_without_calling_the_provider_and_every_read_is_audited(mode: Mode) {
    // Batches nobody waits for never fill and timers never fire: only a read's own commit (or
    // `flush`) writes.
    let h = Harness::with(mode, 1, |config| {
        config.audit_sink.linger = Duration::from_secs(3600);
        config.usage_flush_every = Duration::from_secs(3600);
    })
    .await;
    let id = h
        .connect("alice", ProviderKind::Google, "alice")
        .await
        .integration_id
        .unwrap();
    let before = h.token_calls(GrantType::RefreshToken);
    let started = chrono::Utc::now();
    for _ in 0..3 {
        h.broker()
            .access_token(id, &SERVICE, Some("calendar sync"))
            .await
            .unwrap();
    }
    assert_eq!(h.token_calls(GrantType::RefreshToken), before);
    // Each read returned only once its record was committed; one after the other, none
    // shared a write (concurrent identical reads would be coalesced).
    assert_eq!(
        reads_accounted(&h, id).await,
        3,
        "every read is in the trail when it returns"
    );
    assert_eq!(audited(&h, id, AuditAction::TokenRead).await, 3);
    assert_eq!(
        h.integration(id).await.last_used_at,
        None,
        "last_used_at is batched"
    );

    h.broker().flush().await;
    assert_eq!(reads_accounted(&h, id).await, 3, "flushing adds nothing");
    let used = h.integration(id).await.last_used_at.unwrap();
    assert!(
        used >= started - chrono::Duration::milliseconds(1),
        "{used} vs {started}"
    );
    assert_eq!(h.broker().audit_overflow_writes(), 0);
}

async fn a_refresh_storm_makes_exactly_one_token_call_and_everyone_gets_the_new_token(mode: Mode) {
    let replicas = if mode == Mode::Production { 2 } else { 1 };
    let h = Harness::with(mode, replicas, |_| {}).await;
    let id = connected_with_a_stale_token(&h).await;
    let old_refresh = stored_refresh_token(&h, id).await;
    let reads = (0..200).map(|i| {
        let broker = h.brokers[i % replicas].clone();
        tokio::spawn(async move { broker.access_token(id, &SERVICE, None).await })
    });
    let results = futures::future::join_all(reads).await;
    let tokens: Vec<String> = results
        .into_iter()
        .map(|r| r.unwrap().unwrap().access_token.expose_secret().to_owned())
        .collect();
    assert_eq!(
        h.token_calls(GrantType::RefreshToken),
        1,
        "exactly one refresh reached the provider"
    );
    assert!(
        tokens.iter().all(|t| *t == tokens[0]),
        "every caller got the same new token"
    );
    assert_eq!(h.sandbox.stats().refresh_token_reuse_detected, 0);
    assert_ne!(
        stored_refresh_token(&h, id).await,
        old_refresh,
        "the rotated refresh token was stored"
    );
    let me = h
        .browser
        .get(format!("{}/api/me", h.sandbox.issuer()))
        .bearer_auth(&tokens[0])
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "the handed-out token works upstream");
}

async fn a_rotated_refresh_token_is_persisted_and_used_next_time(mode: Mode) {
    let h = Harness::start(mode).await;
    let id = h
        .connect("alice", ProviderKind::Google, "alice")
        .await
        .integration_id
        .unwrap();
    let first = stored_refresh_token(&h, id).await;
    h.broker().force_refresh(id, &SERVICE).await.unwrap();
    let second = stored_refresh_token(&h, id).await;
    assert_ne!(first, second);
    // The next refresh presents the new one: the sandbox would detect reuse of the old one.
    h.broker().force_refresh(id, &SERVICE).await.unwrap();
    assert_eq!(h.sandbox.stats().refresh_token_reuse_detected, 0);
    assert_eq!(h.token_calls(GrantType::RefreshToken), 2);
    assert_eq!(audited(&h, id, AuditAction::TokenRefreshed).await, 2);
}

async fn a_refresh_without_a_new_refresh_token_keeps_the_old_one(mode: Mode) {
    let mut h = Harness::start(mode).await;
    let id = h
        .connect("alice", ProviderKind::Google, "alice")
        .await
        .integration_id
        .unwrap();
    let original = stored_refresh_token(&h, id).await;
    let sandbox = SandboxProvider::new(
        ProviderKind::Google,
        h.sandbox.issuer(),
        common::CLIENT_ID,
        common::CLIENT_SECRET,
        reqwest::Client::new(),
    );
    h.rebuild_with(Arc::new(Tweaked {
        inner: sandbox,
        drop_refresh_token: true,
        ..Tweaked::default_for(ProviderKind::Google)
    }));
    let before = TokenRepository::get(&*h.store, &TokenOwner::Integration(id))
        .await
        .unwrap()
        .unwrap();
    let grant = h.broker().force_refresh(id, &SERVICE).await.unwrap();
    assert_ne!(
        grant.access_token, before.tokens.access_token,
        "the access token was refreshed"
    );
    assert_eq!(
        stored_refresh_token(&h, id).await,
        original,
        "the old refresh token is kept"
    );
}

async fn invalid_grant_marks_reauth_required_at_once_with_one_call(mode: Mode) {
    let h = Harness::start(mode).await;
    let id = connected_with_a_stale_token(&h).await;
    h.sandbox
        .controls()
        .fail_next_for(GrantType::RefreshToken, 5, Failure::InvalidGrant);
    let result = h.broker().access_token(id, &SERVICE, None).await;
    assert!(
        matches!(result, Err(BrokerError::ReauthRequired { .. })),
        "{result:?}"
    );
    assert_eq!(
        h.token_calls(GrantType::RefreshToken),
        1,
        "no retries for a permanent failure"
    );
    let integration = h.integration(id).await;
    assert_eq!(integration.status, IntegrationStatus::ReauthRequired);
    assert!(integration.last_error.unwrap().contains("invalid_grant"));
    assert_eq!(audited(&h, id, AuditAction::StatusChanged).await, 1);
    // Later reads do not try again.
    let again = h.broker().access_token(id, &SERVICE, None).await;
    assert!(matches!(again, Err(BrokerError::ReauthRequired { .. })));
    assert_eq!(h.token_calls(GrantType::RefreshToken), 1);
}

async fn server_errors_are_retried_then_degrade_and_recovery_restores_active(mode: Mode) {
    let h = Harness::with(mode, 1, |c| {
        c.retry.max_attempts = 3;
        c.degraded_after_failures = 1;
    })
    .await;
    h.sandbox
        .controls()
        .set_access_token_ttl(Duration::from_secs(1));
    let id = h
        .connect("alice", ProviderKind::Google, "alice")
        .await
        .integration_id
        .unwrap();
    h.sandbox
        .controls()
        .set_access_token_ttl(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_millis(1100)).await;

    h.sandbox
        .controls()
        .fail_next_for(GrantType::RefreshToken, 3, Failure::Status(500));
    let failed = h.broker().access_token(id, &SERVICE, None).await;
    assert!(
        matches!(failed, Err(BrokerError::ProviderUnavailable { .. })),
        "{failed:?}"
    );
    assert_eq!(
        h.token_calls(GrantType::RefreshToken),
        3,
        "retried up to the policy"
    );
    let degraded = h.integration(id).await;
    assert_eq!(degraded.status, IntegrationStatus::Degraded);
    assert_eq!(degraded.failure_count, 1);

    let grant = h.broker().access_token(id, &SERVICE, None).await.unwrap();
    assert!(grant.expires_at.unwrap() > chrono::Utc::now() + chrono::Duration::minutes(30));
    let recovered = h.integration(id).await;
    assert_eq!(recovered.status, IntegrationStatus::Active);
    assert_eq!(recovered.failure_count, 0);
    assert!(recovered.last_error.is_none());
    let changes = h
        .store
        .query(&AuditQuery {
            integration_id: Some(id),
            action: Some(AuditAction::StatusChanged),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let transitions: Vec<String> = changes
        .iter()
        .rev()
        .map(|r| {
            let d = r.event.detail.as_ref().unwrap();
            format!(
                "{}->{}",
                d["from"].as_str().unwrap(),
                d["to"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(transitions, ["active->degraded", "degraded->active"]);
}

async fn a_user_cannot_read_or_refresh_another_users_integration(mode: Mode) {
    let h = Harness::start(mode).await;
    let id = h
        .connect("alice", ProviderKind::Google, "alice")
        .await
        .integration_id
        .unwrap();
    let bob = Actor::User(common::user("bob"));
    assert!(matches!(
        h.broker().force_refresh(id, &bob).await,
        Err(BrokerError::IntegrationNotFound)
    ));
    assert!(matches!(
        h.broker().integration_for(id, &bob).await,
        Err(BrokerError::IntegrationNotFound)
    ));
    let alice = Actor::User(common::user("alice"));
    assert!(h.broker().integration_for(id, &alice).await.is_ok());
}

async fn a_launch_context_is_stored_with_the_tokens_and_kept_across_refreshes(mode: Mode) {
    let mut h = Harness::start(mode).await;
    let sandbox = SandboxProvider::new(
        ProviderKind::Google,
        h.sandbox.issuer(),
        common::CLIENT_ID,
        common::CLIENT_SECRET,
        reqwest::Client::new(),
    );
    h.rebuild_with(Arc::new(Tweaked {
        inner: sandbox,
        launch_context_once: Some(
            serde_json::json!({ "patient": "pat-123", "fhirUser": "Practitioner/9" }),
        ),
        ..Tweaked::default_for(ProviderKind::Google)
    }));
    let id = h
        .connect("alice", ProviderKind::Google, "alice")
        .await
        .integration_id
        .unwrap();
    let context = |h: &Harness| {
        let store = h.store.clone();
        async move {
            let stored = TokenRepository::get(&*store, &TokenOwner::Integration(id))
                .await
                .unwrap()
                .unwrap();
            stored
                .tokens
                .launch_context
                .map(|c| c.expose_secret().to_owned())
        }
    };
    let expected = r#"{"fhirUser":"Practitioner/9","patient":"pat-123"}"#;
    assert_eq!(context(&h).await.as_deref(), Some(expected));
    assert!(
        !h.integration(id)
            .await
            .metadata
            .to_string()
            .contains("pat-123"),
        "not in plain metadata"
    );
    h.broker().force_refresh(id, &SERVICE).await.unwrap();
    assert_eq!(
        context(&h).await.as_deref(),
        Some(expected),
        "kept when the refresh does not repeat it"
    );
}

async fn a_short_lived_token_is_refreshed_once_and_then_served_until_its_refresh_point(mode: Mode) {
    let h = Harness::with(mode, 3, |_| {}).await;
    // Access tokens live 60 s, well under the 5-minute buffer.
    h.sandbox
        .controls()
        .set_access_token_ttl(Duration::from_secs(60));
    let id = h
        .connect("alice", ProviderKind::Google, "alice")
        .await
        .integration_id
        .unwrap();
    assert_eq!(
        h.token_calls(GrantType::RefreshToken),
        0,
        "a just-issued 60-second token is handed out as it is"
    );
    h.make_due(id).await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20 {
        let grant = h.broker().access_token(id, &SERVICE, None).await.unwrap();
        seen.insert(grant.access_token.expose_secret().to_owned());
    }
    let reads = (0..300).map(|n| {
        let broker = h.brokers[n % 3].clone();
        tokio::spawn(async move { broker.access_token(id, &SERVICE, None).await })
    });
    for read in futures::future::join_all(reads).await {
        seen.insert(
            read.unwrap()
                .unwrap()
                .access_token
                .expose_secret()
                .to_owned(),
        );
    }
    assert_eq!(
        h.token_calls(GrantType::RefreshToken),
        1,
        "320 reads over 3 replicas: one refresh"
    );
    assert_eq!(seen.len(), 1, "everyone got the one new token");
    // Its refresh point was decided when it was stored: 15 s (a quarter) before expiry.
    let integration = h.integration(id).await;
    let stored = TokenRepository::get(&*h.store, &TokenOwner::Integration(id))
        .await
        .unwrap()
        .unwrap();
    let before_expiry = stored.tokens.expires_at.unwrap() - integration.next_refresh_at.unwrap();
    assert!(
        (before_expiry - chrono::Duration::seconds(15)).abs() < chrono::Duration::milliseconds(100),
        "{before_expiry}"
    );
}

async fn a_caller_that_needs_a_scope_the_user_did_not_grant_is_refused_by_name(mode: Mode) {
    let h = Harness::start(mode).await;
    let pending = h
        .begin(
            "alice",
            ProviderKind::Google,
            Some("email items.read items.write"),
        )
        .await;
    let params = h
        .consent(&pending, "alice", Some(&["profile", "email", "items.read"]))
        .await;
    let id = h
        .broker()
        .complete_callback(
            ProviderKind::Google,
            params,
            Some(&pending.cookie),
            &common::client_info(),
        )
        .await
        .unwrap()
        .integration_id
        .unwrap();
    let scopes = |s: &str| tether_core::ScopeSet::parse_delimited(s).unwrap();
    let refused = h
        .broker()
        .access_token_requiring(
            id,
            &SERVICE,
            None,
            &scopes("items.read items.write"),
            &client_info(),
        )
        .await;
    match refused {
        Err(BrokerError::InsufficientScopes { missing, .. }) => {
            assert_eq!(missing.to_delimited(), "items.write");
        }
        other => panic!("expected insufficient scopes, got {other:?}"),
    }
    let message = BrokerError::InsufficientScopes {
        provider: "Google",
        missing: scopes("items.write"),
    }
    .to_string();
    assert!(message.contains("reconnect"), "{message}");
    assert!(
        h.broker()
            .access_token_requiring(id, &SERVICE, None, &scopes("items.read"), &client_info())
            .await
            .is_ok(),
        "granted scopes are enough"
    );
}

async fn a_slow_refresh_keeps_its_lock_so_no_replica_presents_the_same_refresh_token(mode: Mode) {
    // Leases of 300 ms against a provider that takes a second: without renewal the lock
    // would lapse three times over during one refresh.
    let h = Harness::with(mode, 2, |c| c.lock_ttl = Duration::from_millis(300)).await;
    let id = connected_with_a_stale_token(&h).await;
    h.sandbox
        .controls()
        .set_delay(Some(Duration::from_millis(1000)));
    // Both replicas read until they get a token; whichever refreshes, the other waits or is
    // told to retry while the refresh is in flight.
    let reader = |broker: tether_broker::Broker| {
        tokio::spawn(async move {
            let mut results = Vec::new();
            for _ in 0..50 {
                let result = broker.access_token(id, &SERVICE, None).await;
                let retry = matches!(result, Err(BrokerError::ProviderUnavailable { .. }));
                results.push(result);
                if !retry {
                    break;
                }
            }
            results
        })
    };
    let readers = [reader(h.brokers[0].clone()), reader(h.brokers[1].clone())];
    let mut results = Vec::new();
    for reader in readers {
        results.extend(reader.await.unwrap());
    }
    h.sandbox.controls().set_delay(None);
    for result in &results {
        assert!(
            matches!(result, Ok(_) | Err(BrokerError::ProviderUnavailable { .. })),
            "a replica waits or is told to retry, never more: {result:?}"
        );
    }
    let tokens: std::collections::HashSet<String> = results
        .iter()
        .flatten()
        .map(|g| g.access_token.expose_secret().to_owned())
        .collect();
    assert_eq!(tokens.len(), 1, "both replicas got the one new token");
    assert_eq!(h.token_calls(GrantType::RefreshToken), 1);
    assert_eq!(h.sandbox.controls().stats().refresh_token_reuse_detected, 0);
    assert_eq!(h.integration(id).await.status, IntegrationStatus::Active);
}

both_modes!(
    a_short_lived_token_is_refreshed_once_and_then_served_until_its_refresh_point,
    a_caller_that_needs_a_scope_the_user_did_not_grant_is_refused_by_name,
    a_slow_refresh_keeps_its_lock_so_no_replica_presents_the_same_refresh_token,
    a_launch_context_is_stored_with_the_tokens_and_kept_across_refreshes,
    a_fresh_token_is_read_without_calling_the_provider_and_every_read_is_audited,
    a_refresh_storm_makes_exactly_one_token_call_and_everyone_gets_the_new_token,
    a_rotated_refresh_token_is_persisted_and_used_next_time,
    a_refresh_without_a_new_refresh_token_keeps_the_old_one,
    invalid_grant_marks_reauth_required_at_once_with_one_call,
    server_errors_are_retried_then_degrade_and_recovery_restores_active,
    a_user_cannot_read_or_refresh_another_users_integration,
);
