//! The background refresh scheduler: refreshes tokens before they expire, so callers rarely
//! wait on a provider, and keeps idle refresh tokens alive. Every replica runs it; each
//! integration is taken through its cross-process refresh lock without waiting, so replicas
//! share the work and no integration is refreshed twice.

use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use rand::Rng;
use tether_core::{Integration, IntegrationId};

use crate::broker::Broker;
use crate::error::{BrokerError, BrokerResult};

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchedulerPass {
    /// Integrations that were due.
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
#[derive(Debug, Clone, Copy)]
pub struct SchedulerConfig {
    /// Time between passes (each pass waits up to a tenth more, at random, so replicas do
    /// not move in lock-step).
    pub interval: Duration,
    /// Integrations looked at per pass.
    pub batch: u64,
    /// Refreshes run at once within a pass.
    pub concurrency: usize,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(30),
            batch: 200,
            concurrency: 8,
        }
    }
}

enum Outcome {
    Refreshed,
    Skipped,
    Failed,
}

impl Broker {
    /// One scheduler pass over the integrations due now.
    pub async fn refresh_due(&self, batch: u64, concurrency: usize) -> BrokerResult<SchedulerPass> {
        let due = self
            .inner
            .stores
            .integrations
            .due_for_refresh(Utc::now(), batch)
            .await?;
        if let Some(observer) = self.observer() {
            let now = Utc::now();
            let lag = due
                .iter()
                .filter_map(|i| i.next_refresh_at)
                .map(|at| (now - at).to_std().unwrap_or_default())
                .max()
                .unwrap_or_default();
            observer.scheduler_lag(lag);
        }
        let mut pass = SchedulerPass {
            due: due.len(),
            ..SchedulerPass::default()
        };
        let outcomes: Vec<Outcome> = futures::stream::iter(due)
            .map(|integration| self.refresh_if_due(integration))
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        for outcome in outcomes {
            match outcome {
                Outcome::Refreshed => pass.refreshed += 1,
                Outcome::Skipped => pass.skipped += 1,
                Outcome::Failed => pass.failed += 1,
            }
        }
        Ok(pass)
    }

    async fn refresh_if_due(&self, integration: Integration) -> Outcome {
        let id: IntegrationId = integration.id;
        let lock_name = format!("refresh:{id}");
        let locks = &self.inner.locks;
        let lease = match locks
            .try_acquire(&lock_name, self.inner.config.lock_ttl)
            .await
        {
            Ok(Some(lease)) => lease,
            Ok(None) => return Outcome::Skipped,
            Err(e) => {
                tracing::warn!(integration_id = %id, error = %e, "scheduler could not take the refresh lock");
                return Outcome::Failed;
            }
        };
        let result = self.refresh_if_still_due(id).await;
        if let Err(e) = locks.release(&lease).await {
            tracing::warn!(integration_id = %id, error = %e, "could not release the refresh lock; it will lapse");
        }
        match result {
            Ok(true) => Outcome::Refreshed,
            Ok(false) | Err(BrokerError::IntegrationNotFound) => Outcome::Skipped,
            Err(e) => {
                tracing::info!(integration_id = %id, error = %e, "scheduled refresh failed");
                Outcome::Failed
            }
        }
    }

    /// Under the refresh lock: a refresh by anyone since the scan moved `next_refresh_at`
    /// forward, so only an integration that is still due is refreshed.
    async fn refresh_if_still_due(&self, id: IntegrationId) -> BrokerResult<bool> {
        let current = self
            .inner
            .stores
            .integrations
            .get(id)
            .await?
            .ok_or(BrokerError::IntegrationNotFound)?;
        let now = Utc::now();
        let due = current.status.is_usable() && current.next_refresh_at.is_some_and(|at| at <= now);
        if !due {
            return Ok(false);
        }
        self.refresh_locked(id, Some(now)).await.map(|_| true)
    }

    /// Runs scheduler passes until the returned task is aborted.
    pub fn spawn_refresh_scheduler(&self, config: SchedulerConfig) -> tokio::task::JoinHandle<()> {
        let broker = self.clone();
        tokio::spawn(async move {
            loop {
                let jitter = rand::rng().random_range(0..=config.interval.as_millis() / 10);
                let wait =
                    config.interval + Duration::from_millis(u64::try_from(jitter).unwrap_or(0));
                tokio::time::sleep(wait).await;
                match broker.refresh_due(config.batch, config.concurrency).await {
                    Ok(pass) if pass.due > 0 => tracing::info!(
                        due = pass.due,
                        refreshed = pass.refreshed,
                        skipped = pass.skipped,
                        failed = pass.failed,
                        "scheduled refresh pass"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "scheduled refresh pass failed"),
                }
            }
        })
    }
}
