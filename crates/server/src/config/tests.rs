//! Loading configuration from files and the environment, isolated with figment's `Jail`.

// Jail's closures must return figment's (large) error type.
#![allow(clippy::result_large_err)]

use figment::Jail;

use super::*;

const PG_URL: &str = "postgres://tether:hunter2@db.internal:5432/tether";

/// Runs `f` in a scratch directory with an empty environment, restored afterwards.
fn jail(f: impl FnOnce(&mut Jail) -> figment::error::Result<()>) {
    Jail::expect_with(|jail| {
        jail.clear_env();
        f(jail)
    });
}

fn key() -> String {
    fernet::Fernet::generate_key()
}

fn load_err() -> String {
    Config::load(None).unwrap_err().to_string()
}

#[test]
fn postgres_without_a_key_is_refused_with_instructions() {
    jail(|jail| {
        jail.set_env("TETHER_DATABASE_URL", PG_URL);
        let message = load_err();
        assert!(
            message.starts_with("TETHER_ENCRYPTION_KEYS is required with PostgreSQL"),
            "{message}"
        );
        assert!(message.contains("`tether keys generate`"), "{message}");
        assert!(message.contains("TETHER_ENCRYPTION_KEYS_FILE"), "{message}");
        // Migrations never touch a secret, so a migration job needs only the URL.
        assert!(Config::load_without_keys(None).is_ok());
        Ok(())
    });
}

#[test]
fn an_unsupported_database_url_names_the_setting_and_the_accepted_forms() {
    jail(|jail| {
        jail.set_env("TETHER_DATABASE_URL", "mysql://root:pw@h/db");
        let message = load_err();
        assert!(message.starts_with("TETHER_DATABASE_URL is not a valid database URL"));
        assert!(message.contains("postgres://") && message.contains("sqlite://"));
        assert!(!message.contains("pw@"), "{message}");
        Ok(())
    });
}

#[test]
fn an_unknown_setting_in_the_file_is_named_with_a_suggestion() {
    jail(|jail| {
        jail.create_file("tether.toml", "databse_url = \"postgres://h/db\"\n")?;
        let message = load_err();
        assert!(
            message.starts_with(
                "unknown setting `databse_url` in tether.toml (did you mean `database_url`?); \
                 known settings: database_url, database_url_file, data_dir"
            ),
            "{message}"
        );
        Ok(())
    });
}

#[test]
fn an_unknown_tether_environment_variable_is_named() {
    jail(|jail| {
        jail.set_env("TETHER_LISTN", "127.0.0.1:1");
        let message = load_err();
        assert!(
            message.starts_with(
                "unknown setting `TETHER_LISTN` in the environment (did you mean `TETHER_LISTEN`?)"
            ),
            "{message}"
        );
        Ok(())
    });
}

#[test]
fn secrets_are_read_from_files_and_trimmed() {
    jail(|jail| {
        let (k1, k2) = (key(), key());
        jail.create_file("db_url", &format!("  {PG_URL}\n"))?;
        jail.create_file("keys", &format!("{k1},\n{k2}\n"))?;
        jail.create_file("tether.toml", "encryption_keys_file = \"keys\"\n")?;
        jail.set_env("TETHER_DATABASE_URL_FILE", "db_url");
        let config = Config::load(None).unwrap();
        let Database::Url(url) = &config.database else {
            panic!("expected a database URL, got {:?}", config.database)
        };
        assert_eq!(url.expose_secret(), PG_URL);
        let KeySource::Configured(keys) = &config.encryption_keys else {
            panic!("expected configured keys")
        };
        let keys: Vec<&str> = keys.iter().map(|k| k.expose_secret()).collect();
        assert_eq!(keys, [k1.as_str(), k2.as_str()]);
        Ok(())
    });
}

#[test]
fn a_secret_given_both_directly_and_as_a_file_is_refused() {
    jail(|jail| {
        jail.create_file("keys", &key())?;
        jail.set_env("TETHER_ENCRYPTION_KEYS", key());
        jail.set_env("TETHER_ENCRYPTION_KEYS_FILE", "keys");
        assert_eq!(
            load_err(),
            "TETHER_ENCRYPTION_KEYS and TETHER_ENCRYPTION_KEYS_FILE are both set; set only one of them"
        );
        Ok(())
    });
}

