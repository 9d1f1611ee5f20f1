//! Webhooks through the assembled server: an admin manages an endpoint over the API, a real
//! connect and disconnect through the sandbox reach a wiremock receiver signed (checked with
//! the `standardwebhooks` crate, also during a secret rotation), deliveries are listed and
//! redelivered, bad input is refused with a clear error and changes nothing.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use standardwebhooks::Webhook;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::{Mode, TestServer, browser, client, connect, user_jwt};

const LOOPBACK: &str =
    "webhooks_allow_http = true\nwebhooks_allow_private = true\nwebhooks_poll_interval_ms = 50\n";

async fn call(
    method: reqwest::Method,
    url: &str,
    key: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client().request(method, url).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Waits (polling, with a deadline) until the receiver has `n` requests; returns them.
async fn requests(receiver: &MockServer, n: usize) -> Vec<Request> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = receiver.received_requests().await.unwrap_or_default();
        if got.len() >= n {
            return got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the receiver got {} requests, expected {n}",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Polls `check` until it gives a value (deadline 20 s).
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn verifies(secret: &str, request: &Request) -> bool {
    Webhook::new(secret)
        .unwrap()
        .verify(&request.body, &request.headers)
        .is_ok()
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

async fn admins_manage_webhooks_that_deliver_signed_events(mode: Mode) {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let server = TestServer::with(mode, LOOPBACK).await;
    let admin = server.api_key("admin").await;
    let service = server.api_key("service").await;
    let hooks = server.url("/api/v1/admin/webhooks");
    use reqwest::Method as M;

    let (status, _) = call(M::GET, &hooks, &service, None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a service key cannot manage webhooks"
    );

    let (status, created) = call(
        M::POST,
        &hooks,
        &admin,
        Some(json!({
            "url": format!("{}/hooks", receiver.uri()),
            "description": "assistant backend",
            "event_types": ["integration.connected", "integration.revoked"],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["enabled"], true);
    let (_, listed) = call(M::GET, &hooks, &admin, None).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(
        listed[0].get("secret").is_none(),
        "the secret is shown once"
    );
    let one = format!("{hooks}/{id}");
    let (status, got) = call(M::GET, &one, &admin, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["description"], "assistant backend");
    assert!(got.get("secret").is_none());

    // A real connection through the sandbox: integration.connected arrives, signed.
    let alice = user_jwt("alice");
    let connected = connect(&server, &browser(), &alice, "google", "alice").await;
    let first = requests(&receiver, 1).await;
    assert!(verifies(&secret, &first[0]));
    assert_eq!(body(&first[0])["type"], "integration.connected");
    assert_eq!(
        body(&first[0])["data"]["integration_id"],
        connected.integration_id
    );
    let event_id = first[0].headers["webhook-id"].to_str().unwrap().to_owned();

    let deliveries = format!("{one}/deliveries");
    // The receiver has the request a moment before the worker records its answer.
    let page = eventually("the delivery to be recorded", || async {
        let (status, page) = call(M::GET, &deliveries, &admin, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        (page["deliveries"][0]["status"] == "delivered").then_some(page)
    })
    .await;
    let record = &page["deliveries"][0];
    assert_eq!(record["event_id"], event_id);
    assert_eq!(record["event_type"], "integration.connected");
    assert_eq!(record["status"], "delivered");
    assert_eq!(record["attempts"], 1);
    assert_eq!(record["last_status_code"], 204);
    assert!(record.get("body").is_none() && record.get("payload").is_none());
    assert_eq!(page["next_before"], Value::Null);

    let lines = [
        "tether_webhook_attempts_total{outcome=\"delivered\"} 1",
        "tether_webhook_worker_running 1",
        "tether_webhook_delivery_delay_seconds_count 1",
    ];
    eventually("the delivery in /metrics", || async {
        let metrics = client()
            .get(server.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        lines
            .iter()
            .all(|line| metrics.contains(line))
            .then_some(())
    })
    .await;

    // Redelivery sends the same event (same webhook-id) again.
    let (status, _) = call(
        M::POST,
        &format!("{deliveries}/{event_id}/redeliver"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let again = requests(&receiver, 2).await;
    assert_eq!(again[1].headers["webhook-id"], event_id.as_str());
    assert_eq!(again[1].body, first[0].body);

    let (status, test) = call(M::POST, &format!("{one}/test"), &admin, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(test["delivered"], true, "{test}");
    assert_eq!(test["status_code"], 204);
    let tested = requests(&receiver, 3).await;
    assert_eq!(body(&tested[2])["type"], "webhook.test");
    assert!(verifies(&secret, &tested[2]));

    // Rotation: the next event carries both signatures, and both secrets verify it.
    let (status, rotated) = call(M::POST, &format!("{one}/rotate-secret"), &admin, None).await;
    assert_eq!(status, StatusCode::OK);
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert!(rotated["previous_secret_expires_at"].is_string());
    let disconnected = client()
        .delete(server.url(&format!(
            "/api/v1/integrations/{}",
            connected.integration_id
        )))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert!(disconnected.status().is_success());
    let revoked = requests(&receiver, 4).await;
    assert_eq!(body(&revoked[3])["type"], "integration.revoked");
    assert!(
        verifies(&secret, &revoked[3]),
        "the old secret still verifies"
    );
    assert!(
        verifies(&new_secret, &revoked[3]),
        "the new secret verifies"
    );

    let (status, paused) = call(
        M::PATCH,
        &one,
        &admin,
        Some(json!({ "enabled": false, "event_types": [] })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{paused}");
    assert_eq!(paused["enabled"], false);
    assert_eq!(paused["disabled_reason"], "Disabled by an operator.");
    assert_eq!(paused["event_types"], json!([]));

    let (status, redelivered) = call(
        M::POST,
        &format!("{one}/redeliver"),
        &admin,
        Some(json!({ "since": "2000-01-01T00:00:00Z" })),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        redelivered["queued"], 2,
        "both kept events, the filter now open"
    );

    let (status, _) = call(M::DELETE, &one, &admin, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, gone) = call(M::GET, &one, &admin, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(gone["code"], "webhook_not_found");

    let (_, audit) = call(
        M::GET,
        &server.url("/api/v1/audit?action=webhook_endpoint_created"),
        &admin,
        None,
    )
    .await;
    assert!(
        audit.to_string().contains(&id),
        "the creation is audited: {audit}"
    );
}

async fn bad_webhook_input_is_refused_clearly_and_changes_nothing(mode: Mode) {
    // The defaults: https to public addresses only.
    let server = TestServer::start(mode).await;
    let admin = server.api_key("admin").await;
    let hooks = server.url("/api/v1/admin/webhooks");
    use reqwest::Method as M;

    for (body, code, words) in [
        (
            json!({ "url": "http://hooks.example.com/" }),
            "invalid_webhook",
            "webhooks_allow_http",
        ),
        (
            json!({ "url": "https://127.0.0.1/hooks" }),
            "invalid_webhook",
            "webhooks_allow_private",
        ),
        (
            json!({ "url": "https://[::1]/hooks" }),
            "invalid_webhook",
            "webhooks_allow_private",
        ),
        (
            json!({ "url": "not a url" }),
            "invalid_webhook",
            "not a valid URL",
        ),
        (
            json!({ "url": "https://u:p@hooks.example.com/" }),
            "invalid_webhook",
            "user name or password",
        ),
        (
            json!({ "url": "https://hooks.example.com/", "event_types": ["integration.exploded"] }),
            "invalid_webhook",
            "integration.exploded",
        ),
        (
            json!({ "url": "https://hooks.example.com/", "colour": "red" }),
            "invalid_request",
            "colour",
        ),
        (json!({}), "invalid_request", "url"),
    ] {
        let (status, error) = call(M::POST, &hooks, &admin, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        assert_eq!(error["code"], code, "{body}: {error}");
        assert!(
            error["message"].as_str().unwrap().contains(words),
            "{body}: {error}"
        );
    }
    let (_, listed) = call(M::GET, &hooks, &admin, None).await;
    assert_eq!(listed, json!([]), "nothing was created");

    let (_, created) = call(
        M::POST,
        &hooks,
        &admin,
        Some(json!({ "url": "https://hooks.example.com/tether" })),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let one = format!("{hooks}/{id}");
    let (_, before) = call(M::GET, &one, &admin, None).await;
    for (body, code) in [
        (json!({}), "invalid_webhook"),
        (json!({ "url": "https://10.0.0.1/" }), "invalid_webhook"),
        (json!({ "description": "x".repeat(501) }), "invalid_webhook"),
    ] {
        let (status, error) = call(M::PATCH, &one, &admin, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        assert_eq!(error["code"], code);
    }
    let (_, after) = call(M::GET, &one, &admin, None).await;
    assert_eq!(after, before, "a refused change changes nothing");

    let (status, error) = call(M::GET, &format!("{hooks}/not-a-uuid"), &admin, None).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_id"))
    );
    let (status, error) = call(
        M::POST,
        &format!("{one}/deliveries/{}/redeliver", uuid::Uuid::now_v7()),
        &admin,
        None,
    )
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("event_not_found"))
    );
    let (status, error) = call(
        M::POST,
        &format!("{one}/redeliver"),
        &admin,
        Some(json!({ "since": "2999-01-01T00:00:00Z" })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    let (status, error) = call(M::GET, &format!("{one}/deliveries?limit=0"), &admin, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    let (status, _) = call(
        M::POST,
        &format!("{hooks}/{}/rotate-secret", uuid::Uuid::now_v7()),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

crate::both_modes!(
    admins_manage_webhooks_that_deliver_signed_events,
    bad_webhook_input_is_refused_clearly_and_changes_nothing,
);
