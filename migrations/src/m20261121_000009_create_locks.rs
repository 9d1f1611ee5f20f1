//! `locks`: named leases for the embedded mode's cross-process locks (Redis holds them in
//! production): one row per held lock, taken over once its lease has ended.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Locks {
    Table,
    Name,
    Owner,
    ExpiresAt,
    AcquiredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing on both engines (SQLite has transactional DDL too), on one connection.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Locks::Table)
                    .col(string_len(Locks::Name, 255).primary_key())
                    .col(string_len(Locks::Owner, 128))
                    .col(timestamp_with_time_zone(Locks::ExpiresAt))
                    .col(timestamp_with_time_zone(Locks::AcquiredAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Locks::Table).to_owned())
            .await
    }
}
