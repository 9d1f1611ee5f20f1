//! Retries with the same `webhook-id`, per-integration order across retries, giving up after
//! the schedule, and disabling an endpoint whose deliveries keep failing.

use std::sync::Mutex;

use chrono::Duration;
use standardwebhooks::Webhook;
use tether_core::audit::{ActorKind, AuditAction, AuditQuery};
use tether_core::integration::IntegrationStatus;
use tether_core::ports::AuditRepository;
use tether_core::webhooks::DeliveryStatus;
use tether_testkit::TestDb;
use tether_webhooks::WebhookSettings;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::*;

async fn answering(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status))
        .mount(&server)
        .await;
    server
}

async fn a_receiver_failing_twice_gets_the_event_again_with_the_same_webhook_id(db: TestDb) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let h = Harness::new(&db, loopback_settings());
    let (endpoint, secret) = h.endpoint(&format!("{}/hooks", server.uri())).await;
    connect(&h.store, "acct").await;
    h.catch_up();

    let first = h.webhooks.drain().await;
    assert_eq!((first.claimed, first.retried), (1, 1), "{first:?}");
    assert_eq!(
        h.webhooks.drain().await.claimed,
        0,
        "not due before its backoff"
    );
    h.advance(Duration::milliseconds(5_500));
    let second = h.webhooks.drain().await;
    assert_eq!(second.retried, 1, "{second:?}");
    h.advance(Duration::seconds(331));
    let third = h.webhooks.drain().await;
    assert_eq!(third.delivered, 1, "{third:?}");

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    let id = header(&requests[0], "webhook-id");
    for request in &requests {
        assert_eq!(header(request, "webhook-id"), id);
        assert_eq!(request.body, requests[0].body);
        let signed = Webhook::new(secret.expose_secret())
            .unwrap()
            .sign(
                &id,
                header(request, "webhook-timestamp").parse().unwrap(),
                &request.body,
            )
            .unwrap();
        assert_eq!(header(request, "webhook-signature"), signed);
    }
    let timestamps: Vec<i64> = requests
        .iter()
        .map(|r| header(r, "webhook-timestamp").parse().unwrap())
        .collect();
    assert!(timestamps.windows(2).all(|w| w[0] < w[1]), "{timestamps:?}");

    let records = h.webhooks.deliveries(endpoint.id, 10, None).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].status, DeliveryStatus::Delivered);
    assert_eq!(records[0].attempts, 3);
    assert_eq!(records[0].last_status_code, Some(200));
    assert_eq!(records[0].last_error, None);
    assert_eq!(Counting::get(&h.observed.retried), 2);
    assert_eq!(Counting::get(&h.observed.delivered), 1);
}

/// Fails the first request whose body contains `needle` with a 503, answers 200 otherwise.
struct FailFirst {
    needle: String,
    failed: Mutex<bool>,
}

impl Respond for FailFirst {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body = String::from_utf8_lossy(&request.body);
        let mut failed = self.failed.lock().unwrap();
        if !*failed && body.contains(&self.needle) {
            *failed = true;
            return ResponseTemplate::new(503);
        }
        ResponseTemplate::new(200)
    }
}

