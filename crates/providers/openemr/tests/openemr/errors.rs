//! OpenEMR's error answers, at the token endpoint and the FHIR API, in the core classes.

use std::time::Duration;

use serde_json::json;
use tether_broker::oauth::{exchange_code, refresh};
use tether_core::provider::{Provider, ProviderError};
use tether_core::secret::AccessToken;
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{http, provider};

async fn refresh_answering(template: ResponseTemplate) -> ProviderError {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/default/token"))
        .respond_with(template)
        .mount(&server)
        .await;
    refresh(&provider(&server), &http(), "rt-1")
        .await
        .unwrap_err()
}

#[tokio::test]
async fn invalid_grant_means_reconnect() {
    let err = refresh_answering(ResponseTemplate::new(400).set_body_json(json!({
        "error": "invalid_grant",
        "error_description": "The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
        "hint": "Token has been revoked",
        "message": "The provided authorization grant ... is invalid"
    })))
    .await;
    assert!(matches!(err, ProviderError::InvalidGrant { .. }), "{err:?}");
    assert!(err.to_string().contains("Token has been revoked"), "{err}");
}

#[tokio::test]
async fn older_league_invalid_request_for_a_revoked_refresh_token_means_reconnect() {
    let err = refresh_answering(ResponseTemplate::new(401).set_body_json(json!({
        "error": "invalid_request",
        "error_description": "The refresh token is invalid.",
        "hint": "Token has been revoked",
        "message": "The refresh token is invalid."
    })))
    .await;
    assert!(err.needs_reauth(), "{err:?}");
}

#[tokio::test]
async fn a_plain_invalid_request_is_our_configuration() {
    let err = refresh_answering(ResponseTemplate::new(400).set_body_json(json!({
        "error": "invalid_request",
        "error_description": "The request is missing a required parameter",
        "hint": "Check the `grant_type` parameter"
    })))
    .await;
    assert!(
        matches!(err, ProviderError::Misconfigured { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn access_denied_means_the_grant_was_revoked() {
    let err = refresh_answering(ResponseTemplate::new(401).set_body_json(json!({
        "error": "access_denied",
        "error_description": "The resource owner or authorization server denied the request."
    })))
    .await;
    assert!(matches!(err, ProviderError::Revoked { .. }), "{err:?}");
}

#[tokio::test]
async fn invalid_client_points_at_enabling_the_client() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/default/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "Client authentication failed",
            "message": "Client authentication failed"
        })))
        .mount(&server)
        .await;
    let redirect = Url::parse("https://tether.example.com/api/v1/oauth/openemr/callback").unwrap();
    let err = exchange_code(&provider(&server), &http(), "code", Some("v"), &redirect)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProviderError::Misconfigured { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("Client authentication failed"), "{text}");
    assert!(
        text.contains("Administration → System → API Clients"),
        "{text}"
    );
}

#[tokio::test]
async fn invalid_scope_is_our_configuration() {
    let err = refresh_answering(ResponseTemplate::new(400).set_body_json(json!({
        "error": "invalid_scope",
        "error_description": "The requested scope is invalid, unknown, or malformed",
        "hint": "Check the `user/Foo.read` scope"
    })))
    .await;
    assert!(
        matches!(err, ProviderError::Misconfigured { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn outages_and_rate_limits_are_transient() {
    let err = refresh_answering(
        ResponseTemplate::new(503).set_body_string("<html>Service Unavailable</html>"),
    )
    .await;
    assert!(
        matches!(
            err,
            ProviderError::Upstream {
                status: Some(503),
                ..
            }
        ),
        "{err:?}"
    );
    let err = refresh_answering(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "30")
            .set_body_string("slow down"),
    )
    .await;
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    assert!(matches!(err, ProviderError::RateLimited { .. }), "{err:?}");
}

/// The test connection's metadata succeeds; its Patient search answers with `template`.
async fn api_answering(template: ResponseTemplate) -> ProviderError {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/apis/default/fhir/metadata"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"resourceType": "CapabilityStatement", "software": {"name": "OpenEMR"}}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/apis/default/fhir/Patient"))
        .respond_with(template)
        .mount(&server)
        .await;
    provider(&server)
        .test_connection(&AccessToken::new("at"))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn fhir_api_errors_fall_into_the_lifecycle_classes() {
    let revoked = api_answering(ResponseTemplate::new(401).set_body_json(json!({
        "error": "access_denied",
        "error_description": "The resource owner or authorization server denied the request.",
        "hint": "Access token has been revoked"
    })))
    .await;
    assert!(
        matches!(revoked, ProviderError::Revoked { .. }),
        "{revoked:?}"
    );

    let expired = api_answering(ResponseTemplate::new(401).set_body_json(json!({
        "error": "access_denied",
        "hint": "Access token could not be verified"
    })))
    .await;
    assert!(
        matches!(expired, ProviderError::InvalidGrant { .. }),
        "{expired:?}"
    );

    let forbidden = api_answering(ResponseTemplate::new(403).set_body_json(json!({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "forbidden", "diagnostics": "insufficient scope"}]
    })))
    .await;
    assert!(
        matches!(forbidden, ProviderError::Misconfigured { .. }),
        "{forbidden:?}"
    );
    assert!(
        forbidden.to_string().contains("insufficient scope"),
        "{forbidden}"
    );

    let down = api_answering(ResponseTemplate::new(500).set_body_json(json!({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "fatal", "code": "exception", "details": {"text": "database unavailable"}}]
    })))
    .await;
    assert!(down.is_transient(), "{down:?}");
    assert!(down.to_string().contains("database unavailable"), "{down}");

    let limited = api_answering(ResponseTemplate::new(429).insert_header("retry-after", "7")).await;
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
}
