//! Secrets never reach the logs: the whole journey runs with every log line captured (at
//! DEBUG), and no token, code, state, PKCE verifier, binding cookie, client secret, API key,
//! JWT or webhook signing secret appears in them.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{Mode, TestServer, begin, browser, client, consent, finish, query, user_jwt};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut out) = self.0.lock() {
            out.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture() -> Captured {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .expect("this test binary installs one subscriber");
    captured
}

/// The verifier of a pending flow, read from Redis and opened with the deployment's
/// encryption key, as an attacker holding both would (the test needs the value to look for
/// it). Redis alone holds it only sealed.
async fn verifier_in_redis(server: &TestServer, state: &str) -> String {
    use tether_core::secret::{EncryptionKey, Sealer};
    let digest = hex::encode(Sha256::digest(state.as_bytes()));
    let key = format!("{}flow:{digest}", server.redis_prefix.clone().unwrap());
    let client = redis::Client::open(tether_testkit::redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let stored: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    let stored: Value = serde_json::from_str(&stored).unwrap();
    let cipher = tether_storage::TokenCipher::new(&[EncryptionKey::new(
        server.encryption_key.clone().unwrap(),
    )])
    .unwrap();
    let opened = cipher
        .open(&key, stored["sealed"].as_str().unwrap())
        .expect("the flow opens with the deployment's key");
    let payload: Value = serde_json::from_str(opened.expose_secret()).unwrap();
    let verifier = payload["verifier"].as_str().unwrap().to_owned();
    assert!(
        !stored.to_string().contains(&verifier),
        "Redis holds the verifier in clear"
    );
    verifier
}

async fn no_secret_is_ever_logged(mode: Mode) {
    assert_eq!(mode, Mode::Production, "needs Redis to see the verifier");
    let logs = capture();
    let receiver = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(500).set_body_string("try later"))
        .mount(&receiver)
        .await;
    let server = TestServer::with(
        mode,
        "webhooks_allow_http = true\nwebhooks_allow_private = true\nwebhooks_poll_interval_ms = 50\n",
    )
    .await;
    let alice = user_jwt("alice");
    let service = server.api_key("service").await;
    let admin = server.api_key("admin").await;
    let http = client();
    let browser = browser();
    let created: Value = http
        .post(server.url("/api/v1/admin/webhooks"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({ "url": format!("{}/hooks", receiver.uri()) }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first_webhook_secret = created["secret"].as_str().unwrap().to_owned();
    let endpoint = created["id"].as_str().unwrap().to_owned();
    let rotated: Value = http
        .post(server.url(&format!("/api/v1/admin/webhooks/{endpoint}/rotate-secret")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second_webhook_secret = rotated["secret"].as_str().unwrap().to_owned();

    let flow = begin(&server, &browser, &alice, "google").await;
    let state = query(&flow.authorize)["state"].clone();
    let verifier = verifier_in_redis(&server, &state).await;
    let callback = consent(&browser, &flow, "alice").await;
    let code = query(&callback)["code"].clone();
    let id = finish(&browser, &callback).await.integration_id;

    let token: Value = http
        .get(server.url(&format!("/api/v1/integrations/{id}/token")))
        .bearer_auth(&service)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = token["access_token"].as_str().unwrap().to_owned();
    http.get(server.url(&format!("/api/v1/integrations/{id}/proxy/me")))
        .bearer_auth(&service)
        .send()
        .await
        .unwrap();
    http.post(server.url(&format!("/api/v1/integrations/{id}/refresh")))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    let token: Value = http
        .get(server.url(&format!("/api/v1/integrations/{id}/token")))
        .bearer_auth(&service)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second = token["access_token"].as_str().unwrap().to_owned();
    // The refresh token, read from the database with the server's key.
    let conn =
        tether_storage::connect(&server.database_url, tether_storage::PoolOptions::default())
            .await
            .unwrap();
    let key = tether_storage::TokenCipher::new(&[tether_core::secret::EncryptionKey::new(
        server.encryption_key.clone().unwrap(),
    )])
    .unwrap();
    let store = tether_storage::SqlStore::new(conn, Arc::new(key));
    let owner = tether_core::token::TokenOwner::Integration(id.parse().unwrap());
    let stored = tether_core::ports::TokenRepository::get(&store, &owner)
        .await
        .unwrap()
        .unwrap();
    let refresh = stored
        .tokens
        .refresh_token
        .unwrap()
        .expose_secret()
        .to_owned();
    http.delete(server.url(&format!("/api/v1/integrations/{id}")))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    http.post(server.url(&format!("/api/v1/admin/webhooks/{endpoint}/test")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    // A hosted connect link: created, opened and spent.
    let link: Value = http
        .post(server.url("/api/v1/connect-sessions"))
        .bearer_auth(&service)
        .json(
            &serde_json::json!({ "user_id": "alice", "opener_origin": "https://app.example.com" }),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link = url::Url::parse(link["url"].as_str().unwrap()).unwrap();
    let connect_token = query(&link)["token"].clone();
    browser.get(link.as_str()).send().await.unwrap();
    let picked = browser
        .post(server.url("/connect"))
        .form(&[("token", connect_token.as_str()), ("provider", "google")])
        .send()
        .await
        .unwrap();
    assert_eq!(picked.status(), reqwest::StatusCode::SEE_OTHER);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        receiver.received_requests().await.unwrap().len() >= 2,
        "events and the test were sent (and failed, so attempts were logged)"
    );

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("/api/v1/oauth/google/callback"),
        "the journey was logged at all"
    );
    for (what, secret) in [
        ("first access token", first.as_str()),
        ("refreshed access token", second.as_str()),
        ("refresh token", refresh.as_str()),
        ("authorization code", code.as_str()),
        ("state", state.as_str()),
        ("PKCE verifier", verifier.as_str()),
        ("start flow id", flow.flow.as_str()),
        ("connect link token", connect_token.as_str()),
        ("browser-binding cookie", flow.cookie.as_str()),
        ("client secret", server.sandbox_client_secret.as_str()),
        ("API key", service.as_str()),
        ("admin API key", admin.as_str()),
        ("webhook signing secret", first_webhook_secret.as_str()),
        (
            "rotated webhook signing secret",
            second_webhook_secret.as_str(),
        ),
        ("user JWT", alice.as_str()),
    ] {
        assert!(
            secret.len() >= 16,
            "{what} is too short to search for: {secret:?}"
        );
        assert!(!text.contains(secret), "the {what} appears in the logs");
    }
}

mod postgres {
    mod redis {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn no_secret_is_ever_logged() {
            super::super::no_secret_is_ever_logged(crate::support::Mode::Production).await;
        }
    }
}
