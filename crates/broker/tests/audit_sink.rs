//! The batching audit writer against real databases: nothing queued is lost, whether it is
//! flushed, overflows the queue, or is drained at shutdown.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

use std::sync::Arc;
use std::time::Duration;

use tether_broker::{AuditSink, AuditSinkConfig};
use tether_core::audit::{Actor, AuditAction, AuditEvent};
use tether_storage::{SqlStore, TokenCipher};
use tether_testkit::TestDb;

fn sink(db: &TestDb, capacity: usize, linger: Duration) -> Arc<AuditSink> {
    let cipher = Arc::new(TokenCipher::new(&[TokenCipher::generate_key()]).unwrap());
    let store = Arc::new(SqlStore::new(db.conn.clone(), cipher));
    Arc::new(AuditSink::new(
        store,
        AuditSinkConfig {
            capacity,
            linger,
            ..AuditSinkConfig::default()
        },
    ))
}

fn event(n: usize) -> AuditEvent {
    let mut event = AuditEvent::new(Actor::System, AuditAction::TokenRead);
    event.detail = Some(serde_json::json!({ "n": n }));
    event
}

async fn rows(db: &TestDb) -> i64 {
    db.query_all("SELECT COUNT(*) AS n FROM audit_log").await[0]
        .try_get::<i64>("", "n")
        .unwrap()
}

/// Distinct `n` values stored, to tell "all written once" from "some twice, some never".
async fn distinct(db: &TestDb) -> i64 {
    let sql = match db.engine {
        tether_testkit::Engine::Postgres => {
            "SELECT COUNT(DISTINCT detail::jsonb ->> 'n') AS n FROM audit_log"
        }
        tether_testkit::Engine::Sqlite => {
            "SELECT COUNT(DISTINCT json_extract(detail, '$.n')) AS n FROM audit_log"
        }
    };
    db.query_all(sql).await[0].try_get::<i64>("", "n").unwrap()
}

