//! sea-orm entities, one per table, private to this crate; converted to domain types with
//! `TryFrom`, where an unreadable stored value becomes `StorageError::Corrupt`.

pub(crate) mod api_keys;
pub(crate) mod audit_log;
pub(crate) mod connect_sessions;
pub(crate) mod consents;
pub(crate) mod console;
pub(crate) mod events;
pub(crate) mod integrations;
pub(crate) mod oauth_states;
pub(crate) mod provider_configs;
pub(crate) mod scopes;
pub(crate) mod tokens;
pub(crate) mod webhooks;

use serde_json::Value;
use tether_core::{ScopeSet, StorageError};

/// A stored value that does not read back into its domain type.
pub(crate) fn corrupt(
    table: &'static str,
    row: impl ToString,
    reason: impl ToString,
) -> StorageError {
    StorageError::Corrupt {
        table,
        row: row.to_string(),
        reason: reason.to_string(),
    }
}

/// Parses a closed-enum (or other `FromStr`) column, naming the row when it fails.
pub(crate) fn parse_col<T>(
    table: &'static str,
    row: impl ToString,
    text: &str,
) -> Result<T, StorageError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e: T::Err| corrupt(table, row, e))
}

pub(crate) fn scopes_from_json(
    table: &'static str,
    row: impl ToString,
    value: Value,
) -> Result<ScopeSet, StorageError> {
    serde_json::from_value(value).map_err(|e| corrupt(table, row, format!("bad scope list: {e}")))
}

pub(crate) fn scopes_to_json(scopes: &ScopeSet) -> Value {
    Value::Array(
        scopes
            .iter()
            .map(|s| Value::String(s.as_str().to_owned()))
            .collect(),
    )
}
