//! `AuditSink`: audit records written in batches by a background task (group commit). A token
//! read waits for its record to be committed ([`AuditSink::record_committed`]), but many
//! concurrent reads share one INSERT: a batch holding a record someone waits for is written
//! within `commit_linger` (default: at once; what arrives meanwhile shares the next write). Nothing is dropped: a full queue makes the
//! caller write its record itself, a failed batch is retried and then written one record at a
//! time, and `flush` / `shutdown` return only once everything queued before them is in the
//! database.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tether_core::audit::AuditEvent;
use tether_core::ports::AuditRepository;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::runtime::Runtime;

/// Records collected before a write (token reads among them are coalesced first).
const BATCH: usize = 5000;
/// Attempts at a batch before falling back to single-record writes.
const BATCH_ATTEMPTS: u32 = 3;

#[allow(
    clippy::large_enum_variant,
    reason = "records are nearly every message; boxing them would allocate once per token read"
)]
enum Command {
    /// A record, and who waits for its commit (told whether it was written).
    Record(AuditEvent, Option<oneshot::Sender<bool>>),
    Flush(oneshot::Sender<()>),
    Shutdown(oneshot::Sender<()>),
}

/// Queue and batching settings.
#[derive(Debug, Clone, Copy)]
pub struct AuditSinkConfig {
    /// Queue length before callers start writing their own records.
    pub capacity: usize,
    /// How long a record nobody waits for may wait for others to share its batch.
    pub linger: Duration,
    /// How long a record a caller waits for (a token read) may wait for others before its
    /// batch is written. Zero (the default) still groups: the records that arrive while a
    /// write is in flight share the next one.
    pub commit_linger: Duration,
    /// Batches written at once, each on its own connection. With 1, what arrives while a
    /// batch is written waits for it to finish; with more, the next batch starts at once.
    pub writers: usize,
}

impl Default for AuditSinkConfig {
    fn default() -> Self {
        Self {
            capacity: 16_384,
            linger: Duration::from_millis(500),
            commit_linger: Duration::ZERO,
            writers: 2,
        }
    }
}

/// The record could not be written: the operation it describes must not be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotRecorded;

/// The batching audit writer. Share one per process (the broker holds it).
pub struct AuditSink {
    repo: Arc<dyn AuditRepository>,
    config: AuditSinkConfig,
    /// Started on first use, on `runtime`.
    queue: OnceLock<mpsc::Sender<Command>>,
    runtime: Runtime,
    overflow_writes: AtomicU64,
}

impl std::fmt::Debug for AuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSink")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AuditSink {
    pub fn new(repo: Arc<dyn AuditRepository>, config: AuditSinkConfig) -> Self {
        Self {
            repo,
            config: AuditSinkConfig {
                capacity: config.capacity.max(1),
                writers: config.writers.max(1),
                ..config
            },
            queue: OnceLock::new(),
            runtime: Runtime::current(),
            overflow_writes: AtomicU64::new(0),
        }
    }

    /// Queues `event`; when the queue is full (or shut down) writes it before returning.
    pub async fn record(&self, event: AuditEvent) {
        let Err(refused) = self.queue().try_send(Command::Record(event, None)) else {
            return;
        };
        if let Command::Record(event, _) = refused.into_inner() {
            self.overflow_writes.fetch_add(1, Ordering::Relaxed);
            write_one(self.repo.as_ref(), &event).await;
        }
    }

    /// Queues `event` and returns once it is committed, sharing the write with the records
    /// queued within `commit_linger`; when the queue is full (or shut down) writes it itself.
    pub async fn record_committed(&self, event: AuditEvent) -> Result<(), NotRecorded> {
        let (done, written) = oneshot::channel();
        match self.queue().try_send(Command::Record(event, Some(done))) {
            Ok(()) => match written.await {
                Ok(true) => Ok(()),
                // Not written, or the writer is gone without saying (it cannot be known).
                Ok(false) | Err(_) => Err(NotRecorded),
            },
            Err(refused) => {
                let Command::Record(event, _) = refused.into_inner() else {
                    return Err(NotRecorded);
                };
                self.overflow_writes.fetch_add(1, Ordering::Relaxed);
                if write_one(self.repo.as_ref(), &event).await {
                    Ok(())
                } else {
                    Err(NotRecorded)
                }
            }
        }
    }

    /// Returns once every record queued before the call is written.
    pub async fn flush(&self) {
        self.ask(Command::Flush).await;
    }

    /// Writes everything queued and stops the writer; later records are written directly.
    pub async fn shutdown(&self) {
        self.ask(Command::Shutdown).await;
    }

    /// How many records found the queue full (or closed) and were written by their caller.
    pub fn overflow_writes(&self) -> u64 {
        self.overflow_writes.load(Ordering::Relaxed)
    }

    async fn ask(&self, command: fn(oneshot::Sender<()>) -> Command) {
        let (done, wait) = oneshot::channel();
        // A closed queue has been drained by `shutdown`: nothing left to wait for.
        if self.queue().send(command(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    fn queue(&self) -> &mpsc::Sender<Command> {
        self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(self.config.capacity);
            self.runtime.spawn(run(self.repo.clone(), rx, self.config));
            tx
        })
    }
}

