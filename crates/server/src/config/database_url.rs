//! The database URL as a secret: it usually carries a password, so `Debug` and `redacted()`
//! show it with the password (and any password-like query parameter) replaced.

use secrecy::{ExposeSecret, SecretString};
use tether_storage::Engine;

use super::error::ConfigError;

#[derive(Clone)]
pub struct DatabaseUrl {
    url: SecretString,
    engine: Engine,
}

impl DatabaseUrl {
    /// Accepts `postgres://`, `postgresql://` and `sqlite:` URLs.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let engine = Engine::of_url(text).map_err(|_| ConfigError::DatabaseUrl {
            reason: "unsupported scheme".to_owned(),
        })?;
        if engine == Engine::Postgres {
            let parsed = url::Url::parse(text).map_err(|e| ConfigError::DatabaseUrl {
                reason: e.to_string(),
            })?;
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err(ConfigError::DatabaseUrl {
                    reason: "no host".to_owned(),
                });
            }
        }
        Ok(Self {
            url: SecretString::from(text.to_owned()),
            engine,
        })
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The URL, password included. Only for opening the connection.
    pub fn expose_secret(&self) -> &str {
        self.url.expose_secret()
    }

    /// The URL with its password and password-like query parameters replaced.
    pub fn redacted(&self) -> String {
        let Ok(mut url) = url::Url::parse(self.expose_secret()) else {
            return "[unparsable URL redacted]".to_owned();
        };
        if url.password().is_some() {
            let _ = url.set_password(Some("redacted"));
        }
        if url.query().is_some() {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let secret = k.to_ascii_lowercase().contains("pass");
                    let v = if secret { "redacted".into() } else { v };
                    (k.into_owned(), v.into_owned())
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        url.to_string()
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_the_password_but_keeps_where_it_points() {
        let url =
            DatabaseUrl::parse("postgres://tether:hunter2@db:5432/tether?sslpassword=pw2&x=1")
                .unwrap();
        let shown = format!("{} {url:?}", url.redacted());
        assert!(
            !shown.contains("hunter2") && !shown.contains("pw2"),
            "{shown}"
        );
        assert!(
            shown.contains("db:5432/tether") && shown.contains("x=1"),
            "{shown}"
        );
    }

    #[test]
    fn only_postgres_and_sqlite_urls_are_accepted() {
        assert!(DatabaseUrl::parse("sqlite://./data/t.db?mode=rwc").is_ok());
        assert!(DatabaseUrl::parse("postgresql://u@h/db").is_ok());
        assert!(DatabaseUrl::parse("mysql://u@h/db").is_err());
        assert!(DatabaseUrl::parse("postgres://").is_err());
    }
}
