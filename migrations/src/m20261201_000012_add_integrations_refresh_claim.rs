//! `integrations.refresh_claimed_until`: the refresh scheduler's lease. A replica claims due
//! integrations by setting it (PostgreSQL `FOR UPDATE SKIP LOCKED`, so concurrent claimers get
//! disjoint rows); a replica that dies releases its claim by the lease lapsing.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Integrations {
    Table,
    RefreshClaimedUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing on both engines (SQLite has transactional DDL too), on one connection.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Integrations::Table)
                    .add_column(timestamp_with_time_zone_null(
                        Integrations::RefreshClaimedUntil,
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Integrations::Table)
                    .drop_column(Integrations::RefreshClaimedUntil)
                    .to_owned(),
            )
            .await
    }
}
