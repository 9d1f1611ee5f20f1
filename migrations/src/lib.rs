//! Tether's schema: one migration set that runs on SQLite (embedded) and PostgreSQL.
//!
//! Portable types only (json instead of arrays, text for ciphertexts, uuid keys). Each change
//! is one file, never edited once landed, and each has a working `down`. This crate never
//! imports the storage entities: the schema is written out here on its own.

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_create_integrations;
mod m20261121_000002_create_tokens;
mod m20261121_000003_create_scopes;
mod m20261121_000004_create_consents;
mod m20261121_000005_create_audit_log;
mod m20261121_000006_create_oauth_states;
mod m20261121_000007_create_provider_configs;
mod m20261121_000008_create_api_keys;
mod m20261121_000009_create_locks;
mod m20261121_000010_add_tokens_launch_context;
mod m20261121_000011_add_provider_configs_options;
mod m20261201_000012_add_integrations_refresh_claim;
mod m20261201_000013_create_events;
mod m20261201_000014_create_webhooks;
mod m20261201_000015_create_sandbox_snapshots;
mod m20261201_000016_create_console;
mod m20261201_000017_create_connect_sessions;
mod m20261202_000018_integrations_fillfactor;
mod m20261202_000019_audit_log_lean_indexes;

/// Every migration, oldest first.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_create_integrations::Migration),
            Box::new(m20261121_000002_create_tokens::Migration),
            Box::new(m20261121_000003_create_scopes::Migration),
            Box::new(m20261121_000004_create_consents::Migration),
            Box::new(m20261121_000005_create_audit_log::Migration),
            Box::new(m20261121_000006_create_oauth_states::Migration),
            Box::new(m20261121_000007_create_provider_configs::Migration),
            Box::new(m20261121_000008_create_api_keys::Migration),
            Box::new(m20261121_000009_create_locks::Migration),
            Box::new(m20261121_000010_add_tokens_launch_context::Migration),
            Box::new(m20261121_000011_add_provider_configs_options::Migration),
            Box::new(m20261201_000012_add_integrations_refresh_claim::Migration),
            Box::new(m20261201_000013_create_events::Migration),
            Box::new(m20261201_000014_create_webhooks::Migration),
            Box::new(m20261201_000015_create_sandbox_snapshots::Migration),
            Box::new(m20261201_000016_create_console::Migration),
            Box::new(m20261201_000017_create_connect_sessions::Migration),
            Box::new(m20261202_000018_integrations_fillfactor::Migration),
            Box::new(m20261202_000019_audit_log_lean_indexes::Migration),
        ]
    }
}
