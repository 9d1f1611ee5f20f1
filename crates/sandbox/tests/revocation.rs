//! Token revocation (RFC 7009).

mod common;

use common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn revoking_an_access_token_makes_the_api_answer_401() {
    let t = Tester::start().await;
    let tokens = t.login("alice", "profile").await;
    let access = text(&tokens["access_token"]);
    assert_eq!(t.get("/api/me", access).await.status(), StatusCode::OK);
    assert_eq!(
        t.revoke(access, Some("access_token")).await.status(),
        StatusCode::OK
    );
    let response = t.get("/api/me", access).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    // Only that token: the refresh token still works.
    assert_eq!(
        t.refresh(text(&tokens["refresh_token"])).await.status(),
        StatusCode::OK
    );
    assert_eq!(t.sandbox.stats().revocations, 1);
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_whole_grant() {
    let t = Tester::start().await;
    let tokens = t.login("alice", "profile").await;
    // A misleading hint must not matter.
    assert_eq!(
        t.revoke(text(&tokens["refresh_token"]), Some("access_token"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        t.get("/api/me", text(&tokens["access_token"]))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        error_code(t.refresh(text(&tokens["refresh_token"])).await).await,
        "invalid_grant"
    );
    // A revoked refresh token is not "reuse".
    assert_eq!(t.sandbox.stats().refresh_token_reuse_detected, 0);
}

#[tokio::test]
async fn revoking_an_unknown_token_is_still_200() {
    let t = Tester::start().await;
    assert_eq!(
        t.revoke("no-such-token", None).await.status(),
        StatusCode::OK
    );
    assert_eq!(t.sandbox.stats().revocations, 0);
}

#[tokio::test]
async fn revocation_needs_client_authentication_and_the_owning_client() {
    let t = Tester::start().await;
    let tokens = t.login("alice", "profile").await;
    let access = text(&tokens["access_token"]);
    let anonymous = t
        .http
        .post(t.url("/oauth/revoke"))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let stranger = t
        .http
        .post(t.url("/oauth/revoke"))
        .basic_auth(OTHER_ID, Some(OTHER_SECRET))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(stranger).await, "unauthorized_client");
    assert_eq!(t.get("/api/me", access).await.status(), StatusCode::OK);
}
