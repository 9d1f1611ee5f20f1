//! AuditRepository: append, batch append, filtered and paged queries, newest first.

use chrono::Duration;
use tether_core::audit::{Actor, ActorKind, AuditAction, AuditEvent, AuditQuery};
use tether_core::ids::AuditId;
use tether_core::{ApiKeyId, ConsoleAccountId, IntegrationId, ProviderKind};
use tether_testkit::TestDb;

use crate::common::*;
use tether_core::ports::AuditRepository;

fn event(
    action: AuditAction,
    user_id: &str,
    integration: Option<IntegrationId>,
    minutes: i64,
) -> AuditEvent {
    let mut e = AuditEvent::new(Actor::User(user(user_id)), action);
    e.user_id = Some(user(user_id));
    e.integration_id = integration;
    e.created_at = at(minutes);
    e
}

async fn audit_events_round_trip_and_are_filtered(db: TestDb) {
    let store = store(&db);
    let (i1, i2) = (IntegrationId::new(), IntegrationId::new());
    let mut full =
        event(AuditAction::RefreshFailed, "u1", Some(i1), -30).failed("provider answered 503");
    full.actor = Actor::ApiKey(ApiKeyId::new());
    full.provider = Some(ProviderKind::Microsoft);
    full.scopes = Some(scopes("User.Read offline_access"));
    full.ip_address = Some("198.51.100.1".to_owned());
    full.user_agent = Some("svc/1.0".to_owned());
    full.detail = Some(serde_json::json!({ "attempt": 3 }));
    let full_id = store.append(&full).await.unwrap();
    let connected = store
        .append(&event(AuditAction::Connected, "u1", Some(i2), -20))
        .await
        .unwrap();
    store
        .append_batch(&[
            event(AuditAction::TokenRead, "u2", Some(i1), -10),
            AuditEvent::new(Actor::System, AuditAction::KeysRotated),
        ])
        .await
        .unwrap();

    let all = store.query(&AuditQuery::default()).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(
        all[0].event.action,
        AuditAction::KeysRotated,
        "newest first"
    );
    assert_eq!(all[3].id, full_id);
    assert_eq!(all[3].event, full);

    let ids = |q: AuditQuery| {
        let store = store.clone();
        async move {
            store
                .query(&q)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    let by_integration = ids(AuditQuery {
        integration_id: Some(i1),
        ..Default::default()
    })
    .await;
    assert_eq!(by_integration.len(), 2);
    assert_eq!(by_integration[1], full_id);
    assert_eq!(
        ids(AuditQuery {
            user_id: Some(user("u1")),
            ..Default::default()
        })
        .await,
        [connected, full_id]
    );
    assert_eq!(
        ids(AuditQuery {
            action: Some(AuditAction::Connected),
            ..Default::default()
        })
        .await,
        [connected]
    );
    let window = ids(AuditQuery {
        since: Some(at(-25)),
        until: Some(at(-15)),
        ..Default::default()
    })
    .await;
    assert_eq!(window, [connected]);
    let combined = AuditQuery {
        user_id: Some(user("u1")),
        action: Some(AuditAction::TokenRead),
        ..Default::default()
    };
    assert!(ids(combined).await.is_empty());
}

async fn audit_queries_filter_by_actor_kind_and_id(db: TestDb) {
    let store = store(&db);
    let key = ApiKeyId::new();
    let console = ConsoleAccountId::new();
    let mut by_key = event(AuditAction::TokenRead, "u1", None, -40);
    by_key.actor = Actor::ApiKey(key);
    let by_key = store.append(&by_key).await.unwrap();
    let mut by_other_key = event(AuditAction::TokenRead, "u1", None, -35);
    by_other_key.actor = Actor::ApiKey(ApiKeyId::new());
    let by_other_key = store.append(&by_other_key).await.unwrap();
    let by_user = store
        .append(&event(AuditAction::Connected, "u1", None, -30))
        .await
        .unwrap();
    let by_console = store
        .append(&AuditEvent::new(
            Actor::Console(console),
            AuditAction::ApiKeyCreated,
        ))
        .await
        .unwrap();
    let by_system = store
        .append(&AuditEvent::new(Actor::System, AuditAction::KeysRotated))
        .await
        .unwrap();
    let ids = |actor_kind: Option<ActorKind>, actor_id: Option<String>| {
        let store = store.clone();
        async move {
            store
                .query(&AuditQuery {
                    actor_kind,
                    actor_id,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        ids(Some(ActorKind::ApiKey), None).await,
        [by_other_key, by_key]
    );
    assert_eq!(
        ids(Some(ActorKind::ApiKey), Some(key.to_string())).await,
        [by_key]
    );
    assert_eq!(ids(None, Some(key.to_string())).await, [by_key]);
    assert_eq!(ids(Some(ActorKind::User), None).await, [by_user]);
    assert_eq!(
        ids(Some(ActorKind::Console), Some(console.to_string())).await,
        [by_console]
    );
    assert_eq!(ids(Some(ActorKind::System), None).await, [by_system]);
    assert!(
        ids(Some(ActorKind::User), Some(key.to_string()))
            .await
            .is_empty(),
        "kind and id together name one caller"
    );
}

async fn audit_queries_page_backwards_and_cap_the_limit(db: TestDb) {
    let store = store(&db);
    let events: Vec<_> = (0..1005)
        .map(|i| event(AuditAction::TokenRead, "u1", None, i - 2000))
        .collect();
    store.append_batch(&events).await.unwrap();
    assert_eq!(count(&db, "audit_log").await, 1005);

    let default = store.query(&AuditQuery::default()).await.unwrap();
    assert_eq!(default.len(), 100, "limit 0 means the default page");
    let capped = store
        .query(&AuditQuery {
            limit: 5000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(capped.len(), 1000);

    let page1 = store
        .query(&AuditQuery {
            limit: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    let page2 = store
        .query(&AuditQuery {
            limit: 3,
            before: Some(page1[2].id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page2.len(), 3);
    assert!(page2[0].id < page1[2].id);
    let together: Vec<_> = page1.iter().chain(&page2).map(|r| r.id).collect();
    let first_six: Vec<_> = capped.iter().take(6).map(|r| r.id).collect();
    assert_eq!(together, first_six);
    // The batch keeps its order: the last event appended is the newest.
    assert_eq!(page1[0].event.created_at, events[1004].created_at);
}

/// A batch keeps every field of every record (PostgreSQL writes it with `COPY` in text format:
/// the characters that format escapes must come back as they went in), in order, and is all
/// or nothing.
async fn audit_batches_keep_every_field_and_are_all_or_nothing(db: TestDb) {
    let store = store(&db);
    let mut full = event(AuditAction::TokenRead, "u1", Some(IntegrationId::new()), -5)
        .failed("needs \"quotes\", a \\ and \u{e9}\u{1f600}\nline two\r\tand a literal \\N");
    full.actor = Actor::ApiKey(ApiKeyId::new());
    full.provider = Some(ProviderKind::Google);
    full.scopes = Some(scopes("openid https://www.googleapis.com/auth/calendar"));
    full.ip_address = Some("2001:db8::1".to_owned());
    full.user_agent = Some("svc/1.0 (\u{2603})\tx\\y\\".to_owned());
    full.detail = Some(serde_json::json!({
        "purpose": "sync\t\\N\n",
        "count": 3,
        "nested": [1, null]
    }));
    let mut nothing = AuditEvent::new(Actor::System, AuditAction::TokenRead);
    nothing.created_at = at(-5);
    nothing.user_agent = Some("\\N".to_owned());
    nothing.error_message = Some(String::new());
    let mut bare = AuditEvent::new(Actor::System, AuditAction::KeysRotated);
    bare.created_at = at(-4);
    let mut operator = AuditEvent::new(Actor::Operator("ops".to_owned()), AuditAction::Connected);
    operator.created_at = at(-3);
    store
        .append_batch(&[
            full.clone(),
            nothing.clone(),
            bare.clone(),
            operator.clone(),
        ])
        .await
        .unwrap();
    let all = store.query(&AuditQuery::default()).await.unwrap();
    let events: Vec<_> = all.into_iter().rev().map(|r| r.event).collect();
    assert_eq!(events, [full.clone(), nothing, bare.clone(), operator]);

    if db.engine == tether_testkit::Engine::Postgres {
        // ip_address holds 64 characters: the whole batch is refused, nothing is written.
        let mut too_long = full.clone();
        too_long.ip_address = Some("x".repeat(65));
        let refused = store.append_batch(&[full.clone(), too_long]).await;
        assert!(refused.is_err(), "{refused:?}");
        assert_eq!(count(&db, "audit_log").await, 4);
        // The refused COPY left its connection usable.
        for _ in 0..3 {
            store.append_batch(&[bare.clone()]).await.unwrap();
        }
        assert_eq!(count(&db, "audit_log").await, 7);
    }
}

/// Ids carry their record's time, so time filters are id ranges: exact to the microsecond at
/// both ends, and records whose id was minted after their `created_at` (written before
/// migration 19, up to a second later) are still found.
async fn audit_time_filters_are_exact_and_find_older_records(db: TestDb) {
    let store = store(&db);
    let edge = at(-10);
    let mut events = Vec::new();
    for micros in [-1, 0, 1] {
        let mut e = event(AuditAction::Connected, "u1", None, 0);
        e.created_at = edge + Duration::microseconds(micros);
        events.push(e);
    }
    store.append_batch(&events).await.unwrap();
    // A record from before migration 19: created at the edge, its id minted 900 ms later.
    let legacy = AuditId::at(edge + Duration::milliseconds(900));
    raw_exec(
        &db,
        "INSERT INTO audit_log (id, actor, action, success, created_at) \
         VALUES ($1, 'system', 'keys_rotated', true, $2)",
        vec![legacy.as_uuid().into(), edge.into()],
    )
    .await;
    let times = |since, until| {
        let store = store.clone();
        async move {
            let q = AuditQuery {
                since,
                until,
                ..Default::default()
            };
            let found = store.query(&q).await.unwrap();
            found
                .into_iter()
                .map(|r| r.event.created_at)
                .collect::<Vec<_>>()
        }
    };
    let (before, after) = (
        edge - Duration::microseconds(1),
        edge + Duration::microseconds(1),
    );
    assert_eq!(times(Some(edge), Some(edge)).await, [edge, edge]);
    assert_eq!(times(None, Some(edge)).await, [edge, edge, before]);
    assert_eq!(times(Some(edge), None).await, [edge, after, edge]);
    assert_eq!(times(Some(after), None).await, [after]);
    assert!(
        times(None, Some(before - Duration::microseconds(1)))
            .await
            .is_empty()
    );
}

tether_testkit::engine_tests!(
    audit_time_filters_are_exact_and_find_older_records,
    audit_batches_keep_every_field_and_are_all_or_nothing,
    audit_events_round_trip_and_are_filtered,
    audit_queries_filter_by_actor_kind_and_id,
    audit_queries_page_backwards_and_cap_the_limit,
);
