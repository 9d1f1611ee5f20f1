//! Start-up refusals and `check-config`: one `error: …` line naming the setting, non-zero exit.

use crate::support::{Scratch, new_key};

#[test]
fn serve_with_postgres_and_no_key_exits_with_instructions() {
    let scratch = Scratch::new();
    let run = scratch.run(
        &["serve"],
        &[(
            "TETHER_DATABASE_URL",
            "postgres://tether:hunter2@127.0.0.1:1/tether",
        )],
    );
    let message = run.error();
    assert!(
        message.starts_with("TETHER_ENCRYPTION_KEYS is required with PostgreSQL"),
        "{message}"
    );
    assert!(message.contains("`tether keys generate`"), "{message}");
    assert!(!run.stderr().contains("hunter2"));
}

#[test]
fn serve_with_postgres_and_no_jwt_setting_exits_with_instructions() {
    let scratch = Scratch::new();
    let key = scratch.run(&["keys", "generate"], &[]).stdout();
    let run = scratch.run(
        &["serve"],
        &[
            (
                "TETHER_DATABASE_URL",
                "postgres://tether:hunter2@127.0.0.1:1/tether",
            ),
            ("TETHER_ENCRYPTION_KEYS", key.trim()),
            ("TETHER_JWT_SECRET", ""),
        ],
    );
    let message = run.error();
    assert!(
        message.starts_with("with PostgreSQL, user JWTs must be verifiable"),
        "{message}"
    );
    assert!(message.contains("TETHER_JWT_JWKS_URL"), "{message}");
}

#[test]
fn an_unknown_setting_stops_the_binary_and_is_named() {
    let scratch = Scratch::new();
    let message = scratch
        .run(&["serve"], &[("TETHER_DATABSE_URL", "sqlite://x.db")])
        .error();
    assert!(
        message.starts_with("unknown setting `TETHER_DATABSE_URL` in the environment"),
        "{message}"
    );
    assert!(
        !scratch.data_dir().exists(),
        "nothing should be created on a refused start"
    );
}

#[test]
fn a_bad_database_url_is_named_with_the_accepted_forms() {
    let scratch = Scratch::new();
    let message = scratch
        .run(
            &["check-config"],
            &[("TETHER_DATABASE_URL", "mysql://root:pw@db/x")],
        )
        .error();
    assert!(
        message.starts_with("TETHER_DATABASE_URL is not a valid database URL"),
        "{message}"
    );
    assert!(
        message.contains("postgres://") && message.contains("sqlite://"),
        "{message}"
    );
}

#[test]
fn check_config_prints_the_effective_configuration_without_secrets() {
    let scratch = Scratch::new();
    let key = new_key();
    std::fs::write(
        scratch.dir.path().join("tether.toml"),
        "public_url = \"https://tether.example.com\"\n",
    )
    .unwrap();
    let run = scratch.run(
        &["check-config"],
        &[
            (
                "TETHER_DATABASE_URL",
                "postgres://tether:hunter2@db.internal:5432/tether",
            ),
            ("TETHER_ENCRYPTION_KEYS", &key),
        ],
    );
    let out = run.assert_ok().stdout();
    assert!(!out.contains("hunter2") && !out.contains(&key), "{out}");
    assert!(
        out.contains("postgres://tether:redacted@db.internal:5432/tether"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("public_url") && l.ends_with("https://tether.example.com/")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("auto_migrate") && l.ends_with("false")),
        "{out}"
    );
}

#[test]
fn migrate_fresh_without_yes_refuses_and_touches_nothing() {
    let scratch = Scratch::new();
    let message = scratch.run(&["migrate", "fresh"], &[]).error();
    assert!(message.contains("--yes"), "{message}");
    assert!(!scratch.data_dir().exists());
}

#[test]
fn a_port_in_use_is_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let scratch = Scratch::new();
    let message = scratch
        .run(&["serve"], &[("TETHER_LISTEN", &address)])
        .error();
    assert!(
        message.starts_with(&format!("cannot listen on {address} (TETHER_LISTEN)")),
        "{message}"
    );
}
