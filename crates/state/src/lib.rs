//! Short-lived shared state for Tether: pending authorizations and cross-process locks.
//!
//! Production uses Redis ([`RedisState`]); the embedded mode uses the database through the
//! storage ports ([`SqlFlowStore`], [`SqlLocks`]). Both implement the core traits
//! [`FlowStateStore`] and [`LockManager`], so the broker never knows which one it has. When
//! Redis is configured but down, calls fail with `StateError::Unavailable` and work again
//! once it is back; nothing falls back to per-process state.

mod key;
mod redis_bus;
mod redis_state;
mod sql;

pub use redis_bus::RedisInvalidations;
pub use redis_state::{RedisState, RedisStateConfig};
pub use sql::{SqlFlowStore, SqlLocks, spawn_flow_state_purger};
pub use tether_core::state::{FlowStateStore, LockLease, LockManager, StateError, StateResult};

/// A unique owner id for lock leases taken by this process.
pub fn new_owner_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
