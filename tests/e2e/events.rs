//! The event feed over HTTP: a connect and a disconnect appear in order, pages resume from
//! `next_after`, filters and long polls work, and only service and admin keys may read it.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Mode, TestServer, browser, client, connect, get_json, user_jwt};

async fn the_feed_reports_transitions_in_order_and_resumes(mode: Mode) {
    let server = TestServer::start(mode).await;
    let alice = user_jwt("alice");
    let service = server.api_key("service").await;
    let admin = server.api_key("admin").await;
    let http = client();

    let empty = get_json(&server.url("/api/v1/events"), &service).await;
    assert_eq!(empty["events"].as_array().unwrap().len(), 0);
    assert_eq!(empty["next_after"], 0);

    let connected = connect(&server, &browser(), &alice, "google", "alice").await;
    let id = connected.integration_id.clone();
    let gone = http
        .delete(server.url(&format!("/api/v1/integrations/{id}")))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::OK);

    let page = get_json(&server.url("/api/v1/events?limit=1"), &admin).await;
    let first = &page["events"][0];
    assert_eq!(first["type"], "integration.connected");
    assert_eq!(first["data"]["integration_id"], id.as_str());
    assert_eq!(first["data"]["user_id"], "alice");
    assert_eq!(first["data"]["status"], "active");
    assert_eq!(first["data"]["previous_status"], Value::Null);
    assert_eq!(first["data"]["reconnect"], false);
    assert_eq!(page["next_after"], first["seq"]);

    let rest = get_json(
        &server.url(&format!("/api/v1/events?after={}", page["next_after"])),
        &service,
    )
    .await;
    let revoked = &rest["events"][0];
    assert_eq!(rest["events"].as_array().unwrap().len(), 1);
    assert_eq!(revoked["type"], "integration.revoked");
    assert_eq!(revoked["data"]["reason"], "disconnected_by_user");
    assert_eq!(revoked["data"]["previous_status"], "active");
    assert!(revoked["seq"].as_i64() > first["seq"].as_i64());

    let only_revoked = get_json(
        &server.url("/api/v1/events?types=integration.revoked,integration.reauth_required"),
        &service,
    )
    .await;
    assert_eq!(only_revoked["events"].as_array().unwrap().len(), 1);
    assert_eq!(only_revoked["events"][0]["id"], revoked["id"]);

    // A long poll returns as soon as an event commits.
    let after = rest["next_after"].clone();
    let poll = {
        let url = server.url(&format!("/api/v1/events?after={after}&wait=20"));
        let service = service.clone();
        tokio::spawn(async move { get_json(&url, &service).await })
    };
    connect(&server, &browser(), &alice, "google", "alice").await;
    let polled = tokio::time::timeout(Duration::from_secs(15), poll)
        .await
        .expect("the long poll answers once an event exists")
        .unwrap();
    assert_eq!(polled["events"][0]["type"], "integration.connected");
    assert_eq!(polled["events"][0]["data"]["reconnect"], true);
}

async fn the_feed_refuses_users_and_bad_parameters(mode: Mode) {
    let server = TestServer::start(mode).await;
    let service = server.api_key("service").await;
    let http = client();
    let user = http
        .get(server.url("/api/v1/events"))
        .bearer_auth(user_jwt("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(user.status(), StatusCode::FORBIDDEN);
    for (query, code) in [
        ("limit=0", "invalid_request"),
        ("limit=1001", "invalid_request"),
        ("after=-1", "invalid_request"),
        ("wait=31", "invalid_request"),
        ("types=integration.exploded", "invalid_event_type"),
        ("after=abc", "invalid_request"),
        ("unknown=1", "invalid_request"),
    ] {
        let answer = http
            .get(server.url(&format!("/api/v1/events?{query}")))
            .bearer_auth(&service)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["code"], code, "{query}: {body}");
    }
}

crate::both_modes!(
    the_feed_reports_transitions_in_order_and_resumes,
    the_feed_refuses_users_and_bad_parameters,
);
