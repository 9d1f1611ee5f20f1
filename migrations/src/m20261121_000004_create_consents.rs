//! `consents`: one row per grant; revoked (`revoked_at`), never deleted.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261121_000001_create_integrations::Integrations;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Consents {
    Table,
    Id,
    IntegrationId,
    UserId,
    Scopes,
    GrantedAt,
    ExpiresAt,
    RevokedAt,
    IpAddress,
    UserAgent,
    ConsentVersion,
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
                    .table(Consents::Table)
                    .col(pk_uuid(Consents::Id))
                    .col(uuid(Consents::IntegrationId))
                    .col(string_len(Consents::UserId, 255))
                    .col(json(Consents::Scopes))
                    .col(timestamp_with_time_zone(Consents::GrantedAt))
                    .col(timestamp_with_time_zone_null(Consents::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Consents::RevokedAt))
                    .col(string_len_null(Consents::IpAddress, 64))
                    .col(text_null(Consents::UserAgent))
                    .col(string_len(Consents::ConsentVersion, 64))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_consents_integration")
                            .from(Consents::Table, Consents::IntegrationId)
                            .to(Integrations::Table, Integrations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_consents_integration")
                    .table(Consents::Table)
                    .col(Consents::IntegrationId)
                    .col(Consents::GrantedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_consents_user")
                    .table(Consents::Table)
                    .col(Consents::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Consents::Table).to_owned())
            .await
    }
}
