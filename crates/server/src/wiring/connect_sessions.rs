//! Deletes hosted connect sessions a day after they expired (their result pages answer for
//! an hour after use; a day keeps every one of them working).

use std::sync::Arc;
use std::time::Duration;

use tether_core::clock::Clock;
use tether_core::ports::ConnectSessionRepository;
use tether_storage::SqlStore;

pub(super) fn spawn_purger(
    store: Arc<SqlStore>,
    clock: Arc<dyn Clock>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let before = clock.now() - chrono::Duration::days(1);
            match store.purge_connect_sessions(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "purged expired connect sessions"),
                Err(e) => tracing::warn!(error = %e, "purging connect sessions failed"),
            }
        }
    })
}
