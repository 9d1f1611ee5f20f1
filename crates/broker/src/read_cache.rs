//! The cache of valid token reads, so the hottest integrations skip the database. Only reads
//! whose integration is usable and whose token is before its refresh point are cached, and a
//! cached read is served only while it still is (the refresh point bounds every entry).
//!
//! Two modes:
//! - **coherent**: an invalidation bus (Redis pub/sub or PostgreSQL `LISTEN/NOTIFY`, see
//!   `coherence`) tells every replica about every change to an integration or its tokens, so
//!   an entry may live long (`coherent_life`, 5 minutes by default, and never past the
//!   token's refresh point);
//! - **short** (no bus, or its subscription is lost): an entry lives at most `short_life`
//!   (1 s by default), after which another replica's change is seen. Losing the subscription
//!   clears the cache first.
//!
//! Every write this process makes drops its entry at once in both modes. A read taken from the
//! database while an invalidation of the same integration arrives is not cached (each fill
//! carries a [`Ticket`] taken before the query; an invalidation in between voids it), so a
//! stale row can never outlive the message that announced its change. Every read is still
//! audited; only the database round trip is saved. The size is bounded (`capacity` entries,
//! evicted by quick_cache's S3-FIFO policy).

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;

use tether_core::token::AccessRead;
use tether_core::{IntegrationId, ScopeSet};

/// Invalidations bump one of these counters (by integration id hash); a fill whose counter
/// moved since its ticket was taken is dropped.
const STRIPES: usize = 64;

/// Distinct granted-scope sets kept for entries to share (there are few: about one per
/// provider configuration); past this many, a new set is kept by its own entry alone.
const SHARED_SCOPE_SETS: usize = 1024;

#[derive(Clone)]
struct Entry {
    read: Arc<AccessRead>,
    expires: Instant,
}

/// Taken before a read goes to the database; a fill with a voided ticket is not cached.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    stripe: usize,
    epoch: u64,
}

/// How long entries live and how many there may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadCacheConfig {
    /// Life of an entry while no invalidation bus is subscribed (0: no cache at all).
    pub short_life: Duration,
    /// Life of an entry while the bus is subscribed (the token's refresh point comes first).
    pub coherent_life: Duration,
    /// The most entries kept; the least useful are evicted past it.
    pub capacity: usize,
}

impl Default for ReadCacheConfig {
    fn default() -> Self {
        Self {
            short_life: Duration::from_secs(1),
            coherent_life: Duration::from_secs(300),
            capacity: 100_000,
        }
    }
}

pub(crate) struct ReadCache {
    config: ReadCacheConfig,
    entries: quick_cache::sync::Cache<IntegrationId, Entry>,
    /// An invalidation bus is subscribed and every change reaches this replica.
    coherent: AtomicBool,
    /// A bus was attached (so "short" means "subscription lost", not "no bus").
    has_bus: AtomicBool,
    epochs: [AtomicU64; STRIPES],
    received: AtomicU64,
    lost: AtomicU64,
    /// Granted-scope sets shared between entries: one copy of each, not one per entry.
    scope_sets: Mutex<HashSet<ScopeSet>>,
}

/// What `/readyz` and the metrics say of the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadCacheMode {
    /// Entries live until the refresh point (or `coherent_life`): the bus is subscribed.
    Coherent,
    /// Short entries: no invalidation bus is configured.
    Short,
    /// Short entries: the bus's subscription is lost (the cache was cleared).
    Degraded,
    /// No cache.
    Off,
}

impl ReadCacheMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Coherent => "coherent",
            Self::Short => "short",
            Self::Degraded => "degraded",
            Self::Off => "off",
        }
    }
}

/// Counters for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadCacheStats {
    pub mode: ReadCacheMode,
    pub entries: u64,
    /// Invalidation messages received from the bus.
    pub invalidations_received: u64,
    /// Times the bus's subscription was lost.
    pub subscriptions_lost: u64,
}

