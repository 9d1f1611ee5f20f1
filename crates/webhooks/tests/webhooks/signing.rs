//! Signatures checked by the `standardwebhooks` crate (an independent implementation of the
//! format), also while a rotated secret is in its grace period; the body is the outbox's
//! payload byte for byte.

use chrono::Duration;
use http::HeaderMap;
use standardwebhooks::Webhook;
use tether_core::audit::Actor;
use tether_core::integration::IntegrationStatus;
use tether_core::ports::EventRepository;
use tether_core::secret::WebhookSecret;
use tether_testkit::TestDb;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::common::*;

fn headers(request: &Request) -> HeaderMap {
    request.headers.clone()
}

fn verify(secret: &WebhookSecret, request: &Request) -> Result<(), standardwebhooks::WebhookError> {
    Webhook::new(secret.expose_secret())
        .unwrap()
        .verify(&request.body, &headers(request))
}

/// The signature `secret` gives this request's id, timestamp and body (for requests whose
/// timestamp the manual clock moved outside the verifier's five-minute tolerance).
fn expected_signature(secret: &WebhookSecret, request: &Request) -> String {
    Webhook::new(secret.expose_secret())
        .unwrap()
        .sign(
            &header(request, "webhook-id"),
            header(request, "webhook-timestamp").parse().unwrap(),
            &request.body,
        )
        .unwrap()
}

async fn receiver() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    server
}

async fn deliveries_verify_with_an_independent_standard_webhooks_implementation(db: TestDb) {
    let server = receiver().await;
    let h = Harness::new(&db, loopback_settings());
    let (_, secret) = h.endpoint(&format!("{}/hooks", server.uri())).await;
    let integration = connect(&h.store, "acct").await;
    h.catch_up();
    let pass = h.webhooks.drain().await;
    assert_eq!(pass.delivered, 1, "{pass:?}");

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    verify(&secret, request).unwrap();
    assert_eq!(header(request, "content-type"), "application/json");
    let stored = h.store.list_after(0, 10, &[]).await.unwrap();
    assert_eq!(
        header(request, "webhook-id"),
        stored[0].event.id.as_uuid().to_string()
    );
    let payload = db
        .query_all("SELECT CAST(payload AS TEXT) AS p FROM events")
        .await;
    let payload: String = payload[0].try_get("", "p").unwrap();
    assert_eq!(
        String::from_utf8(request.body.clone()).unwrap(),
        payload,
        "the body is the outbox payload exactly"
    );
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["type"], "integration.connected");
    assert_eq!(body["data"]["integration_id"], integration.id.to_string());

    // The verifier is not a rubber stamp: another body or another secret fails.
    let mut tampered = request.clone();
    tampered.body = br#"{"type":"integration.revoked"}"#.to_vec();
    assert!(verify(&secret, &tampered).is_err());
    assert!(verify(&tether_webhooks::signing::generate_secret(), request).is_err());
}

async fn during_a_rotation_both_the_old_and_the_new_secret_verify(db: TestDb) {
    let server = receiver().await;
    let h = Harness::new(&db, loopback_settings());
    let (endpoint, old) = h.endpoint(&format!("{}/hooks", server.uri())).await;
    let integration = connect(&h.store, "acct").await;
    h.catch_up();
    h.webhooks.drain().await;

    let (rotated, new) = h
        .webhooks
        .rotate_secret(&Actor::System, endpoint.id)
        .await
        .unwrap();
    assert_ne!(old, new);
    let grace_end = rotated.previous_secret_expires_at.unwrap();
    assert_eq!(
        grace_end - tether_webhooks::Clock::now(h.clock.as_ref()),
        Duration::hours(24)
    );
    let degraded = set_status(&h.store, &integration, IntegrationStatus::Degraded).await;
    h.catch_up();
    h.webhooks.drain().await;
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let during = &requests[1];
    assert_eq!(header(during, "webhook-signature").split(' ').count(), 2);
    verify(&old, during).expect("receivers that still have the old secret verify");
    verify(&new, during).expect("receivers that have the new secret verify");
    verify(&new, &requests[0]).expect_err("the request before the rotation had only the old one");

    // After the grace period only the new secret signs.
    h.advance(Duration::hours(25));
    set_status(&h.store, &degraded, IntegrationStatus::Active).await;
    h.webhooks.drain().await;
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    let after = &requests[2];
    assert_eq!(
        header(after, "webhook-signature"),
        expected_signature(&new, after)
    );
    assert!(!header(after, "webhook-signature").contains(&expected_signature(&old, after)));
}

async fn a_test_send_is_signed_reports_the_answer_and_stores_nothing(db: TestDb) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("receiver\nbroken"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let h = Harness::new(&db, loopback_settings());
    let (endpoint, secret) = h.endpoint(&format!("{}/hooks", server.uri())).await;

    let failed = h
        .webhooks
        .send_test(&Actor::System, endpoint.id)
        .await
        .unwrap();
    assert!(!failed.delivered);
    assert_eq!(failed.status_code, Some(500));
    assert_eq!(failed.error.as_deref(), Some("HTTP 500: receiver broken"));
    let ok = h
        .webhooks
        .send_test(&Actor::System, endpoint.id)
        .await
        .unwrap();
    assert!(ok.delivered, "{ok:?}");
    assert_eq!(ok.status_code, Some(200));
    assert_eq!(ok.error, None);

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    verify(&secret, &requests[1]).unwrap();
    assert_eq!(header(&requests[1], "webhook-id"), ok.event_id);
    let body: serde_json::Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(body["type"], "webhook.test");
    assert_eq!(body["data"]["endpoint_id"], endpoint.id.to_string());
    assert!(h.store.list_after(0, 10, &[]).await.unwrap().is_empty());
    assert!(
        h.webhooks
            .deliveries(endpoint.id, 10, None)
            .await
            .unwrap()
            .is_empty()
    );
}

tether_testkit::engine_tests!(
    deliveries_verify_with_an_independent_standard_webhooks_implementation,
    during_a_rotation_both_the_old_and_the_new_secret_verify,
    a_test_send_is_signed_reports_the_answer_and_stores_nothing,
);
