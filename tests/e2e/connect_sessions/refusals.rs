//! Hosted connect links that cannot be used: spent by a concurrent pick (on another
//! replica), expired by the injected clock, unknown; and creation requests refused for bad
//! input or the wrong caller.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tether_core::clock::ManualClock;

use super::{APP_ORIGIN, create, finish, link, open, pick};
use crate::support::{
    Mode, RETURN_TO, TestServer, browser, client, consent, expect_error, query, user_jwt,
};

async fn two_picks_of_one_link_on_two_replicas_spend_it_once(mode: Mode) {
    let server = TestServer::start(mode).await;
    // Production: a second replica on the same PostgreSQL and Redis; embedded: one process.
    let replica = if mode == Mode::Production {
        Some(server.replica().await)
    } else {
        None
    };
    let other = replica
        .as_ref()
        .map_or(server.base.clone(), |r| r.base.clone());
    let service = server.api_key("service").await;
    let url = link(
        &server,
        &service,
        &json!({ "user_id": "hana", "opener_origin": APP_ORIGIN }),
    )
    .await;
    let token = query(&url::Url::parse(&url).unwrap())["token"].clone();
    let post = |base: String| {
        let token = token.clone();
        async move {
            browser()
                .post(format!("{base}/connect"))
                .form(&[("token", token.as_str()), ("provider", "google")])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let (a, b) = tokio::join!(post(server.base.clone()), post(other));
    let mut statuses = [a, b];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::SEE_OTHER, StatusCode::GONE]);
    drop(replica);
}

async fn a_connect_link_expires_by_the_clock(mode: Mode) {
    let clock = Arc::new(ManualClock::starting_now());
    let server = TestServer::with_clock(mode, "", clock.clone()).await;
    let service = server.api_key("service").await;
    let url = link(
        &server,
        &service,
        &json!({ "user_id": "dave", "opener_origin": APP_ORIGIN }),
    )
    .await;
    let browser = browser();
    let (status, page) = open(&browser, &url).await;
    assert_eq!(status, StatusCode::OK, "{page}");

    clock.advance(chrono::Duration::minutes(10));
    let (status, page) = open(&browser, &url).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("expired"), "{page}");
    let token = query(&url::Url::parse(&url).unwrap())["token"].clone();
    let chosen = browser
        .post(server.url("/connect"))
        .form(&[("token", token.as_str()), ("provider", "google")])
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.status(), StatusCode::GONE);

    let (status, page) = open(&browser, &server.url("/connect?token=not-a-token")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("unknown"), "{page}");
    let (status, _) = open(&browser, &server.url("/connect")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn bad_connect_session_requests_are_refused(mode: Mode) {
    let server = TestServer::start(mode).await;
    let service = server.api_key("service").await;
    let admin = server.api_key("admin").await;
    let done = format!("{RETURN_TO}/done");
    let refused = [
        (json!({ "user_id": "erin" }), "invalid_request"),
        (
            json!({ "user_id": "erin", "return_to": done, "opener_origin": APP_ORIGIN }),
            "invalid_request",
        ),
        (
            json!({ "user_id": "erin", "return_to": "https://evil.example.com/settings" }),
            "invalid_return_to",
        ),
        (
            json!({ "user_id": "erin", "opener_origin": "https://evil.example.com" }),
            "invalid_opener_origin",
        ),
        (
            json!({ "user_id": "erin", "opener_origin": format!("{APP_ORIGIN}/settings") }),
            "invalid_opener_origin",
        ),
        (
            json!({ "user_id": "erin", "providers": ["myspace"], "return_to": done }),
            "unknown_provider",
        ),
        (
            json!({ "user_id": "erin", "providers": ["orange"], "return_to": done }),
            "invalid_request",
        ),
        (
            json!({ "user_id": "erin", "providers": ["google"], "scopes": {"notion": ["x"]}, "return_to": done }),
            "invalid_request",
        ),
        (json!({ "user_id": "", "return_to": done }), "invalid_user"),
        (
            json!({ "user_id": "erin", "return_to": done, "upgrade": {"integration_id": "0193a000-0000-7000-8000-000000000000", "scopes": []} }),
            "invalid_request",
        ),
    ];
    for (body, code) in refused {
        let answer = create(&server, &service, &body).await;
        expect_error(answer, StatusCode::BAD_REQUEST, code).await;
    }
    let unknown_integration = create(
        &server,
        &service,
        &json!({ "user_id": "erin", "return_to": done, "upgrade": {"integration_id": "0193a000-0000-7000-8000-000000000000", "scopes": ["items.write"]} }),
    )
    .await;
    expect_error(
        unknown_integration,
        StatusCode::NOT_FOUND,
        "integration_not_found",
    )
    .await;

    // Another user's integration looks missing.
    let url = link(
        &server,
        &service,
        &json!({ "user_id": "frank", "providers": ["google"], "opener_origin": APP_ORIGIN }),
    )
    .await;
    let browser = browser();
    let flow = pick(&server, &browser, &url, "google").await;
    let callback = consent(&browser, &flow, "frank").await;
    let (result, _) = finish(&browser, &callback).await;
    let franks = query(&result)["integration_id"].clone();
    let stolen = create(
        &server,
        &service,
        &json!({ "user_id": "erin", "opener_origin": APP_ORIGIN, "upgrade": {"integration_id": franks, "scopes": ["items.write"]} }),
    )
    .await;
    expect_error(stolen, StatusCode::NOT_FOUND, "integration_not_found").await;

    let body = json!({ "user_id": "erin", "return_to": done });
    expect_error(
        create(&server, &admin, &body).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_error(
        create(&server, &user_jwt("erin"), &body).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let anonymous = client()
        .post(server.url("/api/v1/connect-sessions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // A result page for a session nobody used is not a way to make the page say anything.
    let created: Value = create(&server, &service, &body).await.json().await.unwrap();
    let unused = client()
        .get(server.url(&format!(
            "/connect/result?session={}&outcome=connected",
            created["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(unused.status(), StatusCode::NOT_FOUND);
}

crate::both_modes!(
    two_picks_of_one_link_on_two_replicas_spend_it_once,
    a_connect_link_expires_by_the_clock,
    bad_connect_session_requests_are_refused,
);
