//! Writing audit records. A failed audit write is logged loudly but does not undo the
//! operation it describes (that operation already happened upstream).

use std::sync::Arc;

use tether_core::audit::AuditEvent;
use tether_core::ports::AuditRepository;

#[derive(Clone)]
pub(crate) struct Auditor {
    repo: Arc<dyn AuditRepository>,
}

impl Auditor {
    pub(crate) fn new(repo: Arc<dyn AuditRepository>) -> Self {
        Self { repo }
    }

    pub(crate) async fn record(&self, event: AuditEvent) {
        if let Err(e) = self.repo.append(&event).await {
            tracing::error!(
                action = %event.action,
                error = %e,
                "could not write an audit record"
            );
        }
    }
}
