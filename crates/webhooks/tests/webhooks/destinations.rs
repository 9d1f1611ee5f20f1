//! Destinations checked against SSRF: the defaults refuse plain http and non-public
//! addresses when an endpoint is saved and before each attempt, a host name is checked again
//! when connecting, redirects are not followed, answers are read with a limit, slow
//! receivers time out.

use std::time::Duration;

use tether_core::WebhookEndpointId;
use tether_core::audit::Actor;
use tether_core::webhooks::{NewWebhookEndpoint, WebhookRepository};
use tether_testkit::TestDb;
use tether_webhooks::destination::DestinationPolicy;
use tether_webhooks::sender::Sender;
use tether_webhooks::signing::SignedHeaders;
use tether_webhooks::{EndpointChange, NewEndpoint, WebhookError, WebhookSettings};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

fn headers() -> SignedHeaders {
    SignedHeaders {
        id: "01938f2e-5a4b-7c3d-9e8f-0a1b2c3d4e5f".to_owned(),
        timestamp: 1_764_590_000,
        signature: "v1,c2lnbmF0dXJl".to_owned(),
    }
}

async fn the_defaults_refuse_plain_http_and_non_public_destinations(db: TestDb) {
    let h = Harness::new(&db, WebhookSettings::default());
    for (url, setting) in [
        ("http://hooks.example.com/tether", "webhooks_allow_http"),
        ("https://127.0.0.1/hooks", "webhooks_allow_private"),
        ("https://[::1]:8443/hooks", "webhooks_allow_private"),
        ("https://10.0.0.8/hooks", "webhooks_allow_private"),
        ("https://169.254.169.254/latest", "webhooks_allow_private"),
        ("https://localhost/hooks", "webhooks_allow_private"),
    ] {
        let refused = h
            .webhooks
            .create(
                &Actor::System,
                NewEndpoint {
                    url: url.to_owned(),
                    enabled: true,
                    ..NewEndpoint::default()
                },
            )
            .await;
        match refused {
            Err(WebhookError::InvalidInput(message)) => {
                assert!(message.contains(setting), "{url}: {message}")
            }
            other => panic!("{url}: expected a refusal, got {other:?}"),
        }
    }
    assert!(
        h.webhooks.list().await.unwrap().is_empty(),
        "nothing was saved"
    );

    let (kept, _) = h.endpoint("https://hooks.example.com/tether").await;
    let change = h
        .webhooks
        .update(
            &Actor::System,
            kept.id,
            EndpointChange {
                url: Some("https://127.0.0.1/".to_owned()),
                description: Some("changed".to_owned()),
                ..EndpointChange::default()
            },
        )
        .await;
    assert!(matches!(change, Err(WebhookError::InvalidInput(_))));
    // A control character is refused wherever it is, even where trimming would drop it.
    for description in ["\rlead", "trail\n", "mid\u{85}dle"] {
        let change = h
            .webhooks
            .update(
                &Actor::System,
                kept.id,
                EndpointChange {
                    description: Some(description.to_owned()),
                    ..EndpointChange::default()
                },
            )
            .await;
        assert!(
            matches!(change, Err(WebhookError::InvalidInput(_))),
            "{description:?}: {change:?}"
        );
    }
    assert_eq!(
        h.webhooks.get(kept.id).await.unwrap(),
        kept,
        "nothing changed"
    );
}

