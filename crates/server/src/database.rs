//! Opening the configured database and applying the migration policy: the embedded SQLite
//! database migrates itself, PostgreSQL refuses to serve an out-of-date schema.

use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use sea_orm::DatabaseConnection;
use tether_migrations::{Migrator, MigratorTrait};
use tether_storage::PoolOptions;

use crate::config::{Config, Database};
use crate::error::{ServerError, ServerResult};

/// Connects to the configured database, creating the data directory for the embedded one.
pub async fn open(config: &Config) -> ServerResult<DatabaseConnection> {
    open_with(config, config.db_max_connections).await
}

/// A pool of one connection, for schema changes: every DDL statement and the migration
/// bookkeeping then share one SQLite connection and its view of the schema.
pub async fn open_for_migrations(config: &Config) -> ServerResult<DatabaseConnection> {
    open_with(config, 1).await
}

async fn open_with(config: &Config, max_connections: u32) -> ServerResult<DatabaseConnection> {
    let url = match &config.database {
        Database::Embedded { path } => {
            create_private_dir(&config.data_dir)?;
            format!("sqlite://{}?mode=rwc", path.display())
        }
        Database::Url(url) => url.expose_secret().to_owned(),
    };
    let pool = PoolOptions {
        max_connections,
        ..PoolOptions::default()
    };
    tether_storage::connect(&url, pool)
        .await
        .map_err(ServerError::Connect)
}

/// Creates the data directory, readable by its owner only when newly created: it holds the
/// database and the key file.
pub fn create_private_dir(dir: &Path) -> ServerResult<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| ServerError::DataDir {
            dir: dir.display().to_string(),
            reason: e.to_string(),
        })
}

/// Applies pending migrations when `auto_migrate` allows it, and otherwise refuses to go on
/// with a schema the code does not match.
pub async fn prepare(conn: &DatabaseConnection, config: &Config) -> ServerResult<()> {
    // The read-only check creates nothing, so a role without DDL rights can run it.
    let pending = Migrator::get_pending_migrations_read_only(conn)
        .await
        .map_err(ServerError::migration)?
        .len();
    if pending == 0 {
        return Ok(());
    }
    if !config.auto_migrate {
        return Err(ServerError::PendingMigrations { count: pending });
    }
    tracing::info!(pending, "applying pending migrations");
    let migrations = open_for_migrations(config).await?;
    let result = Migrator::up(&migrations, None)
        .await
        .map_err(ServerError::migration);
    let _ = migrations.close().await;
    result
}
