//! The scheduler's drain loop and its supervisor. Each provider has a lane: while it has due
//! work, the loop keeps up to its cap of refreshes in flight (within `concurrency` in all),
//! claiming more of its integrations whenever a quarter of its slots are free, with no pause
//! between batches; idle, a lane looks again every `interval`. A provider that answered 429
//! is left alone for its `Retry-After`, and one at its cap waits for its own slots, so a slow
//! or throttling provider cannot starve the others. The supervisor restarts a loop that panicked or
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

/// One provider's share of the loop: its refreshes in flight, when to look for its due
/// integrations again, and a pause after it answered 429.
#[derive(Debug, Clone, Copy)]
struct Lane {
    running: usize,
    next_look: Instant,
    paused_until: Option<Instant>,
}

/// How many of `provider`'s due integrations to claim now (0: none) with `in_flight`
/// refreshes running in all: none while its lane waits or is paused after a 429; never more
/// than its free slots under its cap, the free slots overall, or a batch; and only once at
/// least a quarter of what it could run at once is free, so claims come in batches rather
/// than one per finished refresh.
fn claim_size(
    config: &SchedulerConfig,
    in_flight: usize,
    provider: ProviderKind,
    lane: &Lane,
    now: Instant,
) -> usize {
    if now < lane.next_look || lane.paused_until.is_some_and(|until| now < until) {
        return 0;
    }
    let batch = usize::try_from(config.batch).unwrap_or(usize::MAX);
    let cap = config.cap(provider);
    let free = config.concurrency.saturating_sub(in_flight);
    let limit = cap.saturating_sub(lane.running).min(free).min(batch);
    let widest = cap.min(batch).min(config.concurrency);
    if lane.running == 0 || limit >= (widest / 4).max(1) {
        limit
    } else {
        0
    }
}

struct DrainLoop {
    broker: Broker,
    config: SchedulerConfig,
    in_flight: JoinSet<(ProviderKind, Outcome)>,
    lanes: HashMap<ProviderKind, Lane>,
}

impl DrainLoop {
    fn new(broker: Broker, config: SchedulerConfig) -> Self {
        let now = Instant::now();
        let lanes = ProviderKind::ALL
            .iter()
            .map(|p| {
                let lane = Lane {
                    running: 0,
                    next_look: now,
                    paused_until: None,
                };
                (*p, lane)
            })
            .collect();
        Self {
            broker,
            config,
            in_flight: JoinSet::new(),
            lanes,
        }
    }

    fn jittered_interval(&self) -> Duration {
        let interval = self.config.interval;
        let tenth = u64::try_from(interval.as_millis() / 10).unwrap_or(0);
        interval + Duration::from_millis(rand::rng().random_range(0..=tenth))
    }

    fn claim_size(&self, provider: ProviderKind, lane: &Lane, now: Instant) -> usize {
        claim_size(&self.config, self.in_flight.len(), provider, lane, now)
    }

