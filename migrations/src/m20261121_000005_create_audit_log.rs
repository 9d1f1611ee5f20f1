//! `audit_log`: append-only record of every operation. No foreign key to `integrations`:
//! the trail outlives the integration it names.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    IntegrationId,
    UserId,
    Actor,
    ActorId,
    Action,
    Provider,
    Scopes,
    IpAddress,
    UserAgent,
    Success,
    ErrorMessage,
    Detail,
    CreatedAt,
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
                    .table(AuditLog::Table)
                    // UUIDv7: ordering by id is ordering by time.
                    .col(pk_uuid(AuditLog::Id))
                    .col(uuid_null(AuditLog::IntegrationId))
                    .col(string_len_null(AuditLog::UserId, 255))
                    .col(string_len(AuditLog::Actor, 16))
                    .col(string_len_null(AuditLog::ActorId, 255))
                    .col(string_len(AuditLog::Action, 64))
                    .col(string_len_null(AuditLog::Provider, 32))
                    .col(json_null(AuditLog::Scopes))
                    .col(string_len_null(AuditLog::IpAddress, 64))
                    .col(text_null(AuditLog::UserAgent))
                    .col(boolean(AuditLog::Success))
                    .col(text_null(AuditLog::ErrorMessage))
                    .col(json_null(AuditLog::Detail))
                    .col(timestamp_with_time_zone(AuditLog::CreatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_audit_log_integration", AuditLog::IntegrationId),
            ("idx_audit_log_user", AuditLog::UserId),
            ("idx_audit_log_action", AuditLog::Action),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuditLog::Table)
                        .col(column)
                        .col(AuditLog::CreatedAt)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_created_at")
                    .table(AuditLog::Table)
                    .col(AuditLog::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await
    }
}
