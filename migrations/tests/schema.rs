//! The migration set on both engines: up → down → up, and every foreign key column indexed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

use sea_orm::ConnectionTrait;
use sea_orm_migration::MigratorTrait;
use tether_migrations::Migrator;
use tether_testkit::{Engine, TestDb};

const TABLES: [&str; 17] = [
    "integrations",
    "tokens",
    "scopes",
    "consents",
    "audit_log",
    "oauth_states",
    "provider_configs",
    "api_keys",
    "locks",
    "events",
    "app_token_states",
    "webhook_endpoints",
    "webhook_deliveries",
    "console_accounts",
    "console_grants",
    "console_sessions",
    "connect_sessions",
];

async fn table_names(db: &TestDb) -> Vec<String> {
    let sql = match db.engine {
        Engine::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        Engine::Postgres => {
            "SELECT table_name AS name FROM information_schema.tables \
             WHERE table_schema = 'public' ORDER BY table_name"
        }
    };
    texts(db, sql, "name").await
}

/// The text column `column` of every row `sql` returns.
async fn texts(db: &TestDb, sql: &str, column: &str) -> Vec<String> {
    db.query_all(sql)
        .await
        .iter()
        .map(|row| row.try_get::<String>("", column).unwrap())
        .collect()
}

async fn migrations_go_up_down_and_up_again(db: TestDb) {
    let all = Migrator::migrations().len();
    Migrator::up(&db.single_connection().await, None)
        .await
        .unwrap();
    let tables = table_names(&db).await;
    for table in TABLES {
        assert!(
            tables.iter().any(|t| t == table),
            "{table} missing after up: {tables:?}"
        );
    }
    assert_eq!(
        Migrator::get_applied_migrations(&db.conn)
            .await
            .unwrap()
            .len(),
        all
    );

    Migrator::down(&db.single_connection().await, None)
        .await
        .unwrap();
    let tables = table_names(&db).await;
    for table in TABLES {
        assert!(
            !tables.iter().any(|t| t == table),
            "{table} left after down: {tables:?}"
        );
    }
    assert!(
        Migrator::get_applied_migrations(&db.conn)
            .await
            .unwrap()
            .is_empty()
    );

    Migrator::up(&db.single_connection().await, None)
        .await
        .unwrap();
    assert_eq!(
        Migrator::get_applied_migrations(&db.conn)
            .await
            .unwrap()
            .len(),
        all
    );
    // The schema works after the round trip, not just exists.
    db.execute(
        "INSERT INTO api_keys (id, name, role, prefix, key_hash, created_at) \
         VALUES ('018f0000-0000-7000-8000-000000000001', 'k', 'admin', 'tk_x', 'h', '2026-01-01T00:00:00Z')",
    )
    .await;
}

/// (table, column) of every foreign key.
async fn foreign_key_columns(db: &TestDb) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match db.engine {
        Engine::Sqlite => {
            for table in TABLES {
                let rows = db
                    .query_all(&format!(
                        "SELECT \"from\" AS col FROM pragma_foreign_key_list('{table}')"
                    ))
                    .await;
                for row in rows {
                    out.push((table.to_owned(), row.try_get::<String>("", "col").unwrap()));
                }
            }
        }
        Engine::Postgres => {
            let rows = db
                .query_all(
                    "SELECT kcu.table_name AS tbl, kcu.column_name AS col \
                     FROM information_schema.table_constraints tc \
                     JOIN information_schema.key_column_usage kcu \
                       ON tc.constraint_name = kcu.constraint_name AND tc.table_schema = kcu.table_schema \
                     WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = 'public'",
                )
                .await;
            for row in rows {
                out.push((
                    row.try_get::<String>("", "tbl").unwrap(),
                    row.try_get::<String>("", "col").unwrap(),
                ));
            }
        }
    }
    out
}

/// Whether some index on `table` has `column` as its first column.
async fn has_leading_index(db: &TestDb, table: &str, column: &str) -> bool {
    let sql = match db.engine {
        Engine::Sqlite => format!(
            "SELECT ii.name AS col FROM pragma_index_list('{table}') il \
             JOIN pragma_index_info(il.name) ii WHERE ii.seqno = 0"
        ),
        Engine::Postgres => format!(
            "SELECT a.attname AS col FROM pg_index i \
             JOIN pg_class t ON t.oid = i.indrelid \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0] \
             WHERE t.relname = '{table}'"
        ),
    };
    db.query_all(&sql)
        .await
        .iter()
        .any(|row| row.try_get::<String>("", "col").unwrap() == column)
}

async fn every_foreign_key_column_is_indexed(db: TestDb) {
    Migrator::up(&db.single_connection().await, None)
        .await
        .unwrap();
    let fks = foreign_key_columns(&db).await;
    assert!(
        fks.len() >= 2,
        "expected the tokens and consents foreign keys, found {fks:?}"
    );
    for (table, column) in fks {
        assert!(
            has_leading_index(&db, &table, &column).await,
            "foreign key column {table}.{column} has no index starting with it"
        );
    }
}

async fn the_schema_refuses_a_second_link_of_one_account_by_one_user(db: TestDb) {
    Migrator::up(&db.single_connection().await, None)
        .await
        .unwrap();
    let insert = |id: &str| {
        format!(
            "INSERT INTO integrations (id, user_id, provider, provider_account_id, status, \
             requested_scopes, granted_scopes, metadata, failure_count, created_at, updated_at, version) \
             VALUES ('{id}', 'u1', 'google', 'sub-1', 'active', '[]', '[]', '{{}}', 0, \
             '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 1)"
        )
    };
    db.execute(&insert("018f0000-0000-7000-8000-000000000001"))
        .await;
    let second = db
        .conn
        .execute_unprepared(&insert("018f0000-0000-7000-8000-000000000002"))
        .await;
    assert!(second.is_err(), "a duplicate account link must be refused");
}

