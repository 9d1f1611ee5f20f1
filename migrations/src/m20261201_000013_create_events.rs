//! The events outbox (`events`) and the status of app tokens (`app_token_states`).
//!
//! An event row is written in the same transaction as the status change that causes it, so it
//! exists exactly once per transition. `seq` orders the feed and the deliveries: writers of
//! events serialise on a transaction-scoped lock before inserting, so `seq` order is commit
//! order and a consumer that read up to `seq` N never later finds an event below N. No foreign
//! key to `integrations`: events outlive nothing, they are pruned after their retention.
//! `app_token_states` keeps each client-credentials token's last status (`ok` / `failed`), so
//! a failure repeated on every request emits one `app_token.failed`, not one per request.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    Seq,
    Id,
    EventType,
    IntegrationId,
    UserId,
    Provider,
    OccurredAt,
    Payload,
}

#[derive(DeriveIden)]
enum AppTokenStates {
    Table,
    Provider,
    AppKey,
    Status,
    UpdatedAt,
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
                    .table(Events::Table)
                    .col(big_integer(Events::Seq).auto_increment().primary_key())
                    .col(uuid_uniq(Events::Id))
                    .col(string_len(Events::EventType, 64))
                    .col(uuid_null(Events::IntegrationId))
                    .col(string_len_null(Events::UserId, 255))
                    .col(string_len(Events::Provider, 32))
                    .col(timestamp_with_time_zone(Events::OccurredAt))
                    .col(json(Events::Payload))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_events_integration", Events::IntegrationId),
            ("idx_events_occurred_at", Events::OccurredAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Events::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(AppTokenStates::Table)
                    .col(string_len(AppTokenStates::Provider, 32))
                    .col(string_len(AppTokenStates::AppKey, 255))
                    .col(string_len(AppTokenStates::Status, 16))
                    .col(timestamp_with_time_zone(AppTokenStates::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(AppTokenStates::Provider)
                            .col(AppTokenStates::AppKey),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AppTokenStates::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Events::Table).to_owned())
            .await
    }
}
