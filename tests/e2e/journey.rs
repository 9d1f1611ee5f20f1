//! The whole journey over HTTP with a cookie jar: authorize → start → sandbox consent →
//! callback → list → token read (service key) → proxy → force refresh → disconnect, after
//! which the token stops working at the sandbox.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Mode, TestServer, browser, client, connect, get_json, user_jwt};

async fn the_whole_journey_works_over_http(mode: Mode) {
    let server = TestServer::start(mode).await;
    let alice = user_jwt("alice");
    let service = server.api_key("service").await;
    let http = client();

    let connected = connect(&server, &browser(), &alice, "google", "alice").await;
    let redirect = connected.redirect.clone().unwrap();
    assert!(
        redirect
            .as_str()
            .starts_with("https://app.example.com/settings/integrations?")
    );
    let id = connected.integration_id.clone();

    let list = get_json(&server.url("/api/v1/integrations"), &alice).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["status"], "active");
    assert!(
        list[0]["token_expires_at"].is_string(),
        "the list shows when the token expires"
    );
    assert!(list[0]["account_label"].as_str().unwrap().contains("alice"));
    assert!(
        !list.to_string().contains("access_token"),
        "a list never carries a token"
    );

    let read = http
        .get(server.url(&format!("/api/v1/integrations/{id}/token?purpose=journey")))
        .bearer_auth(&service)
        .header("user-agent", "calendar-sync/2.1")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.headers()["cache-control"], "no-store");
    let token: Value = read.json().await.unwrap();
    let first_token = token["access_token"].as_str().unwrap().to_owned();

    let proxied = http
        .get(server.url(&format!("/api/v1/integrations/{id}/proxy/me")))
        .bearer_auth(&service)
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), StatusCode::OK);
    assert!(
        proxied.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let me: Value = proxied.json().await.unwrap();
    assert!(me["sub"].as_str().unwrap().starts_with("sbx-"), "{me}");

    let refreshed = http
        .post(server.url(&format!("/api/v1/integrations/{id}/refresh")))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::OK);
    let after = get_json(
        &server.url(&format!("/api/v1/integrations/{id}/token")),
        &service,
    )
    .await;
    let second_token = after["access_token"].as_str().unwrap().to_owned();
    assert_ne!(first_token, second_token, "force refresh gives a new token");

    let sandbox_me = |token: String| {
        let url = server.url("/sandbox/api/me");
        async move {
            client()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(sandbox_me(second_token.clone()).await, StatusCode::OK);

    let gone: Value = http
        .delete(server.url(&format!("/api/v1/integrations/{id}")))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(gone["provider_revocation"], "revoked");
    assert_eq!(gone["integration"]["status"], "revoked");
    assert_eq!(
        sandbox_me(second_token).await,
        StatusCode::UNAUTHORIZED,
        "the token stops working at the provider"
    );
    let refused = http
        .get(server.url(&format!("/api/v1/integrations/{id}/token")))
        .bearer_auth(&service)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "reauth_required");

    let metrics = http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"tether_refreshes_total{provider="google",outcome="refreshed"} 1"#,
        r#"tether_token_reads_total{provider="google",outcome="ok"}"#,
        r#"tether_token_reads_total{provider="google",outcome="reauth_required"} 1"#,
        r#"tether_http_requests_total{method="GET",status="2xx"}"#,
        "tether_scheduler_running 1",
        "tether_scheduler_restarts_total 0",
    ] {
        assert!(
            metrics.contains(line),
            "{line} missing from /metrics:\n{metrics}"
        );
    }

    let audit = get_json(&server.url("/api/v1/audit?limit=100"), &alice).await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    // The token read is audited with the caller's address and user agent, like the rest.
    let token_read = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "token_read" && r["user_agent"] == "calendar-sync/2.1")
        .unwrap_or_else(|| panic!("no token read by calendar-sync in {audit}"));
    assert_eq!(token_read["ip_address"], "127.0.0.1");
    assert_eq!(token_read["detail"]["purpose"], "journey");
    for expected in [
        "authorization_started",
        "connected",
        "token_read",
        "proxy_call",
        "token_refreshed",
        "revoked",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
}

async fn providers_are_listed_as_sandbox_with_their_catalogue(mode: Mode) {
    let server = TestServer::start(mode).await;
    let providers: Value = client()
        .get(server.url("/api/v1/providers"))
        .bearer_auth(user_jwt("alice"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let providers = providers.as_array().unwrap();
    assert_eq!(providers.len(), 7);
    for p in providers {
        assert_eq!(p["status"], "sandbox", "{p}");
        assert!(!p["scopes"].as_array().unwrap().is_empty());
    }
    let consent = client()
        .get(server.url(
            "/sandbox/oauth/authorize?response_type=code&client_id=sandbox-google&redirect_uri=x",
        ))
        .send()
        .await
        .unwrap();
    let page = consent.text().await.unwrap();
    assert!(
        page.contains("not a real provider")
            || page.contains("sandbox")
            || page.contains("Sandbox"),
        "{page}"
    );
}

async fn a_caller_that_needs_an_ungranted_scope_gets_403_naming_it(mode: Mode) {
    let server = TestServer::start(mode).await;
    let alice = user_jwt("alice");
    let service = server.api_key("service").await;
    let http = client();
    let id = connect(&server, &browser(), &alice, "google", "alice")
        .await
        .integration_id;
    let read = |query: &str| {
        http.get(server.url(&format!("/api/v1/integrations/{id}/token?{query}")))
            .bearer_auth(&service)
            .send()
    };
    let granted = read("require_scopes=items.read,profile").await.unwrap();
    assert_eq!(granted.status(), StatusCode::OK);

    let refused = read("require_scopes=items.read%20items.delete")
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.headers()["cache-control"], "no-store");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "insufficient_scopes");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("items.delete") && !message.contains("items.read"),
        "{message}"
    );
    assert!(message.contains("reconnect"), "{message}");

    let malformed = read("require_scopes=%22quoted%22").await.unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);

    let proxied = http
        .get(server.url(&format!("/api/v1/integrations/{id}/proxy/me")))
        .header("X-Tether-Require-Scopes", "items.delete")
        .bearer_auth(&service)
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), StatusCode::FORBIDDEN);
    let body: Value = proxied.json().await.unwrap();
    assert_eq!(body["code"], "insufficient_scopes");
    let allowed = http
        .get(server.url(&format!("/api/v1/integrations/{id}/proxy/me")))
        .header("X-Tether-Require-Scopes", "items.read")
        .bearer_auth(&service)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
}

crate::both_modes!(
    a_caller_that_needs_an_ungranted_scope_gets_403_naming_it,
    the_whole_journey_works_over_http,
    providers_are_listed_as_sandbox_with_their_catalogue,
);
