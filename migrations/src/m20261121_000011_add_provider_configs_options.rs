//! `provider_configs.options`: provider-specific options entered at run time (Microsoft's
//! `tenant`, Dexcom's `region`, …), as a JSON object of strings.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ProviderConfigs {
    Table,
    Options,
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
                    .table(ProviderConfigs::Table)
                    .add_column(json_null(ProviderConfigs::Options))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ProviderConfigs::Table)
                    .drop_column(ProviderConfigs::Options)
                    .to_owned(),
            )
            .await
    }
}
