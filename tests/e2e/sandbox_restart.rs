//! The embedded sandbox keeps its grants in Tether's database: a demo integration still
//! reads, refreshes and calls the sandbox's API after `tether serve` restarts.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Mode, TestServer, browser, client, connect, get_json, user_jwt};

async fn a_demo_integration_survives_a_restart(mode: Mode) {
    let mut server = TestServer::start(mode).await;
    let alice = user_jwt("alice");
    let service = server.api_key("service").await;
    let connected = connect(&server, &browser(), &alice, "google", "alice").await;
    let id = connected.integration_id.clone();
    let before = get_json(
        &server.url(&format!("/api/v1/integrations/{id}/token")),
        &service,
    )
    .await;
    let token = before["access_token"].as_str().unwrap().to_owned();

    server.restart().await;

    // The access token the sandbox issued before the restart is still good at its API.
    let me = client()
        .get(server.url("/sandbox/api/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    // Its refresh token too: a forced refresh succeeds and the integration stays active.
    let refreshed = client()
        .post(server.url(&format!("/api/v1/integrations/{id}/refresh")))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(
        refreshed.status(),
        StatusCode::OK,
        "{:?}",
        refreshed.text().await
    );
    let after = get_json(
        &server.url(&format!("/api/v1/integrations/{id}/token")),
        &service,
    )
    .await;
    assert_ne!(after["access_token"], before["access_token"]);
    let integration: Value =
        get_json(&server.url(&format!("/api/v1/integrations/{id}")), &alice).await;
    assert_eq!(integration["status"], "active", "{integration}");
}

#[tokio::test]
async fn a_demo_integration_survives_a_restart_embedded() {
    a_demo_integration_survives_a_restart(Mode::Embedded).await;
}

mod postgres {
    mod redis {
        use super::super::*;

        #[tokio::test]
        async fn a_demo_integration_survives_a_restart_in_production_mode() {
            a_demo_integration_survives_a_restart(Mode::Production).await;
        }
    }
}