#[test]
fn a_missing_secret_file_is_named() {
    jail(|jail| {
        jail.set_env("TETHER_DATABASE_URL_FILE", "/nonexistent/db_url");
        let message = load_err();
        assert!(
            message.starts_with("cannot read TETHER_DATABASE_URL_FILE (/nonexistent/db_url)"),
            "{message}"
        );
        Ok(())
    });
}

#[test]
fn debug_output_of_the_config_contains_no_secret() {
    jail(|jail| {
        let k = key();
        jail.set_env("TETHER_DATABASE_URL", PG_URL);
        jail.set_env("TETHER_ENCRYPTION_KEYS", &k);
        let printed = format!("{:?}", Config::load(None).unwrap());
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains(&k), "{printed}");
        assert!(printed.contains("db.internal:5432"), "{printed}");
        Ok(())
    });
}

#[test]
fn an_invalid_key_is_named_by_its_position() {
    jail(|jail| {
        jail.set_env("TETHER_ENCRYPTION_KEYS", format!("{},not-a-key", key()));
        let message = load_err();
        assert!(
            message.starts_with("TETHER_ENCRYPTION_KEYS: key #2 of 2 is not a valid Fernet key"),
            "{message}"
        );
        assert!(!message.contains("not-a-key"), "{message}");
        Ok(())
    });
}

#[test]
fn defaults_give_the_embedded_database_and_a_key_file_in_the_data_dir() {
    jail(|_| {
        let config = Config::load(None).unwrap();
        assert!(
            matches!(&config.database, Database::Embedded { path } if path == Path::new("./data/tether.db"))
        );
        assert!(
            matches!(&config.encryption_keys, KeySource::KeyFile(p) if p == Path::new("./data/tether.key"))
        );
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert!(config.auto_migrate);
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert_eq!(config.db_max_connections, 10);
        Ok(())
    });
}

#[test]
fn postgres_defaults_to_json_logs_and_no_automatic_migrations() {
    jail(|jail| {
        jail.set_env("TETHER_DATABASE_URL", PG_URL);
        jail.set_env("TETHER_ENCRYPTION_KEYS", key());
        let config = Config::load(None).unwrap();
        assert!(!config.auto_migrate);
        assert_eq!(config.log_format, LogFormat::Json);
        Ok(())
    });
}

#[test]
fn the_environment_overrides_the_file() {
    jail(|jail| {
        jail.create_file(
            "custom.toml",
            "listen = \"0.0.0.0:9000\"\nlog_level = \"debug\"\n",
        )?;
        jail.set_env("TETHER_LISTEN", "127.0.0.1:0");
        let config = Config::load(Some(Path::new("custom.toml"))).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:0");
        assert_eq!(config.log_level, "debug");
        assert_eq!(
            config.config_file.as_deref(),
            Some(Path::new("custom.toml"))
        );
        Ok(())
    });
}

#[test]
fn a_value_of_the_wrong_type_names_its_variable() {
    jail(|jail| {
        jail.set_env("TETHER_AUTO_MIGRATE", "sometimes");
        let message = load_err();
        assert!(
            message.starts_with("invalid value for `auto_migrate` (TETHER_AUTO_MIGRATE)"),
            "{message}"
        );
        Ok(())
    });
}

#[test]
fn bad_listen_and_public_url_values_are_named() {
    jail(|jail| {
        jail.set_env("TETHER_LISTEN", "localhost");
        assert!(load_err().starts_with("invalid value for `listen` (TETHER_LISTEN)"));
        jail.set_env("TETHER_LISTEN", "127.0.0.1:0");
        jail.set_env("TETHER_PUBLIC_URL", "ftp://x");
        assert!(load_err().starts_with("invalid value for `public_url` (TETHER_PUBLIC_URL)"));
        Ok(())
    });
}

#[test]
fn a_named_config_file_that_does_not_exist_is_an_error() {
    jail(|_| {
        let error = Config::load(Some(Path::new("missing.toml"))).unwrap_err();
        assert!(error.to_string().contains("missing.toml"), "{error}");
        Ok(())
    });
}

