//! Where the broker's background writers run: the runtime the broker was built on (the
//! server's main runtime), not whichever runtime first records something — an HTTP worker's
//! runtime stops with the HTTP server, and would take queued records down with it.

use std::future::Future;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

#[derive(Debug, Clone)]
pub(crate) struct Runtime(Option<Handle>);

impl Runtime {
    /// The runtime of the calling context, if any (else the one of the first spawn).
    pub(crate) fn current() -> Self {
        Self(Handle::try_current().ok())
    }

    pub(crate) fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.0 {
            Some(handle) => handle.spawn(task),
            None => tokio::spawn(task),
        }
    }
}
