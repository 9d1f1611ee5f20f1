//! Key rotation (`tether keys rotate`) and the start-up key check: re-encrypt every secret
//! column with the newest key, and refuse to serve when no stored secret is readable.

use std::fmt;

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tether_core::StorageResult;

use crate::cipher::TokenCipher;
use crate::entities::webhooks::endpoints as webhook_endpoints;
use crate::entities::{oauth_states, provider_configs, tokens};
use crate::repo::backend;

mod rewrite;

/// What rotation did to one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableRotation {
    pub rows_scanned: u64,
    /// Values re-encrypted with the newest key.
    pub values_rewritten: u64,
    /// Values already under the newest key, left alone.
    pub values_current: u64,
    /// Values changed by someone else (a refresh, a delete) between read and rewrite; the
    /// newer value was kept.
    pub values_changed_concurrently: u64,
}

/// What `rotate_keys` did, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RotationReport {
    pub tokens: TableRotation,
    pub oauth_states: TableRotation,
    pub provider_configs: TableRotation,
    pub webhook_endpoints: TableRotation,
}

impl RotationReport {
    pub fn values_rewritten(&self) -> u64 {
        self.tables().iter().map(|(_, t)| t.values_rewritten).sum()
    }

    fn tables(&self) -> [(&'static str, &TableRotation); 4] {
        [
            (tokens::TABLE, &self.tokens),
            (oauth_states::TABLE, &self.oauth_states),
            (provider_configs::TABLE, &self.provider_configs),
            (webhook_endpoints::TABLE, &self.webhook_endpoints),
        ]
    }
}

impl fmt::Display for RotationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, t) in self.tables() {
            writeln!(
                f,
                "{name:<17} {} rows scanned, {} values re-encrypted, {} already current, {} changed meanwhile",
                t.rows_scanned, t.values_rewritten, t.values_current, t.values_changed_concurrently
            )?;
        }
        write!(
            f,
            "{} values re-encrypted with the newest key",
            self.values_rewritten()
        )
    }
}

/// Re-encrypts every encrypted column of every row with the newest key, `batch_size` rows at
/// a time in primary-key order. Values already under the newest key are skipped, so a re-run
/// rewrites nothing. A value no configured key decrypts stops the run with an error naming
/// its row: skipping it would leave data that becomes unreadable once the old key is dropped.
pub async fn rotate_keys(
    conn: &DatabaseConnection,
    cipher: &TokenCipher,
    batch_size: u64,
) -> StorageResult<RotationReport> {
    let batch = batch_size.max(1);
    Ok(RotationReport {
        tokens: rewrite::tokens(conn, cipher, batch).await?,
        oauth_states: rewrite::oauth_states(conn, cipher, batch).await?,
        provider_configs: rewrite::provider_configs(conn, cipher, batch).await?,
        webhook_endpoints: rewrite::webhook_endpoints(conn, cipher, batch).await?,
    })
}

/// Result of sampling stored ciphertexts with the configured keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyCheck {
    pub sampled: u64,
    pub decryptable: u64,
}

impl KeyCheck {
    /// Secrets are stored and none of the sampled ones is readable: almost certainly the
    /// wrong key is configured, and serving would fail every token read.
    pub fn all_unreadable(&self) -> bool {
        self.sampled > 0 && self.decryptable == 0
    }
}

/// How many of the most recent values of each encrypted column to try.
const SAMPLE: u64 = 50;

/// Samples the most recent ciphertexts of each encrypted column and counts those a
/// configured key decrypts.
pub async fn check_keys(
    conn: &DatabaseConnection,
    cipher: &TokenCipher,
) -> StorageResult<KeyCheck> {
    let mut values: Vec<String> = Vec::new();
    let recent_tokens: Vec<(String, Option<String>)> = tokens::Entity::find()
        .select_only()
        .column(tokens::Column::AccessToken)
        .column(tokens::Column::RefreshToken)
        .order_by_desc(tokens::Column::UpdatedAt)
        .limit(SAMPLE)
        .into_tuple()
        .all(conn)
        .await
        .map_err(backend)?;
    for (access, refresh) in recent_tokens {
        values.push(access);
        values.extend(refresh);
    }
    let states: Vec<String> = oauth_states::Entity::find()
        .select_only()
        .column(oauth_states::Column::Payload)
        .order_by_desc(oauth_states::Column::CreatedAt)
        .limit(SAMPLE)
        .into_tuple()
        .all(conn)
        .await
        .map_err(backend)?;
    values.extend(states);
    let secrets: Vec<Option<String>> = provider_configs::Entity::find()
        .select_only()
        .column(provider_configs::Column::ClientSecret)
        .filter(provider_configs::Column::ClientSecret.is_not_null())
        .order_by_desc(provider_configs::Column::UpdatedAt)
        .limit(SAMPLE)
        .into_tuple()
        .all(conn)
        .await
        .map_err(backend)?;
    values.extend(secrets.into_iter().flatten());
    let webhook_secrets: Vec<String> = webhook_endpoints::Entity::find()
        .select_only()
        .column(webhook_endpoints::Column::Secret)
        .order_by_desc(webhook_endpoints::Column::UpdatedAt)
        .limit(SAMPLE)
        .into_tuple()
        .all(conn)
        .await
        .map_err(backend)?;
    values.extend(webhook_secrets);
    let decryptable = values.iter().filter(|v| cipher.can_decrypt(v)).count();
    Ok(KeyCheck {
        sampled: values.len() as u64,
        decryptable: decryptable as u64,
    })
}
