//! Test helpers: a fresh, migrated SQLite or PostgreSQL database per test, so tests run in
//! parallel and in any order against real engines.
//!
//! PostgreSQL tests need `TETHER_TEST_POSTGRES_URL` (an admin URL such as
//! `postgres://postgres@127.0.0.1:5432/postgres`); `scripts/test` sets it when a server is
//! reachable and otherwise skips the tests whose path contains `postgres::`. A PostgreSQL
//! test run without the variable fails loudly instead of passing without testing anything.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use sea_orm_migration::MigratorTrait;
use tether_migrations::Migrator;
pub use tether_storage::Engine;
use tether_storage::PoolOptions;

pub const POSTGRES_URL_VAR: &str = "TETHER_TEST_POSTGRES_URL";
pub const REDIS_URL_VAR: &str = "TETHER_TEST_REDIS_URL";

/// The admin PostgreSQL URL for tests. Panics with instructions when it is not set.
pub fn postgres_admin_url() -> String {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "this test needs PostgreSQL: set {POSTGRES_URL_VAR}=postgres://postgres@127.0.0.1:5432/postgres \
             (scripts/test does this when a server is reachable, and skips PostgreSQL tests otherwise)"
        ),
    }
}

/// The Redis URL for tests. Panics with instructions when it is not set.
pub fn redis_url() -> String {
    match std::env::var(REDIS_URL_VAR) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "this test needs Redis: set {REDIS_URL_VAR}=redis://127.0.0.1:6379 \
             (scripts/test does this when a server is reachable, and skips Redis tests otherwise)"
        ),
    }
}

/// A database that exists for one test and is dropped after it.
#[derive(Debug)]
pub struct TestDb {
    pub conn: DatabaseConnection,
    pub url: String,
    pub engine: Engine,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// A fresh database with every migration applied.
    pub async fn new(engine: Engine) -> Self {
        let db = Self::empty(engine).await;
        let migrations = db.single_connection().await;
        Migrator::up(&migrations, None)
            .await
            .expect("migrations apply to a fresh database");
        let _ = migrations.close().await;
        db
    }

    /// A fresh database with no tables.
    pub async fn empty(engine: Engine) -> Self {
        let (url, cleanup) = match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("tether.db").display()
                );
                (url, Cleanup::Sqlite(dir))
            }
            Engine::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("tether_test_{}", uuid::Uuid::new_v4().simple());
                let admin = tether_storage::connect(&admin_url, small_pool())
                    .await
                    .expect("connect to the PostgreSQL admin database");
                admin
                    .execute_raw(Statement::from_string(
                        DbBackend::Postgres,
                        format!("CREATE DATABASE \"{name}\""),
                    ))
                    .await
                    .expect("create a test database");
                let _ = admin.close().await;
                let url = with_database(&admin_url, &name);
                (url, Cleanup::Postgres { admin_url, name })
            }
        };
        let conn = tether_storage::connect(&url, PoolOptions::default())
            .await
            .expect("connect to the test database");
        Self {
            conn,
            url,
            engine,
            cleanup,
        }
    }

    /// A separate pool of one connection to this database, as schema changes use.
    pub async fn single_connection(&self) -> DatabaseConnection {
        tether_storage::connect(&self.url, small_pool())
            .await
            .expect("connect to the test database")
    }

    /// Runs raw SQL, for tests that must look under the repositories (raw column bytes).
    pub async fn query_all(&self, sql: &str) -> Vec<sea_orm::QueryResult> {
        self.conn
            .query_all_raw(Statement::from_string(
                self.conn.get_database_backend(),
                sql,
            ))
            .await
            .expect("raw query")
    }

    /// Runs a raw SQL statement.
    pub async fn execute(&self, sql: &str) {
        self.conn
            .execute_raw(Statement::from_string(
                self.conn.get_database_backend(),
                sql,
            ))
            .await
            .expect("raw statement");
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop is synchronous and may run inside a runtime: do the async cleanup on a
            // thread of its own. FORCE closes the test's pooled connections.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async {
                    if let Ok(admin) = tether_storage::connect(&admin_url, small_pool()).await {
                        let _ = admin
                            .execute_raw(Statement::from_string(
                                DbBackend::Postgres,
                                format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                            ))
                            .await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

fn small_pool() -> PoolOptions {
    PoolOptions {
        max_connections: 1,
        ..PoolOptions::default()
    }
}

/// The same server URL with another database name.
pub fn with_database(url: &str, name: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("a valid PostgreSQL URL");
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}

/// Generates one `#[tokio::test]` per engine for each named `async fn(TestDb)`: tests named
/// `sqlite::NAME` and `postgres::NAME`, so runners can select an engine by path.
#[macro_export]
macro_rules! engine_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::TestDb::new($crate::Engine::Sqlite).await).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::TestDb::new($crate::Engine::Postgres).await).await;
                }
            )+
        }
    };
}
