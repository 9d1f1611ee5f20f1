//! Configuration errors: each names the setting at fault and says how to fix it. None carries
//! a secret value.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("config file {path} (from --config or TETHER_CONFIG) does not exist")]
    MissingFile { path: PathBuf },

    #[error("unknown setting `{key}` in {origin}{hint}; known settings: {known}")]
    UnknownSetting {
        key: String,
        origin: String,
        hint: String,
        known: String,
    },

    #[error("invalid value for `{key}` ({origin}): {reason}")]
    InvalidValue {
        key: String,
        origin: String,
        reason: String,
    },

    #[error("{setting} and {setting}_FILE are both set; set only one of them")]
    ValueAndFile { setting: String },

    #[error("cannot read {setting}_FILE ({path}): {reason}")]
    SecretFile {
        setting: String,
        path: PathBuf,
        reason: String,
    },

    #[error(
        "TETHER_DATABASE_URL is not a valid database URL: {reason}; accepted forms: \
         postgres://USER:PASSWORD@HOST:5432/DB or sqlite://PATH?mode=rwc \
         (or leave it unset for the embedded SQLite database in TETHER_DATA_DIR)"
    )]
    DatabaseUrl { reason: String },

    #[error(
        "TETHER_ENCRYPTION_KEYS is required with PostgreSQL: tokens are encrypted at rest and \
         every replica needs the same key; generate one with `tether keys generate` and set \
         TETHER_ENCRYPTION_KEYS or TETHER_ENCRYPTION_KEYS_FILE"
    )]
    KeyRequired,

    #[error(
        "{origin}: key #{position} of {count} is not a valid Fernet key (expected 32 bytes of \
         url-safe base64, as printed by `tether keys generate`); keys are comma-separated, \
         newest first"
    )]
    InvalidKey {
        origin: String,
        position: usize,
        count: usize,
    },

    #[error("{origin} is set but contains no key; generate one with `tether keys generate`")]
    NoKeys { origin: String },

    #[error(
        "with PostgreSQL, user JWTs must be verifiable: set TETHER_JWT_SECRET (HS256, at least 32 \
         characters) or TETHER_JWT_JWKS_URL (RS256/ES256), plus TETHER_JWT_ISSUER and \
         TETHER_JWT_AUDIENCE as your auth system issues them"
    )]
    JwtRequired,

    #[error("{0}")]
    Other(String),
}

pub type ConfigResult<T> = Result<T, ConfigError>;