/// What a cached read keeps of its row: what a token read uses — the owner, provider and
/// provider instance, status, granted scopes and the access half — and not the rest (account
/// labels, requested scopes, the last error, other metadata), so that a full cache of
/// 100,000 entries stays small.
pub(crate) fn slim(read: &AccessRead) -> AccessRead {
    let full = &read.integration;
    let metadata = match crate::registry::instance_of(full) {
        "" => serde_json::Value::Null,
        instance => serde_json::json!({ crate::registry::INSTANCE_METADATA_KEY: instance }),
    };
    AccessRead {
        integration: tether_core::Integration {
            id: full.id,
            user_id: full.user_id.clone(),
            provider: full.provider,
            provider_account_id: String::new(),
            account_label: None,
            status: full.status,
            requested_scopes: tether_core::ScopeSet::new(),
            granted_scopes: full.granted_scopes.clone(),
            metadata,
            last_refreshed_at: full.last_refreshed_at,
            last_used_at: None,
            next_refresh_at: full.next_refresh_at,
            failure_count: full.failure_count,
            last_error: None,
            created_at: full.created_at,
            updated_at: full.updated_at,
            version: full.version,
        },
        // The token's scopes only when they differ from the granted ones (a read falls back
        // to those): most entries keep one set, not two copies of it.
        access: read.access.clone().map(|mut access| {
            if access.scope.as_ref() == Some(&full.granted_scopes) {
                access.scope = None;
            }
            access
        }),
    }
}

fn stripe(id: IntegrationId) -> usize {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut hasher);
    (hasher.finish() % STRIPES as u64) as usize
}

impl ReadCache {
    pub(crate) fn new(config: ReadCacheConfig) -> Option<Self> {
        (!config.short_life.is_zero() && config.capacity > 0).then(|| Self {
            config,
            entries: quick_cache::sync::Cache::new(config.capacity),
            coherent: AtomicBool::new(false),
            has_bus: AtomicBool::new(false),
            epochs: std::array::from_fn(|_| AtomicU64::new(0)),
            received: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            scope_sets: Mutex::new(HashSet::new()),
        })
    }

    /// What an entry keeps of `read` ([`slim`]), its granted scopes shared with the other
    /// entries that have the same ones.
    pub(crate) fn slim(&self, read: &AccessRead) -> AccessRead {
        let mut slim = slim(read);
        if let Ok(mut sets) = self.scope_sets.lock() {
            let granted = &mut slim.integration.granted_scopes;
            match sets.get(granted) {
                Some(shared) => *granted = shared.clone(),
                None if sets.len() < SHARED_SCOPE_SETS => {
                    sets.insert(granted.clone());
                }
                None => {}
            }
        }
        slim
    }

    pub(crate) fn get(&self, id: IntegrationId) -> Option<Arc<AccessRead>> {
        let entry = self.entries.get(&id)?;
        (Instant::now() < entry.expires).then_some(entry.read)
    }

    /// Call before reading `id` from the database; pass the ticket to [`ReadCache::put`].
    pub(crate) fn ticket(&self, id: IntegrationId) -> Ticket {
        let stripe = stripe(id);
        Ticket {
            stripe,
            epoch: self.epochs[stripe].load(Ordering::SeqCst),
        }
    }

    /// Caches a read taken from the database after `ticket`, unless an invalidation of its
    /// stripe arrived since (then the read may predate the change).
    pub(crate) fn put(&self, id: IntegrationId, read: Arc<AccessRead>, ticket: Ticket) {
        if self.epochs[ticket.stripe].load(Ordering::SeqCst) != ticket.epoch {
            return;
        }
        let life = if self.coherent.load(Ordering::SeqCst) {
            self.config.coherent_life
        } else {
            self.config.short_life
        };
        let life = life.mul_f64(rand::rng().random_range(0.5..=1.0));
        self.entries.insert(
            id,
            Entry {
                read,
                expires: Instant::now() + life,
            },
        );
        // An invalidation bumps the epoch before it removes: if it ran between the check
        // above and the insert, the epoch moved and the entry goes again.
        if self.epochs[ticket.stripe].load(Ordering::SeqCst) != ticket.epoch {
            self.entries.remove(&id);
        }
    }

    pub(crate) fn invalidate(&self, id: IntegrationId) {
        self.epochs[stripe(id)].fetch_add(1, Ordering::SeqCst);
        self.entries.remove(&id);
    }

    pub(crate) fn clear(&self) {
        for epoch in &self.epochs {
            epoch.fetch_add(1, Ordering::SeqCst);
        }
        self.entries.clear();
    }

    /// A bus was attached: "short" now means its subscription is not (yet) in place.
    pub(crate) fn bus_attached(&self) {
        self.has_bus.store(true, Ordering::SeqCst);
    }

