//! The authorization-code flow with PKCE: one-POST consent, code exchange and its rules.

mod common;

use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, LOCATION};
use serde_json::Value;

#[tokio::test]
async fn full_code_flow_with_pkce_issues_tokens_that_open_the_api() {
    let t = Tester::start().await;
    let (verifier, challenge) = pkce();
    let mut form = Tester::authorize_params(&challenge);
    form.extend([
        ("username", "alice".into()),
        ("scope", "profile".into()),
        ("scope", "email".into()),
    ]);
    form.push(("decision", "allow".into()));
    let response = t.consent(&form).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    let params = location_params(&response);
    assert_eq!(params["state"], "xyz-state");
    assert_eq!(params["iss"], t.sandbox.issuer());

    let response = t.exchange(&params["code"], &verifier).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "email profile");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(text(&body["access_token"]).len(), 43);
    assert!(body["refresh_token"].is_string());

    let me: Value = t
        .get("/api/me", text(&body["access_token"]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "alice");
    assert_eq!(me["client_id"], CLIENT_ID);
    assert_eq!(me["sub"], tether_sandbox::subject_for("alice"));
}

#[tokio::test]
async fn a_wrong_verifier_is_an_invalid_grant() {
    let t = Tester::start().await;
    let (_, challenge) = pkce();
    let (other_verifier, _) = pkce();
    let code = t.code_for("alice", "profile", &challenge).await;
    let response = t.exchange(&code, &other_verifier).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response).await, "invalid_grant");
}

#[tokio::test]
async fn a_reused_code_fails_and_revokes_the_tokens_issued_from_it() {
    let t = Tester::start().await;
    let (verifier, challenge) = pkce();
    let code = t.code_for("alice", "profile", &challenge).await;
    let first: Value = t.exchange(&code, &verifier).await.json().await.unwrap();
    let access = text(&first["access_token"]);
    assert_eq!(t.get("/api/me", access).await.status(), StatusCode::OK);

    let replay = t.exchange(&code, &verifier).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(replay).await, "invalid_grant");
    assert_eq!(
        t.get("/api/me", access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let refresh = t.refresh(text(&first["refresh_token"])).await;
    assert_eq!(error_code(refresh).await, "invalid_grant");
    assert_eq!(t.sandbox.stats().code_reuse_detected, 1);
}

#[tokio::test]
async fn a_code_is_bound_to_its_redirect_uri_and_client() {
    let t = Tester::start().await;
    let (verifier, challenge) = pkce();
    let code = t.code_for("alice", "profile", &challenge).await;
    let wrong_uri = t
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/elsewhere"),
            ("code_verifier", &verifier),
        ])
        .await;
    assert_eq!(error_code(wrong_uri).await, "invalid_grant");
    let other_client = t
        .token_as(
            OTHER_ID,
            OTHER_SECRET,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(error_code(other_client).await, "invalid_grant");
    // Neither failed attempt spent the code.
    assert_eq!(t.exchange(&code, &verifier).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn codes_expire() {
    let mut config = config();
    config.code_ttl = Duration::from_millis(300);
    let t = Tester::with(config).await;
    let (verifier, challenge) = pkce();
    let code = t.code_for("alice", "profile", &challenge).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        error_code(t.exchange(&code, &verifier).await).await,
        "invalid_grant"
    );
}

#[tokio::test]
async fn deny_redirects_with_access_denied_state_and_iss() {
    let t = Tester::start().await;
    let (_, challenge) = pkce();
    let mut form = Tester::authorize_params(&challenge);
    form.extend([("scope", "profile".into()), ("decision", "deny".into())]);
    let response = t.consent(&form).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let params = location_params(&response);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "xyz-state");
    assert_eq!(params["iss"], t.sandbox.issuer());
    assert!(!params.contains_key("code"));
}

#[tokio::test]
async fn a_partial_grant_yields_tokens_for_the_granted_subset_only() {
    let t = Tester::start().await;
    let (verifier, challenge) = pkce();
    let mut form = Tester::authorize_params(&challenge);
    form.extend([
        ("requested_scope", SCOPES.into()),
        ("scope", "email".into()),
        ("username", "alice".into()),
        ("decision", "allow".into()),
    ]);
    let response = t.consent(&form).await;
    let code = location_params(&response).remove("code").expect("a code");
    let body: Value = t.exchange(&code, &verifier).await.json().await.unwrap();
    assert_eq!(body["scope"], "email");
}
