//! `last_used_at` without a write per read: uses are kept in memory (latest per integration)
//! and written every few seconds, and on `flush`. A failed write keeps the uses for the next
//! attempt.
//!
//! The periodic write is paced: its rows go in statements of [`PACED_CHUNK`] spread over half
//! the period, so the database sees a steady trickle instead of one burst per period (at
//! 100,000 integrations, tens of thousands of rows back to back). `flush` (shutdown, tests)
//! writes at once.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tether_core::IntegrationId;
use tether_core::ports::IntegrationRepository;
use tokio::task::AbortHandle;

use crate::runtime::Runtime;

/// Rows per statement of the periodic, paced write.
const PACED_CHUNK: usize = 100;

/// The longest `shutdown` waits for an aborted periodic write to hand its rows back.
const ABORT_WAIT: Duration = Duration::from_secs(1);

type Use = (IntegrationId, DateTime<Utc>);
type Pending = Mutex<HashMap<IntegrationId, DateTime<Utc>>>;

pub(crate) struct UsageRecorder {
    repo: Arc<dyn IntegrationRepository>,
    pending: Pending,
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

    /// Writes every pending use, at once.
    pub(crate) async fn flush(&self) {
        self.write_pending(usize::MAX, Duration::ZERO).await;
    }

    /// Writes every pending use in statements of `chunk` spread over `spread`; what is not
    /// written goes back to `pending` for the next attempt.
    async fn write_pending(&self, chunk: usize, spread: Duration) {
        let used = take(&self.pending);
        write_paced(&self.pending, used, chunk, spread, |uses| {
            let repo = self.repo.clone();
            async move {
                repo.record_usage(&uses).await.map_err(|e| {
                    tracing::warn!(integrations = uses.len(), error = %e, "could not record token use; will retry");
                })
            }
        })
        .await;
    }

