//! The scheduler's drain loop and its supervisor. While work is due, the loop keeps up to
//! `concurrency` refreshes in flight, claiming more whenever a quarter of the slots are free,
//! with no pause between batches; idle, it looks again every `interval`. A provider at its
//! cap, or one that answered 429, is left out of claims until it has room (or its
//! `Retry-After` passed), so it cannot starve the others. The supervisor restarts a loop that panicked or
//! stopped, logs and counts it, and reports whether the loop is running.

use std::collections::HashMap;
use std::time::Duration;

use rand::Rng;
use tether_core::ProviderKind;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::broker::Broker;
use crate::scheduler::{Outcome, SchedulerConfig};

/// How long the supervisor waits before restarting a loop that died.
const RESTART_DELAY: Duration = Duration::from_secs(1);

struct DrainLoop {
    broker: Broker,
    config: SchedulerConfig,
    in_flight: JoinSet<(ProviderKind, Outcome)>,
    per_provider: HashMap<ProviderKind, usize>,
    paused_until: HashMap<ProviderKind, Instant>,
    /// When to claim again although slots are free (set when a claim found nothing more due).
    next_look: Instant,
}

impl DrainLoop {
    fn new(broker: Broker, config: SchedulerConfig) -> Self {
        Self {
            broker,
            config,
            in_flight: JoinSet::new(),
            per_provider: HashMap::new(),
            paused_until: HashMap::new(),
            next_look: Instant::now(),
        }
    }

    fn jittered_interval(&self) -> Duration {
        let interval = self.config.interval;
        let tenth = u64::try_from(interval.as_millis() / 10).unwrap_or(0);
        interval + Duration::from_millis(rand::rng().random_range(0..=tenth))
    }

    /// Providers that must not be claimed now: at their cap, or paused after a 429.
    fn skipped_providers(&mut self, now: Instant) -> Vec<ProviderKind> {
        self.paused_until.retain(|_, until| *until > now);
        ProviderKind::ALL
            .iter()
            .copied()
            .filter(|p| self.paused_until.contains_key(p) || self.room(*p) == 0)
            .collect()
    }

    fn room(&self, provider: ProviderKind) -> usize {
        let running = self.per_provider.get(&provider).copied().unwrap_or(0);
        self.config.cap(provider).saturating_sub(running)
    }

    /// How many integrations a claim now may take: the free slots, no more than the batch
    /// or the room of the roomiest provider that is not paused (so a claim rarely takes rows
    /// a capped provider cannot run yet).
    fn claim_limit(&self, skip: &[ProviderKind]) -> usize {
        let free = self.config.concurrency.saturating_sub(self.in_flight.len());
        let roomiest = ProviderKind::ALL
            .iter()
            .filter(|p| !skip.contains(p))
            .map(|p| self.room(*p))
            .max()
            .unwrap_or(0);
        free.min(roomiest)
            .min(usize::try_from(self.config.batch).unwrap_or(usize::MAX))
    }

    /// Whether enough slots are free to be worth a claim: a quarter of what one claim could
    /// take at most, or anything when nothing runs.
    fn worth_a_claim(&mut self) -> bool {
        if Instant::now() < self.next_look {
            return false;
        }
        let skip = self.skipped_providers(Instant::now());
        let limit = self.claim_limit(&skip);
        let widest = self
            .config
            .concurrency
            .min(usize::try_from(self.config.batch).unwrap_or(usize::MAX))
            .min(self.config.provider_concurrency.max(1));
        limit > 0 && (self.in_flight.is_empty() || limit >= (widest / 4).max(1))
    }