#[test]
fn a_toml_syntax_error_does_not_echo_the_line() {
    jail(|jail| {
        jail.create_file("tether.toml", "database_url = postgres://u:hunter2@h/db\n")?;
        let message = load_err();
        assert!(message.starts_with("cannot parse tether.toml"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        Ok(())
    });
}

#[test]
fn every_setting_is_documented() {
    let docs = include_str!("../../../../docs/configuration.md");
    for setting in SETTINGS {
        let row = if super::settings::FILE_ONLY.contains(&setting.name) {
            format!("| `{}` | file only |", setting.name)
        } else {
            format!("| `{}` | `{}` |", setting.name, setting.env_var())
        };
        assert!(
            docs.contains(&row),
            "docs/configuration.md lacks a row for {row}"
        );
    }
}

#[test]
fn a_bad_value_from_the_file_names_the_file() {
    jail(|jail| {
        jail.create_file("tether.toml", "log_format = \"fancy\"\n")?;
        let message = load_err();
        assert_eq!(
            message,
            "invalid value for `log_format` (tether.toml): expected one of: auto, json, pretty"
        );
        Ok(())
    });
}

#[test]
fn webhook_settings_default_to_safe_destinations_and_can_be_loosened() {
    jail(|jail| {
        let config = Config::load(None).unwrap();
        let webhooks = &config.webhooks.settings;
        assert!(config.webhooks.worker_enabled);
        assert!(!webhooks.destinations.allow_http);
        assert!(!webhooks.destinations.allow_private);
        assert_eq!(
            webhooks.secret_grace,
            std::time::Duration::from_secs(24 * 3600)
        );
        assert_eq!(
            webhooks.disable_after,
            std::time::Duration::from_secs(5 * 86_400)
        );
        jail.set_env("TETHER_WEBHOOKS_ALLOW_HTTP", "true");
        jail.set_env("TETHER_WEBHOOKS_ALLOW_PRIVATE", "true");
        jail.set_env("TETHER_WEBHOOKS_ENABLED", "false");
        let config = Config::load(None).unwrap();
        assert!(config.webhooks.settings.destinations.allow_http);
        assert!(config.webhooks.settings.destinations.allow_private);
        assert!(!config.webhooks.worker_enabled);
        Ok(())
    });
}

#[test]
fn a_webhook_lease_no_longer_than_the_timeout_is_refused() {
    jail(|jail| {
        jail.create_file(
            "tether.toml",
            "webhooks_timeout_secs = 30\nwebhooks_lease_secs = 30\n",
        )?;
        let message = load_err();
        assert!(
            message.starts_with("invalid value for `webhooks_lease_secs` (tether.toml): must be longer than webhooks_timeout_secs (30)"),
            "{message}"
        );
        Ok(())
    });
}

#[test]
fn the_read_cache_is_bounded_by_entries_and_by_memory() {
    jail(|jail| {
        let cache = Config::load(None).unwrap().api.read_cache;
        assert_eq!((cache.capacity, cache.max_bytes), (100_000, 16 << 20));
        jail.set_env("TETHER_READ_CACHE_ENTRIES", "5000");
        jail.set_env("TETHER_READ_CACHE_MIB", "8");
        let cache = Config::load(None).unwrap().api.read_cache;
        assert_eq!((cache.capacity, cache.max_bytes), (5000, 8 << 20));
        for (key, value, says) in [
            ("read_cache_mib", "0", "must be at least 1"),
            ("read_cache_mib", "65537", "must be at most 65536"),
            ("read_cache_entries", "0", "must be at least 1"),
            ("read_cache_entries", "10000001", "must be at most 10000000"),
        ] {
            let variable = format!("TETHER_{}", key.to_uppercase());
            jail.set_env("TETHER_READ_CACHE_ENTRIES", "5000");
            jail.set_env("TETHER_READ_CACHE_MIB", "8");
            jail.set_env(&variable, value);
            let message = load_err();
            assert!(
                message.starts_with(&format!("invalid value for `{key}` ({variable})"))
                    && message.contains(says),
                "{message}"
            );
        }
        Ok(())
    });
}