    /// Writes every pending use and stops the periodic flusher (whose unwritten uses go back
    /// to the pending ones first).
    pub(crate) async fn shutdown(&self) {
        if let Some(flusher) = self.flusher.get() {
            flusher.abort();
            let waited = tokio::time::timeout(ABORT_WAIT, async {
                while !flusher.is_finished() {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
            .await;
            if waited.is_err() {
                tracing::warn!("the periodic last_used_at write did not stop in time");
            }
        }
        self.flush().await;
    }
}

fn take(pending: &Pending) -> Vec<Use> {
    match pending.lock() {
        Ok(mut pending) => std::mem::take(&mut *pending).into_iter().collect(),
        Err(_) => Vec::new(),
    }
}

/// Keeps the latest use per integration.
fn merge(pending: &Pending, used: impl IntoIterator<Item = Use>) {
    if let Ok(mut pending) = pending.lock() {
        for (id, at) in used {
            let latest = pending.entry(id).or_insert(at);
            *latest = (*latest).max(at);
        }
    }
}

/// Uses taken from `pending` and not yet written: back to `pending` when dropped, so a failed
/// or aborted write loses none.
struct Unwritten<'a> {
    pending: &'a Pending,
    rest: Vec<Use>,
    written: usize,
}

impl Drop for Unwritten<'_> {
    fn drop(&mut self) {
        merge(self.pending, self.rest.drain(self.written..));
    }
}

/// Writes `used` with `write`, `chunk` at a time, the chunks evenly spaced over `spread`. Stops at the first failed chunk; what is unwritten goes back to `pending` (also
/// when the future is dropped mid-way). Returns how many uses were written.
async fn write_paced<F, Fut>(
    pending: &Pending,
    used: Vec<Use>,
    chunk: usize,
    spread: Duration,
    mut write: F,
) -> usize
where
    F: FnMut(Vec<Use>) -> Fut,
    Fut: Future<Output = Result<(), ()>>,
{
    let chunk = chunk.max(1);
    let chunks = used.len().div_ceil(chunk);
    let gap = spread / u32::try_from(chunks.max(1)).unwrap_or(u32::MAX);
    let mut unwritten = Unwritten {
        pending,
        rest: used,
        written: 0,
    };
    while unwritten.written < unwritten.rest.len() {
        if unwritten.written > 0 {
            tokio::time::sleep(gap).await;
        }
        let end = unwritten
            .written
            .saturating_add(chunk)
            .min(unwritten.rest.len());
        if write(unwritten.rest[unwritten.written..end].to_vec())
            .await
            .is_err()
        {
            break;
        }
        unwritten.written = end;
    }
    unwritten.written
}

async fn flush_periodically(recorder: Weak<UsageRecorder>, every: Duration) {
    let every = every.max(Duration::from_millis(10));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        // Stops when the broker that owned the recorder is gone.
        let Some(recorder) = recorder.upgrade() else {
            return;
        };
        recorder.write_pending(PACED_CHUNK, every / 2).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::time::Instant;

    fn uses(n: usize) -> Vec<Use> {
        let at = Utc::now();
        (0..n).map(|_| (IntegrationId::new(), at)).collect()
    }

    fn pending_len(pending: &Pending) -> usize {
        pending.lock().unwrap().len()
    }

    #[tokio::test(start_paused = true)]
    async fn a_paced_write_spreads_its_chunks_over_the_period() {
        let pending = Pending::default();
        let started = Instant::now();
        let writes = Mutex::new(Vec::new());
        let written = write_paced(
            &pending,
            uses(250),
            PACED_CHUNK,
            Duration::from_secs(3),
            |chunk| {
                writes
                    .lock()
                    .unwrap()
                    .push((started.elapsed(), chunk.len()));
                async { Ok(()) }
            },
        )
        .await;
        assert_eq!(written, 250);
        assert_eq!(
            *writes.lock().unwrap(),
            [
                (Duration::ZERO, 100),
                (Duration::from_secs(1), 100),
                (Duration::from_secs(2), 50)
            ]
        );
        assert_eq!(pending_len(&pending), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_chunk_gives_it_and_the_rest_back() {
        let pending = Pending::default();
        let calls = AtomicUsize::new(0);
        let written = write_paced(
            &pending,
            uses(250),
            PACED_CHUNK,
            Duration::from_secs(3),
            |_| {
                let call = calls.fetch_add(1, Ordering::SeqCst);
                async move { if call == 1 { Err(()) } else { Ok(()) } }
            },
        )
        .await;
        assert_eq!(written, 100);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "no write after a failure");
        assert_eq!(pending_len(&pending), 150);
    }

    #[tokio::test(start_paused = true)]
    async fn an_abandoned_write_gives_back_what_it_did_not_finish() {
        // Dropped while waiting between chunks: the third chunk was never tried.
        let pending = Pending::default();
        let between = tokio::time::timeout(
            Duration::from_millis(1500),
            write_paced(
                &pending,
                uses(250),
                PACED_CHUNK,
                Duration::from_secs(3),
                |_| async { Ok(()) },
            ),
        )
        .await;
        assert!(between.is_err(), "the write was still under way");
        assert_eq!(pending_len(&pending), 50);

        // Dropped during the second chunk's statement: that chunk was not known to be written.
        let pending = Pending::default();
        let calls = AtomicUsize::new(0);
        let during = tokio::time::timeout(
            Duration::from_millis(1500),
            write_paced(
                &pending,
                uses(250),
                PACED_CHUNK,
                Duration::from_secs(3),
                |_| {
                    let call = calls.fetch_add(1, Ordering::SeqCst);
                    async move {
                        if call == 1 {
                            std::future::pending::<()>().await;
                        }
                        Ok(())
                    }
                },
            ),
        )
        .await;
        assert!(during.is_err(), "the write was still under way");
        assert_eq!(pending_len(&pending), 150);
    }

    #[tokio::test(start_paused = true)]
    async fn a_returned_use_never_moves_last_used_at_back() {
        let pending = Pending::default();
        let id = IntegrationId::new();
        let earlier = Utc::now();
        let later = earlier + chrono::Duration::seconds(5);
        merge(&pending, [(id, later)]);
        // A failed write of an earlier use of the same integration comes back.
        write_paced(
            &pending,
            vec![(id, earlier)],
            PACED_CHUNK,
            Duration::from_secs(1),
            |_| async { Err(()) },
        )
        .await;
        assert_eq!(pending.lock().unwrap().get(&id), Some(&later));
    }
}
