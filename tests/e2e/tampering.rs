//! A stored secret tampered with in the database is never handed out: it is refused with its
//! own code and counted.

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};

use crate::support::{Mode, TestServer, browser, client, connect, user_jwt};

/// A stored token moved onto another row (a database-level tampering) is refused with its own
/// alarming code, counted in `/metrics`, and never handed out.
async fn a_token_moved_to_another_row_is_refused_with_its_own_code(mode: Mode) {
    let server = TestServer::start(mode).await;
    let service = server.api_key("service").await;
    let alice = connect(&server, &browser(), &user_jwt("alice"), "google", "alice").await;
    let bob = connect(&server, &browser(), &user_jwt("bob"), "google", "bob").await;
    let conn =
        tether_storage::connect(&server.database_url, tether_storage::PoolOptions::default())
            .await
            .unwrap();
    let backend = conn.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "UPDATE tokens SET access_token = (SELECT access_token FROM tokens WHERE integration_id = $1) WHERE integration_id = $2"
        }
        _ => {
            "UPDATE tokens SET access_token = (SELECT access_token FROM tokens WHERE integration_id = ?) WHERE integration_id = ?"
        }
    };
    let uuid = |id: &str| uuid::Uuid::parse_str(id).unwrap();
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [
            uuid(&alice.integration_id).into(),
            uuid(&bob.integration_id).into(),
        ],
    ))
    .await
    .unwrap();
    let _ = conn.close().await;

    let answer = client()
        .get(server.url(&format!(
            "/api/v1/integrations/{}/token",
            bob.integration_id
        )))
        .bearer_auth(&service)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["code"], "stored_secret_unreadable", "{body}");
    assert!(body.get("access_token").is_none());
    let metrics = client()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"tether_errors_total{code="stored_secret_unreadable"} 1"#),
        "{metrics}"
    );
}

crate::both_modes!(a_token_moved_to_another_row_is_refused_with_its_own_code);
