//! Revocation depends on the OpenEMR version: only where the site advertises it, or the
//! operator says so.

use serde_json::json;
use tether_broker::oauth::{TokenKind, revoke};
use tether_core::provider::Provider;
use tether_provider_openemr::OpenEmrProvider;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{
    CLIENT_ID, CLIENT_SECRET, form, http, pairs, provider, serve_smart_configuration, settings,
    smart_configuration, with_option,
};

#[tokio::test]
async fn an_advertised_revocation_endpoint_gets_an_rfc_7009_request() {
    let server = MockServer::start().await;
    serve_smart_configuration(&server, smart_configuration(&server.uri())).await;
    Mock::given(method("POST"))
        .and(path("/oauth2/default/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let provider = OpenEmrProvider::discover(&settings(&server), http().client().clone())
        .await
        .unwrap();
    revoke(&provider, &http(), "rt-1", TokenKind::Refresh)
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    let request = requests
        .iter()
        .find(|r| r.url.path() == "/oauth2/default/revoke")
        .unwrap();
    assert_eq!(
        request.headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    assert_eq!(
        form(&request.body),
        pairs(&[
            ("token", "rt-1"),
            ("token_type_hint", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
    );
}

#[tokio::test]
async fn an_already_invalid_token_counts_as_revoked() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/default/revoke"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_token"})))
        .mount(&server)
        .await;
    let settings = with_option(settings(&server), "revocation", "true");
    let provider = OpenEmrProvider::new(&settings, http().client().clone()).unwrap();
    assert!(
        revoke(&provider, &http(), "at-1", TokenKind::Access)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn without_discovery_there_is_no_revocation_unless_the_option_says_so() {
    let server = MockServer::start().await;
    let plain = provider(&server);
    assert!(!plain.capabilities().revocation);
    assert_eq!(plain.endpoints().revocation_url, None);
    assert!(
        revoke(&plain, &http(), "rt", TokenKind::Refresh)
            .await
            .is_err()
    );
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing sent"
    );

    let forced = OpenEmrProvider::new(
        &with_option(settings(&server), "revocation", "true"),
        http().client().clone(),
    )
    .unwrap();
    assert!(forced.capabilities().revocation);
    assert_eq!(
        forced.endpoints().revocation_url.as_deref(),
        Some(format!("{}/oauth2/default/revoke", server.uri()).as_str())
    );
}

#[tokio::test]
async fn revocation_can_be_turned_off_even_when_advertised() {
    let server = MockServer::start().await;
    serve_smart_configuration(&server, smart_configuration(&server.uri())).await;
    let provider = OpenEmrProvider::discover(
        &with_option(settings(&server), "revocation", "false"),
        http().client().clone(),
    )
    .await
    .unwrap();
    assert!(!provider.capabilities().revocation);
}
