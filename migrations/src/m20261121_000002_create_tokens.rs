//! `tokens`: encrypted token pairs, one row per integration or per app-level token.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261121_000001_create_integrations::Integrations;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tokens {
    Table,
    Id,
    IntegrationId,
    Provider,
    AppKey,
    AccessToken,
    RefreshToken,
    TokenType,
    ExpiresAt,
    RefreshExpiresAt,
    Scope,
    Version,
    CreatedAt,
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
                    .table(Tokens::Table)
                    .col(pk_uuid(Tokens::Id))
                    // Unique: one token row per integration (the unique index also serves the FK).
                    .col(uuid_null(Tokens::IntegrationId).unique_key())
                    .col(string_len(Tokens::Provider, 32))
                    // App-level (client-credentials) tokens have no integration: a key instead.
                    .col(string_len_null(Tokens::AppKey, 255))
                    // Fernet ciphertexts (url-safe base64 text).
                    .col(text(Tokens::AccessToken))
                    .col(text_null(Tokens::RefreshToken))
                    .col(string_len(Tokens::TokenType, 32))
                    .col(timestamp_with_time_zone_null(Tokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Tokens::RefreshExpiresAt))
                    .col(json_null(Tokens::Scope))
                    .col(big_integer(Tokens::Version).default(1))
                    .col(timestamp_with_time_zone(Tokens::CreatedAt))
                    .col(timestamp_with_time_zone(Tokens::UpdatedAt))
                    .check(Expr::cust(
                        "(integration_id IS NULL AND app_key IS NOT NULL) OR (integration_id IS NOT NULL AND app_key IS NULL)",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_tokens_integration")
                            .from(Tokens::Table, Tokens::IntegrationId)
                            .to(Integrations::Table, Integrations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_tokens_app_key")
                    .table(Tokens::Table)
                    .col(Tokens::Provider)
                    .col(Tokens::AppKey)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Tokens::Table).to_owned())
            .await
    }
}