async fn an_integrations_events_arrive_in_order_across_retries(db: TestDb) {
    let h = Harness::new(&db, loopback_settings());
    let first = connect(&h.store, "first").await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(FailFirst {
            needle: first.id.to_string(),
            failed: Mutex::new(false),
        })
        .mount(&server)
        .await;
    h.endpoint(&format!("{}/hooks", server.uri())).await;
    // The endpoint exists from here on: these events (and the other integration's) reach it.
    let degraded = set_status(&h.store, &first, IntegrationStatus::Degraded).await;
    set_status(&h.store, &degraded, IntegrationStatus::Active).await;
    let second = connect(&h.store, "second").await;
    h.catch_up();

    let pass = h.webhooks.drain().await;
    assert_eq!((pass.retried, pass.delivered), (1, 1), "{pass:?}");
    let got = received(&server).await;
    assert_eq!(got.len(), 2);
    assert!(
        got.iter()
            .any(|(_, body)| body["data"]["integration_id"] == second.id.to_string()),
        "another integration's event is not held back"
    );
    h.advance(Duration::seconds(6));
    let pass = h.webhooks.drain().await;
    assert_eq!(pass.delivered, 2, "{pass:?}");

    let of_first: Vec<String> = received(&server)
        .await
        .into_iter()
        .filter(|(_, body)| body["data"]["integration_id"] == first.id.to_string())
        .map(|(_, body)| body["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        of_first,
        [
            "integration.degraded",
            "integration.degraded",
            "integration.recovered"
        ],
        "the failed degraded event is retried before recovered is sent"
    );
}

async fn a_delivery_is_given_up_after_the_retry_schedule(db: TestDb) {
    let server = answering(503).await;
    let h = Harness::new(&db, loopback_settings());
    let (endpoint, _) = h.endpoint(&format!("{}/hooks", server.uri())).await;
    connect(&h.store, "acct").await;
    h.catch_up();
    let schedule = h.webhooks.settings().retry.clone();
    let mut attempts = 0;
    for _ in 0..schedule.attempts() + 2 {
        attempts += h.webhooks.drain().await.claimed;
        // Longer than the longest wait with its jitter.
        h.advance(Duration::hours(11));
    }
    assert_eq!(attempts, schedule.attempts());
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        schedule.attempts()
    );
    let records = h.webhooks.deliveries(endpoint.id, 10, None).await.unwrap();
    assert_eq!(records[0].status, DeliveryStatus::Failed);
    assert_eq!(records[0].attempts as usize, schedule.attempts());
    assert_eq!(records[0].last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(Counting::get(&h.observed.failed), 1);
    assert_eq!(Counting::get(&h.observed.retried), schedule.attempts() - 1);
    let endpoint = h.webhooks.get(endpoint.id).await.unwrap();
    assert!(
        endpoint.enabled,
        "about 3 days of failures is under the 5-day threshold"
    );
    assert!(endpoint.failing_since.is_some());
}

async fn an_endpoint_failing_longer_than_the_setting_is_disabled_with_an_audit_record(db: TestDb) {
    let server = answering(500).await;
    let settings = WebhookSettings {
        disable_after: std::time::Duration::from_secs(86_400),
        ..loopback_settings()
    };
    let h = Harness::new(&db, settings);
    let (endpoint, _) = h.endpoint(&format!("{}/hooks", server.uri())).await;
    connect(&h.store, "acct").await;
    h.catch_up();
    assert_eq!(h.webhooks.drain().await.retried, 1);
    h.advance(Duration::hours(23));
    assert_eq!(h.webhooks.drain().await.retried, 1);
    assert!(h.webhooks.get(endpoint.id).await.unwrap().enabled);
    h.advance(Duration::hours(2));
    assert_eq!(h.webhooks.drain().await.retried, 1);

    let disabled = h.webhooks.get(endpoint.id).await.unwrap();
    assert!(!disabled.enabled);
    let reason = disabled.disabled_reason.unwrap();
    assert!(reason.contains("more than 1 day"), "{reason}");
    assert!(reason.contains("HTTP 500"), "{reason}");
    assert_eq!(Counting::get(&h.observed.disabled), 1);
    let audit = h
        .store
        .query(&AuditQuery {
            action: Some(AuditAction::WebhookEndpointDisabled),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].event.actor.kind(), ActorKind::System);
    assert_eq!(
        audit[0].event.detail.as_ref().unwrap()["endpoint_id"],
        endpoint.id.to_string()
    );
    h.advance(Duration::hours(11));
    assert_eq!(
        h.webhooks.drain().await.claimed,
        0,
        "nothing is sent to a disabled endpoint"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

tether_testkit::engine_tests!(
    a_receiver_failing_twice_gets_the_event_again_with_the_same_webhook_id,
    an_integrations_events_arrive_in_order_across_retries,
    a_delivery_is_given_up_after_the_retry_schedule,
    an_endpoint_failing_longer_than_the_setting_is_disabled_with_an_audit_record,
);
