//! Keeps every replica's read cache coherent: each change this process makes to an integration
//! or its tokens is published on an [`InvalidationBus`], and what the bus delivers (from every
//! replica, this one too) drops the named entries. While the subscription is in place the
//! cache serves entries until the token's refresh point; when it is lost the cache is cleared
//! and falls back to short entries until the subscription is back (see `read_cache`).
//!
//! Publishing happens after the change committed, off the request path: changed ids are
//! queued, batched and published by one task per process. A failed publish is retried with
//! backoff; meanwhile other replicas may serve the old read for at most the coherent entry
//! life (5 minutes by default) — the documented bound of a bus that takes messages from no
//! one.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tether_core::IntegrationId;
use tether_core::state::{Invalidation, InvalidationBus, InvalidationHandler};
use tokio::sync::mpsc;

use crate::broker::Broker;
use crate::read_cache::ReadCache;

/// Past this many pending ids a publisher sends "everything" instead.
const MAX_PENDING: usize = 10 * Invalidation::MAX_IDS;
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(5);

struct CacheHandler<'a> {
    cache: &'a ReadCache,
    bus: &'static str,
}

impl InvalidationHandler for CacheHandler<'_> {
    fn subscribed(&self) {
        self.cache.subscribed();
        tracing::info!(
            bus = self.bus,
            "read cache coherent: invalidations subscribed"
        );
    }

    fn received(&self, message: Invalidation) {
        self.cache.received();
        match message {
            Invalidation::All => self.cache.clear(),
            Invalidation::Integrations(ids) => {
                for id in ids {
                    self.cache.invalidate(id);
                }
            }
        }
    }
}

impl Broker {
    /// Publishes this process's changes on `bus` and applies every replica's, so the read
    /// cache may hold entries until their refresh point. Runs until the returned task is
    /// aborted. Without a read cache, only publishes (other replicas may have one).
    pub fn keep_cache_coherent(
        &self,
        bus: Arc<dyn InvalidationBus>,
    ) -> tokio::task::JoinHandle<()> {
        let (sender, receiver) = mpsc::unbounded_channel();
        if self.inner.invalidations.set(sender).is_err() {
            tracing::warn!("keep_cache_coherent called twice; the second bus is not used");
            return tokio::spawn(async {});
        }
        let _ = self.inner.invalidation_bus.set(bus.name());
        if let Some(cache) = &self.inner.read_cache {
            cache.bus_attached();
        }
        let broker = self.clone();
        tokio::spawn(async move {
            let publish = publish_changes(bus.clone(), receiver);
            match &broker.inner.read_cache {
                Some(cache) => {
                    tokio::join!(publish, follow_changes(bus, cache));
                }
                None => publish.await,
            }
        })
    }

    /// Tells every replica to drop its cached reads of `id`: at once in this process, through
    /// the bus for the others.
    pub(crate) fn announce_change(&self, id: IntegrationId) {
        if let Some(cache) = &self.inner.read_cache {
            cache.invalidate(id);
        }
        if let Some(sender) = self.inner.invalidations.get() {
            let _ = sender.send(id);
        }
    }

    /// What carries cache invalidations between replicas, if anything (`redis`, `postgres`).
    pub fn invalidation_bus(&self) -> Option<&'static str> {
        self.inner.invalidation_bus.get().copied()
    }

    /// How the read cache works now, for `/readyz` and the metrics (`None`: no cache).
    pub fn read_cache_stats(&self) -> Option<crate::read_cache::ReadCacheStats> {
        self.inner.read_cache.as_ref().map(ReadCache::stats)
    }
}

/// Subscribes, and subscribes again after every loss (the cache is cleared and serves short
/// entries meanwhile).
async fn follow_changes(bus: Arc<dyn InvalidationBus>, cache: &ReadCache) {
    let handler = CacheHandler {
        cache,
        bus: bus.name(),
    };
    let mut retry = FIRST_RETRY;
    loop {
        let started = tokio::time::Instant::now();
        let error = bus.listen(&handler).await;
        cache.subscription_lost();
        tracing::warn!(
            bus = bus.name(),
            %error,
            "read cache invalidations lost: the cache was cleared and serves short entries until \
             the subscription is back"
        );
        if started.elapsed() > LAST_RETRY * 2 {
            retry = FIRST_RETRY;
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(LAST_RETRY);
    }
}

/// Publishes queued changes in batches until every sender is gone.
async fn publish_changes(
    bus: Arc<dyn InvalidationBus>,
    mut receiver: mpsc::UnboundedReceiver<IntegrationId>,
) {
    let mut pending = BTreeSet::new();
    let mut everything = false;
    let mut retry = FIRST_RETRY;
    loop {
        if pending.is_empty() && !everything {
            match receiver.recv().await {
                Some(id) => {
                    pending.insert(id);
                }
                None => return,
            }
        }
        while let Ok(id) = receiver.try_recv() {
            pending.insert(id);
        }
        if pending.len() > MAX_PENDING {
            everything = true;
        }
        let messages = if everything {
            vec![Invalidation::All]
        } else {
            let ids: Vec<IntegrationId> = pending.iter().copied().collect();
            ids.chunks(Invalidation::MAX_IDS)
                .map(|chunk| Invalidation::Integrations(chunk.to_vec()))
                .collect()
        };
        let mut failed = None;
        for message in &messages {
            match bus.publish(message).await {
                Ok(()) => match message {
                    Invalidation::All => {
                        everything = false;
                        pending.clear();
                    }
                    Invalidation::Integrations(ids) => {
                        for id in ids {
                            pending.remove(id);
                        }
                    }
                },
                Err(error) => {
                    failed = Some(error);
                    break;
                }
            }
        }
        match failed {
            None => retry = FIRST_RETRY,
            Some(error) => {
                tracing::warn!(
                    bus = bus.name(),
                    %error,
                    pending = pending.len(),
                    "publishing read cache invalidations failed; retrying"
                );
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(LAST_RETRY);
            }
        }
    }
}
