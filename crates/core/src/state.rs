//! Ports for short-lived shared state: pending authorizations (single-use, expiring) and
//! locks that hold across processes. Implemented on Redis for production and on the database
//! for the embedded mode (`tether-state`).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::ports::TakenFlowState;
use crate::secret::OpaqueSecret;

#[derive(Debug, Error)]
pub enum StateError {
    /// The shared store cannot be reached (Redis down): a 503-class failure that recovers by
    /// itself when the store returns. Never fall back to per-process state.
    #[error("shared state store unavailable: {0}")]
    Unavailable(String),
    /// The key exists already.
    #[error("state entry already exists")]
    Duplicate,
    /// Any other failure of the store.
    #[error("shared state store error: {0}")]
    Backend(String),
}

pub type StateResult<T> = Result<T, StateError>;

/// Pending authorizations keyed by their `state` value.
#[async_trait]
pub trait FlowStateStore: Send + Sync {
    /// Stores `payload` under `state` until `ttl` has passed.
    async fn put(
        &self,
        state: &OpaqueSecret,
        payload: &OpaqueSecret,
        ttl: Duration,
    ) -> StateResult<()>;
    /// Removes and returns the entry atomically: of concurrent takers exactly one gets it, and
    /// a second take finds nothing. An entry past its expiry may still be returned for a
    /// while (so the caller can say "expired" rather than "unknown"): check `expires_at`.
    async fn take(&self, state: &OpaqueSecret) -> StateResult<Option<TakenFlowState>>;
}

/// A held lock: only its owner can release it, and it lapses at `expires_at` by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockLease {
    pub name: String,
    pub owner: String,
    pub expires_at: DateTime<Utc>,
}

/// Named locks that hold across processes.
#[async_trait]
pub trait LockManager: Send + Sync {
    /// Takes the lock if it is free (or its holder's lease lapsed); `None` when held.
    async fn try_acquire(&self, name: &str, ttl: Duration) -> StateResult<Option<LockLease>>;
    /// Releases the lock if `lease` still owns it; returns whether it did.
    async fn release(&self, lease: &LockLease) -> StateResult<bool>;
    /// Extends the lease to `ttl` from now if `lease` still owns the lock; `false` when it
    /// lapsed (someone else may hold it now, so the holder must stop).
    async fn extend(&self, lease: &LockLease, ttl: Duration) -> StateResult<bool>;
}