    /// Claims due integrations for every provider with room and starts their refreshes.
    async fn fill(&mut self) {
        for provider in ProviderKind::ALL {
            let now = Instant::now();
            let Some(lane) = self.lanes.get(provider).copied() else {
                continue;
            };
            let limit = self.claim_size(*provider, &lane, now);
            if limit == 0 {
                continue;
            }
            let claimed = match self
                .broker
                .claim_due(
                    u64::try_from(limit).unwrap_or(u64::MAX),
                    self.config.lease,
                    &[*provider],
                )
                .await
            {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::warn!(error = %e, "the refresh scheduler could not claim due integrations");
                    Vec::new()
                }
            };
            // Fewer than asked: nothing more is due for this provider for now.
            let next_look = if claimed.len() < limit {
                now + self.jittered_interval()
            } else {
                now
            };
            let started = claimed.len();
            for integration in claimed {
                let broker = self.broker.clone();
                self.in_flight.spawn(async move {
                    let provider = integration.provider;
                    (provider, broker.refresh_claimed(integration).await)
                });
            }
            if let Some(lane) = self.lanes.get_mut(provider) {
                lane.running += started;
                lane.next_look = next_look;
            }
        }
    }

    fn finished(&mut self, provider: ProviderKind, outcome: Outcome) {
        let Some(lane) = self.lanes.get_mut(&provider) else {
            return;
        };
        lane.running = lane.running.saturating_sub(1);
        if let Outcome::RateLimited(wait) = outcome {
            tracing::info!(%provider, wait_secs = wait.as_secs(), "provider rate-limited refreshes; pausing its claims");
            lane.paused_until = Some(Instant::now() + wait);
        }
    }

    /// When the loop must look again although nothing finished.
    fn next_wake(&self) -> Instant {
        self.lanes
            .values()
            .map(|lane| match lane.paused_until {
                Some(until) => lane.next_look.max(until),
                None => lane.next_look,
            })
            .min()
            .unwrap_or_else(|| Instant::now() + self.config.interval)
            .max(Instant::now() + Duration::from_millis(20))
    }

    async fn run(mut self) {
        loop {
            self.fill().await;
            let wake = self.next_wake();
            let done = tokio::select! {
                Some(done) = self.in_flight.join_next() => done,
                () = tokio::time::sleep_until(wake) => continue,
            };
            match done {
                Ok((provider, outcome)) => self.finished(provider, outcome),
                Err(e) => {
                    // A refresh task panicked: its provider is unknown, so start counting anew.
                    tracing::error!(error = %e, "a scheduled refresh task failed");
                    self.in_flight.abort_all();
                    while self.in_flight.join_next().await.is_some() {}
                    for lane in self.lanes.values_mut() {
                        lane.running = 0;
                    }
                }
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

/// What the supervisor reports about the loop it watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Supervised {
    /// The loop (re)started.
    Running,
    /// The loop died (panic, cancellation or return) and will be restarted.
    Died,
}

/// Runs the future `start()` makes as its own task, and again after `RESTART_DELAY` each
/// time it dies (a panic, a cancellation or a return), reporting each start and death. Runs
/// until aborted; aborting it aborts the loop too.
async fn supervise<F, Fut>(report: impl Fn(Supervised), start: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    loop {
        report(Supervised::Running);
        let mut guard = AbortOnDrop(tokio::spawn(start()));
        let ended = (&mut guard.0).await;
        report(Supervised::Died);
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
}

impl Broker {
    /// Runs the refresh scheduler until the returned task is aborted, restarting its loop
    /// whenever it dies (counted in `/metrics`, and reported not running meanwhile).
    pub fn spawn_refresh_scheduler(&self, config: SchedulerConfig) -> tokio::task::JoinHandle<()> {
        let broker = self.clone();
        let report = {
            let broker = broker.clone();
            move |state| {
                if let Some(observer) = broker.observer() {
                    match state {
                        Supervised::Running => observer.scheduler_running(true),
                        Supervised::Died => {
                            observer.scheduler_running(false);
                            observer.scheduler_restarted();
                        }
                    }
                }
            }
        };
        tokio::spawn(supervise(report, move || {
            DrainLoop::new(broker.clone(), config.clone()).run()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_supervisor_restarts_a_loop_that_panics_or_returns() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};

        let reports = Arc::new(Mutex::new(Vec::new()));
        let starts = Arc::new(AtomicUsize::new(0));
        let supervisor = tokio::spawn({
            let reports = reports.clone();
            let starts = starts.clone();
            supervise(
                move |state| reports.lock().unwrap().push(state),
                move || {
                    let run = starts.fetch_add(1, Ordering::SeqCst);
                    async move {
                        match run {
                            0 => panic!("the first run dies"),
                            1 => {} // the second returns
                            _ => std::future::pending().await,
                        }
                    }
                },
            )
        });
        // Two deaths, each followed by the restart delay, then a run that keeps going.
        tokio::time::sleep(RESTART_DELAY * 3).await;
        assert_eq!(starts.load(Ordering::SeqCst), 3);
        assert_eq!(
            *reports.lock().unwrap(),
            [
                Supervised::Running,
                Supervised::Died,
                Supervised::Running,
                Supervised::Died,
                Supervised::Running
            ]
        );
        supervisor.abort();
    }

    fn config() -> SchedulerConfig {
        SchedulerConfig {
            batch: 200,
            concurrency: 128,
            provider_concurrency: 64,
            provider_caps: [(ProviderKind::Dexcom, 4)].into_iter().collect(),
            ..SchedulerConfig::default()
        }
    }

    fn lane(running: usize, now: Instant) -> Lane {
        Lane {
            running,
            next_look: now,
            paused_until: None,
        }
    }

    #[test]
    fn a_provider_claims_up_to_its_cap_and_the_free_slots() {
        let (c, now) = (config(), Instant::now());
        assert_eq!(
            claim_size(&c, 0, ProviderKind::Google, &lane(0, now), now),
            64
        );
        assert_eq!(
            claim_size(&c, 0, ProviderKind::Dexcom, &lane(0, now), now),
            4
        );
        // At its cap a provider waits for its own slots, whatever the others do.
        assert_eq!(
            claim_size(&c, 64, ProviderKind::Google, &lane(64, now), now),
            0
        );
        assert_eq!(
            claim_size(&c, 64, ProviderKind::Microsoft, &lane(0, now), now),
            64
        );
        // All slots taken by others: nothing more, even for an idle provider.
        assert_eq!(
            claim_size(&c, 128, ProviderKind::Notion, &lane(0, now), now),
            0
        );
    }

    #[test]
    fn claims_wait_for_a_quarter_of_the_slots_rather_than_one_per_refresh() {
        let (c, now) = (config(), Instant::now());
        assert_eq!(
            claim_size(&c, 63, ProviderKind::Google, &lane(63, now), now),
            0
        );
        assert_eq!(
            claim_size(&c, 48, ProviderKind::Google, &lane(48, now), now),
            16
        );
    }

    #[test]
    fn a_rate_limited_or_drained_provider_is_left_alone_until_its_time() {
        let (c, now) = (config(), Instant::now());
        let mut paused = lane(0, now);
        paused.paused_until = Some(now + Duration::from_secs(30));
        assert_eq!(claim_size(&c, 0, ProviderKind::Google, &paused, now), 0);
        assert_eq!(
            claim_size(
                &c,
                0,
                ProviderKind::Google,
                &paused,
                now + Duration::from_secs(31)
            ),
            64
        );
        let mut drained = lane(0, now);
        drained.next_look = now + Duration::from_secs(10);
        assert_eq!(claim_size(&c, 0, ProviderKind::Google, &drained, now), 0);
    }
}
