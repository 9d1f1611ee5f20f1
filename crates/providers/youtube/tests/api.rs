//! The YouTube provider's own calls: identity from the Google subject plus the own channel,
//! the `channels?mine=true` test call, accounts without a channel, and quota errors.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::time::Duration;

use serde_json::json;
use tether_core::provider::{Provider, ProviderError, ProviderSettings, RawTokenResponse};
use tether_core::secret::{AccessToken, ClientSecret};
use tether_provider_youtube::YoutubeProvider;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn youtube(server: &MockServer) -> YoutubeProvider {
    let mut settings = ProviderSettings::new("id", Some(ClientSecret::new("secret")));
    settings
        .endpoints
        .insert("userinfo".into(), format!("{}/v1/userinfo", server.uri()));
    settings
        .endpoints
        .insert("api_base".into(), format!("{}/youtube/v3", server.uri()));
    YoutubeProvider::new(&settings, reqwest::Client::new()).unwrap()
}

fn token() -> AccessToken {
    AccessToken::new("ya29.yt")
}

fn granted(scope: &str) -> RawTokenResponse {
    RawTokenResponse::parse(
        json!({"access_token": "ya29.yt", "scope": scope})
            .to_string()
            .as_bytes(),
    )
    .unwrap()
}

const READONLY: &str = "openid https://www.googleapis.com/auth/youtube.readonly";

async fn mount_userinfo(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v1/userinfo"))
        .and(header("authorization", "Bearer ya29.yt"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"sub": "1098", "email": "creator@example.com"})),
        )
        .mount(server)
        .await;
}

async fn mount_channels(server: &MockServer, part: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path("/youtube/v3/channels"))
        .and(query_param("mine", "true"))
        .and(query_param("part", part))
        .and(header("authorization", "Bearer ya29.yt"))
        .respond_with(response)
        .mount(server)
        .await;
}

fn quota_body(reason: &str, domain: &str) -> serde_json::Value {
    json!({"error": {"code": 403, "message": "The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.",
        "errors": [{"message": "quota", "domain": domain, "reason": reason}]}})
}

fn no_channel_body() -> serde_json::Value {
    json!({"error": {"code": 401, "message": "Unauthorized",
        "errors": [{"message": "Unauthorized", "domain": "youtube.header", "reason": "youtubeSignupRequired",
            "location": "Authorization", "locationType": "header"}]}})
}

#[tokio::test]
async fn the_identity_is_the_google_subject_plus_the_own_channel() {
    let server = MockServer::start().await;
    mount_userinfo(&server).await;
    mount_channels(
        &server,
        "id,snippet,contentDetails",
        ResponseTemplate::new(200).set_body_json(json!({
            "kind": "youtube#channelListResponse",
            "pageInfo": {"totalResults": 1, "resultsPerPage": 5},
            "items": [{
                "kind": "youtube#channel",
                "id": "UCabc123",
                "snippet": {"title": "Ada Makes", "customUrl": "@adamakes", "description": "…"},
                "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": "UUabc123"}}
            }]
        })),
    )
    .await;
    let identity = youtube(&server)
        .fetch_identity(&token(), &granted(READONLY), None)
        .await
        .unwrap();
    assert_eq!(identity.subject, "1098:UCabc123");
    assert_eq!(identity.label.as_deref(), Some("Ada Makes (@adamakes)"));
    assert_eq!(
        identity.metadata,
        json!({
            "google_sub": "1098",
            "email": "creator@example.com",
            "youtube_has_channel": true,
            "youtube_channel_id": "UCabc123",
            "youtube_channel_title": "Ada Makes",
            "youtube_custom_url": "@adamakes",
            "youtube_uploads_playlist": "UUabc123"
        })
    );
}

#[tokio::test]
async fn an_account_without_a_channel_is_identified_by_its_google_subject() {
    for response in [
        ResponseTemplate::new(200).set_body_json(
            json!({"kind": "youtube#channelListResponse", "pageInfo": {"totalResults": 0}}),
        ),
        ResponseTemplate::new(401).set_body_json(no_channel_body()),
    ] {
        let server = MockServer::start().await;
        mount_userinfo(&server).await;
        mount_channels(&server, "id,snippet,contentDetails", response).await;
        let identity = youtube(&server)
            .fetch_identity(&token(), &granted(READONLY), None)
            .await
            .unwrap();
        assert_eq!(identity.subject, "1098");
        assert_eq!(
            identity.label.as_deref(),
            Some("creator@example.com (no YouTube channel)")
        );
        assert_eq!(identity.metadata["youtube_has_channel"], false);
    }
}