    /// The bus's subscription is in place: what was cached before may have missed messages.
    pub(crate) fn subscribed(&self) {
        self.clear();
        self.coherent.store(true, Ordering::SeqCst);
    }

    /// The subscription is lost: messages may be missed from now on, so nothing cached may
    /// outlive a short entry.
    pub(crate) fn subscription_lost(&self) {
        if self.coherent.swap(false, Ordering::SeqCst) {
            self.lost.fetch_add(1, Ordering::Relaxed);
        }
        self.clear();
    }

    pub(crate) fn received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> ReadCacheStats {
        let mode = if self.coherent.load(Ordering::SeqCst) {
            ReadCacheMode::Coherent
        } else if self.has_bus.load(Ordering::SeqCst) {
            ReadCacheMode::Degraded
        } else {
            ReadCacheMode::Short
        };
        ReadCacheStats {
            mode,
            entries: self.entries.len() as u64,
            invalidations_received: self.received.load(Ordering::Relaxed),
            subscriptions_lost: self.lost.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use tether_core::integration::{Integration, IntegrationStatus};
    use tether_core::{ProviderKind, ScopeSet, UserId};

    fn read(id: IntegrationId) -> Arc<AccessRead> {
        let now = Utc::now();
        Arc::new(AccessRead {
            integration: Integration {
                id,
                user_id: UserId::parse("user-1").expect("a user id"),
                provider: ProviderKind::Google,
                provider_account_id: "sub-1".into(),
                account_label: None,
                status: IntegrationStatus::Active,
                requested_scopes: ScopeSet::new(),
                granted_scopes: ScopeSet::new(),
                metadata: serde_json::Value::Null,
                last_refreshed_at: None,
                last_used_at: None,
                next_refresh_at: None,
                failure_count: 0,
                last_error: None,
                created_at: now,
                updated_at: now,
                version: 1,
            },
            access: None,
        })
    }

    fn cache(capacity: usize) -> ReadCache {
        ReadCache::new(ReadCacheConfig {
            capacity,
            ..ReadCacheConfig::default()
        })
        .expect("a cache")
    }

    #[test]
    fn a_slim_read_keeps_what_a_token_read_uses_and_drops_the_rest() {
        let id = IntegrationId::new();
        let mut full = (*read(id)).clone();
        full.integration.granted_scopes =
            ScopeSet::parse_delimited("openid email").expect("scopes");
        full.integration.requested_scopes =
            ScopeSet::parse_delimited("openid email calendar").expect("scopes");
        full.access = Some(tether_core::token::StoredAccess {
            access_token: tether_core::secret::AccessToken::new("access-1".to_owned()),
            token_type: "Bearer".into(),
            expires_at: Some(Utc::now() + chrono::Duration::hours(1)),
            scope: None,
            version: 3,
            issued_at: Utc::now(),
        });
        full.integration.account_label = Some("ada@example.com".into());
        full.integration.last_error = Some("a long message".into());
        full.integration.metadata = serde_json::json!({
            crate::registry::INSTANCE_METADATA_KEY: "clinic-a",
            "fhir_user": "Practitioner/1",
        });
        let slim = slim(&full);
        let (kept, was) = (&slim.integration, &full.integration);
        assert_eq!(
            (
                kept.id,
                &kept.user_id,
                kept.provider,
                kept.status,
                kept.version
            ),
            (was.id, &was.user_id, was.provider, was.status, was.version)
        );
        assert_eq!(kept.granted_scopes, was.granted_scopes);
        let (kept_access, was_access) =
            (slim.access.as_ref().unwrap(), full.access.as_ref().unwrap());
        assert_eq!(
            kept_access.access_token.expose_secret(),
            was_access.access_token.expose_secret()
        );
        assert_eq!(
            (
                kept_access.expires_at,
                kept_access.issued_at,
                kept_access.version
            ),
            (
                was_access.expires_at,
                was_access.issued_at,
                was_access.version
            )
        );
        // The token's scopes are kept only when they differ from the granted ones.
        let scopes = |read: &AccessRead| {
            crate::reads::AccessGrant::from_access(&read.integration, read.access.as_ref().unwrap())
                .scopes
        };
        for token_scope in [None, Some("openid email"), Some("openid")] {
            let mut full = full.clone();
            full.access.as_mut().unwrap().scope =
                token_scope.map(|s| ScopeSet::parse_delimited(s).expect("scopes"));
            let kept = super::slim(&full);
            assert_eq!(scopes(&kept), scopes(&full), "{token_scope:?}");
            assert_eq!(
                kept.access.unwrap().scope.is_some(),
                token_scope == Some("openid"),
                "{token_scope:?}"
            );
        }
        assert_eq!(
            kept.metadata,
            serde_json::json!({ crate::registry::INSTANCE_METADATA_KEY: "clinic-a" }),
            "the provider instance is kept: reads find their provider by it"
        );
        assert!(kept.requested_scopes.is_empty() && kept.account_label.is_none());
        assert!(kept.last_error.is_none());
        full.integration.metadata = serde_json::json!({ "other": 1 });
        assert_eq!(slim_metadata(&full), serde_json::Value::Null);
    }

    fn slim_metadata(read: &AccessRead) -> serde_json::Value {
        slim(read).integration.metadata
    }

    #[test]
    fn entries_with_the_same_granted_scopes_share_one_copy() {
        let cache = cache(10);
        let with_scopes = |scopes: &str| {
            let mut read = (*read(IntegrationId::new())).clone();
            read.integration.granted_scopes = ScopeSet::parse_delimited(scopes).expect("scopes");
            cache.slim(&read)
        };
        // Where a set's first scope lives: the same address means the same copy.
        let storage = |read: &AccessRead| {
            std::ptr::from_ref(
                read.integration
                    .granted_scopes
                    .iter()
                    .next()
                    .expect("a scope"),
            )
        };
        let (a, b, other) = (
            with_scopes("openid email"),
            with_scopes("email openid"),
            with_scopes("openid"),
        );
        assert_eq!(a.integration.granted_scopes, b.integration.granted_scopes);
        assert_eq!(storage(&a), storage(&b), "one copy for both entries");
        assert_ne!(storage(&a), storage(&other));
        assert_eq!(other.integration.granted_scopes.to_delimited(), "openid");
    }

    #[test]
    fn a_fill_racing_an_invalidation_is_not_cached() {
        let cache = cache(10);
        let id = IntegrationId::new();
        let ticket = cache.ticket(id);
        // The change is announced while the read is on its way from the database.
        cache.invalidate(id);
        cache.put(id, read(id), ticket);
        assert!(cache.get(id).is_none());
        // The next read, after the change, is cached.
        cache.put(id, read(id), cache.ticket(id));
        assert!(cache.get(id).is_some());
    }

    #[test]
    fn losing_the_subscription_clears_the_cache_and_voids_fills_in_flight() {
        let cache = cache(10);
        cache.bus_attached();
        cache.subscribed();
        let (a, b) = (IntegrationId::new(), IntegrationId::new());
        cache.put(a, read(a), cache.ticket(a));
        let in_flight = cache.ticket(b);
        assert_eq!(cache.stats().mode, ReadCacheMode::Coherent);

        cache.subscription_lost();
        cache.put(b, read(b), in_flight);
        assert!(cache.get(a).is_none());
        assert!(cache.get(b).is_none());
        let stats = cache.stats();
        assert_eq!(stats.mode, ReadCacheMode::Degraded);
        assert_eq!(stats.subscriptions_lost, 1);
    }

    #[test]
    fn entries_live_long_only_while_subscribed() {
        let cache = cache(10);
        let id = IntegrationId::new();
        cache.put(id, read(id), cache.ticket(id));
        let short = cache.entries.get(&id).expect("cached").expires;
        assert!(short <= Instant::now() + Duration::from_secs(1));

        cache.bus_attached();
        cache.subscribed();
        cache.put(id, read(id), cache.ticket(id));
        let long = cache.entries.get(&id).expect("cached").expires;
        assert!(long > Instant::now() + Duration::from_secs(100));
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = cache(1_000);
        for _ in 0..20_000 {
            let id = IntegrationId::new();
            cache.put(id, read(id), cache.ticket(id));
        }
        assert!(cache.stats().entries <= 1_100, "{}", cache.stats().entries);
    }

    #[test]
    fn no_cache_without_a_life() {
        assert!(
            ReadCache::new(ReadCacheConfig {
                short_life: Duration::ZERO,
                ..ReadCacheConfig::default()
            })
            .is_none()
        );
    }
}
