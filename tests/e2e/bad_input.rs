//! Bad input on every kind of endpoint gets a 4xx in the one error shape and changes
//! nothing; rate limits answer 429 with Retry-After; security headers are on every answer;
//! `return_to` outside the allowlist is refused (no open redirect).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Mode, TestServer, client, expect_error, user_jwt};

async fn bad_input_gets_a_clear_4xx_everywhere(mode: Mode) {
    let server = TestServer::start(mode).await;
    let alice = user_jwt("alice");
    let admin = server.api_key("admin").await;
    let service = server.api_key("service").await;
    let http = client();
    let authorize = server.url("/api/v1/integrations/google/authorize");
    let send =
        |method: Method, url: String, bearer: String| http.request(method, url).bearer_auth(bearer);

    let malformed = send(Method::POST, authorize.clone(), alice.clone())
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect_error(malformed, StatusCode::BAD_REQUEST, "invalid_request").await;
    let wrong_type = send(Method::POST, authorize.clone(), alice.clone())
        .json(&json!({"return_to": 5}))
        .send()
        .await
        .unwrap();
    expect_error(wrong_type, StatusCode::BAD_REQUEST, "invalid_request").await;
    let unknown_field = send(Method::POST, authorize.clone(), alice.clone())
        .json(&json!({"return_to": "https://app.example.com/settings", "admin": true}))
        .send()
        .await
        .unwrap();
    expect_error(unknown_field, StatusCode::BAD_REQUEST, "invalid_request").await;
    let oversized = send(Method::POST, authorize.clone(), alice.clone())
        .json(&json!({"return_to": "x".repeat(100_000)}))
        .send()
        .await
        .unwrap();
    assert!(
        oversized.status().is_client_error(),
        "{}",
        oversized.status()
    );
    let bad_scope = send(Method::POST, authorize.clone(), alice.clone())
        .json(&json!({"return_to": "https://app.example.com/settings", "scopes": ["has space"]}))
        .send()
        .await
        .unwrap();
    expect_error(bad_scope, StatusCode::BAD_REQUEST, "invalid_scope").await;
    let open_redirect = send(Method::POST, authorize.clone(), alice.clone())
        .json(&json!({"return_to": "https://evil.example.com/settings"}))
        .send()
        .await
        .unwrap();
    expect_error(open_redirect, StatusCode::BAD_REQUEST, "invalid_return_to").await;
    let unknown_provider = send(
        Method::POST,
        server.url("/api/v1/integrations/facebook/authorize"),
        alice.clone(),
    )
    .json(&json!({"return_to": "https://app.example.com/settings"}))
    .send()
    .await
    .unwrap();
    expect_error(unknown_provider, StatusCode::NOT_FOUND, "unknown_provider").await;
    let bad_uuid = send(
        Method::GET,
        server.url("/api/v1/integrations/not-a-uuid"),
        alice.clone(),
    )
    .send()
    .await
    .unwrap();
    expect_error(bad_uuid, StatusCode::BAD_REQUEST, "invalid_id").await;
    let bad_action = send(
        Method::GET,
        server.url("/api/v1/audit?action=deleted"),
        alice.clone(),
    )
    .send()
    .await
    .unwrap();
    expect_error(bad_action, StatusCode::BAD_REQUEST, "invalid_action").await;
    let bad_limit = send(
        Method::GET,
        server.url("/api/v1/audit?limit=0"),
        alice.clone(),
    )
    .send()
    .await
    .unwrap();
    expect_error(bad_limit, StatusCode::BAD_REQUEST, "invalid_request").await;
    let bad_query = send(
        Method::GET,
        server.url("/api/v1/audit?since=yesterday"),
        alice.clone(),
    )
    .send()
    .await
    .unwrap();
    expect_error(bad_query, StatusCode::BAD_REQUEST, "invalid_request").await;
    let bad_role = send(
        Method::POST,
        server.url("/api/v1/admin/api-keys"),
        admin.clone(),
    )
    .json(&json!({"name": "x", "role": "root"}))
    .send()
    .await
    .unwrap();
    expect_error(bad_role, StatusCode::BAD_REQUEST, "invalid_role").await;
    let bad_config = send(
        Method::PUT,
        server.url("/api/v1/admin/providers/microsoft"),
        admin.clone(),
    )
    .json(&json!({"client_id": "id", "client_secret": "s", "options": {"tennant": "common"}}))
    .send()
    .await
    .unwrap();
    expect_error(
        bad_config,
        StatusCode::BAD_REQUEST,
        "invalid_provider_config",
    )
    .await;
    let traversal = send(
        Method::GET,
        server.url(&format!(
            "/api/v1/integrations/{}/proxy/..%2F..%2Fx",
            uuid::Uuid::new_v4()
        )),
        service.clone(),
    )
    .send()
    .await
    .unwrap();
    assert!(traversal.status().is_client_error());
    let huge = send(
        Method::POST,
        server.url(&format!(
            "/api/v1/integrations/{}/proxy/me",
            uuid::Uuid::new_v4()
        )),
        service.clone(),
    )
    .body(vec![b'x'; 11 * 1024 * 1024])
    .send()
    .await
    .unwrap();
    expect_error(huge, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let unknown_flow = http
        .get(server.url("/api/v1/oauth/google/start?flow=garbage"))
        .send()
        .await
        .unwrap();
    expect_error(unknown_flow, StatusCode::BAD_REQUEST, "flow_unknown").await;
    let no_route = http
        .get(server.url("/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    expect_error(no_route, StatusCode::NOT_FOUND, "not_found").await;

    // A callback with a garbage state shows a page and redirects nowhere.
    let callback = http
        .get(server.url("/api/v1/oauth/google/callback?state=garbage&code=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(callback.status(), StatusCode::BAD_REQUEST);
    assert!(callback.headers().get("location").is_none());
    assert_eq!(callback.headers()["referrer-policy"], "no-referrer");
    assert!(callback.text().await.unwrap().contains("<!doctype html>"));

    // Nothing was created by any of it.
    let list: Value = send(
        Method::GET,
        server.url("/api/v1/integrations"),
        alice.clone(),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(list, json!([]));
}

async fn rate_limits_answer_429_with_retry_after(mode: Mode) {
    let server = TestServer::with(
        mode,
        "rate_limit_oauth_per_minute = 3\nrate_limit_api_per_minute = 5\n",
    )
    .await;
    let http = client();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = http
            .get(server.url("/api/v1/oauth/google/start?flow=x"))
            .send()
            .await
            .unwrap();
        statuses.push(r.status());
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            let wait: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(wait >= 1);
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["code"], "rate_limited");
        }
    }
    assert_eq!(&statuses[..3], [StatusCode::BAD_REQUEST; 3]);
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS);
    let alice = user_jwt("alice");
    let limited = (0..7).map(|_| {
        http.get(server.url("/api/v1/integrations"))
            .bearer_auth(&alice)
            .send()
    });
    let codes: Vec<StatusCode> = futures_join(limited).await;
    assert!(codes.contains(&StatusCode::TOO_MANY_REQUESTS), "{codes:?}");
    // Another caller has its own bucket.
    let bob = http
        .get(server.url("/api/v1/integrations"))
        .bearer_auth(user_jwt("bob"))
        .send()
        .await
        .unwrap();
    assert_eq!(bob.status(), StatusCode::OK);
}

async fn futures_join(
    requests: impl Iterator<
        Item = impl std::future::Future<Output = reqwest::Result<reqwest::Response>>,
    >,
) -> Vec<StatusCode> {
    let mut out = Vec::new();
    for r in requests {
        out.push(r.await.unwrap().status());
    }
    out
}

async fn every_answer_carries_the_security_headers(mode: Mode) {
    let server = TestServer::start(mode).await;
    let http = client();
    let answers = [
        http.get(server.url("/healthz")).send().await.unwrap(),
        http.get(server.url("/api/v1/integrations"))
            .send()
            .await
            .unwrap(),
        http.get(server.url("/api/v1/nothing"))
            .send()
            .await
            .unwrap(),
        http.get(server.url("/api/v1/providers"))
            .bearer_auth(user_jwt("a"))
            .send()
            .await
            .unwrap(),
    ];
    for answer in answers {
        let h = answer.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{}", answer.url());
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
    }
    let cors = http
        .request(Method::OPTIONS, server.url("/api/v1/integrations"))
        .header("origin", "https://evil.example.com")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(
        cors.headers().get("access-control-allow-origin").is_none(),
        "no CORS for unknown origins"
    );
}

crate::both_modes!(
    bad_input_gets_a_clear_4xx_everywhere,
    rate_limits_answer_429_with_retry_after,
    every_answer_carries_the_security_headers,
);
