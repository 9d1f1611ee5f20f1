//! The Google provider's own calls: identity from userinfo, the test calls, and how API
//! errors (expired tokens, missing scopes, quotas, outages) are classified.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use serde_json::json;
use tether_core::provider::{Provider, ProviderError, ProviderSettings, RawTokenResponse};
use tether_core::secret::{AccessToken, ClientSecret};
use tether_provider_google::GoogleProvider;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// An HTTP status, a body, a `Retry-After` and the expected class.
type Case<B> = (u16, B, Option<&'static str>, fn(&ProviderError) -> bool);

fn google(server: &MockServer, test_call: Option<&str>) -> GoogleProvider {
    let mut settings = ProviderSettings::new("id", Some(ClientSecret::new("secret")));
    settings
        .endpoints
        .insert("userinfo".into(), format!("{}/v1/userinfo", server.uri()));
    settings.endpoints.insert("api_base".into(), server.uri());
    if let Some(call) = test_call {
        settings.options.insert("test_call".into(), call.into());
    }
    GoogleProvider::new(&settings, reqwest::Client::new()).unwrap()
}

fn token() -> AccessToken {
    AccessToken::new("ya29.token")
}

fn token_answer() -> RawTokenResponse {
    RawTokenResponse::parse(br#"{"access_token":"ya29.token","scope":"openid email"}"#).unwrap()
}

async fn userinfo(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path("/v1/userinfo"))
        .and(header("authorization", "Bearer ya29.token"))
        .respond_with(response)
        .mount(server)
        .await;
}

#[tokio::test]
async fn the_account_is_identified_by_its_subject_and_labelled_by_its_email() {
    let server = MockServer::start().await;
    userinfo(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({
            "sub": "110169484474386276334",
            "name": "Ada Lovelace",
            "given_name": "Ada",
            "picture": "https://lh3.googleusercontent.com/a/photo",
            "email": "ada@example.com",
            "email_verified": true,
            "hd": "example.com"
        })),
    )
    .await;
    let identity = google(&server, None)
        .fetch_identity(&token(), &token_answer(), None)
        .await
        .unwrap();
    assert_eq!(identity.subject, "110169484474386276334");
    assert_eq!(identity.label.as_deref(), Some("ada@example.com"));
    assert_eq!(
        identity.metadata,
        json!({
            "google_sub": "110169484474386276334",
            "email": "ada@example.com",
            "email_verified": true,
            "name": "Ada Lovelace",
            "hosted_domain": "example.com"
        })
    );
}

#[tokio::test]
async fn identity_failures_are_classified() {
    let server = MockServer::start().await;
    userinfo(
        &server,
        ResponseTemplate::new(401)
            .insert_header("www-authenticate", "Bearer error=\"invalid_token\"")
            .set_body_json(
                json!({"error": "invalid_request", "error_description": "Invalid Credentials"}),
            ),
    )
    .await;
    let err = google(&server, None)
        .fetch_identity(&token(), &token_answer(), None)
        .await
        .unwrap_err();
    assert!(err.needs_reauth(), "{err:?}");
    assert!(err.to_string().contains("Invalid Credentials"));
}

#[tokio::test]
async fn the_default_test_call_is_userinfo() {
    let server = MockServer::start().await;
    userinfo(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({"sub": "1", "email": "ada@example.com"})),
    )
    .await;
    let report = google(&server, None)
        .test_connection(&token())
        .await
        .unwrap();
    assert_eq!(report.detail, "Google answered for ada@example.com");
}

#[tokio::test]
async fn the_gmail_test_call_reads_the_mailbox_profile() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/gmail/v1/users/me/profile"))
        .and(header("authorization", "Bearer ya29.token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "emailAddress": "ada@example.com",
            "messagesTotal": 4012,
            "threadsTotal": 3100,
            "historyId": "912345"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let report = google(&server, Some("gmail"))
        .test_connection(&token())
        .await
        .unwrap();
    assert_eq!(report.detail, "Gmail answered for ada@example.com");
}

#[tokio::test]
async fn the_calendar_drive_and_tasks_test_calls_hit_their_cheap_endpoints() {
    let server = MockServer::start().await;
    for (at, limit) in [
        ("/calendar/v3/calendars/primary/events", "1"),
        ("/tasks/v1/users/@me/lists", "1"),
    ] {
        Mock::given(method("GET"))
            .and(path(at))
            .and(query_param("maxResults", limit))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": []})))
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/drive/v3/about"))
        .and(query_param("fields", "user"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"user": {"emailAddress": "ada@example.com"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let calendar = google(&server, Some("calendar"))
        .test_connection(&token())
        .await;
    assert_eq!(calendar.unwrap().detail, "Google Calendar answered");
    let drive = google(&server, Some("drive"))
        .test_connection(&token())
        .await;
    assert_eq!(
        drive.unwrap().detail,
        "Google Drive answered for ada@example.com"
    );
    let tasks = google(&server, Some("tasks"))
        .test_connection(&token())
        .await;
    assert_eq!(tasks.unwrap().detail, "Google Tasks answered");
}

#[tokio::test]
async fn api_errors_fall_into_the_right_classes() {
    let cases: [Case<serde_json::Value>; 4] = [
        (
            403,
            json!({"error": {"code": 403, "message": "Request had insufficient authentication scopes.",
                "errors": [{"message": "Insufficient Permission", "domain": "global", "reason": "insufficientPermissions"}],
                "status": "PERMISSION_DENIED"}}),
            None,
            |e| matches!(e, ProviderError::Misconfigured { message } if message.contains("insufficient authentication scopes")),
        ),
        (
            403,
            json!({"error": {"code": 403, "message": "User Rate Limit Exceeded",
                "errors": [{"domain": "usageLimits", "reason": "userRateLimitExceeded"}]}}),
            None,
            |e| matches!(e, ProviderError::RateLimited { .. }),
        ),
        (
            429,
            json!({"error": {"code": 429, "message": "Too many concurrent requests for user", "status": "RESOURCE_EXHAUSTED"}}),
            Some("12"),
            |e| matches!(e, ProviderError::RateLimited { retry_after: Some(d), .. } if d.as_secs() == 12),
        ),
        (
            500,
            json!({"error": {"code": 500, "message": "Backend Error", "errors": [{"reason": "backendError"}]}}),
            None,
            |e| {
                matches!(
                    e,
                    ProviderError::Upstream {
                        status: Some(500),
                        ..
                    }
                )
            },
        ),
    ];
    for (status, body, retry_after, expected) in cases {
        let server = MockServer::start().await;
        let mut response = ResponseTemplate::new(status).set_body_json(body.clone());
        if let Some(wait) = retry_after {
            response = response.insert_header("retry-after", wait);
        }
        Mock::given(method("GET"))
            .and(path("/gmail/v1/users/me/profile"))
            .respond_with(response)
            .mount(&server)
            .await;
        let err = google(&server, Some("gmail"))
            .test_connection(&token())
            .await
            .unwrap_err();
        assert!(expected(&err), "HTTP {status} {body} became {err:?}");
    }
}

#[tokio::test]
async fn an_unreachable_google_is_a_network_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let mut settings = ProviderSettings::new("id", Some(ClientSecret::new("secret")));
    settings
        .endpoints
        .insert("userinfo".into(), format!("http://{address}/v1/userinfo"));
    let provider = GoogleProvider::new(&settings, reqwest::Client::new()).unwrap();
    let err = provider.test_connection(&token()).await.unwrap_err();
    assert!(matches!(err, ProviderError::Network { .. }), "{err:?}");
    assert!(err.is_transient());
}
