//! Error types shared across crates: parsing of closed values and storage failures.

use thiserror::Error;

/// A value that should belong to a closed set (a provider name, a status, a scope) did not.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// The text is not one of the accepted values.
    #[error("unknown {kind} `{value}`; expected one of: {expected}")]
    Unknown {
        kind: &'static str,
        value: String,
        expected: String,
    },
    /// The text is not well formed for this kind of value.
    #[error("invalid {kind}: {reason}")]
    Invalid { kind: &'static str, reason: String },
}

impl ParseError {
    pub fn unknown(kind: &'static str, value: &str, expected: &[&str]) -> Self {
        // Never echo back an arbitrarily long input.
        let value: String = value.chars().take(64).collect();
        Self::Unknown {
            kind,
            value,
            expected: expected.join(", "),
        }
    }

    pub fn invalid(kind: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            kind,
            reason: reason.into(),
        }
    }
}

/// Failures of the storage ports.
#[derive(Debug, Error)]
pub enum StorageError {
    /// The row does not exist.
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    /// An optimistic-concurrency check failed: someone else changed the row first.
    #[error("{entity} {id} was changed concurrently (expected version {expected})")]
    VersionConflict {
        entity: &'static str,
        id: String,
        expected: i64,
    },
    /// A unique constraint refused the write.
    #[error("{entity} already exists ({detail})")]
    Duplicate {
        entity: &'static str,
        detail: String,
    },
    /// A stored value could not be read back into a domain type (an unknown enum value, bad JSON).
    #[error("corrupt {table} row {row}: {reason}")]
    Corrupt {
        table: &'static str,
        row: String,
        reason: String,
    },
    /// An encrypted column could not be decrypted with any configured key, was tampered with,
    /// or belongs to another row.
    #[error(
        "cannot decrypt {table}.{column} of row {row}: {reason} (is the right encryption key configured?)"
    )]
    Decrypt {
        table: &'static str,
        column: &'static str,
        row: String,
        reason: &'static str,
    },
    /// The database itself failed (connection, SQL error).
    #[error("database error: {0}")]
    Backend(String),
}

pub type StorageResult<T> = Result<T, StorageError>;
