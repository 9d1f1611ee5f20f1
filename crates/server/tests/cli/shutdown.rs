//! Graceful shutdown writes what token reads left pending: batched audit records and
//! `last_used_at` (flushed every few seconds otherwise) are in the database after SIGTERM.

use std::sync::Arc;

use sea_orm::ConnectionTrait;
use tether_core::api_key::ApiKeyRole;
use tether_core::integration::{IntegrationStatus, NewIntegration};
use tether_core::ports::{IntegrationRepository, TokenRepository};
use tether_core::secret::{AccessToken, EncryptionKey};
use tether_core::token::{TokenOwner, TokenSet};
use tether_core::{IntegrationId, ProviderKind, ScopeSet, UserId};
use tether_storage::{PoolOptions, SqlStore, TokenCipher};

use crate::support::Scratch;

/// An integration with a far-future token and a service key, written straight to the store.
async fn seed(url: &str, key: &str) -> (IntegrationId, String) {
    let conn = tether_storage::connect(url, PoolOptions::default())
        .await
        .unwrap();
    let cipher = TokenCipher::new(&[EncryptionKey::new(key)]).unwrap();
    let store = SqlStore::new(conn, Arc::new(cipher));
    let scopes = ScopeSet::parse_delimited("openid").unwrap();
    let integration = store
        .create(NewIntegration {
            id: IntegrationId::new(),
            user_id: UserId::parse("alice").unwrap(),
            provider: ProviderKind::Google,
            provider_account_id: "alice-sub".to_owned(),
            account_label: None,
            status: IntegrationStatus::Active,
            requested_scopes: scopes.clone(),
            granted_scopes: scopes,
            metadata: serde_json::json!({}),
            next_refresh_at: None,
        })
        .await
        .unwrap();
    let tokens = TokenSet {
        access_token: AccessToken::new("access-of-alice"),
        refresh_token: None,
        token_type: "Bearer".to_owned(),
        expires_at: Some(chrono::Utc::now() + chrono::Duration::days(365)),
        refresh_expires_at: None,
        scope: None,
        launch_context: None,
    };
    store
        .save(&TokenOwner::Integration(integration.id), &tokens, None)
        .await
        .unwrap();
    let (_, secret) = tether_api::auth::create_key(&store, "reader", ApiKeyRole::Service)
        .await
        .unwrap();
    store.conn().clone().close().await.unwrap();
    (integration.id, secret.expose_secret().to_owned())
}

async fn scalar(url: &str, sql: &str) -> i64 {
    let conn = tether_storage::connect(url, PoolOptions::default())
        .await
        .unwrap();
    let row = conn.query_one_raw(sea_orm::Statement::from_string(
        conn.get_database_backend(),
        sql,
    ));
    let value = row.await.unwrap().unwrap().try_get::<i64>("", "n").unwrap();
    conn.close().await.unwrap();
    value
}

#[tokio::test]
async fn sigterm_writes_the_pending_audit_records_and_last_used_at() {
    let scratch = Scratch::new();
    let server = scratch.serve(&[]);
    let url = format!(
        "sqlite://{}?mode=rwc",
        scratch.data_dir().join("tether.db").display()
    );
    let key = std::fs::read_to_string(scratch.key_file()).unwrap();
    let (id, api_key) = seed(&url, key.trim()).await;
    let client = reqwest::Client::new();
    for _ in 0..5 {
        let response = client
            .get(server.url(&format!("/api/v1/integrations/{id}/token")))
            .bearer_auth(&api_key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    // Well within the 5 s usage flush period: only the shutdown can have written it.
    let (clean, logs) = server.terminate();
    assert!(clean, "exit was not clean:\n{}", logs.join("\n"));
    // Identical reads are coalesced into one record with a count.
    let records = scalar(
        &url,
        "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'token_read'",
    )
    .await;
    assert_eq!(records, 1);
    let reads = scalar(
        &url,
        "SELECT COALESCE(SUM(COALESCE(json_extract(detail, '$.count'), 1)), 0) AS n \
         FROM audit_log WHERE action = 'token_read'",
    )
    .await;
    assert_eq!(reads, 5, "every read is accounted for");
    let used = scalar(
        &url,
        "SELECT COUNT(*) AS n FROM integrations WHERE last_used_at IS NOT NULL",
    )
    .await;
    assert_eq!(used, 1, "last_used_at was written at shutdown");
}
