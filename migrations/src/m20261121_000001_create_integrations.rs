//! `integrations`: one connected account per row.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Integrations {
    Table,
    Id,
    UserId,
    Provider,
    ProviderAccountId,
    AccountLabel,
    Status,
    RequestedScopes,
    GrantedScopes,
    Metadata,
    LastRefreshedAt,
    LastUsedAt,
    NextRefreshAt,
    FailureCount,
    LastError,
    CreatedAt,
    UpdatedAt,
    Version,
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
                    .table(Integrations::Table)
                    .col(pk_uuid(Integrations::Id))
                    .col(string_len(Integrations::UserId, 255))
                    .col(string_len(Integrations::Provider, 32))
                    .col(string_len(Integrations::ProviderAccountId, 512))
                    .col(text_null(Integrations::AccountLabel))
                    .col(string_len(Integrations::Status, 32))
                    .col(json(Integrations::RequestedScopes))
                    .col(json(Integrations::GrantedScopes))
                    .col(json(Integrations::Metadata))
                    .col(timestamp_with_time_zone_null(Integrations::LastRefreshedAt))
                    .col(timestamp_with_time_zone_null(Integrations::LastUsedAt))
                    .col(timestamp_with_time_zone_null(Integrations::NextRefreshAt))
                    .col(integer(Integrations::FailureCount).default(0))
                    .col(text_null(Integrations::LastError))
                    .col(timestamp_with_time_zone(Integrations::CreatedAt))
                    .col(timestamp_with_time_zone(Integrations::UpdatedAt))
                    .col(big_integer(Integrations::Version).default(1))
                    .to_owned(),
            )
            .await?;
        // Several accounts per provider per user, never the same account twice.
        manager
            .create_index(
                Index::create()
                    .name("uq_integrations_account")
                    .table(Integrations::Table)
                    .col(Integrations::UserId)
                    .col(Integrations::Provider)
                    .col(Integrations::ProviderAccountId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // "Is this upstream account linked by another user?"
        manager
            .create_index(
                Index::create()
                    .name("idx_integrations_upstream_account")
                    .table(Integrations::Table)
                    .col(Integrations::Provider)
                    .col(Integrations::ProviderAccountId)
                    .to_owned(),
            )
            .await?;
        // The refresh scheduler's "due for refresh" scan.
        manager
            .create_index(
                Index::create()
                    .name("idx_integrations_next_refresh_at")
                    .table(Integrations::Table)
                    .col(Integrations::NextRefreshAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Integrations::Table).to_owned())
            .await
    }
}
