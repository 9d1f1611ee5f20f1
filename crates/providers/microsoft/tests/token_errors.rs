//! The token endpoint's error answers as the broker meets them, and the absence of a
//! revocation endpoint, against a wiremock stand-in for login.microsoftonline.com.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::time::Duration;

use common::{TOKEN_PATH, http, provider_at, settings};
use tether_broker::oauth;
use tether_core::provider::{Provider, ProviderError};
use tether_provider_microsoft::MicrosoftProvider;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn token_error(status: u16, body: &str, retry_after: Option<&str>) -> ProviderError {
    let server = MockServer::start().await;
    let mut answer = ResponseTemplate::new(status).set_body_string(body.to_owned());
    if let Some(wait) = retry_after {
        answer = answer.insert_header("retry-after", wait);
    }
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(answer)
        .mount(&server)
        .await;
    oauth::refresh(&provider_at(&server), &http(), "rt")
        .await
        .unwrap_err()
}

#[tokio::test]
async fn token_endpoint_errors_land_in_the_right_class() {
    let expired = token_error(
        400,
        r#"{"error":"invalid_grant","error_description":"AADSTS700082: The refresh token has expired due to inactivity.\r\nTrace ID: t\r\nCorrelation ID: c\r\nTimestamp: 2025-01-01 00:00:00Z","error_codes":[700082],"timestamp":"2025-01-01 00:00:00Z","trace_id":"t","correlation_id":"c","error_uri":"https://login.microsoftonline.com/error?code=700082"}"#,
        None,
    )
    .await;
    assert!(
        matches!(expired, ProviderError::InvalidGrant { .. }),
        "{expired:?}"
    );

    let revoked = token_error(
        400,
        r#"{"error":"invalid_grant","error_description":"AADSTS50173: The provided grant has expired due to it being revoked.","error_codes":[50173]}"#,
        None,
    )
    .await;
    assert!(
        matches!(revoked, ProviderError::Revoked { .. }),
        "{revoked:?}"
    );

    let mfa = token_error(
        400,
        r#"{"error":"interaction_required","error_description":"AADSTS50076: you must use multi-factor authentication.","error_codes":[50076],"suberror":"basic_action"}"#,
        None,
    )
    .await;
    assert!(mfa.needs_reauth(), "{mfa:?}");

    let consent = token_error(
        400,
        r#"{"error":"consent_required","error_description":"AADSTS65001: The user or administrator has not consented to use the application.","error_codes":[65001],"suberror":"consent_required"}"#,
        None,
    )
    .await;
    assert!(consent.needs_reauth(), "{consent:?}");

    let secret = token_error(
        401,
        r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}"#,
        None,
    )
    .await;
    assert!(
        matches!(secret, ProviderError::Misconfigured { .. }),
        "{secret:?}"
    );
    assert!(!secret.to_string().contains("s3cr~et"));

    let busy = token_error(
        400,
        r#"{"error":"temporarily_unavailable","error_description":"AADSTS90033: A transient error has occurred.","error_codes":[90033]}"#,
        Some("20"),
    )
    .await;
    assert!(busy.is_transient());
    assert_eq!(busy.retry_after(), Some(Duration::from_secs(20)));

    let throttled = token_error(429, "", Some("7")).await;
    assert!(matches!(throttled, ProviderError::RateLimited { .. }));
    assert_eq!(throttled.retry_after(), Some(Duration::from_secs(7)));

    let outage = token_error(503, "<html>down</html>", None).await;
    assert!(matches!(
        outage,
        ProviderError::Upstream {
            status: Some(503),
            ..
        }
    ));
}

#[test]
fn there_is_no_revocation_endpoint() {
    let provider = MicrosoftProvider::new(&settings(), reqwest::Client::new()).unwrap();
    assert!(!provider.capabilities().revocation);
    assert!(provider.endpoints().revocation_url.is_none());
    assert!(provider.capabilities().pkce);
    assert!(!provider.capabilities().requires_issuer_parameter);
}
