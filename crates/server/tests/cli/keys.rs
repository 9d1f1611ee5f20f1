//! `tether keys generate|rotate`.

use crate::support::{Scratch, new_key, store_secret_encrypted_with};

#[test]
fn keys_generate_prints_a_new_valid_fernet_key_each_time() {
    let scratch = Scratch::new();
    let first = scratch.run(&["keys", "generate"], &[]).assert_ok().stdout();
    let second = scratch.run(&["keys", "generate"], &[]).stdout();
    assert!(fernet::Fernet::new(first.trim()).is_some(), "{first:?}");
    assert_eq!(first.lines().count(), 1);
    assert_ne!(first, second);
}

#[test]
fn keys_rotate_on_a_new_embedded_database_reports_nothing_to_do() {
    let scratch = Scratch::new();
    let run = scratch.run(&["keys", "rotate"], &[]);
    let report = run.assert_ok().stdout();
    assert!(report.contains("tokens"), "{report}");
    assert!(
        report.contains("0 values re-encrypted with the newest key"),
        "{report}"
    );
}

#[tokio::test]
async fn keys_rotate_re_encrypts_so_the_old_key_can_be_dropped() {
    let scratch = Scratch::new();
    let (old, new) = (new_key(), new_key());
    scratch.run(&["migrate", "up"], &[]).assert_ok();
    let db_url = format!(
        "sqlite://{}?mode=rwc",
        scratch.data_dir().join("tether.db").display()
    );
    store_secret_encrypted_with(&db_url, &old).await;

    let both = format!("{new},{old}");
    let run = scratch.run(
        &["keys", "rotate", "--batch-size", "1"],
        &[("TETHER_ENCRYPTION_KEYS", &both)],
    );
    let report = run.assert_ok().stdout();
    assert!(
        report.contains("1 values re-encrypted with the newest key"),
        "{report}"
    );

    // Only the new key now: the stored secret is still readable, so serve starts.
    let server = scratch.serve(&[("TETHER_ENCRYPTION_KEYS", &new)]);
    let status = reqwest::get(server.url("/readyz")).await.unwrap().status();
    assert_eq!(status.as_u16(), 200);
}