async fn an_endpoint_saved_under_laxer_settings_is_refused_before_sending(db: TestDb) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let h = Harness::new(&db, WebhookSettings::default());
    // Saved while plain http to loopback was allowed (as in development).
    let endpoint = h
        .store
        .create_endpoint(NewWebhookEndpoint {
            id: WebhookEndpointId::new(),
            url: format!("{}/hooks", server.uri()).parse().unwrap(),
            description: String::new(),
            event_types: Vec::new(),
            enabled: true,
            secret: tether_webhooks::signing::generate_secret(),
            at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    connect(&h.store, "acct").await;
    h.catch_up();
    let pass = h.webhooks.drain().await;
    assert_eq!(pass.retried, 1, "{pass:?}");
    assert!(server.received_requests().await.unwrap().is_empty());
    let records = h.webhooks.deliveries(endpoint.id, 10, None).await.unwrap();
    let error = records[0].last_error.clone().unwrap();
    assert!(error.starts_with("refused: "), "{error}");
    assert!(error.contains("webhooks_allow_http"), "{error}");
    assert_eq!(records[0].last_status_code, None);

    let test = h
        .webhooks
        .send_test(&Actor::System, endpoint.id)
        .await
        .unwrap();
    assert!(!test.delivered);
    assert!(server.received_requests().await.unwrap().is_empty());
}

tether_testkit::engine_tests!(
    the_defaults_refuse_plain_http_and_non_public_destinations,
    an_endpoint_saved_under_laxer_settings_is_refused_before_sending,
);

#[tokio::test]
async fn a_host_name_is_checked_again_when_connecting() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let port = server.address().port();
    let url = url::Url::parse(&format!("http://localhost:{port}/hooks")).unwrap();
    let timeouts = (Duration::from_secs(2), Duration::from_secs(5));
    let http_only = DestinationPolicy {
        allow_http: true,
        allow_private: false,
    };
    assert!(
        http_only.check_request(&url).is_ok(),
        "a name passes the URL check: only its addresses can tell"
    );
    let guarded = Sender::new(http_only, timeouts.0, timeouts.1).unwrap();
    let refused = guarded.post(&url, &headers(), "{}".to_owned()).await;
    let error = refused.error.unwrap();
    assert!(error.contains("non-public"), "{error}");
    assert!(error.contains("webhooks_allow_private"), "{error}");
    assert_eq!(refused.status_code, None);
    assert!(server.received_requests().await.unwrap().is_empty());

    let open = Sender::new(
        DestinationPolicy {
            allow_http: true,
            allow_private: true,
        },
        timeouts.0,
        timeouts.1,
    )
    .unwrap();
    let sent = open.post(&url, &headers(), "{}".to_owned()).await;
    assert!(sent.succeeded(), "{sent:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn redirects_are_not_followed_answers_are_read_with_a_limit_and_slow_receivers_time_out() {
    let server = MockServer::start().await;
    Mock::given(path("/moved"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/target", server.uri()).as_str()),
        )
        .mount(&server)
        .await;
    Mock::given(path("/big"))
        .respond_with(ResponseTemplate::new(500).set_body_string("e".repeat(1024 * 1024)))
        .mount(&server)
        .await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    Mock::given(path("/target"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let sender = Sender::new(
        DestinationPolicy {
            allow_http: true,
            allow_private: true,
        },
        Duration::from_secs(1),
        Duration::from_secs(1),
    )
    .unwrap();
    let at = |p: &str| url::Url::parse(&format!("{}{p}", server.uri())).unwrap();

    let moved = sender
        .post(&at("/moved"), &headers(), "{}".to_owned())
        .await;
    assert_eq!(moved.status_code, Some(302));
    assert!(
        moved
            .error
            .as_deref()
            .unwrap()
            .contains("redirects are not followed"),
        "{moved:?}"
    );
    let big = sender.post(&at("/big"), &headers(), "{}".to_owned()).await;
    let error = big.error.unwrap();
    assert!(error.starts_with("HTTP 500: eeee"), "{error}");
    assert!(error.chars().count() < 260, "{} characters", error.len());
    let slow = sender.post(&at("/slow"), &headers(), "{}".to_owned()).await;
    assert_eq!(slow.status_code, None);
    assert!(slow.error.unwrap().contains("timed out"));

    let paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        paths,
        ["/moved", "/big", "/slow"],
        "the redirect was not followed"
    );
}
