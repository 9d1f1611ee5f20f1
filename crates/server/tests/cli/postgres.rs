//! Against a real PostgreSQL server (`TETHER_TEST_POSTGRES_URL`): explicit migrations and
//! the production start-up checks.

use sea_orm_migration::MigratorTrait;
use tether_migrations::Migrator;
use tether_testkit::{Engine, TestDb};

use crate::support::{Scratch, new_key};

fn migration_names() -> Vec<String> {
    Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect()
}

/// `(status, name)` for each line of `tether migrate status`.
fn status(scratch: &Scratch, url: &str) -> Vec<(String, String)> {
    let out = scratch
        .run(&["migrate", "status"], &[("TETHER_DATABASE_URL", url)])
        .assert_ok()
        .stdout();
    out.lines()
        .map(|l| {
            let (status, name) = l.split_once(' ').unwrap();
            (status.to_owned(), name.trim().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn migrate_up_then_status_lists_every_migration_as_applied() {
    let db = TestDb::empty(Engine::Postgres).await;
    let scratch = Scratch::new();
    let names = migration_names();
    let before = status(&scratch, &db.url);
    assert_eq!(
        before,
        names
            .iter()
            .map(|n| ("pending".to_owned(), n.clone()))
            .collect::<Vec<_>>()
    );

    // No encryption key needed: a migration job only gets the database URL.
    let up = scratch.run(&["migrate", "up"], &[("TETHER_DATABASE_URL", &db.url)]);
    assert_eq!(
        up.assert_ok().stdout().trim(),
        format!("applied {} migrations", names.len())
    );

    let after = status(&scratch, &db.url);
    assert_eq!(
        after,
        names
            .iter()
            .map(|n| ("applied".to_owned(), n.clone()))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn migrate_down_rolls_back_one_step_and_fresh_restores_everything() {
    let db = TestDb::new(Engine::Postgres).await;
    let scratch = Scratch::new();
    let env = [("TETHER_DATABASE_URL", db.url.as_str())];
    scratch.run(&["migrate", "down"], &env).assert_ok();
    let after_down = status(&scratch, &db.url);
    let pending: Vec<_> = after_down.iter().filter(|(s, _)| s == "pending").collect();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].1, *migration_names().last().unwrap());

    scratch
        .run(&["migrate", "fresh", "--yes"], &env)
        .assert_ok();
    assert!(
        status(&scratch, &db.url)
            .iter()
            .all(|(s, _)| s == "applied")
    );
}

#[tokio::test]
async fn serve_refuses_to_start_with_pending_migrations() {
    let db = TestDb::empty(Engine::Postgres).await;
    let scratch = Scratch::new();
    let key = new_key();
    let run = scratch.run(
        &["serve"],
        &[
            ("TETHER_DATABASE_URL", &db.url),
            ("TETHER_ENCRYPTION_KEYS", &key),
        ],
    );
    assert_eq!(
        run.error(),
        format!(
            "{} pending migrations: run `tether migrate up` (or set TETHER_AUTO_MIGRATE=true)",
            migration_names().len()
        )
    );
}

#[tokio::test]
async fn serve_on_a_migrated_database_is_ready_and_logs_json() {
    let db = TestDb::new(Engine::Postgres).await;
    let scratch = Scratch::new();
    let key = new_key();
    let server = scratch.serve(&[
        ("TETHER_DATABASE_URL", &db.url),
        ("TETHER_ENCRYPTION_KEYS", &key),
    ]);
    let response = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let (clean, logs) = server.terminate();
    assert!(clean);
    assert!(
        logs.iter()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{logs:?}"
    );
}

#[tokio::test]
async fn auto_migrate_lets_serve_apply_the_schema_itself() {
    let db = TestDb::empty(Engine::Postgres).await;
    let scratch = Scratch::new();
    let key = new_key();
    let env = [
        ("TETHER_DATABASE_URL", db.url.as_str()),
        ("TETHER_ENCRYPTION_KEYS", key.as_str()),
        ("TETHER_AUTO_MIGRATE", "true"),
    ];
    let server = scratch.serve(&env);
    assert_eq!(
        reqwest::get(server.url("/readyz"))
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert!(
        status(&scratch, &db.url)
            .iter()
            .all(|(s, _)| s == "applied")
    );
}

#[tokio::test]
async fn readiness_fails_while_the_database_is_gone_but_liveness_holds() {
    let db = TestDb::new(Engine::Postgres).await;
    let scratch = Scratch::new();
    let key = new_key();
    let server = scratch.serve(&[
        ("TETHER_DATABASE_URL", &db.url),
        ("TETHER_ENCRYPTION_KEYS", &key),
    ]);
    assert_eq!(
        reqwest::get(server.url("/readyz"))
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    drop(db); // drops the database, closing the server's connections

    let response = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(response.status().as_u16(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "not_ready");
    assert_ne!(body["checks"]["database"], "ok");
    let live = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(live.status().as_u16(), 200);
}
