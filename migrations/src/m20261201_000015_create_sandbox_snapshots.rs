//! `sandbox_snapshots`: the embedded sandbox's grants and tokens (hashed), one row per sandbox
//! issuer, so demo integrations survive a restart of `tether serve`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SandboxSnapshots {
    Table,
    Issuer,
    Snapshot,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SandboxSnapshots::Table)
                    .col(string_len(SandboxSnapshots::Issuer, 2048).primary_key())
                    .col(text(SandboxSnapshots::Snapshot))
                    .col(timestamp_with_time_zone(SandboxSnapshots::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SandboxSnapshots::Table).to_owned())
            .await
    }
}
