//! The catalogue of settings: one table that unknown-setting detection, `check-config` and the
//! documentation test all read, so a new setting cannot be half-added.

/// Environment variables with the `TETHER_` prefix that are not settings: the configuration
/// file, and who runs a command (for its audit record).
const IGNORED_ENV: &[&str] = &["TETHER_CONFIG", "TETHER_OPERATOR"];
const IGNORED_ENV_PREFIXES: &[&str] = &["TETHER_TEST_"];

/// The prefix of every setting's environment variable.
pub const ENV_PREFIX: &str = "TETHER_";

/// One setting as a person configures it.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The key in `tether.toml`; the environment variable is `TETHER_` + its upper case.
    pub name: &'static str,
    /// A secret: never printed, also readable from `<name>_file` / `TETHER_<NAME>_FILE`.
    pub secret: bool,
}

impl Setting {
    pub fn env_var(&self) -> String {
        env_var(self.name)
    }
}

/// Every setting, in the order `check-config` prints them.
pub const SETTINGS: &[Setting] = &[
    Setting {
        name: "database_url",
        secret: true,
    },
    Setting {
        name: "data_dir",
        secret: false,
    },
    Setting {
        name: "encryption_keys",
        secret: true,
    },
    Setting {
        name: "listen",
        secret: false,
    },
    Setting {
        name: "public_url",
        secret: false,
    },
    Setting {
        name: "auto_migrate",
        secret: false,
    },
    Setting {
        name: "log_format",
        secret: false,
    },
    Setting {
        name: "log_level",
        secret: false,
    },
    Setting {
        name: "db_max_connections",
        secret: false,
    },
    Setting {
        name: "redis_url",
        secret: true,
    },
    Setting {
        name: "redis_key_prefix",
        secret: false,
    },
    Setting {
        name: "return_to",
        secret: false,
    },
    Setting {
        name: "jwt_secret",
        secret: true,
    },
    Setting {
        name: "jwt_jwks_url",
        secret: false,
    },
    Setting {
        name: "jwt_issuer",
        secret: false,
    },
    Setting {
        name: "jwt_audience",
        secret: false,
    },
    Setting {
        name: "cors_origins",
        secret: false,
    },
    Setting {
        name: "hsts",
        secret: false,
    },
    Setting {
        name: "rate_limit_oauth_per_minute",
        secret: false,
    },
    Setting {
        name: "rate_limit_api_per_minute",
        secret: false,
    },
    Setting {
        name: "rate_limit_auth_failures_per_minute",
        secret: false,
    },
    Setting {
        name: "trusted_proxies",
        secret: false,
    },
    Setting {
        name: "sandbox",
        secret: false,
    },
    Setting {
        name: "allow_shared_accounts",
        secret: false,
    },
    Setting {
        name: "read_cache_ms",
        secret: false,
    },
    Setting {
        name: "read_cache_coherent_secs",
        secret: false,
    },
    Setting {
        name: "read_cache_entries",
        secret: false,
    },
    Setting {
        name: "read_cache_mib",
        secret: false,
    },
    Setting {
        name: "audit_writers",
        secret: false,
    },
    Setting {
        name: "refresh_buffer_secs",
        secret: false,
    },
    Setting {
        name: "refresh_buffer_fraction",
        secret: false,
    },
    Setting {
        name: "refresh_keepalive_days",
        secret: false,
    },
    Setting {
        name: "scheduler_enabled",
        secret: false,
    },
    Setting {
        name: "scheduler_interval_secs",
        secret: false,
    },
    Setting {
        name: "scheduler_batch",
        secret: false,
    },
    Setting {
        name: "scheduler_concurrency",
        secret: false,
    },
    Setting {
        name: "scheduler_provider_concurrency",
        secret: false,
    },
    Setting {
        name: "scheduler_provider_caps",
        secret: false,
    },
    Setting {
        name: "scheduler_lease_secs",
        secret: false,
    },
    Setting {
        name: "events_retention_days",
        secret: false,
    },
    Setting {
        name: "provider_sync_secs",
        secret: false,
    },
    Setting {
        name: "consent_version",
        secret: false,
    },
    Setting {
        name: "consent_valid_days",
        secret: false,
    },
    Setting {
        name: "consent_valid_days_by_provider",
        secret: false,
    },
    Setting {
        name: "connect_session_ttl_secs",
        secret: false,
    },
    Setting {
        name: "webhooks_enabled",
        secret: false,
    },
    Setting {
        name: "webhooks_concurrency",
        secret: false,
    },
    Setting {
        name: "webhooks_poll_interval_ms",
        secret: false,
    },
    Setting {
        name: "webhooks_lease_secs",
        secret: false,
    },
    Setting {
        name: "webhooks_connect_timeout_secs",
        secret: false,
    },
    Setting {
        name: "webhooks_timeout_secs",
        secret: false,
    },
    Setting {
        name: "webhooks_allow_http",
        secret: false,
    },
    Setting {
        name: "webhooks_allow_private",
        secret: false,
    },
    Setting {
        name: "webhooks_secret_grace_hours",
        secret: false,
    },
    Setting {
        name: "webhooks_disable_after_days",
        secret: false,
    },
    Setting {
        name: "providers",
        secret: false,
    },
];

