#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! Orange's client-credentials token as Tether's broker requests it: Basic auth, the
//! mandatory `Accept` header, a string `expires_in`, and the gateway's error codes.

#[allow(dead_code, reason = "this file uses only the provider fixture")]
mod common;

use std::time::Duration;

use tether_broker::ProviderHttp;
use tether_broker::oauth::{client_credentials, provider_authorize_url};
use tether_core::ScopeSet;
use tether_core::provider::{Provider, ProviderError};
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn http() -> ProviderHttp {
    ProviderHttp::new(Duration::from_secs(5)).unwrap()
}

#[tokio::test]
async fn the_token_request_uses_basic_auth_accept_json_and_no_scope() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v3/token"))
        // base64("orange-id:orange-secret")
        .and(header(
            "authorization",
            "Basic b3JhbmdlLWlkOm9yYW5nZS1zZWNyZXQ=",
        ))
        .and(header("accept", "application/json"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"token_type":"Bearer","access_token":"i6m2iIcY0SodWSe...L3ojAXXrH","expires_in":"3600"}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let p = common::provider(&server, &[]);
    let raw = client_credentials(&p, &http(), &p.default_scopes())
        .await
        .unwrap();
    assert_eq!(
        raw.access_token.expose_secret(),
        "i6m2iIcY0SodWSe...L3ojAXXrH"
    );
    assert_eq!(raw.expires_in, Some(3600), "a string expires_in is read");
    assert!(raw.refresh_token.is_none());
    assert_eq!(raw.token_type, "Bearer");
}

#[tokio::test]
async fn the_old_ninety_day_answer_still_parses() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"token_type":"Bearer","access_token":"old","expires_in":"7776000"}"#,
        ))
        .mount(&server)
        .await;
    let p = common::provider(&server, &[]);
    let raw = client_credentials(&p, &http(), &ScopeSet::new())
        .await
        .unwrap();
    assert_eq!(raw.expires_in, Some(7_776_000));
}

async fn token_error(status: u16, body: &str) -> ProviderError {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status).set_body_string(body))
        .mount(&server)
        .await;
    let p = common::provider(&server, &[]);
    client_credentials(&p, &http(), &ScopeSet::new())
        .await
        .unwrap_err()
}

#[tokio::test]
async fn gateway_errors_at_the_token_endpoint_name_the_problem() {
    let missing = token_error(
        401,
        r#"{"code":40,"message":"Missing credentials","description":"The requested service needs credentials, but none were provided."}"#,
    )
    .await;
    assert!(
        matches!(missing, ProviderError::Misconfigured { .. }),
        "{missing:?}"
    );
    assert!(missing.to_string().contains("missing credentials"));

    let invalid = token_error(
        401,
        r#"{"code":41,"message":"Invalid credentials","description":"The requested service needs credentials, but the ones provided were invalid."}"#,
    )
    .await;
    assert!(
        matches!(invalid, ProviderError::Misconfigured { .. }),
        "{invalid:?}"
    );
    assert!(invalid.to_string().contains("Invalid credentials"));
    assert!(!invalid.to_string().contains("orange-secret"));

    let denied = token_error(403, r#"{"code":50,"message":"Access denied"}"#).await;
    assert!(
        matches!(denied, ProviderError::Misconfigured { .. }),
        "{denied:?}"
    );

    let busy = token_error(429, r#"{"code":53,"message":"Too many requests"}"#).await;
    assert!(
        matches!(busy, ProviderError::RateLimited { .. }),
        "{busy:?}"
    );

    let down = token_error(503, r#"{"code":5,"message":"Service unavailable"}"#).await;
    assert!(down.is_transient(), "{down:?}");

    let html = token_error(502, "<html>bad gateway</html>").await;
    assert!(matches!(
        html,
        ProviderError::Upstream {
            status: Some(502),
            ..
        }
    ));
}

#[test]
fn there_is_no_user_flow_to_authorize_refresh_or_revoke() {
    let server_less = tether_core::provider::ProviderSettings::new(
        "orange-id",
        Some(tether_core::secret::ClientSecret::new("s")),
    );
    let p =
        tether_provider_orange::OrangeProvider::new(&server_less, reqwest::Client::new()).unwrap();
    let redirect =
        url::Url::parse("https://tether.example.com/api/v1/oauth/orange/callback").unwrap();
    let err =
        provider_authorize_url(&p, &redirect, "s", None, &ScopeSet::new(), None, "n").unwrap_err();
    assert!(
        matches!(err, ProviderError::Misconfigured { .. }),
        "{err:?}"
    );
    assert!(p.endpoints().revocation_url.is_none());
    assert!(!p.capabilities().revocation);
    assert!(!p.capabilities().rotates_refresh_tokens);
}
