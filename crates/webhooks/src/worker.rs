//! The delivery worker every replica runs. It claims due deliveries with a lease (so replicas
//! share the work and a replica that dies loses nothing: its claims lapse and are taken
//! again), keeps up to `concurrency` requests in flight, records each attempt (delivered, or
//! retried on the schedule, or given up), and disables an endpoint whose every delivery has
//! failed for longer than `disable_after`. While work is due it claims again as soon as a
//! quarter of its slots are free; idle, it looks every `poll_interval`. A supervisor restarts
//! the loop if it dies, and reports it.
//!
//! Delivery is at least once: a worker that crashes between the request and its record, or
//! whose lease lapses mid-request, lets the delivery be attempted again with the same
//! `webhook-id`.

use std::time::Duration;

use futures::future::join_all;
use rand::Rng;
use tether_core::audit::{Actor, AuditAction, AuditEvent};
use tether_core::webhooks::{AttemptRecord, AutoDisable, ClaimedDelivery, NextStep, Recorded};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::sender::Attempt;
use crate::service::Webhooks;
use crate::signing::SignedHeaders;

/// How long the supervisor waits before restarting a loop that died.
const RESTART_DELAY: Duration = Duration::from_secs(1);

/// What one pass did ([`Webhooks::deliver_due`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    pub claimed: usize,
    pub delivered: usize,
    /// Failed attempts that will be tried again.
    pub retried: usize,
    /// Failed attempts that were the last of the schedule.
    pub failed: usize,
    /// Attempts whose record lost to another worker (their lease had lapsed).
    pub stale: usize,
}

/// How one claimed delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Delivered,
    Retry,
    Failed,
    Stale,
    /// The record could not be written; the lease will lapse and it is tried again.
    Unrecorded,
}

impl PassReport {
    fn add(&mut self, ended: Ended) {
        match ended {
            Ended::Delivered => self.delivered += 1,
            Ended::Retry => self.retried += 1,
            Ended::Failed => self.failed += 1,
            Ended::Stale => self.stale += 1,
            Ended::Unrecorded => {}
        }
    }
}

impl Webhooks {
    fn lease_until(&self) -> chrono::DateTime<chrono::Utc> {
        let lease = chrono::Duration::from_std(self.inner.settings.lease)
            .unwrap_or_else(|_| chrono::Duration::seconds(60));
        self.now() + lease
    }

