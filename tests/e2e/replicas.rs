//! Several replicas on one database: a provider configuration changed through one replica's
//! admin API applies on the others within `provider_sync_secs`.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Mode, TestServer, client, get_json, user_jwt};

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

mod postgres {
    use super::*;

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
