//! Client authentication (basic and post) and the client-credentials grant.

mod common;

use common::*;
use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use serde_json::Value;

#[tokio::test]
async fn client_credentials_with_basic_auth_issues_an_access_token_only() {
    let t = Tester::start().await;
    let response = t
        .token(&[
            ("grant_type", "client_credentials"),
            ("scope", "items.read"),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "items.read");
    assert!(body.get("refresh_token").is_none());
    let me: Value = t
        .get("/api/me", text(&body["access_token"]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["client_id"], CLIENT_ID);
    assert_eq!(me["sub"], Value::Null);
}

#[tokio::test]
async fn client_credentials_with_post_auth_works_too() {
    let t = Tester::start().await;
    let response = t
        .http
        .post(t.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", OTHER_ID),
            ("client_secret", OTHER_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    // No scope asked: the client's whole allowance.
    assert_eq!(body["scope"], "profile reports");
}

#[tokio::test]
async fn a_wrong_secret_with_basic_auth_is_401_with_a_basic_challenge() {
    let t = Tester::start().await;
    let response = t
        .token_as(CLIENT_ID, "wrong", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()[WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Basic "), "{challenge}");
    assert_eq!(error_code(response).await, "invalid_client");
}

#[tokio::test]
async fn a_wrong_secret_in_the_body_is_401_invalid_client() {
    let t = Tester::start().await;
    let response = t
        .http
        .post(t.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(response).await, "invalid_client");
}

#[tokio::test]
async fn an_unknown_client_and_a_missing_authentication_are_invalid_client() {
    let t = Tester::start().await;
    let unknown = t
        .token_as("nobody", "x", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let anonymous = t
        .http
        .post(t.url("/oauth/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(anonymous).await, "invalid_client");
}

#[tokio::test]
async fn using_two_authentication_methods_at_once_is_invalid_request() {
    let t = Tester::start().await;
    let response = t
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response).await, "invalid_request");
}

#[tokio::test]
async fn a_disallowed_scope_for_client_credentials_is_invalid_scope() {
    let t = Tester::start().await;
    let response = t
        .token_as(
            OTHER_ID,
            OTHER_SECRET,
            &[("grant_type", "client_credentials"), ("scope", "email")],
        )
        .await;
    assert_eq!(error_code(response).await, "invalid_scope");
}

#[tokio::test]
async fn malformed_token_requests_get_rfc_shaped_errors() {
    let t = Tester::start().await;
    assert_eq!(
        error_code(t.token(&[("grant_type", "password")]).await).await,
        "unsupported_grant_type"
    );
    assert_eq!(error_code(t.token(&[]).await).await, "invalid_request");
    assert_eq!(
        error_code(
            t.token(&[
                ("grant_type", "refresh_token"),
                ("grant_type", "refresh_token")
            ])
            .await
        )
        .await,
        "invalid_request"
    );
    assert_eq!(
        error_code(t.token(&[("grant_type", "authorization_code")]).await).await,
        "invalid_request"
    );
    let json_body = t
        .http
        .post(t.url("/oauth/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(json_body).await, "invalid_request");
}

#[tokio::test]
async fn a_public_client_completes_the_code_flow_with_its_client_id_alone() {
    let t = Tester::start().await;
    let (verifier, challenge) = pkce();
    let mut form = Tester::authorize_params(&challenge);
    form[1].1 = PUBLIC_ID.into();
    form.extend([
        ("scope", "profile".into()),
        ("username", "alice".into()),
        ("decision", "allow".into()),
    ]);
    let code = location_params(&t.consent(&form).await)
        .remove("code")
        .expect("a code");
    let exchange = |extra: &'static [(&'static str, &'static str)]| {
        let mut body = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.as_str()),
        ];
        body.extend_from_slice(extra);
        t.http.post(t.url("/oauth/token")).form(&body).send()
    };
    // Without client_id nobody is identified.
    assert_eq!(
        exchange(&[]).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let response = exchange(&[("client_id", PUBLIC_ID)]).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let cc = t
        .http
        .post(t.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", PUBLIC_ID),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(cc).await, "unauthorized_client");
}
