//! The one helper for cross-process locks around work that presents or replaces a token: an
//! integration's refresh lock (taken by readers, the scheduler, operators and disconnects)
//! and an app token's renewal lock. A held lock renews its lease every third of its TTL while
//! the work runs, so a slow refresh with retries never outlives its lease; a lease that could
//! not be renewed is reported as lost, so the holder stops before presenting a refresh token
//! that another replica may now present too.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tether_core::IntegrationId;
use tether_core::state::{LockLease, LockManager};

use crate::broker::Broker;
use crate::error::{BrokerError, BrokerResult};

/// How long to wait between looks while another process holds the lock.
const LOCK_POLL: Duration = Duration::from_millis(50);

/// What a lock guards; its name is formatted here and nowhere else.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LockKey<'a> {
    Refresh(IntegrationId),
    AppToken(&'a str),
}

impl fmt::Display for LockKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockKey::Refresh(id) => write!(f, "refresh:{id}"),
            LockKey::AppToken(key) => write!(f, "app-token:{key}"),
        }
    }
}

/// A lock this process holds, renewed in the background until released or dropped.
pub(crate) struct HeldLock {
    lease: LockLease,
    locks: Arc<dyn LockManager>,
    lost: Arc<AtomicBool>,
    renewer: tokio::task::JoinHandle<()>,
}

impl HeldLock {
    fn start(lease: LockLease, locks: Arc<dyn LockManager>, ttl: Duration) -> Self {
        let lost = Arc::new(AtomicBool::new(false));
        let renewer = tokio::spawn(renew(lease.clone(), locks.clone(), ttl, lost.clone()));
        Self {
            lease,
            locks,
            lost,
            renewer,
        }
    }

    /// Fails once the lease could not be renewed: someone else may hold the lock now.
    pub(crate) fn check(&self) -> BrokerResult<()> {
        if self.lost.load(Ordering::Acquire) {
            return Err(BrokerError::ProviderUnavailable {
                message: "the refresh lock was lost (shared state unreachable); try again"
                    .to_owned(),
                retry_after: Some(Duration::from_secs(1)),
            });
        }
        Ok(())
    }

    pub(crate) async fn release(self) {
        self.renewer.abort();
        if let Err(e) = self.locks.release(&self.lease).await {
            tracing::warn!(lock = %self.lease.name, error = %e, "could not release a lock; it will lapse");
        }
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

/// Extends the lease every third of `ttl`; marks it lost when the store says it lapsed, or
/// when no extension succeeded for a whole `ttl`.
async fn renew(
    lease: LockLease,
    locks: Arc<dyn LockManager>,
    ttl: Duration,
    lost: Arc<AtomicBool>,
) {
    let every = ttl / 3;
    let mut held_until = tokio::time::Instant::now() + ttl;
    loop {
        tokio::time::sleep(every).await;
        match locks.extend(&lease, ttl).await {
            Ok(true) => held_until = tokio::time::Instant::now() + ttl,
            Ok(false) => {
                tracing::warn!(lock = %lease.name, "a lock lease lapsed while its work was running");
                lost.store(true, Ordering::Release);
                return;
            }
            Err(e) => {
                tracing::warn!(lock = %lease.name, error = %e, "could not extend a lock lease");
                if tokio::time::Instant::now() + every >= held_until {
                    lost.store(true, Ordering::Release);
                    return;
                }
            }
        }
    }
}

/// How waiting for a lock ended.
pub(crate) enum Acquired<T> {
    Held(HeldLock),
    /// Someone else did the work while we waited.
    Done(T),
    /// The lock stayed held for the whole wait.
    TimedOut,
}

impl Broker {
    /// Takes the lock if it is free, without waiting.
    pub(crate) async fn try_lock(&self, key: LockKey<'_>) -> BrokerResult<Option<HeldLock>> {
        let ttl = self.inner.config.lock_ttl;
        let locks = &self.inner.locks;
        Ok(locks
            .try_acquire(&key.to_string(), ttl)
            .await?
            .map(|lease| HeldLock::start(lease, locks.clone(), ttl)))
    }

    /// Takes the lock, waiting up to `wait` while someone else holds it; after each look,
    /// `done` says whether the holder already did the work this caller needs.
    pub(crate) async fn lock_or_wait<T, F, Fut>(
        &self,
        key: LockKey<'_>,
        wait: Duration,
        mut done: F,
    ) -> BrokerResult<Acquired<T>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = BrokerResult<Option<T>>>,
    {
        let give_up_at = tokio::time::Instant::now() + wait;
        loop {
            if let Some(held) = self.try_lock(key).await? {
                return Ok(Acquired::Held(held));
            }
            tokio::time::sleep(LOCK_POLL).await;
            if let Some(result) = done().await? {
                return Ok(Acquired::Done(result));
            }
            if tokio::time::Instant::now() >= give_up_at {
                return Ok(Acquired::TimedOut);
            }
        }
    }
}

/// The answer when a lock stayed held elsewhere for the whole wait.
pub(crate) fn busy_elsewhere(what: &str) -> BrokerError {
    BrokerError::ProviderUnavailable {
        message: format!("{what} in progress elsewhere did not finish in time"),
        retry_after: Some(Duration::from_secs(1)),
    }
}