/// Provider credentials can also come from the environment, one pair per provider:
/// `TETHER_PROVIDER_<NAME>_CLIENT_ID` and `TETHER_PROVIDER_<NAME>_CLIENT_SECRET` (or `_FILE`).
pub fn provider_env_keys() -> Vec<String> {
    tether_core::ProviderKind::ALL
        .iter()
        .flat_map(|kind| {
            let base = format!("provider_{kind}");
            [
                format!("{base}_client_id"),
                format!("{base}_client_secret"),
                format!("{base}_client_secret_file"),
            ]
        })
        .collect()
}

/// Settings that are tables in the file and have no environment form.
pub const FILE_ONLY: &[&str] = &["providers"];

/// The environment variable for a setting key.
pub fn env_var(name: &str) -> String {
    format!("{ENV_PREFIX}{}", name.to_ascii_uppercase())
}

/// Every key accepted in the file (and, upper-cased and prefixed, in the environment): the
/// settings plus the `_file` form of each secret.
pub fn known_keys() -> Vec<String> {
    SETTINGS
        .iter()
        .flat_map(|s| {
            let file = s.secret.then(|| format!("{}_file", s.name));
            std::iter::once(s.name.to_owned()).chain(file)
        })
        .chain(provider_env_keys())
        .collect()
}

/// Whether a `TETHER_*` environment variable is deliberately not a setting.
pub fn is_ignored_env(var: &str) -> bool {
    IGNORED_ENV.contains(&var) || IGNORED_ENV_PREFIXES.iter().any(|p| var.starts_with(p))
}

/// The known key closest to a misspelt one, if any is close enough to be a likely typo.
pub fn suggestion(unknown: &str, known: &[String]) -> Option<String> {
    known
        .iter()
        .map(|k| (edit_distance(unknown, k), k))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.clone())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = prev + usize::from(ca != *cb);
            prev = row[j + 1];
            row[j + 1] = substitution.min(prev + 1).min(row[j] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_suggests_the_setting_it_resembles() {
        let known = known_keys();
        assert_eq!(
            suggestion("databse_url", &known).as_deref(),
            Some("database_url")
        );
        assert_eq!(suggestion("completely_different", &known), None);
    }

    #[test]
    fn secrets_have_a_file_form_and_others_do_not() {
        let known = known_keys();
        assert!(known.contains(&"encryption_keys_file".to_owned()));
        assert!(known.contains(&"database_url_file".to_owned()));
        assert!(!known.contains(&"listen_file".to_owned()));
    }

    #[test]
    fn harness_variables_are_not_settings() {
        assert!(is_ignored_env("TETHER_TEST_POSTGRES_URL"));
        assert!(is_ignored_env("TETHER_CONFIG"));
        assert!(!is_ignored_env("TETHER_DATABSE_URL"));
    }
}