    async fn claim(&self, limit: usize) -> Vec<ClaimedDelivery> {
        let limit = u64::try_from(limit).unwrap_or(u64::MAX);
        match self
            .inner
            .repo
            .claim_deliveries(self.now(), limit, self.lease_until())
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "the webhook worker could not claim due deliveries");
                Vec::new()
            }
        }
    }

    /// Attempts one claimed delivery and records the outcome.
    async fn deliver(&self, claimed: ClaimedDelivery) -> Ended {
        let sent_at = self.now();
        let attempt = match SignedHeaders::new(
            &claimed.secrets,
            claimed.event_id.as_uuid().to_string(),
            sent_at.timestamp(),
            &claimed.body,
        ) {
            Ok(headers) => {
                self.inner
                    .sender
                    .post(&claimed.url, &headers, claimed.body.clone())
                    .await
            }
            Err(e) => Attempt::refused(e.to_string()),
        };
        let at = self.now();
        let settings = &self.inner.settings;
        let next = if attempt.succeeded() {
            NextStep::Delivered
        } else {
            settings.retry.after_failure(claimed.attempts + 1, at)
        };
        let disable = (!attempt.succeeded())
            .then(|| chrono::Duration::from_std(settings.disable_after).ok())
            .flatten()
            .map(|after| AutoDisable {
                failing_before: at - after,
                reason: format!(
                    "Disabled automatically: every delivery attempt failed for more than {} \
                     (last: {}). Fix the receiver, enable the endpoint again and redeliver what \
                     it missed.",
                    human(settings.disable_after),
                    attempt.error.as_deref().unwrap_or("failed"),
                ),
            });
        let record = AttemptRecord {
            at,
            status_code: attempt.status_code,
            latency_ms: u64::try_from(attempt.latency.as_millis()).unwrap_or(u64::MAX),
            error: attempt.error.clone(),
            next,
        };
        let ended = match self
            .inner
            .repo
            .record_attempt(&claimed, &record, disable.as_ref())
            .await
        {
            Ok(Recorded::Stale) => {
                tracing::debug!(delivery = %claimed.id, "another worker recorded this delivery first");
                Ended::Stale
            }
            Ok(Recorded::Recorded { disabled }) => {
                if let Some(endpoint) = disabled {
                    self.disabled(&endpoint).await;
                }
                match next {
                    NextStep::Delivered => Ended::Delivered,
                    NextStep::RetryAt(_) => Ended::Retry,
                    NextStep::GiveUp => Ended::Failed,
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, delivery = %claimed.id, "could not record a webhook attempt; it will be attempted again when its claim lapses");
                Ended::Unrecorded
            }
        };
        if let Some(observer) = self.inner.observer.get() {
            match ended {
                Ended::Delivered => {
                    observer.attempt("delivered");
                    if let Ok(delay) = (at - claimed.occurred_at).to_std() {
                        observer.delivered_after(delay);
                    }
                }
                Ended::Retry => observer.attempt("retry"),
                Ended::Failed => observer.attempt("failed"),
                Ended::Stale | Ended::Unrecorded => {}
            }
        }
        match ended {
            Ended::Retry | Ended::Failed => tracing::info!(
                endpoint_id = %claimed.endpoint_id,
                event_id = %claimed.event_id.as_uuid(),
                attempt = claimed.attempts + 1,
                status = attempt.status_code,
                error = attempt.error.as_deref().unwrap_or_default(),
                gave_up = ended == Ended::Failed,
                "webhook delivery failed"
            ),
            _ => tracing::debug!(
                endpoint_id = %claimed.endpoint_id,
                event_id = %claimed.event_id.as_uuid(),
                "webhook delivered"
            ),
        }
        ended
    }

    async fn disabled(&self, endpoint: &tether_core::webhooks::WebhookEndpoint) {
        tracing::warn!(
            endpoint_id = %endpoint.id,
            reason = endpoint.disabled_reason.as_deref().unwrap_or_default(),
            "disabled a webhook endpoint whose deliveries kept failing"
        );
        let mut event = AuditEvent::new(Actor::System, AuditAction::WebhookEndpointDisabled);
        event.detail = Some(serde_json::json!({
            "endpoint_id": endpoint.id.to_string(),
            "reason": endpoint.disabled_reason,
            "failing_since": endpoint.failing_since,
        }));
        self.audit(event).await;
        if let Some(observer) = self.inner.observer.get() {
            observer.endpoint_disabled();
        }
    }

    /// One pass: claims what is due now (up to `concurrency`), attempts it all concurrently
    /// and records the outcomes. Tests drive delivery with it; the worker's loop does the
    /// same continuously.
    pub async fn deliver_due(&self) -> PassReport {
        let claimed = self.claim(self.inner.settings.concurrency).await;
        let mut report = PassReport {
            claimed: claimed.len(),
            ..PassReport::default()
        };
        for ended in join_all(claimed.into_iter().map(|c| self.deliver(c))).await {
            report.add(ended);
        }
        report
    }

    /// Passes until one finds nothing due (later events of an integration become due as
    /// the earlier ones are delivered); the sum of what they did.
    pub async fn drain(&self) -> PassReport {
        let mut total = PassReport::default();
        loop {
            let pass = self.deliver_due().await;
            if pass.claimed == 0 {
                return total;
            }
            total.claimed += pass.claimed;
            total.delivered += pass.delivered;
            total.retried += pass.retried;
            total.failed += pass.failed;
            total.stale += pass.stale;
        }
    }

    fn jittered_interval(&self) -> Duration {
        let interval = self.inner.settings.poll_interval;
        let tenth = u64::try_from(interval.as_millis() / 10).unwrap_or(0);
        interval + Duration::from_millis(rand::rng().random_range(0..=tenth))
    }

    /// The worker's loop; runs until aborted.
    async fn run(self) {
        let concurrency = self.inner.settings.concurrency.max(1);
        let quarter = (concurrency / 4).max(1);
        let mut in_flight: JoinSet<Ended> = JoinSet::new();
        let mut next_look = Instant::now();
        loop {
            let now = Instant::now();
            let free = concurrency.saturating_sub(in_flight.len());
            let wants = free > 0 && (in_flight.is_empty() || free >= quarter);
            if wants && now >= next_look {
                let claimed = self.claim(free).await;
                if claimed.len() < free {
                    next_look = Instant::now() + self.jittered_interval();
                }
                let started = !claimed.is_empty();
                for delivery in claimed {
                    let worker = self.clone();
                    in_flight.spawn(async move { worker.deliver(delivery).await });
                }
                if started {
                    continue;
                }
            }
            let wake = if wants {
                next_look.max(Instant::now() + Duration::from_millis(10))
            } else {
                Instant::now() + self.inner.settings.poll_interval
            };
            tokio::select! {
                Some(done) = in_flight.join_next() => {
                    if let Err(e) = done {
                        tracing::error!(error = %e, "a webhook delivery task failed; its claim lapses and it is attempted again");
                    }
                }
                () = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    /// Runs the delivery worker until the returned task is aborted, restarting its loop
    /// whenever it dies.
    pub fn spawn_worker(&self) -> tokio::task::JoinHandle<()> {
        let webhooks = self.clone();
        tokio::spawn(async move {
            loop {
                if let Some(observer) = webhooks.inner.observer.get() {
                    observer.worker_running(true);
                }
                let mut guard = AbortOnDrop(tokio::spawn(webhooks.clone().run()));
                let ended = (&mut guard.0).await;
                if let Some(observer) = webhooks.inner.observer.get() {
                    observer.worker_running(false);
                    observer.worker_restarted();
                }
                match ended {
                    Err(e) if e.is_panic() => {
                        tracing::error!(error = %e, "the webhook worker panicked; restarting it");
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the webhook worker was cancelled; restarting it")
                    }
                    Ok(()) => tracing::error!("the webhook worker stopped; restarting it"),
                }
                tokio::time::sleep(RESTART_DELAY).await;
            }
        })
    }
}

/// Aborts the task it guards when dropped, so aborting the supervisor stops its loop too.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `5 days`, `36 hours`, `90 minutes`.
fn human(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        s if s >= 86_400 && s % 86_400 == 0 => plural(s / 86_400, "day"),
        s if s >= 3_600 && s % 3_600 == 0 => plural(s / 3_600, "hour"),
        s if s >= 60 && s % 60 == 0 => plural(s / 60, "minute"),
        s => plural(s, "second"),
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human(Duration::from_secs(5 * 86_400)), "5 days");
        assert_eq!(human(Duration::from_secs(3_600)), "1 hour");
        assert_eq!(human(Duration::from_secs(90)), "90 seconds");
        assert_eq!(human(Duration::from_secs(120)), "2 minutes");
    }
}
