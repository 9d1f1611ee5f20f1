//! Hosted connect sessions: short-lived, single-use links to the connect page. The link's
//! token is kept only as its SHA-256; `used_at` is set by the one conditional update that
//! spends a session.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ConnectSessions {
    Table,
    Id,
    TokenHash,
    UserId,
    Providers,
    Scopes,
    Instances,
    ReturnTo,
    OpenerOrigin,
    IntegrationId,
    ExtraScopes,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    ChosenProvider,
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
                    .table(ConnectSessions::Table)
                    .col(pk_uuid(ConnectSessions::Id))
                    // Unique: the lookup when the link is opened.
                    .col(string_len_uniq(ConnectSessions::TokenHash, 128))
                    .col(string_len(ConnectSessions::UserId, 255))
                    // A JSON list of provider names.
                    .col(json(ConnectSessions::Providers))
                    // A JSON object: provider name → list of scopes.
                    .col(json(ConnectSessions::Scopes))
                    // A JSON object: provider name → configuration instance (an OpenEMR site).
                    .col(json(ConnectSessions::Instances))
                    // Exactly one of return_to / opener_origin is set.
                    .col(text_null(ConnectSessions::ReturnTo))
                    .col(string_len_null(ConnectSessions::OpenerOrigin, 255))
                    // An upgrade: the integration and the scopes added (no foreign key: a
                    // session outliving its integration is harmless and is purged anyway).
                    .col(uuid_null(ConnectSessions::IntegrationId))
                    .col(json_null(ConnectSessions::ExtraScopes))
                    .col(uuid_null(ConnectSessions::CreatedBy))
                    .col(timestamp_with_time_zone(ConnectSessions::CreatedAt))
                    .col(timestamp_with_time_zone(ConnectSessions::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ConnectSessions::UsedAt))
                    .col(string_len_null(ConnectSessions::ChosenProvider, 32))
                    .to_owned(),
            )
            .await?;
        // The purge of expired sessions.
        manager
            .create_index(
                Index::create()
                    .name("idx_connect_sessions_expires")
                    .table(ConnectSessions::Table)
                    .col(ConnectSessions::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ConnectSessions::Table).to_owned())
            .await
    }
}
