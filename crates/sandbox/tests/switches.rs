//! The failure switches and counters, in-process and over `/_sandbox/` HTTP.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use serde_json::{Value, json};
use tether_sandbox::{Failure, GrantType};

#[tokio::test]
async fn the_next_n_token_calls_fail_with_invalid_grant() {
    let t = Tester::start().await;
    let tokens = t.login("alice", "profile").await;
    let refresh = text(&tokens["refresh_token"]);
    t.sandbox.controls().fail_next(2, Failure::InvalidGrant);
    assert_eq!(error_code(t.refresh(refresh).await).await, "invalid_grant");
    assert_eq!(error_code(t.refresh(refresh).await).await, "invalid_grant");
    // The switched failures touched nothing: the same refresh token still works, once.
    assert_eq!(t.refresh(refresh).await.status(), StatusCode::OK);
    let stats = t.sandbox.stats();
    assert_eq!(stats.injected_failures, 2);
    assert_eq!(stats.refresh_token_reuse_detected, 0);
}

#[tokio::test]
async fn the_next_call_can_fail_with_503_and_retry_after() {
    let t = Tester::start().await;
    t.sandbox.controls().fail_next(1, Failure::Status(503));
    let response = t.token(&[("grant_type", "client_credentials")]).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[RETRY_AFTER], "1");
    assert_eq!(error_code(response).await, "temporarily_unavailable");
    assert_eq!(
        t.token(&[("grant_type", "client_credentials")])
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_failure_can_target_one_grant_type() {
    let t = Tester::start().await;
    let tokens = t.login("alice", "profile").await;
    t.sandbox
        .controls()
        .fail_next_for(GrantType::RefreshToken, 1, Failure::Status(500));
    assert_eq!(
        t.token(&[("grant_type", "client_credentials")])
            .await
            .status(),
        StatusCode::OK
    );
    let response = t.refresh(text(&tokens["refresh_token"])).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(error_code(response).await, "server_error");
}

#[tokio::test]
async fn a_delay_slows_token_answers_until_cleared() {
    let t = Tester::start().await;
    let controls = t.sandbox.controls();
    controls.set_delay(Some(Duration::from_millis(400)));
    let started = Instant::now();
    assert_eq!(
        t.token(&[("grant_type", "client_credentials")])
            .await
            .status(),
        StatusCode::OK
    );
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    controls.set_delay(None);
    let started = Instant::now();
    t.token(&[("grant_type", "client_credentials")]).await;
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn down_answers_503_on_token_and_revoke_until_cleared() {
    let t = Tester::start().await;
    let tokens = t.login("alice", "profile").await;
    let controls = t.sandbox.controls();
    controls.set_down(true);
    for _ in 0..3 {
        let response = t.refresh(text(&tokens["refresh_token"])).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    let revoke = t
        .http
        .post(t.url("/oauth/revoke"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("token", text(&tokens["access_token"]))])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::SERVICE_UNAVAILABLE);
    // The API itself stays up.
    assert_eq!(
        t.get("/api/me", text(&tokens["access_token"]))
            .await
            .status(),
        StatusCode::OK
    );
    controls.set_down(false);
    assert_eq!(
        t.refresh(text(&tokens["refresh_token"])).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn token_calls_are_counted_per_client_and_grant_type() {
    let t = Tester::start().await;
    let tokens = t.login("alice", "profile").await;
    t.refresh(text(&tokens["refresh_token"])).await;
    t.token(&[("grant_type", "client_credentials")]).await;
    t.token(&[("grant_type", "client_credentials")]).await;
    t.token_as(
        OTHER_ID,
        OTHER_SECRET,
        &[("grant_type", "client_credentials")],
    )
    .await;
    t.sandbox.controls().fail_next(1, Failure::Status(503));
    t.token(&[("grant_type", "client_credentials")]).await;
    let stats = t.sandbox.stats();
    assert_eq!(
        stats.token_calls(CLIENT_ID, GrantType::AuthorizationCode),
        1
    );
    assert_eq!(stats.token_calls(CLIENT_ID, GrantType::RefreshToken), 1);
    assert_eq!(
        stats.token_calls(CLIENT_ID, GrantType::ClientCredentials),
        3
    );
    assert_eq!(stats.token_calls(OTHER_ID, GrantType::ClientCredentials), 1);
    assert_eq!(stats.token_calls(OTHER_ID, GrantType::RefreshToken), 0);
}

#[tokio::test]
async fn the_http_switches_drive_the_same_behaviour() {
    let t = Tester::start().await;
    let tokens = t.login("alice", "profile").await;
    let refresh = text(&tokens["refresh_token"]);

    let armed = t
        .admin(
            "/_sandbox/fail",
            json!({"count": 1, "error": "invalid_grant", "grant_type": "refresh_token"}),
        )
        .await;
    assert_eq!(armed.status(), StatusCode::NO_CONTENT);
    assert_eq!(error_code(t.refresh(refresh).await).await, "invalid_grant");

    t.admin("/_sandbox/fail", json!({"count": 1, "status": 502}))
        .await;
    assert_eq!(t.refresh(refresh).await.status(), StatusCode::BAD_GATEWAY);

    t.admin("/_sandbox/down", json!({"down": true})).await;
    assert_eq!(
        t.refresh(refresh).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    t.admin("/_sandbox/down", json!({"down": false})).await;

    t.admin("/_sandbox/delay", json!({"millis": 300})).await;
    let started = Instant::now();
    let response = t.refresh(refresh).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
    t.admin("/_sandbox/delay", json!({"millis": 0})).await;

    t.admin("/_sandbox/access-token-ttl", json!({"seconds": 7}))
        .await;
    let body: Value = t
        .token(&[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["expires_in"], 7);

    let stats: Value = t
        .http
        .get(t.url("/_sandbox/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["token_calls"][CLIENT_ID]["refresh_token"], 4);
    assert_eq!(stats["injected_failures"], 3);

    let bad = t
        .admin("/_sandbox/fail", json!({"count": 1, "status": 404}))
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    assert_eq!(
        t.admin("/_sandbox/reset", json!({})).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(t.sandbox.stats(), tether_sandbox::Stats::default());
}

#[tokio::test]
async fn admin_endpoints_can_be_switched_off() {
    let mut config = config();
    config.admin_endpoints = false;
    let t = Tester::with(config).await;
    let response = t.http.get(t.url("/_sandbox/stats")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
