//! The protected resources (userinfo, /api/me, /api/items), token expiry and the metadata.

mod common;

use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use serde_json::Value;

#[tokio::test]
async fn userinfo_sub_is_stable_across_logins_of_the_same_username() {
    let t = Tester::start().await;
    let first = t.login("alice", "profile email").await;
    let second = t.login("Alice", "profile").await;
    let bob = t.login("bob", "profile").await;
    let info = |tokens: Value| {
        let t = &t;
        async move {
            t.get("/oauth/userinfo", text(&tokens["access_token"]))
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let (a1, a2, b) = (info(first).await, info(second).await, info(bob).await);
    assert!(text(&a1["sub"]).starts_with("sbx-"));
    assert_eq!(a1["sub"], a2["sub"]);
    assert_ne!(a1["sub"], b["sub"]);
    assert_eq!(a1["email"], "alice@sandbox.example");
    assert_eq!(a1["name"], "Alice");
    assert_eq!(a1["preferred_username"], "alice");
}

#[tokio::test]
async fn userinfo_refuses_client_credentials_tokens() {
    let t = Tester::start().await;
    let body: Value = t
        .token(&[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    let response = t.get("/oauth/userinfo", text(&body["access_token"])).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn items_need_the_items_read_scope() {
    let t = Tester::start().await;
    let without = t.login("alice", "profile").await;
    let response = t.get("/api/items", text(&without["access_token"])).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );

    let with = t.login("alice", "items.read").await;
    let body: Value = t
        .get("/api/items", text(&with["access_token"]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["items"].as_array().unwrap().len(), 3);
    assert_eq!(body["items"][0]["owner"], "alice");
}

#[tokio::test]
async fn missing_and_unknown_tokens_are_401_with_a_bearer_challenge() {
    let t = Tester::start().await;
    let missing = t.http.get(t.url("/api/me")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        missing.headers()[WWW_AUTHENTICATE],
        "Bearer realm=\"tether-sandbox\""
    );
    let unknown = t.get("/api/me", "made-up").await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert!(
        unknown.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
}

#[tokio::test]
async fn an_expired_access_token_is_401_at_the_api() {
    let t = Tester::start().await;
    t.sandbox
        .controls()
        .set_access_token_ttl(Duration::from_secs(1));
    let tokens = t.login("alice", "profile").await;
    assert_eq!(tokens["expires_in"], 1);
    let access = text(&tokens["access_token"]);
    assert_eq!(t.get("/api/me", access).await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let response = t.get("/api/me", access).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error_description"], "the access token has expired");
    // A refresh brings a working token back.
    let fresh: Value = t
        .refresh(text(&tokens["refresh_token"]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        t.get("/api/me", text(&fresh["access_token"]))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_access_token_can_be_expired_on_demand() {
    let t = Tester::start().await;
    let one = t.login("alice", "profile").await;
    let two = t.login("bob", "profile").await;
    assert!(
        t.sandbox
            .controls()
            .expire_access_token(text(&one["access_token"]))
    );
    assert_eq!(
        t.get("/api/me", text(&one["access_token"])).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.get("/api/me", text(&two["access_token"])).await.status(),
        StatusCode::OK
    );

    let response = t
        .admin(
            "/_sandbox/expire",
            serde_json::json!({ "client_id": CLIENT_ID }),
        )
        .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expired"], 1);
    assert_eq!(
        t.get("/api/me", text(&two["access_token"])).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn metadata_names_the_issuer_and_endpoints() {
    let t = Tester::start().await;
    let meta: Value = t
        .http
        .get(t.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], t.sandbox.issuer());
    assert_eq!(t.sandbox.issuer(), t.sandbox.base_url());
    assert_eq!(
        meta["token_endpoint"],
        format!("{}/oauth/token", t.sandbox.issuer())
    );
    assert_eq!(
        meta["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
}
