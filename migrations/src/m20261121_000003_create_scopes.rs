//! `scopes`: the scope catalogue, synced from the provider crates at start-up.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Scopes {
    Table,
    Id,
    Provider,
    ScopeName,
    DisplayName,
    Description,
    Category,
    IsRequired,
    IsDangerous,
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
                    .table(Scopes::Table)
                    .col(pk_uuid(Scopes::Id))
                    .col(string_len(Scopes::Provider, 32))
                    .col(string_len(Scopes::ScopeName, 512))
                    .col(string_len(Scopes::DisplayName, 255))
                    .col(text(Scopes::Description))
                    .col(string_len(Scopes::Category, 16))
                    .col(boolean(Scopes::IsRequired).default(false))
                    .col(boolean(Scopes::IsDangerous).default(false))
                    .col(timestamp_with_time_zone(Scopes::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_scopes_provider_scope")
                    .table(Scopes::Table)
                    .col(Scopes::Provider)
                    .col(Scopes::ScopeName)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Scopes::Table).to_owned())
            .await
    }
}