#[tokio::test]
async fn a_grant_that_cannot_read_the_channel_is_not_asked_for_it() {
    let server = MockServer::start().await;
    mount_userinfo(&server).await;
    mount_channels(
        &server,
        "id,snippet,contentDetails",
        ResponseTemplate::new(500),
    )
    .await;
    let identity = youtube(&server)
        .fetch_identity(
            &token(),
            &granted("openid https://www.googleapis.com/auth/youtube.upload"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(identity.subject, "1098");
    let channel_calls = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/channels"))
        .count();
    assert_eq!(channel_calls, 0);
}

#[tokio::test]
async fn the_test_call_lists_the_own_channel() {
    let server = MockServer::start().await;
    mount_channels(
        &server,
        "id",
        ResponseTemplate::new(200)
            .set_body_json(json!({"items": [{"kind": "youtube#channel", "id": "UCabc123"}]})),
    )
    .await;
    let report = youtube(&server).test_connection(&token()).await.unwrap();
    assert_eq!(report.detail, "YouTube answered for channel UCabc123");

    let empty = MockServer::start().await;
    mount_channels(
        &empty,
        "id",
        ResponseTemplate::new(200).set_body_json(json!({"items": []})),
    )
    .await;
    let report = youtube(&empty).test_connection(&token()).await.unwrap();
    assert!(
        report.detail.contains("no YouTube channel"),
        "{}",
        report.detail
    );
}

#[tokio::test]
async fn the_daily_quota_waits_for_the_reset_and_rate_limits_honour_retry_after() {
    let server = MockServer::start().await;
    mount_channels(
        &server,
        "id",
        ResponseTemplate::new(403).set_body_json(quota_body("quotaExceeded", "youtube.quota")),
    )
    .await;
    let err = youtube(&server)
        .test_connection(&token())
        .await
        .unwrap_err();
    let ProviderError::RateLimited {
        retry_after,
        message,
    } = &err
    else {
        panic!("quotaExceeded became {err:?}");
    };
    let wait = retry_after.unwrap();
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(86_400),
        "{wait:?}"
    );
    assert!(message.starts_with("quotaExceeded: "), "{message}");

    let busy = MockServer::start().await;
    mount_channels(
        &busy,
        "id",
        ResponseTemplate::new(403)
            .insert_header("retry-after", "20")
            .set_body_json(quota_body("rateLimitExceeded", "youtube.quota")),
    )
    .await;
    let err = youtube(&busy).test_connection(&token()).await.unwrap_err();
    assert!(
        matches!(err, ProviderError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(20)),
        "{err:?}"
    );
}

#[tokio::test]
async fn other_api_errors_are_classified() {
    let cases = [
        (
            json!({"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED",
                "errors": [{"reason": "authError", "domain": "global"}]}}),
            401,
        ),
        (
            json!({"error": {"code": 403, "message": "YouTube Data API v3 has not been used in project 12 before or it is disabled.",
                "errors": [{"reason": "accessNotConfigured", "domain": "usageLimits"}], "status": "PERMISSION_DENIED"}}),
            403,
        ),
        (
            json!({"error": {"code": 503, "message": "The service is currently unavailable.", "errors": [{"reason": "backendError"}]}}),
            503,
        ),
    ];
    for (body, status) in cases {
        let server = MockServer::start().await;
        mount_channels(
            &server,
            "id",
            ResponseTemplate::new(status).set_body_json(body),
        )
        .await;
        let err = youtube(&server)
            .test_connection(&token())
            .await
            .unwrap_err();
        match status {
            401 => assert!(err.needs_reauth(), "{err:?}"),
            403 => assert!(
                matches!(&err, ProviderError::Misconfigured { message } if message.contains("enable this API")),
                "{err:?}"
            ),
            _ => assert!(err.is_transient(), "{err:?}"),
        }
    }
}

#[test]
fn a_missing_channel_is_not_an_expired_token() {
    let server_less = {
        let settings = ProviderSettings::new("id", Some(ClientSecret::new("secret")));
        YoutubeProvider::new(&settings, reqwest::Client::new()).unwrap()
    };
    let no_channel = serde_json::to_vec(&no_channel_body()).unwrap();
    assert!(!server_less.is_expired_token_answer(401, &no_channel));
    assert!(
        server_less
            .is_expired_token_answer(401, br#"{"error":{"code":401,"status":"UNAUTHENTICATED"}}"#)
    );
    assert!(!server_less.is_expired_token_answer(403, br#"{}"#));
}
