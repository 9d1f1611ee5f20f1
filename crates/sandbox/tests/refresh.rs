//! Refresh tokens: rotation, reuse detection revoking the whole grant, scope narrowing.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::Value;
use tether_sandbox::GrantType;

#[tokio::test]
async fn refreshing_rotates_the_refresh_token_and_spends_the_old_one() {
    let t = Tester::start().await;
    let first = t.login("alice", "profile email").await;
    let old_refresh = text(&first["refresh_token"]);

    let response = t.refresh(old_refresh).await;
    assert_eq!(response.status(), StatusCode::OK);
    let second: Value = response.json().await.unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_ne!(second["access_token"], first["access_token"]);
    assert_eq!(second["scope"], "email profile");
    assert_eq!(
        t.get("/api/me", text(&second["access_token"]))
            .await
            .status(),
        StatusCode::OK
    );

    // The newest refresh token keeps working.
    let third = t.refresh(text(&second["refresh_token"])).await;
    assert_eq!(third.status(), StatusCode::OK);
}

#[tokio::test]
async fn reusing_a_spent_refresh_token_revokes_the_whole_grant() {
    let t = Tester::start().await;
    let first = t.login("alice", "profile").await;
    let second: Value = t
        .refresh(text(&first["refresh_token"]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(t.sandbox.stats().refresh_token_reuse_detected, 0);

    let replay = t.refresh(text(&first["refresh_token"])).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(replay).await, "invalid_grant");
    assert_eq!(t.sandbox.stats().refresh_token_reuse_detected, 1);

    // Everything of the grant is gone, including the newest pair.
    assert_eq!(
        error_code(t.refresh(text(&second["refresh_token"])).await).await,
        "invalid_grant"
    );
    assert_eq!(
        t.get("/api/me", text(&second["access_token"]))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.get("/api/me", text(&first["access_token"]))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.sandbox
            .stats()
            .token_calls(CLIENT_ID, GrantType::RefreshToken),
        3
    );
}

#[tokio::test]
async fn reuse_revokes_only_the_affected_grant() {
    let t = Tester::start().await;
    let victim = t.login("alice", "profile").await;
    let bystander = t.login("alice", "profile").await;
    t.refresh(text(&victim["refresh_token"])).await;
    t.refresh(text(&victim["refresh_token"])).await;
    assert_eq!(
        t.get("/api/me", text(&bystander["access_token"]))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        t.refresh(text(&bystander["refresh_token"])).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_refresh_may_narrow_the_scope_but_not_widen_it() {
    let t = Tester::start().await;
    let first = t.login("alice", "profile email").await;
    let wider = t
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", text(&first["refresh_token"])),
            ("scope", "profile items.read"),
        ])
        .await;
    assert_eq!(error_code(wider).await, "invalid_scope");

    // The refused request did not spend the token.
    let narrower = t
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", text(&first["refresh_token"])),
            ("scope", "email"),
        ])
        .await;
    assert_eq!(narrower.status(), StatusCode::OK);
    let narrower: Value = narrower.json().await.unwrap();
    assert_eq!(narrower["scope"], "email");

    // The new refresh token still carries the original grant.
    let full: Value = t
        .refresh(text(&narrower["refresh_token"]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(full["scope"], "email profile");
}

#[tokio::test]
async fn another_client_cannot_use_a_refresh_token() {
    let t = Tester::start().await;
    let tokens = t.login("alice", "profile").await;
    let response = t
        .token_as(
            OTHER_ID,
            OTHER_SECRET,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", text(&tokens["refresh_token"])),
            ],
        )
        .await;
    assert_eq!(error_code(response).await, "invalid_grant");
    assert_eq!(
        t.refresh(text(&tokens["refresh_token"])).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_unknown_refresh_token_is_an_invalid_grant() {
    let t = Tester::start().await;
    let response = t.refresh("not-a-token").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response).await, "invalid_grant");
}