    /// Claims as many due integrations as there is room for and starts their refreshes.
    async fn fill(&mut self) {
        let now = Instant::now();
        let skip = self.skipped_providers(now);
        let limit = u64::try_from(self.claim_limit(&skip)).unwrap_or(u64::MAX);
        let claimed = match self.broker.claim_due(limit, self.config.lease, &skip).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "the refresh scheduler could not claim due integrations");
                self.next_look = now + self.jittered_interval();
                return;
            }
        };
        let got = claimed.len();
        let drained = u64::try_from(got).unwrap_or(u64::MAX) < limit;
        let mut over_cap = Vec::new();
        for integration in claimed {
            let provider = integration.provider;
            let running = self.per_provider.entry(provider).or_default();
            if *running >= self.config.cap(provider) {
                over_cap.push(integration.id);
                continue;
            }
            *running += 1;
            let broker = self.broker.clone();
            self.in_flight.spawn(async move {
                let outcome = broker.refresh_claimed(integration).await;
                (provider, outcome)
            });
        }
        if !over_cap.is_empty()
            && let Err(e) = self
                .broker
                .inner
                .stores
                .integrations
                .release_claims(&over_cap)
                .await
        {
            tracing::warn!(error = %e, "could not release claims; they will lapse");
        }
        // Nothing more due: look again after the interval (sooner while a provider is only
        // held back by its cap or a pause, which may end).
        self.next_look = match (got, drained, skip.is_empty()) {
            (0, _, false) => now + self.jittered_interval().min(Duration::from_secs(1)),
            (_, true, true) | (0, _, _) => now + self.jittered_interval(),
            _ => now,
        };
    }

    fn finished(&mut self, provider: ProviderKind, outcome: Outcome) {
        if let Some(running) = self.per_provider.get_mut(&provider) {
            *running = running.saturating_sub(1);
        }
        if let Outcome::RateLimited(wait) = outcome {
            tracing::info!(%provider, wait_secs = wait.as_secs(), "provider rate-limited refreshes; pausing its claims");
            self.paused_until.insert(provider, Instant::now() + wait);
        }
    }

    async fn run(mut self) {
        loop {
            if self.worth_a_claim() {
                self.fill().await;
            }
            if self.in_flight.is_empty() {
                let wake = self
                    .next_look
                    .max(Instant::now() + Duration::from_millis(50));
                tokio::time::sleep_until(wake).await;
                continue;
            }
            let done = tokio::select! {
                done = self.in_flight.join_next() => done,
                () = tokio::time::sleep_until(self.next_look), if self.next_look > Instant::now() => continue,
            };
            match done {
                Some(Ok((provider, outcome))) => self.finished(provider, outcome),
                Some(Err(e)) => {
                    // A refresh task panicked: its provider slot cannot be known, so recount.
                    tracing::error!(error = %e, "a scheduled refresh task failed");
                    self.per_provider.clear();
                    self.in_flight.abort_all();
                    while self.in_flight.join_next().await.is_some() {}
                }
                None => {}
            }
        }
    }
}

/// Aborts the task it guards when dropped, so aborting the supervisor stops its loop too.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Broker {
    /// Runs the refresh scheduler until the returned task is aborted, restarting its loop
    /// whenever it dies.
    pub fn spawn_refresh_scheduler(&self, config: SchedulerConfig) -> tokio::task::JoinHandle<()> {
        let broker = self.clone();
        tokio::spawn(async move {
            loop {
                if let Some(observer) = broker.observer() {
                    observer.scheduler_running(true);
                }
                let drain = DrainLoop::new(broker.clone(), config.clone());
                let mut guard = AbortOnDrop(tokio::spawn(drain.run()));
                let ended = (&mut guard.0).await;
                if let Some(observer) = broker.observer() {
                    observer.scheduler_running(false);
                    observer.scheduler_restarted();
                }
                match ended {
                    Err(e) if e.is_panic() => {
                        tracing::error!(error = %e, "the refresh scheduler panicked; restarting it");
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the refresh scheduler was cancelled; restarting it")
                    }
                    Ok(()) => tracing::error!("the refresh scheduler stopped; restarting it"),
                }
                tokio::time::sleep(RESTART_DELAY).await;
            }
        })
    }
}
