//! Embedded-mode implementations over the storage ports: flow state on `oauth_states`
//! (encrypted by storage, keyed by a hash of the state) and locks on the `locks` table.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use tether_core::StorageError;
use tether_core::ports::{LockRepository, OAuthStateRepository, TakenFlowState};
use tether_core::secret::OpaqueSecret;
use tether_core::state::{FlowStateStore, LockLease, LockManager, StateError, StateResult};

use crate::key::state_key;

fn map_storage(e: StorageError) -> StateError {
    match e {
        StorageError::Duplicate { .. } => StateError::Duplicate,
        other => StateError::Backend(other.to_string()),
    }
}

fn to_chrono(d: Duration) -> StateResult<chrono::Duration> {
    chrono::Duration::from_std(d).map_err(|e| StateError::Backend(e.to_string()))
}

/// Flow state in the `oauth_states` table.
#[derive(Clone)]
pub struct SqlFlowStore {
    repo: Arc<dyn OAuthStateRepository>,
}

impl std::fmt::Debug for SqlFlowStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlFlowStore").finish_non_exhaustive()
    }
}

impl SqlFlowStore {
    pub fn new(repo: Arc<dyn OAuthStateRepository>) -> Self {
        Self { repo }
    }

    /// Deletes flows that expired more than `grace` ago; returns how many.
    pub async fn purge_expired(&self, grace: Duration) -> StateResult<u64> {
        let cutoff = Utc::now() - to_chrono(grace)?;
        self.repo.purge_expired(cutoff).await.map_err(map_storage)
    }
}

#[async_trait]
impl FlowStateStore for SqlFlowStore {
    async fn put(
        &self,
        state: &OpaqueSecret,
        payload: &OpaqueSecret,
        ttl: Duration,
    ) -> StateResult<()> {
        let expires_at = Utc::now() + to_chrono(ttl)?;
        self.repo
            .put(&state_key(state), payload, expires_at)
            .await
            .map_err(map_storage)
    }

    async fn take(&self, state: &OpaqueSecret) -> StateResult<Option<TakenFlowState>> {
        self.repo.take(&state_key(state)).await.map_err(map_storage)
    }
}

/// Purges expired flow state every `every`, keeping `grace` so late callbacks hear
/// "expired". Runs until the returned handle is aborted.
pub fn spawn_flow_state_purger(
    store: SqlFlowStore,
    every: Duration,
    grace: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match store.purge_expired(grace).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(purged = n, "purged expired oauth states"),
                Err(e) => tracing::warn!(error = %e, "purging expired oauth states failed"),
            }
        }
    })
}

/// Locks in the `locks` table: a lease row per held lock.
#[derive(Clone)]
pub struct SqlLocks {
    repo: Arc<dyn LockRepository>,
}

impl std::fmt::Debug for SqlLocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlLocks").finish_non_exhaustive()
    }
}

impl SqlLocks {
    pub fn new(repo: Arc<dyn LockRepository>) -> Self {
        Self { repo }
    }
}

#[async_trait]
impl LockManager for SqlLocks {
    async fn try_acquire(&self, name: &str, ttl: Duration) -> StateResult<Option<LockLease>> {
        let owner = crate::new_owner_id();
        let now = Utc::now();
        let expires_at = now + to_chrono(ttl)?;
        let held = self
            .repo
            .try_acquire(name, &owner, expires_at, now)
            .await
            .map_err(map_storage)?;
        Ok(held.then(|| LockLease {
            name: name.to_owned(),
            owner,
            expires_at,
        }))
    }

    async fn release(&self, lease: &LockLease) -> StateResult<bool> {
        self.repo
            .release(&lease.name, &lease.owner)
            .await
            .map_err(map_storage)
    }

    async fn extend(&self, lease: &LockLease, ttl: Duration) -> StateResult<bool> {
        let now = Utc::now();
        self.repo
            .extend(&lease.name, &lease.owner, now + to_chrono(ttl)?, now)
            .await
            .map_err(map_storage)
    }
}
