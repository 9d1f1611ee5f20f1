//! The Redis implementations against a real Redis: single-use flow state, owner-checked
//! locks, key-prefix isolation, and behaviour while Redis is down and after it returns.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

use std::sync::Arc;
use std::time::Duration;

use tether_core::secret::{OpaqueSecret, Sealer};
use tether_state::{FlowStateStore, LockManager, RedisState, RedisStateConfig, StateError};
use tether_storage::TokenCipher;

fn sealer() -> Arc<dyn Sealer> {
    Arc::new(TokenCipher::new(&[TokenCipher::generate_key()]).unwrap())
}

fn fresh_config() -> RedisStateConfig {
    let mut config = RedisStateConfig::new(tether_testkit::redis_url());
    config.key_prefix = format!("tether-test:{}:", uuid::Uuid::new_v4().simple());
    config
}

fn store_with_fresh_prefix() -> RedisState {
    RedisState::new(&fresh_config(), sealer()).unwrap()
}

mod redis {
    use super::*;

    /// Every key of this store's prefix with its raw value, as another Redis client sees it.
    async fn raw_entries(prefix: &str) -> Vec<(String, String)> {
        let client = ::redis::Client::open(tether_testkit::redis_url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = ::redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query_async(&mut conn)
            .await
            .unwrap();
        let mut entries = Vec::new();
        for key in keys {
            let value: String = ::redis::cmd("GET")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap();
            entries.push((key, value));
        }
        entries
    }

    #[tokio::test]
    async fn redis_holds_neither_the_state_nor_the_payload_in_clear() {
        let config = fresh_config();
        let store = RedisState::new(&config, sealer()).unwrap();
        let state = OpaqueSecret::new("state-in-clear");
        let payload = OpaqueSecret::new(r#"{"verifier":"pkce-verifier-in-clear"}"#);
        store
            .put(&state, &payload, Duration::from_secs(60))
            .await
            .unwrap();
        let entries = raw_entries(&config.key_prefix).await;
        assert_eq!(entries.len(), 1);
        let (key, value) = &entries[0];
        assert!(!key.contains("state-in-clear"), "{key}");
        assert!(!value.contains("in-clear"), "{value}");
        assert!(!value.contains("verifier"), "{value}");
        let taken = store.take(&state).await.unwrap().unwrap();
        assert_eq!(taken.payload, payload);
    }

    #[tokio::test]
    async fn a_sealed_flow_copied_to_another_key_or_read_with_other_keys_is_refused() {
        use sha2::{Digest, Sha256};
        let config = fresh_config();
        let store = RedisState::new(&config, sealer()).unwrap();
        let a = OpaqueSecret::new("state-a");
        store
            .put(
                &a,
                &OpaqueSecret::new("payload of a"),
                Duration::from_secs(60),
            )
            .await
            .unwrap();
        // Someone with write access to Redis copies a's entry to the key of state b.
        let (_, a_value) = raw_entries(&config.key_prefix).await.remove(0);
        let b_key = format!(
            "{}flow:{}",
            config.key_prefix,
            hex::encode(Sha256::digest(b"state-b"))
        );
        let client = ::redis::Client::open(tether_testkit::redis_url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let _: () = ::redis::cmd("SET")
            .arg(&b_key)
            .arg(&a_value)
            .query_async(&mut conn)
            .await
            .unwrap();
        let copied = store.take(&OpaqueSecret::new("state-b")).await;
        assert!(matches!(copied, Err(StateError::Backend(_))), "{copied:?}");

        // A process with other keys cannot open what this one sealed.
        let stranger = RedisState::new(&config, sealer()).unwrap();
        let foreign = stranger.take(&a).await;
        assert!(
            matches!(foreign, Err(StateError::Backend(_))),
            "{foreign:?}"
        );
    }

    #[tokio::test]
    async fn a_flow_state_can_be_taken_exactly_once() {
        let store = store_with_fresh_prefix();
        let state = OpaqueSecret::new("state-1");
        store
            .put(
                &state,
                &OpaqueSecret::new("payload-1"),
                Duration::from_secs(60),
            )
            .await
            .unwrap();
        let taken = store
            .take(&state)
            .await
            .unwrap()
            .expect("first take finds it");
        assert_eq!(taken.payload.expose_secret(), "payload-1");
        assert!(taken.expires_at > chrono::Utc::now());
        assert!(
            store.take(&state).await.unwrap().is_none(),
            "second take finds nothing"
        );
        assert!(
            store
                .take(&OpaqueSecret::new("never-put"))
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn concurrent_takes_of_one_state_give_it_to_exactly_one_caller() {
        let store = Arc::new(store_with_fresh_prefix());
        let state = OpaqueSecret::new("contended");
        store
            .put(&state, &OpaqueSecret::new("p"), Duration::from_secs(60))
            .await
            .unwrap();
        let takers = (0..32).map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.take(&OpaqueSecret::new("contended")).await })
        });
        let results = futures::future::join_all(takers).await;
        let winners = results
            .into_iter()
            .filter(|r| matches!(r, Ok(Ok(Some(_)))))
            .count();
        assert_eq!(winners, 1);
    }

    #[tokio::test]
    async fn an_expired_flow_is_returned_as_expired_not_as_unknown() {
        let store = store_with_fresh_prefix();
        let state = OpaqueSecret::new("short");
        store
            .put(&state, &OpaqueSecret::new("p"), Duration::from_millis(50))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        let taken = store
            .take(&state)
            .await
            .unwrap()
            .expect("still takeable in the grace period");
        assert!(
            taken.expires_at < chrono::Utc::now(),
            "the caller can see it expired"
        );
    }

    #[tokio::test]
    async fn a_state_cannot_be_put_twice_and_prefixes_do_not_collide() {
        let a = store_with_fresh_prefix();
        let b = store_with_fresh_prefix();
        let state = OpaqueSecret::new("same-state");
        a.put(&state, &OpaqueSecret::new("a"), Duration::from_secs(60))
            .await
            .unwrap();
        let again = a
            .put(&state, &OpaqueSecret::new("x"), Duration::from_secs(60))
            .await;
        assert!(matches!(again, Err(StateError::Duplicate)));
        assert!(
            b.take(&state).await.unwrap().is_none(),
            "another prefix sees nothing"
        );
        b.put(&state, &OpaqueSecret::new("b"), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(
            a.take(&state)
                .await
                .unwrap()
                .unwrap()
                .payload
                .expose_secret(),
            "a"
        );
        assert_eq!(
            b.take(&state)
                .await
                .unwrap()
                .unwrap()
                .payload
                .expose_secret(),
            "b"
        );
    }

    #[tokio::test]
    async fn a_lock_is_exclusive_until_released_by_its_owner() {
        let locks = store_with_fresh_prefix();
        let lease = locks
            .try_acquire("refresh:1", Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        assert!(
            locks
                .try_acquire("refresh:1", Duration::from_secs(30))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            locks
                .try_acquire("refresh:2", Duration::from_secs(30))
                .await
                .unwrap()
                .is_some()
        );

        let mut stranger = lease.clone();
        stranger.owner = "someone-else".into();
        assert!(
            !locks.release(&stranger).await.unwrap(),
            "only the owner releases"
        );
        assert!(
            locks
                .try_acquire("refresh:1", Duration::from_secs(30))
                .await
                .unwrap()
                .is_none()
        );

        assert!(locks.release(&lease).await.unwrap());
        assert!(
            !locks.release(&lease).await.unwrap(),
            "a second release does nothing"
        );
        assert!(
            locks
                .try_acquire("refresh:1", Duration::from_secs(30))
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_lapsed_lease_frees_the_lock_and_its_old_owner_cannot_release_the_new_one() {
        let locks = store_with_fresh_prefix();
        let old = locks
            .try_acquire("l", Duration::from_millis(100))
            .await
            .unwrap()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let new = locks
            .try_acquire("l", Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        assert!(!locks.release(&old).await.unwrap());
        assert!(
            locks
                .try_acquire("l", Duration::from_secs(30))
                .await
                .unwrap()
                .is_none()
        );
        assert!(locks.release(&new).await.unwrap());
    }

    #[tokio::test]
    async fn a_held_lease_can_be_extended_by_its_owner_only_until_it_lapses() {
        let locks = store_with_fresh_prefix();
        let lease = locks
            .try_acquire("e", Duration::from_millis(300))
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
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(
            locks
                .try_acquire("e", Duration::from_secs(30))
                .await
                .unwrap()
                .is_none(),
            "an extended lease keeps the lock"
        );
        let short = locks
            .try_acquire("f", Duration::from_millis(100))
            .await
            .unwrap()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!locks.extend(&short, Duration::from_secs(30)).await.unwrap());
        assert!(locks.release(&lease).await.unwrap());
    }

    #[tokio::test]
    async fn concurrent_lock_attempts_admit_exactly_one_holder() {
        let locks = Arc::new(store_with_fresh_prefix());
        let attempts = (0..32).map(|_| {
            let locks = locks.clone();
            tokio::spawn(async move { locks.try_acquire("hot", Duration::from_secs(30)).await })
        });
        let held = futures::future::join_all(attempts)
            .await
            .into_iter()
            .filter(|r| matches!(r, Ok(Ok(Some(_)))))
            .count();
        assert_eq!(held, 1);
    }

    /// A private redis-server on a free port, so the test can stop and restart it.
    struct PrivateRedis {
        port: u16,
        child: std::process::Child,
    }

    impl PrivateRedis {
        fn start(port: u16) -> Self {
            let child = std::process::Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("redis-server is installed");
            for _ in 0..100 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Self { port, child }
        }
        fn stop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Drop for PrivateRedis {
        fn drop(&mut self) {
            self.stop();
        }
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[tokio::test]
    async fn calls_fail_as_unavailable_while_redis_is_down_and_work_again_when_it_returns() {
        let mut server = PrivateRedis::start(free_port());
        let store = RedisState::new(
            &RedisStateConfig::new(format!("redis://127.0.0.1:{}", server.port)),
            sealer(),
        )
        .unwrap();
        let state = OpaqueSecret::new("s");
        store
            .put(&state, &OpaqueSecret::new("p"), Duration::from_secs(60))
            .await
            .unwrap();

        server.stop();
        let down = store
            .put(
                &OpaqueSecret::new("t"),
                &OpaqueSecret::new("p"),
                Duration::from_secs(60),
            )
            .await;
        assert!(matches!(down, Err(StateError::Unavailable(_))), "{down:?}");
        assert!(matches!(
            store.try_acquire("l", Duration::from_secs(5)).await,
            Err(StateError::Unavailable(_))
        ));
        assert!(matches!(
            store.ping().await,
            Err(StateError::Unavailable(_))
        ));

        let _server = PrivateRedis::start(server.port);
        let mut recovered = false;
        for _ in 0..50 {
            if store.ping().await.is_ok() {
                recovered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(recovered, "the store reconnects by itself");
        store
            .put(
                &OpaqueSecret::new("u"),
                &OpaqueSecret::new("p"),
                Duration::from_secs(60),
            )
            .await
            .unwrap();
        assert!(store.take(&OpaqueSecret::new("u")).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_redis_that_was_never_reachable_is_unavailable_not_a_panic() {
        let store = RedisState::new(
            &RedisStateConfig::new(format!("redis://127.0.0.1:{}", free_port())),
            sealer(),
        )
        .unwrap();
        let result = store.take(&OpaqueSecret::new("x")).await;
        assert!(
            matches!(result, Err(StateError::Unavailable(_))),
            "{result:?}"
        );
    }
}
