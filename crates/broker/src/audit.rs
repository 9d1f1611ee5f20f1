//! Writing audit records. State changes are written before the call returns; token reads
//! (the hot path) are committed by the batching [`AuditSink`] (group commit) before the read
//! is answered. A failed audit write is logged
//! loudly but does not undo the operation it describes (that already happened upstream).

use std::sync::Arc;

use async_trait::async_trait;
use tether_core::StorageResult;
use tether_core::audit::{AuditEvent, AuditQuery, AuditRecord};
use tether_core::ids::AuditId;
use tether_core::ports::AuditRepository;

use crate::audit_sink::{AuditSink, AuditSinkConfig};

#[derive(Clone)]
pub(crate) struct Auditor {
    repo: Arc<dyn AuditRepository>,
    pub(crate) sink: Arc<AuditSink>,
}

impl Auditor {
    pub(crate) fn new(repo: Arc<dyn AuditRepository>, sink: AuditSinkConfig) -> Self {
        Self {
            sink: Arc::new(AuditSink::new(repo.clone(), sink)),
            repo,
        }
    }

    /// Written before returning.
    pub(crate) async fn record(&self, event: AuditEvent) {
        if let Err(e) = self.repo.append(&event).await {
            tracing::error!(
                action = %event.action,
                error = %e,
                "could not write an audit record"
            );
        }
    }

    /// Committed with the concurrent token reads' records before returning.
    pub(crate) async fn record_committed(
        &self,
        event: AuditEvent,
    ) -> Result<(), crate::audit_sink::NotRecorded> {
        self.sink.record_committed(event).await
    }
}

/// The audit repository as readers should see it: a query first flushes this process's
/// queued records, so a caller reads its own token reads back at once. Writes pass through.
pub struct FlushingAuditReader {
    repo: Arc<dyn AuditRepository>,
    sink: Arc<AuditSink>,
}

impl FlushingAuditReader {
    pub(crate) fn new(auditor: &Auditor) -> Self {
        Self {
            repo: auditor.repo.clone(),
            sink: auditor.sink.clone(),
        }
    }
}

impl std::fmt::Debug for FlushingAuditReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlushingAuditReader")
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl AuditRepository for FlushingAuditReader {
    async fn append(&self, event: &AuditEvent) -> StorageResult<AuditId> {
        self.repo.append(event).await
    }

    async fn append_batch(&self, events: &[AuditEvent]) -> StorageResult<()> {
        self.repo.append_batch(events).await
    }

    async fn query(&self, query: &AuditQuery) -> StorageResult<Vec<AuditRecord>> {
        self.sink.flush().await;
        self.repo.query(query).await
    }
}