/// PostgreSQL leaves room on `integrations` pages for heap-only `last_used_at` updates; down
/// takes the setting back.
async fn integrations_pages_keep_room_for_usage_updates(db: TestDb) {
    let options = |db: &TestDb| {
        let conn = db.conn.clone();
        async move {
            conn.query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT COALESCE(array_to_string(reloptions, ','), '') AS o FROM pg_class \
                 WHERE relname = 'integrations'",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<String>("", "o")
            .unwrap()
        }
    };
    Migrator::up(&db.single_connection().await, None)
        .await
        .unwrap();
    assert_eq!(options(&db).await, "fillfactor=70");
    // Migration 18 is the second newest.
    Migrator::down(&db.single_connection().await, Some(2))
        .await
        .unwrap();
    assert_eq!(options(&db).await, "");
}

/// `audit_log`'s indexes besides its primary key: names on SQLite, definitions on PostgreSQL.
async fn audit_indexes(db: &TestDb) -> Vec<String> {
    let sql = match db.engine {
        Engine::Sqlite => {
            "SELECT name AS ix FROM sqlite_master WHERE type = 'index' \
             AND tbl_name = 'audit_log' AND sql IS NOT NULL ORDER BY name"
        }
        Engine::Postgres => {
            "SELECT indexdef AS ix FROM pg_indexes WHERE tablename = 'audit_log' \
             AND indexname <> 'audit_log_pkey' ORDER BY indexname"
        }
    };
    texts(db, sql, "ix").await
}

/// Migration 19 gives `audit_log` indexes on (integration, id), (user, id) and (action, id) —
/// on PostgreSQL without token reads — and none on `created_at`; down puts the earlier indexes
/// back, and up again gives the same.
async fn audit_log_keeps_lean_indexes(db: TestDb) {
    Migrator::up(&db.single_connection().await, None)
        .await
        .unwrap();
    let lean = audit_indexes(&db).await;
    Migrator::down(&db.single_connection().await, Some(1))
        .await
        .unwrap();
    let before = audit_indexes(&db).await;
    let old = [
        "idx_audit_log_action ON public.audit_log USING btree (action, created_at)",
        "idx_audit_log_created_at ON public.audit_log USING btree (created_at)",
        "idx_audit_log_integration ON public.audit_log USING btree (integration_id, created_at)",
        "idx_audit_log_user ON public.audit_log USING btree (user_id, created_at)",
    ];
    match db.engine {
        Engine::Sqlite => {
            assert_eq!(
                lean,
                [
                    "idx_audit_log_action_id",
                    "idx_audit_log_integration_id",
                    "idx_audit_log_user_id"
                ]
            );
            let names: Vec<_> = old.iter().map(|o| o.split(' ').next().unwrap()).collect();
            assert_eq!(before, names);
        }
        Engine::Postgres => {
            assert_eq!(
                lean,
                [
                    "CREATE INDEX idx_audit_log_action_id ON public.audit_log USING btree \
                     (action, id) WHERE ((action)::text <> 'token_read'::text)",
                    "CREATE INDEX idx_audit_log_integration_id ON public.audit_log USING btree \
                     (integration_id, id)",
                    "CREATE INDEX idx_audit_log_user_id ON public.audit_log USING btree \
                     (user_id, id)",
                ]
            );
            let old: Vec<_> = old.iter().map(|o| format!("CREATE INDEX {o}")).collect();
            assert_eq!(before, old);
        }
    }
    Migrator::up(&db.single_connection().await, None)
        .await
        .unwrap();
    assert_eq!(audit_indexes(&db).await, lean, "up again");
}

mod sqlite {
    use super::*;

    #[tokio::test]
    async fn audit_log_keeps_lean_indexes() {
        super::audit_log_keeps_lean_indexes(TestDb::empty(Engine::Sqlite).await).await;
    }

    #[tokio::test]
    async fn migrations_go_up_down_and_up_again() {
        super::migrations_go_up_down_and_up_again(TestDb::empty(Engine::Sqlite).await).await;
    }

    #[tokio::test]
    async fn every_foreign_key_column_is_indexed() {
        super::every_foreign_key_column_is_indexed(TestDb::empty(Engine::Sqlite).await).await;
    }

    #[tokio::test]
    async fn the_schema_refuses_a_second_link_of_one_account_by_one_user() {
        super::the_schema_refuses_a_second_link_of_one_account_by_one_user(
            TestDb::empty(Engine::Sqlite).await,
        )
        .await;
    }
}

mod postgres {
    use super::*;

    #[tokio::test]
    async fn audit_log_keeps_lean_indexes() {
        super::audit_log_keeps_lean_indexes(TestDb::empty(Engine::Postgres).await).await;
    }

    #[tokio::test]
    async fn integrations_pages_keep_room_for_usage_updates() {
        super::integrations_pages_keep_room_for_usage_updates(
            TestDb::empty(Engine::Postgres).await,
        )
        .await;
    }

    #[tokio::test]
    async fn migrations_go_up_down_and_up_again() {
        super::migrations_go_up_down_and_up_again(TestDb::empty(Engine::Postgres).await).await;
    }

    #[tokio::test]
    async fn every_foreign_key_column_is_indexed() {
        super::every_foreign_key_column_is_indexed(TestDb::empty(Engine::Postgres).await).await;
    }

    #[tokio::test]
    async fn the_schema_refuses_a_second_link_of_one_account_by_one_user() {
        super::the_schema_refuses_a_second_link_of_one_account_by_one_user(
            TestDb::empty(Engine::Postgres).await,
        )
        .await;
    }
}