/// What the writer collected since its last write.
#[derive(Default)]
struct Pending {
    events: Vec<AuditEvent>,
    /// Callers waiting for their record's commit.
    committers: Vec<oneshot::Sender<bool>>,
    waiters: Vec<oneshot::Sender<()>>,
    closing: bool,
}

impl Pending {
    fn absorb(&mut self, commands: &mut Vec<Command>) {
        for command in commands.drain(..) {
            match command {
                Command::Record(event, committer) => {
                    self.events.push(event);
                    self.committers.extend(committer);
                }
                Command::Flush(done) => self.waiters.push(done),
                Command::Shutdown(done) => {
                    self.waiters.push(done);
                    self.closing = true;
                }
            }
        }
    }

    /// Write now: the batch is full, someone waits, or the writer is stopping.
    fn due(&self) -> bool {
        self.closing || !self.waiters.is_empty() || self.events.len() >= BATCH
    }
}

async fn run(
    repo: Arc<dyn AuditRepository>,
    mut rx: mpsc::Receiver<Command>,
    config: AuditSinkConfig,
) {
    let writers = u32::try_from(config.writers).unwrap_or(u32::MAX);
    let free = Arc::new(Semaphore::new(writers as usize));
    let mut commands = Vec::with_capacity(BATCH);
    loop {
        // A free writer first: what arrives meanwhile joins the batch it will write.
        let Ok(writer) = free.clone().acquire_owned().await else {
            return;
        };
        // 0 only when every sender is gone and the queue is empty.
        if rx.recv_many(&mut commands, BATCH).await == 0 {
            return;
        }
        let mut pending = Pending::default();
        pending.absorb(&mut commands);
        let started = tokio::time::Instant::now();
        // Someone waits for a commit: write within the group-commit window.
        let deadline = |pending: &Pending| {
            started
                + if pending.committers.is_empty() {
                    config.linger
                } else {
                    config.commit_linger
                }
        };
        while !pending.due() {
            let until = deadline(&pending);
            match tokio::time::timeout_at(until, rx.recv_many(&mut commands, BATCH)).await {
                Ok(0) => pending.closing = true,
                Ok(_) => pending.absorb(&mut commands),
                Err(_) => break,
            }
        }
        if pending.closing {
            rx.close();
            while rx.recv_many(&mut commands, BATCH).await > 0 {
                pending.absorb(&mut commands);
            }
        }
        if pending.closing || !pending.waiters.is_empty() {
            // A flush is answered only once every earlier batch is in, the others' too.
            drop(writer);
            let Ok(all) = free.clone().acquire_many_owned(writers).await else {
                return;
            };
            let closing = pending.closing;
            write_pending(repo.as_ref(), pending).await;
            drop(all);
            if closing {
                return;
            }
            continue;
        }
        let repo = repo.clone();
        tokio::spawn(async move {
            write_pending(repo.as_ref(), pending).await;
            drop(writer);
        });
    }
}

/// Writes a batch, then tells who waits for it.
async fn write_pending(repo: &dyn AuditRepository, mut pending: Pending) {
    let written = write_batch(repo, &mut pending.events).await;
    for committer in pending.committers {
        let _ = committer.send(written);
    }
    for done in pending.waiters {
        let _ = done.send(());
    }
}

/// Whether every record was written.
async fn write_batch(repo: &dyn AuditRepository, events: &mut Vec<AuditEvent>) -> bool {
    if events.is_empty() {
        return true;
    }
    *events = crate::audit_coalesce::coalesce(std::mem::take(events));
    for attempt in 1..=BATCH_ATTEMPTS {
        match repo.append_batch(events).await {
            Ok(()) => {
                events.clear();
                return true;
            }
            Err(e) => {
                tracing::warn!(attempt, records = events.len(), error = %e, "audit batch write failed");
                tokio::time::sleep(Duration::from_millis(100) * attempt).await;
            }
        }
    }
    // One record at a time, so a single bad record cannot take the others down with it.
    // (Coalesced records no longer map to their callers: any failure fails every waiter of
    // the batch, so no read is answered without its record.)
    let mut all = true;
    for event in events.drain(..) {
        all &= write_one(repo, &event).await;
    }
    all
}

async fn write_one(repo: &dyn AuditRepository, event: &AuditEvent) -> bool {
    match repo.append(event).await {
        Ok(_) => true,
        Err(e) => {
            tracing::error!(action = %event.action, error = %e, "could not write an audit record");
            false
        }
    }
}
