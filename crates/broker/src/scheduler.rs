//! The background refresh scheduler: refreshes tokens before they expire, so callers rarely
//! wait on a provider, and keeps idle refresh tokens alive. Every replica runs it; replicas
//! claim disjoint batches of due integrations (a lease on the row, `FOR UPDATE SKIP LOCKED`),
//! so N replicas do N times the work, and each refresh still takes the integration's refresh
//! lock, so a reader or operator refreshing the same integration is never raced. The drain
//! loop and its supervision are in `scheduler_loop`.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use tether_core::provider::ProviderError;
use tether_core::{Integration, IntegrationId, ProviderKind};

use crate::broker::Broker;
use crate::error::{BrokerError, BrokerResult};
use crate::lifecycle::{RefreshWant, Refreshed};
use crate::locking::LockKey;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchedulerPass {
    /// Integrations that were due (and claimed by this pass).
    pub due: usize,
    /// Refreshed by this pass.
    pub refreshed: usize,
    /// Already being refreshed elsewhere (another replica or a reader), or refreshed since
    /// they fell due: left alone.
    pub skipped: usize,
    /// Failed (the integration records why; transient failures are retried later).
    pub failed: usize,
}

/// How the scheduler runs.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// How long an idle scheduler waits before looking again (plus up to a tenth at random,
    /// so replicas do not move in lock-step). While work is due it does not wait.
    pub interval: Duration,
    /// Integrations claimed at most per look.
    pub batch: u64,
    /// Refreshes in flight at once in this replica.
    pub concurrency: usize,
    /// Refreshes in flight at once per provider, unless `provider_caps` says otherwise, so
    /// one slow or rate-limiting provider cannot take every slot.
    pub provider_concurrency: usize,
    pub provider_caps: BTreeMap<ProviderKind, usize>,
    /// How long a claim holds; a replica that dies frees its claims after this.
    pub lease: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(10),
            batch: 200,
            concurrency: 128,
            provider_concurrency: 64,
            provider_caps: BTreeMap::new(),
            lease: Duration::from_secs(120),
        }
    }
}

impl SchedulerConfig {
    pub(crate) fn cap(&self, provider: ProviderKind) -> usize {
        self.provider_caps
            .get(&provider)
            .copied()
            .unwrap_or(self.provider_concurrency)
            .max(1)
    }
}

/// How one claimed integration went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Refreshed,
    Skipped,
    Failed,
    /// The provider answered 429: pause its claims for this long.
    RateLimited(Duration),
}

/// How long to leave a provider alone after a 429 without `Retry-After`.
const DEFAULT_RATE_LIMIT_PAUSE: Duration = Duration::from_secs(30);

impl Broker {
    /// One pass: claims up to `batch` due integrations and refreshes them, `concurrency` at
    /// once. The running scheduler drains continuously instead (see `scheduler_loop`).
    pub async fn refresh_due(&self, batch: u64, concurrency: usize) -> BrokerResult<SchedulerPass> {
        let lease = SchedulerConfig::default().lease;
        let due = self.claim_due(batch, lease, &[]).await?;
        let mut pass = SchedulerPass {
            due: due.len(),
            ..SchedulerPass::default()
        };
        let outcomes: Vec<Outcome> = futures::stream::iter(due)
            .map(|integration| self.refresh_claimed(integration))
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        for outcome in outcomes {
            match outcome {
                Outcome::Refreshed => pass.refreshed += 1,
                Outcome::Skipped => pass.skipped += 1,
                Outcome::Failed | Outcome::RateLimited(_) => pass.failed += 1,
            }
        }
        Ok(pass)
    }

    /// Claims due integrations for this replica and reports how late the most overdue was.
    pub(crate) async fn claim_due(
        &self,
        limit: u64,
        lease: Duration,
        only: &[ProviderKind],
    ) -> BrokerResult<Vec<Integration>> {
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(lease).unwrap_or_default();
        let claimed = self
            .inner
            .stores
            .integrations
            .claim_due(now, limit, until, only)
            .await?;
        if let Some(observer) = self.observer()
            && !claimed.is_empty()
        {
            let lag = claimed
                .iter()
                .filter_map(|i| i.next_refresh_at)
                .map(|at| (now - at).to_std().unwrap_or_default())
                .max()
                .unwrap_or_default();
            observer.scheduler_lag(lag);
        }
        Ok(claimed)
    }

    /// Refreshes one claimed integration if it is still due, under its refresh lock; an
    /// integration someone else is refreshing right now is left to them.
    pub(crate) async fn refresh_claimed(&self, integration: Integration) -> Outcome {
        let id: IntegrationId = integration.id;
        let lock = match self.try_lock(LockKey::Refresh(id)).await {
            Ok(Some(lock)) => lock,
            Ok(None) => return Outcome::Skipped,
            Err(e) => {
                tracing::warn!(integration_id = %id, error = %e, "scheduler could not take the refresh lock");
                return Outcome::Failed;
            }
        };
        let result = self
            .refresh_locked(id, RefreshWant::Due { at: Utc::now() }, &lock)
            .await;
        lock.release().await;
        match result {
            Ok(Refreshed::Done(_)) => Outcome::Refreshed,
            Ok(Refreshed::NotNeeded(_)) | Err(BrokerError::IntegrationNotFound) => Outcome::Skipped,
            Ok(Refreshed::Failed {
                error: ProviderError::RateLimited { retry_after, .. },
                ..
            }) => Outcome::RateLimited(retry_after.unwrap_or(DEFAULT_RATE_LIMIT_PAUSE)),
            Ok(Refreshed::Failed { error, .. }) => {
                tracing::info!(integration_id = %id, error = %error, "scheduled refresh failed");
                Outcome::Failed
            }
            Err(e) => {
                tracing::info!(integration_id = %id, error = %e, "scheduled refresh failed");
                Outcome::Failed
            }
        }
    }
}
