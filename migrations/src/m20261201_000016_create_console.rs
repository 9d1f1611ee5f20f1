//! The console's accounts, their grants of provider instances, and their sessions. Passwords
//! are argon2id hashes and session tokens SHA-256 hashes: nothing here signs anyone in.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ConsoleAccounts {
    Table,
    Id,
    Username,
    Role,
    PasswordHash,
    DisabledAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ConsoleGrants {
    Table,
    AccountId,
    Provider,
    Instance,
}

#[derive(DeriveIden)]
enum ConsoleSessions {
    Table,
    Id,
    AccountId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
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
                    .table(ConsoleAccounts::Table)
                    .col(pk_uuid(ConsoleAccounts::Id))
                    .col(string_len_uniq(ConsoleAccounts::Username, 64))
                    .col(string_len(ConsoleAccounts::Role, 16))
                    .col(string_len(ConsoleAccounts::PasswordHash, 255))
                    .col(timestamp_with_time_zone_null(ConsoleAccounts::DisabledAt))
                    .col(timestamp_with_time_zone(ConsoleAccounts::CreatedAt))
                    .col(timestamp_with_time_zone(ConsoleAccounts::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConsoleGrants::Table)
                    .col(uuid(ConsoleGrants::AccountId))
                    .col(string_len(ConsoleGrants::Provider, 32))
                    .col(string_len(ConsoleGrants::Instance, 64))
                    // The primary key starts with the account: it is the foreign key's index.
                    .primary_key(
                        Index::create()
                            .col(ConsoleGrants::AccountId)
                            .col(ConsoleGrants::Provider)
                            .col(ConsoleGrants::Instance),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_console_grants_account")
                            .from(ConsoleGrants::Table, ConsoleGrants::AccountId)
                            .to(ConsoleAccounts::Table, ConsoleAccounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConsoleSessions::Table)
                    .col(pk_uuid(ConsoleSessions::Id))
                    .col(uuid(ConsoleSessions::AccountId))
                    // Unique: the lookup on every console request.
                    .col(string_len_uniq(ConsoleSessions::TokenHash, 128))
                    .col(timestamp_with_time_zone(ConsoleSessions::CreatedAt))
                    .col(timestamp_with_time_zone(ConsoleSessions::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_console_sessions_account")
                            .from(ConsoleSessions::Table, ConsoleSessions::AccountId)
                            .to(ConsoleAccounts::Table, ConsoleAccounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // "Sign out everywhere" and the foreign key's index.
        manager
            .create_index(
                Index::create()
                    .name("idx_console_sessions_account")
                    .table(ConsoleSessions::Table)
                    .col(ConsoleSessions::AccountId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_console_sessions_expires")
                    .table(ConsoleSessions::Table)
                    .col(ConsoleSessions::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ConsoleSessions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ConsoleGrants::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ConsoleAccounts::Table).to_owned())
            .await
    }
}
