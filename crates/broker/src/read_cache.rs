//! A very short-lived cache of valid access reads, so the hottest integrations skip the
//! database. Only reads whose integration is usable and whose token is valid beyond the
//! refresh buffer are cached; every write this process makes to an integration or its tokens
//! (refresh, status change, revocation, reconnect) drops its entry at once. Another replica's
//! change is seen once the entry lapses — at most the TTL (1 s by default; 0 turns the cache
//! off). Every read is still audited; only the database round trip is saved.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rand::Rng;

use tether_core::IntegrationId;
use tether_core::token::AccessRead;

/// Entries kept at most; past it, lapsed entries are dropped, then new reads are not cached.
const MAX_ENTRIES: usize = 100_000;

pub(crate) struct ReadCache {
    ttl: Duration,
    /// Each entry's own expiry: between half the TTL and the TTL, at random, so entries
    /// filled together do not all lapse together (a burst of database reads every TTL).
    entries: RwLock<HashMap<IntegrationId, (Arc<AccessRead>, Instant)>>,
}

impl ReadCache {
    pub(crate) fn new(ttl: Duration) -> Option<Self> {
        (!ttl.is_zero()).then(|| Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
        })
    }

    pub(crate) fn get(&self, id: IntegrationId) -> Option<Arc<AccessRead>> {
        let entries = self.entries.read().ok()?;
        let (read, expires) = entries.get(&id)?;
        (Instant::now() < *expires).then(|| read.clone())
    }

    pub(crate) fn put(&self, id: IntegrationId, read: Arc<AccessRead>) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        let now = Instant::now();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (_, expires)| now < *expires);
            if entries.len() >= MAX_ENTRIES {
                return;
            }
        }
        let life = self.ttl.mul_f64(rand::rng().random_range(0.5..=1.0));
        entries.insert(id, (read, now + life));
    }

    pub(crate) fn invalidate(&self, id: IntegrationId) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(&id);
        }
    }
}
