//! Opening the database: one function for both engines, used by the server and the tests.

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend};
use tether_core::{StorageError, StorageResult};

/// Which engine a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// Recognises `sqlite:` and `postgres:`/`postgresql:` URLs; anything else is an error that
    /// says which forms are accepted.
    pub fn of_url(url: &str) -> Result<Self, String> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Engine::Sqlite),
            "postgres" | "postgresql" => Ok(Engine::Postgres),
            _ => Err(
                "expected a URL starting with postgres:// (e.g. postgres://user@host:5432/tether) \
                 or sqlite:// (e.g. sqlite://./data/tether.db?mode=rwc)"
                    .to_owned(),
            ),
        }
    }

    pub fn of_backend(backend: DbBackend) -> Self {
        match backend {
            DbBackend::Sqlite => Engine::Sqlite,
            _ => Engine::Postgres,
        }
    }
}

/// Pool settings.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Connects to `url`. SQLite files are created when missing and opened in WAL mode with
/// foreign keys enforced and a busy timeout, so concurrent writers wait instead of failing.
pub async fn connect(url: &str, pool: PoolOptions) -> StorageResult<DatabaseConnection> {
    let engine = Engine::of_url(url).map_err(StorageError::Backend)?;
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(pool.max_connections)
        .min_connections(0)
        .acquire_timeout(pool.acquire_timeout)
        .connect_timeout(pool.acquire_timeout)
        // sqlx logs every statement at INFO otherwise.
        .sqlx_logging(false);
    if engine == Engine::Sqlite {
        options.map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
    }
    Database::connect(options)
        .await
        .map_err(|e| StorageError::Backend(redact_url_error(&e.to_string(), url)))
}

/// Connection errors can echo the URL, password included: cut it out.
fn redact_url_error(message: &str, url: &str) -> String {
    if url.is_empty() {
        message.to_owned()
    } else {
        message.replace(url, "[database url]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_are_recognised_from_urls() {
        assert_eq!(Engine::of_url("sqlite://x.db").unwrap(), Engine::Sqlite);
        assert_eq!(Engine::of_url("postgres://h/db").unwrap(), Engine::Postgres);
        assert_eq!(
            Engine::of_url("postgresql://h/db").unwrap(),
            Engine::Postgres
        );
        assert!(Engine::of_url("mysql://h/db").is_err());
        assert!(Engine::of_url("").is_err());
    }

    #[test]
    fn connection_errors_do_not_echo_the_url() {
        let url = "postgres://u:hunter2@h/db";
        let msg = redact_url_error(&format!("failed to connect to {url}"), url);
        assert!(!msg.contains("hunter2"));
    }
}
