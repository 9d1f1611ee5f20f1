//! The read cache. Without an invalidation bus: changes made through this broker are seen at
//! once; another replica's revocation is seen once the cached entry lapses (the short life
//! bounds the staleness); a zero life turns the cache off. With one (Redis pub/sub or
//! PostgreSQL LISTEN/NOTIFY): another replica's change reaches every cache however long its
//! entries live, and a lost subscription clears the cache until it is back.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Harness, Mode, client_info};
use sea_orm::ConnectionTrait;
use tether_broker::{Broker, BrokerError, ReadCacheMode};
use tether_core::ProviderKind;
use tether_core::audit::Actor;
use tether_core::state::InvalidationBus;
use tether_state::{RedisInvalidations, RedisStateConfig};
use tether_storage::PgInvalidations;

const SERVICE: Actor = Actor::System;

async fn a_revocation_by_this_broker_is_seen_at_once(mode: Mode) {
    let h = Harness::with(mode, 1, |c| {
        c.read_cache.short_life = Duration::from_secs(60)
    })
    .await;
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
    let h = Harness::with(mode, 2, |c| c.read_cache.short_life = ttl).await;
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
    let h = Harness::with(mode, 2, |c| c.read_cache.short_life = ttl).await;
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
    let h = Harness::with(mode, 2, |c| c.read_cache.short_life = Duration::ZERO).await;
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

/// Entries that would outlive any test: only an invalidation can end them.
fn long_lived(c: &mut tether_broker::BrokerConfig) {
    c.read_cache.short_life = Duration::from_secs(3600);
    c.read_cache.coherent_life = Duration::from_secs(3600);
}

#[derive(Clone, Copy, Debug)]
enum Bus {
    Redis,
    Postgres,
}

/// Attaches a bus of `kind` to every broker of `h` (one channel per test) and waits until
/// each cache is coherent.
async fn attach(h: &Harness, kind: Bus) {
    let prefix = format!("tether-test:{}:", uuid::Uuid::new_v4().simple());
    for broker in &h.brokers {
        let bus: Arc<dyn InvalidationBus> = match kind {
            Bus::Redis => {
                let mut config = RedisStateConfig::new(tether_testkit::redis_url());
                config.key_prefix = prefix.clone();
                Arc::new(RedisInvalidations::new(&config).unwrap())
            }
            Bus::Postgres => Arc::new(PgInvalidations::new(h.db.conn.clone()).unwrap()),
        };
        // The task lives as long as the test's runtime.
        drop(broker.keep_cache_coherent(bus));
    }
    for broker in &h.brokers {
        wait_for(broker, ReadCacheMode::Coherent).await;
    }
}

/// Polls until the broker's cache is in `mode` (a message from another process, not a clock,
/// ends the wait; 10 s is a failure).
async fn wait_for(broker: &Broker, mode: ReadCacheMode) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while broker.read_cache_stats().unwrap().mode != mode {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the cache never became {mode:?}: {:?}",
            broker.read_cache_stats()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Reads on `broker` until a read is cached. The connect's own invalidation may still be on
/// its way over the bus: a read that raced it is answered but not cached (its fill is void).
/// 10 s is a failure.
async fn read_until_cached(broker: &Broker, id: tether_core::IntegrationId) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        broker.access_token(id, &SERVICE, None).await.unwrap();
        if broker.read_cache_stats().unwrap().entries == 1 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no read was cached in 10 s: {:?}",
            broker.read_cache_stats()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Reads on `broker` until one is refused; panics after 10 s.
async fn until_refused(broker: &Broker, id: tether_core::IntegrationId) -> BrokerError {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match broker.access_token(id, &SERVICE, None).await {
            Err(e) => return e,
            Ok(_) => assert!(
                tokio::time::Instant::now() < deadline,
                "a replica served a revoked integration's token for 10 s"
            ),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn another_replicas_revocation_reaches_a_coherent_cache(bus: Bus) {
    let h = Harness::with(Mode::Production, 2, long_lived).await;
    attach(&h, bus).await;
    let (a, b) = (&h.brokers[0], &h.brokers[1]);
    let id = h
        .connect("alice", ProviderKind::Google, "alice")
        .await
        .integration_id
        .unwrap();
    read_until_cached(a, id).await;
    b.revoke(id, &SERVICE, &client_info()).await.unwrap();
    // The entry would live an hour: only B's message can end it.
    let refused = until_refused(a, id).await;
    assert!(
        matches!(refused, BrokerError::ReauthRequired { .. }),
        "{refused:?}"
    );
    assert!(a.read_cache_stats().unwrap().invalidations_received >= 1);
}

async fn a_lost_subscription_clears_the_cache_until_it_is_back(bus: Bus) {
    let h = Harness::with(Mode::Production, 1, long_lived).await;
    attach(&h, bus).await;
    let a = h.broker();
    let id = h
        .connect("alice", ProviderKind::Google, "alice")
        .await
        .integration_id
        .unwrap();
    read_until_cached(a, id).await;

    // Cut the subscriber's connection from the server's side.
    match bus {
        Bus::Redis => {
            let client = redis::Client::open(tether_testkit::redis_url()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            redis::cmd("CLIENT")
                .arg("KILL")
                .arg("TYPE")
                .arg("pubsub")
                .query_async::<i64>(&mut conn)
                .await
                .unwrap();
        }
        Bus::Postgres => {
            h.db.conn
                .execute_unprepared(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = current_database() AND query LIKE 'LISTEN%'",
                )
                .await
                .unwrap();
        }
    }
    // The loss is noticed, the cache cleared, and the subscription comes back by itself.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while a.read_cache_stats().unwrap().subscriptions_lost == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the loss went unnoticed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    wait_for(a, ReadCacheMode::Coherent).await;
    assert_eq!(
        a.read_cache_stats().unwrap().entries,
        0,
        "what was cached before the loss may have missed messages"
    );
}

macro_rules! both_buses {
    ($($name:ident),+ $(,)?) => {
        mod postgres {
            mod redis {
                $(
                    mod $name {
                        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                        async fn over_redis() {
                            super::super::super::$name(super::super::super::Bus::Redis).await;
                        }
                        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                        async fn over_postgres() {
                            super::super::super::$name(super::super::super::Bus::Postgres).await;
                        }
                    }
                )+
            }
        }
    };
}

mod coherent {
    use super::*;
    both_buses!(
        another_replicas_revocation_reaches_a_coherent_cache,
        a_lost_subscription_clears_the_cache_until_it_is_back,
    );
}

/// Misses at the same moment share a query (the miss loader): each read still gets its own
/// integration's token, a row that cannot be read fails as a lone read of it would, and an
/// unknown integration is not found.
async fn concurrent_misses_each_get_their_own_read(mode: Mode) {
    let h = Harness::with(mode, 1, |_| {}).await;
    let mut ids = Vec::new();
    for n in 0..6 {
        let user = format!("user-{n}");
        let outcome = h.connect(&user, ProviderKind::Google, &user).await;
        ids.push(outcome.integration_id.unwrap());
    }
    // The last one's access token is replaced by the first one's ciphertext.
    let broken = ids[5];
    h.db.conn
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            h.db.conn.get_database_backend(),
            "UPDATE tokens SET access_token = (SELECT access_token FROM tokens \
             WHERE integration_id = $1) WHERE integration_id = $2",
            [ids[0].as_uuid().into(), broken.as_uuid().into()],
        ))
        .await
        .unwrap();
    let unknown = tether_core::IntegrationId::new();
    let wanted: Vec<_> = ids
        .iter()
        .chain([&unknown])
        .flat_map(|id| [*id; 3])
        .collect();
    let reads = futures::future::join_all(
        wanted
            .iter()
            .map(|id| h.broker().access_token(*id, &SERVICE, None)),
    )
    .await;
    let mut tokens = std::collections::BTreeMap::new();
    for (id, read) in wanted.iter().zip(&reads) {
        if *id == unknown {
            assert!(
                matches!(read, Err(BrokerError::IntegrationNotFound)),
                "{read:?}"
            );
        } else if *id == broken {
            let alone = h.broker().access_token(broken, &SERVICE, None).await;
            assert_eq!(
                format!("{:?}", read.as_ref().unwrap_err()),
                format!("{:?}", alone.unwrap_err())
            );
        } else {
            let grant = read.as_ref().unwrap();
            assert_eq!(grant.integration_id, *id);
            let token = grant.access_token.expose_secret().to_owned();
            assert_eq!(tokens.entry(*id).or_insert_with(|| token.clone()), &token);
        }
    }
    let distinct: std::collections::BTreeSet<_> = tokens.values().collect();
    assert_eq!(distinct.len(), 5, "each integration read its own token");
}

both_modes!(
    concurrent_misses_each_get_their_own_read,
    a_revocation_by_this_broker_is_seen_at_once,
    another_replicas_revocation_is_seen_within_the_ttl,
    hot_reads_within_the_ttl_do_not_extend_it,
    a_zero_ttl_reads_the_database_every_time,
);
