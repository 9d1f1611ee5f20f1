//! The embedded-mode implementations on real SQLite and PostgreSQL: single-use flow state
//! keyed by a hash of the state, and locks that admit one holder across connections.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

use std::sync::Arc;
use std::time::Duration;

use tether_core::secret::OpaqueSecret;
use tether_state::{FlowStateStore, LockManager, SqlFlowStore, SqlLocks};
use tether_storage::{SqlStore, TokenCipher};
use tether_testkit::TestDb;

fn store(db: &TestDb) -> Arc<SqlStore> {
    Arc::new(SqlStore::new(
        db.conn.clone(),
        Arc::new(TokenCipher::new(&[TokenCipher::generate_key()]).unwrap()),
    ))
}

async fn a_flow_is_taken_once_and_its_state_is_not_stored(db: TestDb) {
    let flows = Arc::new(SqlFlowStore::new(store(&db)));
    let state = OpaqueSecret::new("the-state-value");
    flows
        .put(
            &state,
            &OpaqueSecret::new("payload"),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let raw = db
        .query_all("SELECT state_key, payload FROM oauth_states")
        .await;
    let key: String = raw[0].try_get("", "state_key").unwrap();
    let payload: String = raw[0].try_get("", "payload").unwrap();
    assert!(!key.contains("the-state-value") && !payload.contains("payload"));

    let takers = (0..16).map(|_| {
        let flows = flows.clone();
        tokio::spawn(async move { flows.take(&OpaqueSecret::new("the-state-value")).await })
    });
    let winners: Vec<_> = futures::future::join_all(takers)
        .await
        .into_iter()
        .filter_map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(winners.len(), 1);
    assert_eq!(winners[0].payload.expose_secret(), "payload");
}

async fn expired_flows_are_purged_after_the_grace_period(db: TestDb) {
    let flows = SqlFlowStore::new(store(&db));
    flows
        .put(
            &OpaqueSecret::new("old"),
            &OpaqueSecret::new("p"),
            Duration::from_millis(1),
        )
        .await
        .unwrap();
    flows
        .put(
            &OpaqueSecret::new("new"),
            &OpaqueSecret::new("p"),
            Duration::from_secs(600),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(flows.purge_expired(Duration::ZERO).await.unwrap(), 1);
    assert!(
        flows
            .take(&OpaqueSecret::new("old"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        flows
            .take(&OpaqueSecret::new("new"))
            .await
            .unwrap()
            .is_some()
    );
}

async fn concurrent_lock_attempts_admit_one_holder_until_release_or_lapse(db: TestDb) {
    let locks = Arc::new(SqlLocks::new(store(&db)));
    let attempts = (0..16).map(|_| {
        let locks = locks.clone();
        tokio::spawn(async move {
            locks
                .try_acquire("refresh:x", Duration::from_millis(300))
                .await
        })
    });
    let mut held: Vec<_> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .filter_map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(held.len(), 1);
    let lease = held.remove(0);
    let mut stranger = lease.clone();
    stranger.owner = "someone-else".into();
    assert!(
        !locks.release(&stranger).await.unwrap(),
        "only the owner releases"
    );
    assert!(
        locks
            .try_acquire("refresh:x", Duration::from_secs(30))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        locks
            .try_acquire("refresh:y", Duration::from_secs(30))
            .await
            .unwrap()
            .is_some()
    );

    tokio::time::sleep(Duration::from_millis(400)).await;
    let next = locks
        .try_acquire("refresh:x", Duration::from_secs(30))
        .await
        .unwrap()
        .expect("a lapsed lease frees the lock");
    assert!(
        !locks.release(&lease).await.unwrap(),
        "the old owner cannot release the new lease"
    );
    assert!(locks.release(&next).await.unwrap());
    assert!(
        locks
            .try_acquire("refresh:x", Duration::from_secs(30))
            .await
            .unwrap()
            .is_some()
    );
}

async fn a_held_lease_can_be_extended_by_its_owner_only_until_it_lapses(db: TestDb) {
    let locks = SqlLocks::new(store(&db));
    let lease = locks
        .try_acquire("refresh:z", Duration::from_millis(300))
        .await
        .unwrap()
        .unwrap();
    let mut stranger = lease.clone();
    stranger.owner = "someone-else".into();
    assert!(
        !locks
            .extend(&stranger, Duration::from_secs(30))
            .await
            .unwrap()
    );
    assert!(locks.extend(&lease, Duration::from_secs(30)).await.unwrap());
    // Past the first lease, the extended one still holds the lock.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        locks
            .try_acquire("refresh:z", Duration::from_secs(30))
            .await
            .unwrap()
            .is_none(),
        "an extended lease keeps the lock"
    );
    // A lease that lapsed cannot be revived: someone else may hold the lock by then.
    let short = locks
        .try_acquire("refresh:w", Duration::from_millis(100))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!locks.extend(&short, Duration::from_secs(30)).await.unwrap());
}

tether_testkit::engine_tests!(
    a_held_lease_can_be_extended_by_its_owner_only_until_it_lapses,
    a_flow_is_taken_once_and_its_state_is_not_stored,
    expired_flows_are_purged_after_the_grace_period,
    concurrent_lock_attempts_admit_one_holder_until_release_or_lapse,
);
