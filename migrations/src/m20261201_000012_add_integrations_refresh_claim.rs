//! `integrations.refresh_claimed_until`: the refresh scheduler's lease. A replica claims due
//! integrations by setting it (PostgreSQL `FOR UPDATE SKIP LOCKED`, so concurrent claimers get
//! disjoint rows); a replica that dies releases its claim by the lease lapsing. The claim
//! takes one provider's due rows soonest first, so an index on (provider, next_refresh_at)
//! serves it in order, however many rows are due.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Integrations {
    Table,
    RefreshClaimedUntil,
    Provider,
    NextRefreshAt,
}

const DUE_INDEX: &str = "idx_integrations_provider_next_refresh_at";

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
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(DUE_INDEX)
                    .table(Integrations::Table)
                    .col(Integrations::Provider)
                    .col(Integrations::NextRefreshAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(DUE_INDEX)
                    .table(Integrations::Table)
                    .to_owned(),
            )
            .await?;
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
