//! Caller isolation: another user's integration answers 404 on every integration endpoint;
//! users cannot call service or admin endpoints, service keys cannot call admin ones; bad
//! JWTs are refused.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    Claims, JWT_SECRET, Mode, TestServer, browser, client, connect, get_json, sign, user_jwt,
};

async fn status(
    method: Method,
    url: String,
    bearer: &str,
    extra: Option<(&str, &str)>,
) -> (StatusCode, Value) {
    let mut request = client().request(method, url).bearer_auth(bearer);
    if let Some((name, value)) = extra {
        request = request.header(name, value);
    }
    let response = request.json(&json!({})).send().await.unwrap();
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn another_users_integration_is_not_found_on_every_endpoint(mode: Mode) {
    let server = TestServer::start(mode).await;
    let alice = user_jwt("alice");
    let bob = user_jwt("bob");
    let id = connect(&server, &browser(), &alice, "google", "alice")
        .await
        .integration_id;
    for (method, path) in [
        (Method::GET, format!("/api/v1/integrations/{id}")),
        (Method::POST, format!("/api/v1/integrations/{id}/refresh")),
        (Method::POST, format!("/api/v1/integrations/{id}/test")),
        (Method::GET, format!("/api/v1/integrations/{id}/consents")),
        (Method::DELETE, format!("/api/v1/integrations/{id}")),
    ] {
        let (code, body) = status(method.clone(), server.url(&path), &bob, None).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(body["code"], "integration_not_found", "{method} {path}");
    }
    let list = get_json(&server.url("/api/v1/integrations"), &bob).await;
    assert_eq!(list, json!([]));
    let audit = get_json(
        &server.url(&format!("/api/v1/audit?integration_id={id}")),
        &bob,
    )
    .await;
    assert_eq!(audit, json!([]), "bob sees none of alice's audit records");

    // A service key acting for bob cannot reach alice's integration either.
    let service = server.api_key("service").await;
    for path in [
        format!("/api/v1/integrations/{id}/token"),
        format!("/api/v1/integrations/{id}/proxy/me"),
    ] {
        let (code, _) = status(
            Method::GET,
            server.url(&path),
            &service,
            Some(("X-Tether-User", "bob")),
        )
        .await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{path}");
    }
    // Alice's own integration is still intact.
    let (code, body) = status(
        Method::GET,
        server.url(&format!("/api/v1/integrations/{id}")),
        &alice,
        None,
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["status"], "active");
}

async fn roles_keep_callers_to_their_endpoints(mode: Mode) {
    let server = TestServer::start(mode).await;
    let alice = user_jwt("alice");
    let id = connect(&server, &browser(), &alice, "google", "alice")
        .await
        .integration_id;
    let service = server.api_key("service").await;
    let admin = server.api_key("admin").await;
    let service_only = [
        (Method::GET, format!("/api/v1/integrations/{id}/token")),
        (Method::GET, format!("/api/v1/integrations/{id}/proxy/me")),
        (Method::POST, "/api/v1/sms".to_owned()),
        (Method::GET, "/api/v1/sms/balance".to_owned()),
    ];
    let admin_only = [
        (Method::GET, "/api/v1/admin/providers".to_owned()),
        (Method::GET, "/api/v1/admin/api-keys".to_owned()),
        (Method::POST, "/api/v1/admin/api-keys".to_owned()),
        (
            Method::POST,
            "/api/v1/admin/providers/google/test".to_owned(),
        ),
    ];
    for (method, path) in service_only.iter().chain(admin_only.iter()) {
        let (code, body) = status(method.clone(), server.url(path), &alice, None).await;
        assert_eq!(code, StatusCode::FORBIDDEN, "user JWT on {method} {path}");
        assert_eq!(body["code"], "forbidden");
    }
    for (method, path) in &admin_only {
        let (code, _) = status(method.clone(), server.url(path), &service, None).await;
        assert_eq!(
            code,
            StatusCode::FORBIDDEN,
            "service key on {method} {path}"
        );
    }
    let (code, _) = status(
        Method::GET,
        server.url(&format!("/api/v1/integrations/{id}/token")),
        &admin,
        None,
    )
    .await;
    assert_eq!(code, StatusCode::FORBIDDEN, "admin keys do not read tokens");
    let (code, _) = status(
        Method::GET,
        server.url("/api/v1/admin/api-keys"),
        &admin,
        None,
    )
    .await;
    assert_eq!(code, StatusCode::OK);
}

async fn bad_jwts_and_keys_are_refused(mode: Mode) {
    let server = TestServer::start(mode).await;
    let now = chrono::Utc::now().timestamp();
    let mut expired = Claims::for_user("alice");
    expired.exp = now - 3600;
    let mut wrong_audience = Claims::for_user("alice");
    wrong_audience.aud = "someone-else".into();
    let mut wrong_issuer = Claims::for_user("alice");
    wrong_issuer.iss = "https://evil.example.com/".into();
    let mut not_yet_valid = Claims::for_user("alice");
    not_yet_valid.nbf = Some(now + 3600);
    let tokens = [
        sign(&not_yet_valid, JWT_SECRET),
        sign(&expired, JWT_SECRET),
        sign(&wrong_audience, JWT_SECRET),
        sign(&wrong_issuer, JWT_SECRET),
        sign(
            &Claims::for_user("alice"),
            "another-secret-that-is-long-enough-000000",
        ),
        "not.a.jwt".to_owned(),
        "tk_unknown_key".to_owned(),
    ];
    for token in tokens {
        let (code, body) = status(
            Method::GET,
            server.url("/api/v1/integrations"),
            &token,
            None,
        )
        .await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{token}");
        assert_eq!(body["code"], "unauthorized");
    }
    let none = client()
        .get(server.url("/api/v1/integrations"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    // Within the leeway, and already valid, are accepted.
    let mut valid_now = Claims::for_user("alice");
    valid_now.nbf = Some(now - 5);
    let (code, _) = status(
        Method::GET,
        server.url("/api/v1/integrations"),
        &sign(&valid_now, JWT_SECRET),
        None,
    )
    .await;
    assert_eq!(code, StatusCode::OK);
}

crate::both_modes!(
    another_users_integration_is_not_found_on_every_endpoint,
    roles_keep_callers_to_their_endpoints,
    bad_jwts_and_keys_are_refused,
);
