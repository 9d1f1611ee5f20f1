//! `last_used_at` without a write per read: uses are kept in memory (latest per integration)
//! and written in one batch every few seconds, and on `flush`. A failed write keeps the
//! uses for the next attempt.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tether_core::IntegrationId;
use tether_core::ports::IntegrationRepository;
use tokio::task::AbortHandle;

use crate::runtime::Runtime;

pub(crate) struct UsageRecorder {
    repo: Arc<dyn IntegrationRepository>,
    pending: Mutex<HashMap<IntegrationId, DateTime<Utc>>>,
    every: Duration,
    /// The periodic flusher, started on first use, on `runtime`.
    flusher: OnceLock<AbortHandle>,
    runtime: Runtime,
}

impl UsageRecorder {
    pub(crate) fn new(repo: Arc<dyn IntegrationRepository>, every: Duration) -> Arc<Self> {
        Arc::new(Self {
            repo,
            every,
            pending: Mutex::new(HashMap::new()),
            flusher: OnceLock::new(),
            runtime: Runtime::current(),
        })
    }

    /// Notes a use; written by the next flush.
    pub(crate) fn record(self: &Arc<Self>, id: IntegrationId, at: DateTime<Utc>) {
        self.flusher.get_or_init(|| {
            self.runtime
                .spawn(flush_periodically(Arc::downgrade(self), self.every))
                .abort_handle()
        });
        merge(&self.pending, [(id, at)]);
    }

    /// Writes every pending use.
    pub(crate) async fn flush(&self) {
        let taken = match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(_) => return,
        };
        if taken.is_empty() {
            return;
        }
        let used: Vec<_> = taken.into_iter().collect();
        if let Err(e) = self.repo.record_usage(&used).await {
            tracing::warn!(integrations = used.len(), error = %e, "could not record token use; will retry");
            merge(&self.pending, used);
        }
    }

    /// Writes every pending use and stops the periodic flusher.
    pub(crate) async fn shutdown(&self) {
        if let Some(flusher) = self.flusher.get() {
            flusher.abort();
        }
        self.flush().await;
    }
}

/// Keeps the latest use per integration.
fn merge(
    pending: &Mutex<HashMap<IntegrationId, DateTime<Utc>>>,
    used: impl IntoIterator<Item = (IntegrationId, DateTime<Utc>)>,
) {
    if let Ok(mut pending) = pending.lock() {
        for (id, at) in used {
            let latest = pending.entry(id).or_insert(at);
            *latest = (*latest).max(at);
        }
    }
}

async fn flush_periodically(recorder: Weak<UsageRecorder>, every: Duration) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        // Stops when the broker that owned the recorder is gone.
        let Some(recorder) = recorder.upgrade() else {
            return;
        };
        recorder.flush().await;
    }
}
