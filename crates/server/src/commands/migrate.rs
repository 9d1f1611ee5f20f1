//! `tether migrate up|down|status|fresh`: the schema, applied on purpose.

use std::path::Path;

use sea_orm::DatabaseConnection;
use sea_orm_migration::{MigrationStatus, MigratorTrait};
use tether_migrations::Migrator;

use serde_json::json;
use tether_core::audit::AuditAction;

use super::{audit, command_event, load, print};
use crate::cli::MigrateCommand;
use crate::database;
use crate::error::{ServerError, ServerResult};

pub async fn run(file: Option<&Path>, command: MigrateCommand) -> ServerResult<()> {
    if matches!(command, MigrateCommand::Fresh { yes: false }) {
        return Err(ServerError::Usage(
            "`tether migrate fresh` drops every table and all stored data, then re-applies \
             every migration; run it again with --yes to confirm"
                .to_owned(),
        ));
    }
    let config = load(file, false)?;
    let conn = database::open_for_migrations(&config).await?;
    let result = match command {
        MigrateCommand::Up => up(&conn).await,
        MigrateCommand::Down { steps } => down(&conn, steps).await,
        MigrateCommand::Status => status(&conn).await,
        MigrateCommand::Fresh { .. } => fresh(&conn).await,
    };
    let _ = conn.close().await;
    result
}

async fn up(conn: &DatabaseConnection) -> ServerResult<()> {
    let before = applied(conn).await?;
    Migrator::up(conn, None)
        .await
        .map_err(ServerError::migration)?;
    let count = applied(conn).await? - before;
    if count > 0 {
        audit(conn, migrated("migrate up", count, applied(conn).await?)).await?;
    }
    print([match count {
        0 => "the schema is up to date: nothing to apply".to_owned(),
        n => format!("applied {n} migration{}", plural(n)),
    }])
}

async fn down(conn: &DatabaseConnection, steps: u32) -> ServerResult<()> {
    let before = applied(conn).await?;
    // Recorded before the rollback, while the audit table surely exists: rolling back far
    // enough removes it.
    let mut event = migrated("migrate down", 0, before);
    if let Some(detail) = event.detail.as_mut() {
        detail["steps_requested"] = json!(steps);
    }
    audit(conn, event).await?;
    Migrator::down(conn, Some(steps))
        .await
        .map_err(ServerError::migration)?;
    let count = before - applied(conn).await?;
    print([format!("rolled back {count} migration{}", plural(count))])
}

async fn status(conn: &DatabaseConnection) -> ServerResult<()> {
    let migrations = Migrator::get_migration_with_status_read_only(conn)
        .await
        .map_err(ServerError::migration)?;
    print(migrations.iter().map(|m| {
        let status = match m.status() {
            MigrationStatus::Applied => "applied",
            MigrationStatus::Pending => "pending",
        };
        format!("{status:<8} {}", m.name())
    }))
}

async fn fresh(conn: &DatabaseConnection) -> ServerResult<()> {
    Migrator::fresh(conn)
        .await
        .map_err(ServerError::migration)?;
    let count = applied(conn).await?;
    audit(conn, migrated("migrate fresh", count, count)).await?;
    print([format!(
        "dropped every table and applied {count} migration{}",
        plural(count)
    )])
}

async fn applied(conn: &DatabaseConnection) -> ServerResult<usize> {
    let migrations = Migrator::get_applied_migrations_read_only(conn)
        .await
        .map_err(ServerError::migration)?;
    Ok(migrations.len())
}

/// The audit record of a schema change.
fn migrated(
    command: &str,
    applied_now: usize,
    applied_total: usize,
) -> tether_core::audit::AuditEvent {
    command_event(
        AuditAction::SchemaMigrated,
        command,
        json!({ "migrations_applied": applied_now, "schema_version": applied_total }),
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