async fn queued_records_are_written_only_by_the_batch_and_all_are_there_after_flush(db: TestDb) {
    let sink = sink(&db, 1024, Duration::from_secs(3600));
    for n in 0..50 {
        sink.record(event(n)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(rows(&db).await, 0, "recording does not write inline");
    sink.flush().await;
    assert_eq!(rows(&db).await, 50);
    assert_eq!(distinct(&db).await, 50);
    assert_eq!(sink.overflow_writes(), 0);
}

async fn a_burst_larger_than_the_queue_loses_nothing(db: TestDb) {
    let sink = sink(&db, 4, Duration::from_secs(3600));
    let writers = (0..8).map(|w| {
        let sink = sink.clone();
        tokio::spawn(async move {
            for n in 0..50 {
                sink.record(event(w * 50 + n)).await;
            }
        })
    });
    for writer in futures::future::join_all(writers).await {
        writer.unwrap();
    }
    sink.flush().await;
    assert_eq!(rows(&db).await, 400);
    assert_eq!(distinct(&db).await, 400);
    assert!(
        sink.overflow_writes() > 0,
        "the burst overflowed the queue (else this test proves nothing)"
    );
}

async fn records_are_written_after_the_linger_without_a_flush(db: TestDb) {
    let sink = sink(&db, 1024, Duration::from_millis(50));
    for n in 0..5 {
        sink.record(event(n)).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while rows(&db).await < 5 {
        assert!(tokio::time::Instant::now() < deadline, "never written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rows(&db).await, 5);
}

async fn shutdown_drains_the_queue_and_later_records_are_written_inline(db: TestDb) {
    let sink = sink(&db, 1024, Duration::from_secs(3600));
    for n in 0..20 {
        sink.record(event(n)).await;
    }
    sink.shutdown().await;
    assert_eq!(rows(&db).await, 20);
    sink.record(event(20)).await;
    assert_eq!(rows(&db).await, 21, "written before record returned");
    sink.flush().await;
    sink.shutdown().await;
    assert_eq!(distinct(&db).await, 21);
}

async fn a_committed_record_is_in_the_database_when_the_call_returns(db: TestDb) {
    // A linger of an hour: only the group-commit window can have written it.
    let sink = sink(&db, 1024, Duration::from_secs(3600));
    sink.record_committed(event(0)).await.unwrap();
    assert_eq!(rows(&db).await, 1);
}

async fn concurrent_committed_records_are_all_there_when_their_callers_return(db: TestDb) {
    let sink = sink(&db, 4096, Duration::from_secs(3600));
    // Records nobody waits for ride along with the next commit.
    for n in 0..10 {
        sink.record(event(1000 + n)).await;
    }
    let readers = (0..200).map(|n| {
        let sink = sink.clone();
        tokio::spawn(async move { sink.record_committed(event(n)).await })
    });
    for reader in futures::future::join_all(readers).await {
        reader.unwrap().unwrap();
    }
    // Every caller returned: every record is there, without any flush.
    assert_eq!(distinct(&db).await, 210);
    assert_eq!(sink.overflow_writes(), 0);
}

/// Records nobody waits for (`n` ≥ 1000) that are stored.
async fn uncommitted(db: &TestDb) -> i64 {
    let sql = match db.engine {
        tether_testkit::Engine::Postgres => {
            "SELECT COUNT(*) AS n FROM audit_log WHERE (detail::jsonb ->> 'n')::int >= 1000"
        }
        tether_testkit::Engine::Sqlite => {
            "SELECT COUNT(*) AS n FROM audit_log WHERE json_extract(detail, '$.n') >= 1000"
        }
    };
    db.query_all(sql).await[0].try_get::<i64>("", "n").unwrap()
}

/// With several writers, a flush waits for the batches the other writers are still writing:
/// one batch is held up by a table lock when the flush arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_with_several_writers_a_flush_waits_for_every_batch_in_flight() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let db = TestDb::new(tether_testkit::Engine::Postgres).await;
    let cipher = Arc::new(TokenCipher::new(&[TokenCipher::generate_key()]).unwrap());
    let store = Arc::new(SqlStore::new(db.conn.clone(), cipher));
    let sink = Arc::new(AuditSink::new(
        store,
        AuditSinkConfig {
            linger: Duration::from_secs(3600),
            writers: 4,
            ..AuditSinkConfig::default()
        },
    ));
    let other = db.single_connection().await;
    let lock = other.begin().await.unwrap();
    lock.execute_unprepared("LOCK TABLE audit_log IN SHARE MODE")
        .await
        .unwrap();
    sink.record(event(1000)).await;
    let reader = {
        let sink = sink.clone();
        tokio::spawn(async move { sink.record_committed(event(0)).await })
    };
    // The batch (both records) is in flight once its COPY waits for the lock.
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        assert!(
            std::time::Instant::now() < give_up,
            "the batch never waited for the lock"
        );
        let waiting = db
            .query_all(
                "SELECT COUNT(*) AS n FROM pg_stat_activity \
                 WHERE wait_event_type = 'Lock' AND query LIKE 'COPY audit_log%'",
            )
            .await[0]
            .try_get::<i64>("", "n")
            .unwrap();
        if waiting > 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    let mut flush = {
        let sink = sink.clone();
        tokio::spawn(async move { sink.flush().await })
    };
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut flush)
            .await
            .is_err(),
        "the flush returned while a batch queued before it was not written"
    );
    lock.rollback().await.unwrap();
    flush.await.unwrap();
    assert_eq!(uncommitted(&db).await, 1);
    reader.await.unwrap().unwrap();
    assert_eq!(distinct(&db).await, 2);
}

async fn a_committed_record_that_cannot_be_written_is_reported(db: TestDb) {
    let sink = sink(&db, 1024, Duration::from_secs(3600));
    db.execute("DROP TABLE audit_log").await;
    assert!(sink.record_committed(event(0)).await.is_err());
}

tether_testkit::engine_tests!(
    a_committed_record_is_in_the_database_when_the_call_returns,
    concurrent_committed_records_are_all_there_when_their_callers_return,
    a_committed_record_that_cannot_be_written_is_reported,
    queued_records_are_written_only_by_the_batch_and_all_are_there_after_flush,
    a_burst_larger_than_the_queue_loses_nothing,
    records_are_written_after_the_linger_without_a_flush,
    shutdown_drains_the_queue_and_later_records_are_written_inline,
);
