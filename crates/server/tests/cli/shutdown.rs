//! Graceful shutdown writes what token reads left pending (`last_used_at`, flushed every few
//! seconds otherwise); a token read is answered only once its audit record is committed, so
//! even SIGKILL loses no answered read.

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

/// The served database's URL, and an integration and a service key seeded into it.
async fn seeded(scratch: &Scratch) -> (String, IntegrationId, String) {
    let url = format!(
        "sqlite://{}?mode=rwc",
        scratch.data_dir().join("tether.db").display()
    );
    let key = std::fs::read_to_string(scratch.key_file()).unwrap();
    let (id, api_key) = seed(&url, key.trim()).await;
    (url, id, api_key)
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
    let (url, id, api_key) = seeded(&scratch).await;
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
    // Each read was committed before it was answered; one after the other, none shared a
    // write, so nothing was coalesced.
    let records = scalar(
        &url,
        "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'token_read'",
    )
    .await;
    assert_eq!(records, 5);
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

#[tokio::test]
async fn sigkill_during_a_load_run_loses_no_answered_read_from_the_audit_trail() {
    let scratch = Scratch::new();
    let server = scratch.serve(&[]);
    let (url, id, api_key) = seeded(&scratch).await;
    let client = reqwest::Client::new();
    let answered = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let token_url = server.url(&format!("/api/v1/integrations/{id}/token"));
    // 16 readers, each read with its own purpose so each answered read is findable.
    let readers: Vec<_> = (0..16)
        .map(|reader| {
            let (client, api_key, answered, token_url) = (
                client.clone(),
                api_key.clone(),
                answered.clone(),
                token_url.clone(),
            );
            tokio::spawn(async move {
                for n in 0.. {
                    let purpose = format!("r{reader}-{n}");
                    let sent = client
                        .get(&token_url)
                        .query(&[("purpose", &purpose)])
                        .bearer_auth(&api_key)
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status() == 200 => {
                            answered.lock().unwrap().push(purpose);
                        }
                        Ok(response) => panic!("read answered {}", response.status()),
                        // The server is gone.
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    // Kill it in the middle of the run: once a good number of reads were answered.
    while answered.lock().unwrap().len() < 500 {
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.kill_hard();
    for reader in readers {
        reader.await.unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() >= 500);

    let conn = tether_storage::connect(&url, PoolOptions::default())
        .await
        .unwrap();
    let rows = conn
        .query_all_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            "SELECT json_extract(detail, '$.purpose') AS purpose FROM audit_log \
             WHERE action = 'token_read'",
        ))
        .await
        .unwrap();
    let recorded: std::collections::HashSet<String> = rows
        .iter()
        .filter_map(|row| row.try_get::<Option<String>>("", "purpose").unwrap())
        .collect();
    conn.close().await.unwrap();
    let missing: Vec<&String> = answered.iter().filter(|p| !recorded.contains(*p)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} answered reads are not in the audit trail, e.g. {:?}",
        missing.len(),
        answered.len(),
        missing.iter().take(5).collect::<Vec<_>>()
    );
}
