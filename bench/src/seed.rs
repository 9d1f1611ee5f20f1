//! Writes bench integrations into a migrated database through the storage API, so tokens are
//! encrypted exactly as tether stores them: either with valid far-future tokens (the token-read
//! benchmark) or due for refresh now, with rotating bench refresh tokens (the scheduler
//! benchmark).

use std::sync::Arc;

use chrono::{Duration, Utc};
use futures::{StreamExt, TryStreamExt};
use tether_core::integration::{IntegrationStatus, NewIntegration};
use tether_core::ports::{IntegrationRepository, TokenRepository};
use tether_core::secret::{AccessToken, EncryptionKey, RefreshToken};
use tether_core::token::{TokenOwner, TokenSet};
use tether_core::{IntegrationId, ProviderKind, ScopeSet, UserId};
use tether_storage::{PoolOptions, SqlStore, TokenCipher};

use crate::Failure;
use crate::rotation::refresh_token;

/// The scopes every bench integration holds.
pub const SCOPES: &str = "openid email https://www.googleapis.com/auth/calendar";

/// Which tokens the seeded integrations get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// An access token valid for a year; nothing is due.
    Valid,
    /// An access token expiring in two minutes, refresh token `bench-rt-{n}.0`, and
    /// `next_refresh_at` = now: every integration is due for the scheduler at once.
    Due,
}

/// Opens the store with a pool of `connections`.
pub async fn open(url: &str, key: String, connections: u32) -> Result<Arc<SqlStore>, Failure> {
    let pool = PoolOptions {
        max_connections: connections,
        ..PoolOptions::default()
    };
    let conn = tether_storage::connect(url, pool).await?;
    let cipher = TokenCipher::new(&[EncryptionKey::new(key)])?;
    Ok(Arc::new(SqlStore::new(conn, Arc::new(cipher))))
}

/// Seeds integrations `0..count`, `concurrency` at a time, and returns their ids in no
/// particular order.
pub async fn seed_all(
    store: Arc<SqlStore>,
    shape: Shape,
    count: usize,
    concurrency: usize,
) -> Result<Vec<IntegrationId>, Failure> {
    futures::stream::iter(0..count)
        .map(|n| {
            let store = store.clone();
            async move { seed_one(&store, shape, n).await }
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await
}

async fn seed_one(store: &SqlStore, shape: Shape, n: usize) -> Result<IntegrationId, Failure> {
    let scopes = ScopeSet::parse_delimited(SCOPES)?;
    let now = Utc::now();
    let integration = store
        .create(NewIntegration {
            id: IntegrationId::new(),
            user_id: UserId::parse(format!("bench-user-{n}"))?,
            provider: ProviderKind::Google,
            provider_account_id: format!("bench-account-{n}"),
            account_label: Some(format!("user{n}@example.com")),
            status: IntegrationStatus::Active,
            requested_scopes: scopes.clone(),
            granted_scopes: scopes.clone(),
            metadata: serde_json::json!({ "hd": "example.com" }),
            next_refresh_at: (shape == Shape::Due).then_some(now),
        })
        .await?;
    let padding = "x".repeat(120);
    let (access, refresh, expires_at) = match shape {
        Shape::Valid => (
            format!("ya29.bench-access-token-{n}-{padding}"),
            format!("1//bench-refresh-token-{n}"),
            now + Duration::days(365),
        ),
        Shape::Due => (
            format!("bench-at-{n}.0-{padding}"),
            refresh_token(n as u64, 0),
            now + Duration::minutes(2),
        ),
    };
    let tokens = TokenSet {
        access_token: AccessToken::new(access),
        refresh_token: Some(RefreshToken::new(refresh)),
        token_type: "Bearer".to_owned(),
        expires_at: Some(expires_at),
        refresh_expires_at: None,
        scope: Some(scopes),
        launch_context: None,
    };
    store
        .save(&TokenOwner::Integration(integration.id), &tokens, None)
        .await?;
    Ok(integration.id)
}
