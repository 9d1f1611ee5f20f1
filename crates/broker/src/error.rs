//! Broker errors: what a use-case can fail with, in terms the API maps to responses.

use std::time::Duration;

use tether_core::provider::ProviderError;
use tether_core::state::StateError;
use tether_core::{ProviderKind, ScopeSet, StorageError};
use thiserror::Error;

#[derive(Debug, Clone, Error)]
pub enum BrokerError {
    #[error("the provider {0} is not configured")]
    ProviderNotConfigured(ProviderKind),
    #[error("return_to is not an allowed URL")]
    InvalidReturnTo,
    #[error("invalid request: {0}")]
    InvalidInput(String),
    #[error("opener_origin is not the origin of an allowed return_to entry")]
    InvalidOpenerOrigin,
    #[error("the connect session is unknown")]
    ConnectSessionUnknown,
    #[error("the connect session was already used")]
    ConnectSessionUsed,
    #[error("the connect session expired")]
    ConnectSessionExpired,
    #[error("integration not found")]
    IntegrationNotFound,
    #[error("the authorization flow is unknown, already used or expired")]
    UnknownFlow,
    /// The integration cannot hand out tokens until the user reconnects.
    #[error("the integration needs the user to reconnect ({status})")]
    ReauthRequired { status: &'static str },
    /// The integration lacks scopes the caller (or the provider's catalogue) requires: the
    /// user must reconnect and grant them.
    #[error(
        "the user has not granted {provider} the permissions this needs ({}); ask them to reconnect {provider} and allow them",
        missing.to_delimited()
    )]
    InsufficientScopes {
        provider: &'static str,
        missing: ScopeSet,
    },
    /// A transient provider failure outlasted the retries.
    #[error("the provider is temporarily unavailable: {message}")]
    ProviderUnavailable {
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("{0}")]
    Provider(ProviderError),
    /// Redis (or the embedded store) is down: a 503 that recovers by itself.
    #[error("shared state unavailable: {0}")]
    StateUnavailable(String),
    #[error("storage error: {0}")]
    Storage(String),
    /// The audit trail could not record the operation, so it was not answered.
    #[error("the audit trail could not record this operation")]
    AuditUnavailable,
    /// A stored secret did not decrypt: it belongs to another row, was altered, or no
    /// configured key opens it. Never expected; an operator must look.
    #[error("a stored secret cannot be decrypted: {0}")]
    SecretUnreadable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StorageError> for BrokerError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Decrypt { .. } => BrokerError::SecretUnreadable(e.to_string()),
            other => BrokerError::Storage(other.to_string()),
        }
    }
}

impl From<StateError> for BrokerError {
    fn from(e: StateError) -> Self {
        match e {
            StateError::Unavailable(m) => BrokerError::StateUnavailable(m),
            other => BrokerError::Internal(other.to_string()),
        }
    }
}

pub type BrokerResult<T> = Result<T, BrokerError>;
