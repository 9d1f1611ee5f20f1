//! `audit_log`'s indexes follow the order its queries read in (newest first, by id), and
//! there are fewer of them, because every token read writes a row and each index is one more
//! B-tree insertion (and WAL record) per read:
//! - ids are UUIDv7 carrying their record's `created_at` (since this release), so a time
//!   range is an id range: `idx_audit_log_created_at` goes, the primary key serves it;
//! - `(integration_id, created_at)` and `(user_id, created_at)` become `(integration_id, id)`
//!   and `(user_id, id)`: a page of one integration's or user's history is read straight off
//!   the index, where before every row of it was fetched and sorted first (a busy
//!   integration has millions of token reads);
//! - the action index becomes `(action, id)`, and on PostgreSQL it leaves out token reads:
//!   those are most of the rows, and a filter on them is best served by the primary key.
//!   SQLite's planner uses a partial index only when the query repeats its condition, so it
//!   keeps every row there.
//!
//! `bench/audit-insert.sh` measures what a row costs PostgreSQL before and after (figures in
//! `docs/performance.md`).
//!
//! On PostgreSQL the indexes are built and dropped `CONCURRENTLY`, outside a transaction: a
//! plain `CREATE INDEX` would hold off every audit write, and so every token read, for as
//! long as it reads the table. A run that stops halfway can be run again.
//!
//! Rows written before this release have ids of the time they were written, a little after
//! their `created_at`; the repository's time filters allow for that.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The indexes before this migration, as `(name, columns)`.
const BEFORE: [(&str, &str); 4] = [
    ("idx_audit_log_integration", "integration_id, created_at"),
    ("idx_audit_log_user", "user_id, created_at"),
    ("idx_audit_log_action", "action, created_at"),
    ("idx_audit_log_created_at", "created_at"),
];

/// The indexes after it, as `(name, columns, PostgreSQL's condition)`.
const AFTER: [(&str, &str, &str); 3] = [
    ("idx_audit_log_integration_id", "integration_id, id", ""),
    ("idx_audit_log_user_id", "user_id, id", ""),
    (
        "idx_audit_log_action_id",
        "action, id",
        " WHERE action <> 'token_read'",
    ),
];

/// Builds `create` and then drops `drop`, concurrently on PostgreSQL.
async fn replace(
    manager: &SchemaManager<'_>,
    create: &[(&str, &str, &str)],
    drop: &[&str],
) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    let postgres = manager.get_database_backend() == DbBackend::Postgres;
    let concurrently = if postgres { " CONCURRENTLY" } else { "" };
    for (name, columns, condition) in create {
        // An earlier, interrupted run may have left it half built: build it anew.
        conn.execute_unprepared(&format!("DROP INDEX{concurrently} IF EXISTS {name}"))
            .await?;
        let condition = if postgres { condition } else { &"" };
        conn.execute_unprepared(&format!(
            "CREATE INDEX{concurrently} {name} ON audit_log ({columns}){condition}"
        ))
        .await?;
    }
    for name in drop {
        conn.execute_unprepared(&format!("DROP INDEX{concurrently} IF EXISTS {name}"))
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(false)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace(manager, &AFTER, &BEFORE.map(|(name, _)| name)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let before = BEFORE.map(|(name, columns)| (name, columns, ""));
        replace(manager, &before, &AFTER.map(|(name, _, _)| name)).await
    }
}
