//! `integrations` keeps 30 % of each page free on PostgreSQL (`fillfactor = 70`), so the
//! frequent `last_used_at` writes (every integration read in the last few seconds, in bulk)
//! can be heap-only (HOT) updates: the new row version goes on the same page and no index is
//! touched, since `last_used_at` is in none. With full pages every such update also writes
//! each index (a bulk write of 1,000 rows of a freshly seeded table, under EXPLAIN ANALYZE:
//! ~29 ms and ~800 KB of WAL with full pages, ~12 ms and ~250 KB with room). New pages follow
//! the setting; existing ones as they are rewritten (VACUUM FULL or pg_repack does it at
//! once). SQLite has no such setting: nothing to do there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Runs `sql` on PostgreSQL; nothing on SQLite.
async fn on_postgres(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() == DbBackend::Postgres {
        manager.get_connection().execute_unprepared(sql).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        on_postgres(manager, "ALTER TABLE integrations SET (fillfactor = 70)").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        on_postgres(manager, "ALTER TABLE integrations RESET (fillfactor)").await
    }
}
