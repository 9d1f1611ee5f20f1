//! Identity and the connection test against a wiremock stand-in for the Notion API.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::time::Duration;

use serde_json::json;
use tether_core::provider::{Provider, ProviderError, ProviderSettings, RawTokenResponse};
use tether_core::secret::{AccessToken, ClientSecret};
use tether_provider_notion::NotionProvider;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn provider_at(server: &MockServer, version: Option<&str>) -> NotionProvider {
    let mut s = ProviderSettings::new("client", Some(ClientSecret::new("secret")));
    s.endpoints
        .insert("api_base".into(), format!("{}/v1", server.uri()));
    if let Some(v) = version {
        s.options.insert("notion_version".into(), v.into());
    }
    NotionProvider::new(&s, reqwest::Client::new()).unwrap()
}

fn bot_user() -> serde_json::Value {
    json!({
        "object": "user", "id": "b-1", "name": "Tether", "avatar_url": null, "type": "bot",
        "bot": {"owner": {"type": "workspace", "workspace": true}, "workspace_name": "Acme"},
        "request_id": "r"
    })
}

#[tokio::test]
async fn identity_comes_from_the_token_answer_without_an_api_call() {
    let server = MockServer::start().await;
    let provider = provider_at(&server, None);
    let answer = RawTokenResponse::parse(
        br#"{"access_token":"ntn","token_type":"bearer","refresh_token":null,"bot_id":"b-1","workspace_id":"w-1","workspace_name":"Acme","workspace_icon":null,"owner":{"type":"workspace","workspace":true},"duplicated_template_id":"tpl-1"}"#,
    )
    .unwrap();
    let identity = provider
        .fetch_identity(&AccessToken::new("ntn"), &answer, None)
        .await
        .unwrap();
    assert_eq!(identity.subject, "w-1:b-1");
    assert_eq!(identity.label.as_deref(), Some("Acme"));
    assert_eq!(identity.metadata["duplicated_template_id"], "tpl-1");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_token_answer_without_a_bot_id_is_completed_from_the_bot_user() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/users/me"))
        .and(header("authorization", "Bearer ntn"))
        .and(header("notion-version", "2026-03-11"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bot_user()))
        .expect(1)
        .mount(&server)
        .await;
    let provider = provider_at(&server, None);
    let answer =
        RawTokenResponse::parse(br#"{"access_token":"ntn","workspace_id":"w-1"}"#).unwrap();
    let identity = provider
        .fetch_identity(&AccessToken::new("ntn"), &answer, None)
        .await
        .unwrap();
    assert_eq!(identity.subject, "w-1:b-1");
}

#[tokio::test]
async fn the_connection_test_calls_users_me_with_the_pinned_version() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/users/me"))
        .and(header("authorization", "Bearer ntn"))
        .and(header("notion-version", "2022-06-28"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bot_user()))
        .expect(1)
        .mount(&server)
        .await;
    let provider = provider_at(&server, Some("2022-06-28"));
    assert_eq!(provider.notion_version(), "2022-06-28");
    let report = provider
        .test_connection(&AccessToken::new("ntn"))
        .await
        .unwrap();
    assert_eq!(
        report.detail,
        "Notion /users/me answered for bot b-1 in workspace Acme"
    );
}

#[tokio::test]
async fn api_errors_on_the_connection_test_are_classified() {
    let cases = [
        (401, "unauthorized", "API token is invalid.", None),
        (
            403,
            "restricted_resource",
            "Insufficient permissions for this endpoint.",
            None,
        ),
        (
            400,
            "missing_version",
            "Notion-Version header failed validation.",
            None,
        ),
        (
            429,
            "rate_limited",
            "You have been rate limited.",
            Some("4"),
        ),
        (502, "bad_gateway", "Bad gateway.", None),
    ];
    for (status, code, message, wait) in cases {
        let server = MockServer::start().await;
        let mut answer = ResponseTemplate::new(status).set_body_json(json!({
            "object": "error", "status": status, "code": code, "message": message
        }));
        if let Some(wait) = wait {
            answer = answer.insert_header("retry-after", wait);
        }
        Mock::given(method("GET"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let err = provider_at(&server, None)
            .test_connection(&AccessToken::new("ntn"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains(message), "{err}");
        match status {
            401 => assert!(matches!(err, ProviderError::InvalidGrant { .. }), "{err:?}"),
            403 | 400 => assert!(
                matches!(err, ProviderError::Misconfigured { .. }),
                "{err:?}"
            ),
            429 => assert_eq!(err.retry_after(), Some(Duration::from_secs(4))),
            _ => assert!(matches!(
                err,
                ProviderError::Upstream {
                    status: Some(502),
                    ..
                }
            )),
        }
    }
}
