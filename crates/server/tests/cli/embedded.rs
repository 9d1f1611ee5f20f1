//! `tether serve` with nothing configured: the embedded SQLite database and its key file.

use serde_json::{Value, json};

use crate::support::{Scratch, mode, new_key, store_secret_encrypted_with};

async fn get_json(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn serve_with_nothing_configured_is_healthy_ready_and_keeps_a_private_key() {
    let scratch = Scratch::new();
    let server = scratch.serve(&[]);
    assert_eq!(
        get_json(&server.url("/healthz")).await,
        (200, json!({ "status": "ok" }))
    );
    assert_eq!(
        get_json(&server.url("/readyz")).await,
        (
            200,
            json!({
                "status": "ready",
                "checks": { "database": "ok" },
                // SQLite without Redis: one process, short cache entries.
                "detail": { "read_cache": "short" }
            })
        )
    );
    assert!(scratch.data_dir().join("tether.db").is_file());
    assert_eq!(mode(&scratch.key_file()), 0o600);
    assert_eq!(mode(&scratch.data_dir()), 0o700);
    let key = std::fs::read_to_string(scratch.key_file()).unwrap();
    assert!(
        fernet::Fernet::new(key.trim()).is_some(),
        "not a key: {key:?}"
    );
}

#[tokio::test]
async fn a_second_start_reuses_the_key_file_and_still_serves() {
    let scratch = Scratch::new();
    let first = scratch.serve(&[]);
    let key = std::fs::read(scratch.key_file()).unwrap();
    drop(first);
    let second = scratch.serve(&[]);
    assert_eq!(std::fs::read(scratch.key_file()).unwrap(), key);
    assert_eq!(get_json(&second.url("/readyz")).await.0, 200);
}

#[tokio::test]
async fn a_data_dir_from_the_environment_is_used() {
    let scratch = Scratch::new();
    let elsewhere = scratch.dir.path().join("elsewhere");
    let _server = scratch.serve(&[("TETHER_DATA_DIR", elsewhere.to_str().unwrap())]);
    assert!(elsewhere.join("tether.db").is_file());
    assert_eq!(mode(&elsewhere.join("tether.key")), 0o600);
    assert!(!scratch.data_dir().exists());
}

#[tokio::test]
async fn sigterm_stops_the_server_gracefully() {
    let scratch = Scratch::new();
    let server = scratch.serve(&[]);
    assert_eq!(get_json(&server.url("/healthz")).await.0, 200);
    let (clean, logs) = server.terminate();
    assert!(clean, "exit was not clean:\n{}", logs.join("\n"));
    assert!(
        logs.iter().any(|l| l.contains("shutting down")),
        "{}",
        logs.join("\n")
    );
}

#[tokio::test]
async fn a_wrong_key_is_refused_rather_than_serving_as_if_no_secret_were_stored() {
    let scratch = Scratch::new();
    scratch.run(&["migrate", "up"], &[]).assert_ok();
    let old_key = new_key();
    let db_url = format!(
        "sqlite://{}?mode=rwc",
        scratch.data_dir().join("tether.db").display()
    );
    store_secret_encrypted_with(&db_url, &old_key).await;

    // No key configured: a new key file is generated, and it reads none of the stored data.
    let refused = scratch.run(&["serve"], &[]).error();
    assert_eq!(
        refused,
        "stored tokens exist but none can be decrypted with the configured encryption keys — \
         wrong TETHER_ENCRYPTION_KEYS? (a wrong key must not look like all tokens gone)"
    );
    // With the key the data was written with, it serves.
    let server = scratch.serve(&[("TETHER_ENCRYPTION_KEYS", &old_key)]);
    assert_eq!(get_json(&server.url("/readyz")).await.0, 200);
}

#[tokio::test]
async fn a_damaged_key_file_stops_serve_and_is_left_alone() {
    let scratch = Scratch::new();
    std::fs::create_dir_all(scratch.data_dir()).unwrap();
    std::fs::write(scratch.key_file(), "not a key\n").unwrap();
    let message = scratch.run(&["serve"], &[]).error();
    assert!(message.starts_with("the encryption key file"), "{message}");
    assert!(
        message.contains("refusing to start rather than generate a new key"),
        "{message}"
    );
    assert_eq!(
        std::fs::read_to_string(scratch.key_file()).unwrap(),
        "not a key\n"
    );
}
