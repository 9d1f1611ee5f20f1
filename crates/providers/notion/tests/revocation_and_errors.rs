//! Notion's revocation endpoint and the OAuth endpoints' error answers, as the broker meets
//! them, against a wiremock stand-in for api.notion.com.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::time::Duration;

use common::{CLIENT_SECRET, basic, http, json_body, provider_at};
use serde_json::{Value, json};
use tether_broker::oauth::{self, TokenKind};
use tether_core::provider::{Provider, ProviderError};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn revocation_posts_the_token_as_json_with_basic_auth() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth/revoke"))
        .and(header("content-type", "application/json"))
        .and(header("authorization", basic().as_str()))
        .and(header(
            "notion-version",
            tether_provider_notion::DEFAULT_NOTION_VERSION,
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"request_id": "r"})))
        .expect(1)
        .mount(&server)
        .await;
    let provider = provider_at(&server);
    assert!(provider.capabilities().revocation);
    oauth::revoke(&provider, &http(), "ntn_access_1", TokenKind::Access)
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let body = json_body(&requests[0].body);
    assert_eq!(body["token"], "ntn_access_1");
    assert_eq!(
        body["token_type_hint"], "access_token",
        "added by the RFC 7009 request builder"
    );
    assert_eq!(body.as_object().unwrap().len(), 2);
}

#[tokio::test]
async fn a_failed_revocation_is_classified() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth/revoke"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "object": "error", "status": 401, "code": "unauthorized",
            "message": "API token is invalid.", "request_id": "r"
        })))
        .mount(&server)
        .await;
    let err = oauth::revoke(&provider_at(&server), &http(), "t", TokenKind::Access)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProviderError::Misconfigured { .. }),
        "{err:?}"
    );
}

async fn token_error(status: u16, body: Value, retry_after: Option<&str>) -> ProviderError {
    let server = MockServer::start().await;
    let mut answer = ResponseTemplate::new(status).set_body_json(body);
    if let Some(wait) = retry_after {
        answer = answer.insert_header("retry-after", wait);
    }
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .respond_with(answer)
        .mount(&server)
        .await;
    oauth::refresh(&provider_at(&server), &http(), "nrt")
        .await
        .unwrap_err()
}

fn notion_error(status: u16, code: &str, message: &str) -> Value {
    json!({"object": "error", "status": status, "code": code, "message": message, "request_id": "r"})
}

#[tokio::test]
async fn token_endpoint_errors_land_in_the_right_class() {
    let reused = token_error(
        400,
        notion_error(400, "invalid_grant", "Invalid refresh token."),
        None,
    )
    .await;
    assert!(
        matches!(reused, ProviderError::InvalidGrant { .. }),
        "{reused:?}"
    );
    assert!(reused.to_string().contains("Invalid refresh token."));

    let rfc = token_error(
        400,
        json!({"error": "invalid_grant", "error_description": "Invalid code: this code has been revoked."}),
        None,
    )
    .await;
    assert!(matches!(rfc, ProviderError::InvalidGrant { .. }), "{rfc:?}");

    let bad_client = token_error(
        401,
        notion_error(401, "unauthorized", "Invalid client credentials."),
        None,
    )
    .await;
    assert!(
        matches!(bad_client, ProviderError::Misconfigured { .. }),
        "{bad_client:?}"
    );
    assert!(!bad_client.to_string().contains(CLIENT_SECRET));

    let bad_request = token_error(
        400,
        notion_error(
            400,
            "validation_error",
            "body failed validation: body.redirect_uri should be defined",
        ),
        None,
    )
    .await;
    assert!(matches!(bad_request, ProviderError::Misconfigured { .. }));

    let limited = token_error(
        429,
        notion_error(429, "rate_limited", "slow down"),
        Some("3"),
    )
    .await;
    assert!(matches!(limited, ProviderError::RateLimited { .. }));
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(3)));

    let down = token_error(
        503,
        notion_error(503, "service_unavailable", "Notion is unavailable."),
        None,
    )
    .await;
    assert!(
        matches!(
            down,
            ProviderError::Upstream {
                status: Some(503),
                ..
            }
        ),
        "{down:?}"
    );
}
