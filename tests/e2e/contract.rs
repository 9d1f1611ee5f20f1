//! Answers given outside the handlers keep the documented contract: 405 with `Allow` for a
//! known path asked with another method, a refused CORS preflight, a body of the wrong type or
//! size, headers too large, all in the `{code, message}` shape; input is checked before the
//! sandbox's SMS refusal. (`scripts/contract-test` checks every operation against the spec.)

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Mode, TestServer, client, expect_error, user_jwt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_path_asked_with_another_method_answers_405_with_allow() {
    let server = TestServer::start(Mode::Embedded).await;
    let http = client();
    let trace = http
        .request(Method::TRACE, server.url("/api/v1/providers"))
        .send()
        .await
        .unwrap();
    assert_eq!(trace.headers()["allow"], "GET");
    expect_error(trace, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    let id = uuid::Uuid::new_v4();
    let put = http
        .put(server.url(&format!("/api/v1/integrations/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(put.headers()["allow"], "GET, DELETE");
    expect_error(put, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    let proxied = http
        .request(
            Method::OPTIONS,
            server.url(&format!("/api/v1/integrations/{id}/proxy/me/events")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.headers()["allow"], "GET, PUT, POST, DELETE, PATCH");
    let unknown = http
        .get(server.url("/api/v1/nothing"))
        .send()
        .await
        .unwrap();
    expect_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_cors_preflight_gets_the_error_shape() {
    let server = TestServer::with(
        Mode::Embedded,
        "cors_origins = \"https://app.example.com\"\n",
    )
    .await;
    let preflight = |origin: &'static str| {
        client()
            .request(Method::OPTIONS, server.url("/api/v1/providers"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
    };
    let refused = preflight("https://evil.example.com").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert_eq!(refused.headers()["x-content-type-options"], "nosniff");
    expect_error(refused, StatusCode::BAD_REQUEST, "cors_refused").await;
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_of_the_wrong_type_or_size_and_huge_headers_get_the_error_shape() {
    let server = TestServer::start(Mode::Embedded).await;
    let http = client();
    let authorize = server.url("/api/v1/integrations/google/authorize");
    let not_json = http
        .post(&authorize)
        .bearer_auth(user_jwt("alice"))
        .header("content-type", "text/plain")
        .body(r#"{"return_to": "https://app.example.com/settings"}"#)
        .send()
        .await
        .unwrap();
    expect_error(
        not_json,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let too_large = http
        .post(&authorize)
        .bearer_auth(user_jwt("alice"))
        .json(&json!({ "return_to": "x".repeat(100_000) }))
        .send()
        .await
        .unwrap();
    expect_error(
        too_large,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    let huge_headers = http
        .get(server.url("/healthz"))
        .header("x-padding", "x".repeat(70 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(huge_headers.headers()["x-frame-options"], "DENY");
    expect_error(
        huge_headers,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "headers_too_large",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_input_is_checked_before_the_sandbox_refuses_to_send() {
    let server = TestServer::start(Mode::Embedded).await;
    let service = server.api_key("service").await;
    let http = client();
    let send = |body: Value| {
        http.post(server.url("/api/v1/sms"))
            .bearer_auth(&service)
            .json(&body)
            .send()
    };
    let bad_number = send(json!({ "to": "0700000000", "message": "hello" }))
        .await
        .unwrap();
    expect_error(bad_number, StatusCode::BAD_REQUEST, "invalid_sms").await;
    let empty = send(json!({ "to": "+22507000000", "message": "  " }))
        .await
        .unwrap();
    expect_error(empty, StatusCode::BAD_REQUEST, "invalid_sms").await;
    let valid = send(json!({ "to": "+22507000000", "message": "hello" }))
        .await
        .unwrap();
    expect_error(valid, StatusCode::SERVICE_UNAVAILABLE, "sandbox").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naming_another_user_is_forbidden_to_users() {
    let server = TestServer::start(Mode::Embedded).await;
    let http = client();
    for path in [
        "/api/v1/integrations?user_id=bob",
        "/api/v1/audit?user_id=bob",
    ] {
        let answer = http
            .get(server.url(path))
            .bearer_auth(user_jwt("alice"))
            .send()
            .await
            .unwrap();
        expect_error(answer, StatusCode::FORBIDDEN, "forbidden").await;
    }
}
