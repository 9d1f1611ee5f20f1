//! `provider_configs`: client credentials and endpoint overrides entered at run time.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ProviderConfigs {
    Table,
    Id,
    Provider,
    /// Tells apart several configurations of one provider (OpenEMR sites); '' for the usual one.
    Instance,
    ClientId,
    /// Fernet ciphertext.
    ClientSecret,
    RedirectBase,
    EndpointOverrides,
    SiteUrl,
    Enabled,
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
                    .table(ProviderConfigs::Table)
                    .col(pk_uuid(ProviderConfigs::Id))
                    .col(string_len(ProviderConfigs::Provider, 32))
                    .col(string_len(ProviderConfigs::Instance, 128).default(""))
                    .col(string_len(ProviderConfigs::ClientId, 512))
                    .col(text_null(ProviderConfigs::ClientSecret))
                    .col(text_null(ProviderConfigs::RedirectBase))
                    .col(json(ProviderConfigs::EndpointOverrides))
                    .col(text_null(ProviderConfigs::SiteUrl))
                    .col(boolean(ProviderConfigs::Enabled).default(true))
                    .col(timestamp_with_time_zone(ProviderConfigs::CreatedAt))
                    .col(timestamp_with_time_zone(ProviderConfigs::UpdatedAt))
                    .col(big_integer(ProviderConfigs::Version).default(1))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_provider_configs_provider_instance")
                    .table(ProviderConfigs::Table)
                    .col(ProviderConfigs::Provider)
                    .col(ProviderConfigs::Instance)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProviderConfigs::Table).to_owned())
            .await
    }
}
