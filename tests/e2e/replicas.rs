//! Several replicas on one database: a provider configuration changed through one replica's
//! admin API applies on the others within `provider_sync_secs`; a disconnect on one replica
//! stops token reads on another at once, however long that replica's cache keeps entries.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Mode, TestServer, browser, client, connect, get_json, user_jwt};

/// Microsoft's status as `GET /providers` at `url` reports it.
async fn microsoft_status(url: &str) -> String {
    let providers = get_json(url, &user_jwt("replica-user")).await;
    providers
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "microsoft")
        .map(|p| p["status"].as_str().unwrap().to_owned())
        .unwrap()
}

/// Polls until `microsoft_status` is `wanted`, failing after `limit`; answers how long it took.
async fn until_status(url: &str, wanted: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let status = microsoft_status(url).await;
        if status == wanted {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "still `{status}` after {limit:?}, wanted `{wanted}`"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `/readyz`'s word on the read cache at `base`.
async fn read_cache_mode(base: &str) -> String {
    let ready: serde_json::Value = client()
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    ready["detail"]["read_cache"].as_str().unwrap().to_owned()
}

async fn until_coherent(base: &str) {
    let started = Instant::now();
    loop {
        let mode = read_cache_mode(base).await;
        if mode.starts_with("coherent") {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "still {mode}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Entries that would outlive the test: only an invalidation can end them.
const LONG_CACHE: &str = "read_cache_ms = 60000\nread_cache_coherent_secs = 3600\n";

async fn a_disconnect_on_one_replica_stops_token_reads_on_another(mode: Mode, bus: &str) {
    let a = TestServer::with(mode, LONG_CACHE).await;
    let b = a.replica().await;
    until_coherent(&a.url("")).await;
    until_coherent(&b.base).await;
    assert_eq!(read_cache_mode(&b.base).await, format!("coherent ({bus})"));
    let alice = user_jwt("alice");
    let service = a.api_key("service").await;
    let id = connect(&a, &browser(), &alice, "google", "alice")
        .await
        .integration_id;
    let read_on_b = || {
        client()
            .get(b.url(&format!("/api/v1/integrations/{id}/token")))
            .bearer_auth(&service)
            .send()
    };
    assert_eq!(read_on_b().await.unwrap().status().as_u16(), 200);
    assert_eq!(
        read_on_b().await.unwrap().status().as_u16(),
        200,
        "now from B's cache"
    );

    let gone = client()
        .delete(a.url(&format!("/api/v1/integrations/{id}")))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status().as_u16(), 200);
    let started = Instant::now();
    loop {
        let status = read_on_b().await.unwrap().status().as_u16();
        if status != 200 {
            assert_eq!(
                status, 409,
                "a revoked integration asks for reauthorization"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "replica B served a disconnected integration's token for 5 s (its entry lives an hour)"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

mod postgres {
    use super::*;

    #[tokio::test]
    async fn a_disconnect_on_one_replica_stops_token_reads_on_another_over_listen_notify() {
        // No Redis: invalidations travel over PostgreSQL LISTEN/NOTIFY.
        a_disconnect_on_one_replica_stops_token_reads_on_another(Mode::PostgresOnly, "postgres")
            .await;
    }

    mod redis {
        use super::super::*;

        #[tokio::test]
        async fn a_disconnect_on_one_replica_stops_token_reads_on_another_over_redis() {
            a_disconnect_on_one_replica_stops_token_reads_on_another(Mode::Production, "redis")
                .await;
        }

        #[tokio::test]
        async fn a_provider_configuration_changed_on_one_replica_applies_on_another_within_the_sync_period()
         {
            let a = TestServer::with(Mode::Production, "provider_sync_secs = 1\n").await;
            let b = a.replica().await;
            let admin = a.api_key("admin").await;
            assert_eq!(
                microsoft_status(&b.url("/api/v1/providers")).await,
                "sandbox"
            );

            let saved = client()
                .put(a.url("/api/v1/admin/providers/microsoft"))
                .bearer_auth(&admin)
                .json(&json!({
                    "client_id": "11111111-2222-3333-4444-555555555555",
                    "client_secret": "s3cret-value",
                    "options": { "tenant": "common" }
                }))
                .send()
                .await
                .unwrap();
            assert_eq!(saved.status().as_u16(), 200, "{:?}", saved.text().await);
            // The replica that took the change applies it at once.
            assert_eq!(
                microsoft_status(&a.url("/api/v1/providers")).await,
                "configured"
            );
            // The other within the sync period (1 s here; a generous limit for a busy machine).
            until_status(
                &b.url("/api/v1/providers"),
                "configured",
                Duration::from_secs(10),
            )
            .await;

            let deleted = client()
                .delete(a.url("/api/v1/admin/providers/microsoft"))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap();
            assert_eq!(deleted.status().as_u16(), 204);
            until_status(
                &b.url("/api/v1/providers"),
                "sandbox",
                Duration::from_secs(10),
            )
            .await;
        }
    }
}
