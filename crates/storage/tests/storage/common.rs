//! Shared fixtures: stores, sample domain values and raw SQL that works on both engines.

use std::sync::Arc;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use sea_orm::{ConnectionTrait, QueryResult, Statement, Value};
use tether_core::consent::NewConsent;
use tether_core::integration::{IntegrationStatus, NewIntegration};
use tether_core::secret::{AccessToken, EncryptionKey, RefreshToken};
use tether_core::token::TokenSet;
use tether_core::{IntegrationId, ProviderKind, ScopeSet, UserId};
use tether_storage::{SqlStore, TokenCipher};
use tether_testkit::{Engine, TestDb};

pub fn store_with(db: &TestDb, keys: &[EncryptionKey]) -> SqlStore {
    SqlStore::new(db.conn.clone(), Arc::new(TokenCipher::new(keys).unwrap()))
}

pub fn store(db: &TestDb) -> SqlStore {
    store_with(db, &[TokenCipher::generate_key()])
}

pub fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

pub fn scopes(text: &str) -> ScopeSet {
    ScopeSet::parse_delimited(text).unwrap()
}

/// A time at the precision both engines keep, so round trips compare equal.
pub fn at(offset_minutes: i64) -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6) + Duration::minutes(offset_minutes)
}

pub fn new_integration(user_id: &str, account: &str) -> NewIntegration {
    NewIntegration {
        id: IntegrationId::new(),
        user_id: user(user_id),
        provider: ProviderKind::Google,
        provider_account_id: account.to_owned(),
        account_label: Some(format!("{account}@example.com")),
        status: IntegrationStatus::Active,
        requested_scopes: scopes("openid email"),
        granted_scopes: scopes("openid email"),
        metadata: serde_json::json!({ "hd": "example.com" }),
        next_refresh_at: Some(at(30)),
    }
}

pub fn token_set(access: &str, refresh: Option<&str>) -> TokenSet {
    TokenSet {
        access_token: AccessToken::new(access),
        refresh_token: refresh.map(RefreshToken::new),
        token_type: "Bearer".to_owned(),
        expires_at: Some(at(60)),
        refresh_expires_at: None,
        scope: Some(scopes("openid email")),
        launch_context: None,
    }
}

pub fn consent_for(new: &NewIntegration) -> NewConsent {
    NewConsent {
        integration_id: new.id,
        user_id: new.user_id.clone(),
        scopes: new.granted_scopes.clone(),
        granted_at: at(0),
        expires_at: None,
        ip_address: Some("203.0.113.7".to_owned()),
        user_agent: Some("test-agent".to_owned()),
        consent_version: "2026-01".to_owned(),
    }
}

/// Raw SQL with `$1`-style placeholders, rewritten to `?1` for SQLite.
fn statement(db: &TestDb, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match db.engine {
        Engine::Postgres => sql.to_owned(),
        Engine::Sqlite => sql.replace('$', "?"),
    };
    Statement::from_sql_and_values(db.conn.get_database_backend(), sql, values)
}

pub async fn raw_query(db: &TestDb, sql: &str, values: Vec<Value>) -> Vec<QueryResult> {
    db.conn
        .query_all_raw(statement(db, sql, values))
        .await
        .unwrap()
}

pub async fn raw_exec(db: &TestDb, sql: &str, values: Vec<Value>) -> u64 {
    db.conn
        .execute_raw(statement(db, sql, values))
        .await
        .unwrap()
        .rows_affected()
}

/// Every column of every row of `table`, as text (blobs hex-quoted on SQLite).
pub async fn raw_table_text(db: &TestDb, table: &str) -> Vec<String> {
    let columns_sql = match db.engine {
        Engine::Postgres => format!(
            "SELECT column_name::text AS name FROM information_schema.columns WHERE table_name = '{table}'"
        ),
        Engine::Sqlite => format!("SELECT name FROM pragma_table_info('{table}')"),
    };
    let columns: Vec<String> = db
        .query_all(&columns_sql)
        .await
        .iter()
        .map(|r| r.try_get::<String>("", "name").unwrap())
        .collect();
    assert!(!columns.is_empty(), "no columns found for {table}");
    let mut texts = Vec::new();
    for column in columns {
        let expr = match db.engine {
            Engine::Postgres => format!("CAST(\"{column}\" AS TEXT)"),
            Engine::Sqlite => format!("quote(\"{column}\")"),
        };
        for row in db
            .query_all(&format!("SELECT {expr} AS v FROM {table}"))
            .await
        {
            if let Some(text) = row.try_get::<Option<String>>("", "v").unwrap() {
                texts.push(text);
            }
        }
    }
    texts
}

pub async fn count(db: &TestDb, table: &str) -> i64 {
    let rows = db
        .query_all(&format!("SELECT COUNT(*) AS n FROM {table}"))
        .await;
    rows[0].try_get::<i64>("", "n").unwrap()
}

/// A new integration of `u1` (`acct`) saved with its tokens and consent, as a connect does.
pub async fn connected(
    store: &SqlStore,
) -> (tether_core::Integration, tether_core::token::StoredTokens) {
    connected_as(store, "u1", "acct").await
}

/// A connection of `user`'s upstream `account`, saved as the connect flow saves it.
pub async fn connected_as(
    store: &SqlStore,
    user: &str,
    account: &str,
) -> (tether_core::Integration, tether_core::token::StoredTokens) {
    use tether_core::ports::{ConnectionWrite, IntegrationRepository, IntegrationWrite};
    let new = new_integration(user, account);
    let (integration, tokens, _) = store
        .save_connection(ConnectionWrite {
            integration: IntegrationWrite::Create(new.clone()),
            tokens: token_set("access-1", Some("refresh-1")),
            consent: consent_for(&new),
        })
        .await
        .unwrap();
    (integration, tokens)
}
