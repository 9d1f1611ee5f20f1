//! `SqlStore`: the sea-orm implementation of every storage port, one file per repository,
//! plus the error mapping and statement helpers they share.

mod api_keys;
mod audit;
pub use audit::append_audit;
mod claims;
mod connect_sessions;
mod connection;
mod consents;
mod console;
mod deliveries;
mod events;
mod integrations;
mod locks;
mod oauth_states;
mod overview;
mod provider_configs;
mod scopes;
mod token_read;
mod tokens;
mod webhooks;

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::UpdateStatement;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, FromQueryResult,
    SqlErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use tether_core::StorageError;

use crate::cipher::TokenCipher;

/// Every storage port over one database connection pool. Cheap to clone.
///
/// Several ports share method names (`get`, `list`, `create`, `delete`): call them through
/// the port (`IntegrationRepository::get(&store, id)`) or hold the store as `Arc<dyn Port>`.
#[derive(Debug, Clone)]
pub struct SqlStore {
    conn: DatabaseConnection,
    cipher: Arc<TokenCipher>,
}

impl SqlStore {
    pub fn new(conn: DatabaseConnection, cipher: Arc<TokenCipher>) -> Self {
        Self { conn, cipher }
    }

    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    pub fn cipher(&self) -> &TokenCipher {
        &self.cipher
    }
}

/// Maps a database error: unique violations become `Duplicate` (with a caller-chosen,
/// secret-free description), everything else `Backend`.
pub(crate) fn db_err(
    entity: &'static str,
    duplicate: &'static str,
) -> impl Fn(DbErr) -> StorageError {
    move |err| match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => StorageError::Duplicate {
            entity,
            detail: duplicate.to_owned(),
        },
        _ => backend(err),
    }
}

pub(crate) fn backend(err: DbErr) -> StorageError {
    StorageError::Backend(err.to_string())
}

/// Starts a transaction that will write. On SQLite it takes the write lock at `BEGIN`
/// (IMMEDIATE), so concurrent writers queue on the busy timeout instead of failing when a
/// read lock cannot be upgraded; PostgreSQL ignores the mode.
pub(crate) async fn write_txn(
    conn: &DatabaseConnection,
) -> Result<DatabaseTransaction, StorageError> {
    conn.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
    .map_err(backend)
}

/// "Now" at the precision both engines store (microseconds), so a value returned to the
/// caller equals the value read back later.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Runs an UPDATE with `RETURNING *` (both engines support it: PostgreSQL, SQLite ≥ 3.35),
/// so the caller gets exactly the row it wrote, or `None` when no row matched.
pub(crate) async fn update_returning<E, C>(
    conn: &C,
    mut stmt: UpdateStatement,
) -> Result<Option<E::Model>, DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    stmt.returning_all();
    match conn.query_one(&stmt).await? {
        Some(row) => Ok(Some(E::Model::from_query_result(&row, "")?)),
        None => Ok(None),
    }
}
