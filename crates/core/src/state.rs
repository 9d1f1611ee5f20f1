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

/// What a replica tells every replica (itself too) to drop from its cache of token reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidation {
    /// These integrations or their tokens changed.
    Integrations(Vec<crate::IntegrationId>),
    /// Everything: after a key rotation, or when a publisher could not say what changed.
    All,
}

impl Invalidation {
    /// The most ids one message carries (PostgreSQL's `NOTIFY` payload is under 8,000 bytes).
    pub const MAX_IDS: usize = 200;

    /// The wire form: `*`, or the ids separated by commas.
    pub fn encode(&self) -> String {
        match self {
            Self::All => "*".to_owned(),
            Self::Integrations(ids) => ids
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// Reads the wire form. Anything unreadable counts as [`Invalidation::All`]: a receiver
    /// that cannot tell what changed drops everything.
    pub fn decode(text: &str) -> Self {
        if text == "*" {
            return Self::All;
        }
        let ids: Result<Vec<_>, _> = text.split(',').map(str::parse).collect();
        match ids {
            Ok(ids) if !ids.is_empty() => Self::Integrations(ids),
            _ => Self::All,
        }
    }
}

/// Receives what an [`InvalidationBus`] subscription delivers.
pub trait InvalidationHandler: Send + Sync {
    /// The subscription is in place: every message published from now on arrives.
    fn subscribed(&self);
    fn received(&self, message: Invalidation);
}

/// Carries cache invalidations between replicas (Redis pub/sub, PostgreSQL `LISTEN/NOTIFY`).
/// Delivery is at most once: a subscriber that loses its subscription learns it (`listen`
/// returns) and must assume it missed messages.
#[async_trait]
pub trait InvalidationBus: Send + Sync {
    /// What carries the messages (`redis`, `postgres`), for `/readyz` and logs.
    fn name(&self) -> &'static str;
    /// Sends `message` to every current subscriber.
    async fn publish(&self, message: &Invalidation) -> StateResult<()>;
    /// Subscribes, calls `handler.subscribed()` once the subscription is in place, then hands
    /// it every message until the subscription is lost; returns why it was lost.
    async fn listen(&self, handler: &dyn InvalidationHandler) -> StateError;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalidations_survive_their_wire_form() {
        let ids = vec![crate::IntegrationId::new(), crate::IntegrationId::new()];
        let message = Invalidation::Integrations(ids);
        assert_eq!(Invalidation::decode(&message.encode()), message);
        assert_eq!(Invalidation::decode("*"), Invalidation::All);
    }

    #[test]
    fn an_unreadable_message_drops_everything() {
        assert_eq!(Invalidation::decode("not-an-id"), Invalidation::All);
        assert_eq!(Invalidation::decode(""), Invalidation::All);
        let one = crate::IntegrationId::new();
        assert_eq!(
            Invalidation::decode(&format!("{one},garbage")),
            Invalidation::All
        );
    }

    #[test]
    fn the_largest_message_fits_a_postgres_notification() {
        let ids = (0..Invalidation::MAX_IDS)
            .map(|_| crate::IntegrationId::new())
            .collect();
        assert!(Invalidation::Integrations(ids).encode().len() < 8000);
    }
}
