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
//! audited; only the database round trip is saved. The size is bounded twice: at most
//! `capacity` entries taking at most `max_bytes` (each entry weighs its size), evicted by
//! quick_cache's S3-FIFO policy.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;

use tether_core::secret::AccessToken;
use tether_core::token::AccessRead;
use tether_core::{IntegrationId, ProviderKind, ScopeSet, UserId};

use crate::reads::AccessGrant;

/// Invalidations bump one of these counters (by integration id hash); a fill whose counter
/// moved since its ticket was taken is dropped.
const STRIPES: usize = 64;

/// Distinct granted-scope sets kept for entries to share (there are few: about one per
/// provider configuration); past this many, a new set is kept by its own entry alone.
const SHARED_SCOPE_SETS: usize = 1024;

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
    /// The most memory the entries may take (by [`CachedRead::footprint`]), whatever their
    /// number: tokens differ in size (a Google access token is ~200 bytes, a Microsoft one a
    /// JWT of 1–2 KB), so a count alone does not bound memory.
    pub max_bytes: usize,
}

impl Default for ReadCacheConfig {
    fn default() -> Self {
        Self {
            short_life: Duration::from_secs(1),
            coherent_life: Duration::from_secs(300),
            capacity: 100_000,
            max_bytes: 16 << 20,
        }
    }
}

pub(crate) struct ReadCache {
    config: ReadCacheConfig,
    entries: quick_cache::sync::Cache<IntegrationId, Arc<CachedRead>, Weight>,
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
    /// The memory the entries take, by their footprint (at most `max_bytes`).
    pub bytes: u64,
    /// Invalidation messages received from the bus.
    pub invalidations_received: u64,
    /// Times the bus's subscription was lost.
    pub subscriptions_lost: u64,
}

/// What the cache holds per entry besides the entry itself: its slot, key and reference
/// count (quick_cache keeps key, value and bookkeeping in a slab, plus a hash-table slot).
const SLOT_BYTES: usize = 64;

/// What an allocation costs beyond its length, on average (size-class rounding).
const ALLOCATION_BYTES: usize = 16;

/// What a cached read keeps of its row: what a token read uses — the owner, provider and
/// provider instance, granted scopes and the access half — and nothing else (account labels,
/// requested scopes, the last error, other metadata, the status: only usable integrations are
/// cached, and every status change invalidates), so that a full cache of 100,000 entries
/// stays small.
#[derive(Debug)]
pub(crate) struct CachedRead {
    pub(crate) user_id: UserId,
    pub(crate) provider: ProviderKind,
    /// The provider instance the integration was connected through (`""`: the usual one).
    pub(crate) instance: Box<str>,
    /// Shared with the other entries that have the same set (see [`ReadCache`]).
    pub(crate) granted_scopes: ScopeSet,
    pub(crate) access_token: AccessToken,
    pub(crate) token_type: Box<str>,
    /// The token's own scopes, only when they differ from the granted ones.
    pub(crate) token_scope: Option<ScopeSet>,
    pub(crate) expires_at: Option<DateTime<Utc>>,
    pub(crate) issued_at: DateTime<Utc>,
    /// The end of the entry's life in the cache.
    life_ends: Instant,
}

impl CachedRead {
    /// What is kept of `read`, or `None` when it has no token to serve.
    fn of(read: &AccessRead, granted_scopes: ScopeSet, life_ends: Instant) -> Option<Self> {
        let full = &read.integration;
        let access = read.access.as_ref()?;
        Some(Self {
            user_id: full.user_id.clone(),
            provider: full.provider,
            instance: crate::registry::instance_of(full).into(),
            token_scope: access
                .scope
                .clone()
                .filter(|scope| *scope != full.granted_scopes),
            granted_scopes,
            access_token: access.access_token.clone(),
            token_type: access.token_type.as_str().into(),
            expires_at: access.expires_at,
            issued_at: access.issued_at,
            life_ends,
        })
    }

    /// About how much memory the entry takes: its struct and reference counts, its strings
    /// (each rounded as an allocator would) and its slot in the cache. The shared scope sets
    /// are not counted.
    pub(crate) fn footprint(&self) -> usize {
        let string = |s: &str| match s.len() {
            0 => 0,
            len => len + ALLOCATION_BYTES,
        };
        std::mem::size_of::<Self>()
            + 2 * std::mem::size_of::<usize>()
            + ALLOCATION_BYTES
            + SLOT_BYTES
            + string(self.user_id.as_str())
            + string(&self.instance)
            + string(&self.token_type)
            + string(self.access_token.expose_secret())
    }

    /// The answer to a read of integration `id`.
    pub(crate) fn grant(&self, id: IntegrationId) -> AccessGrant {
        AccessGrant::new(
            id,
            &self.access_token,
            &self.token_type,
            self.expires_at,
            self.token_scope.as_ref(),
            &self.granted_scopes,
        )
    }
}

/// An entry weighs its footprint, and at least `floor` (the byte budget over the entry cap),
/// so the cache keeps within both: the total weight is at most `max_bytes`.
#[derive(Debug, Clone, Copy)]
struct Weight {
    floor: u64,
}

impl quick_cache::Weighter<IntegrationId, Arc<CachedRead>> for Weight {
    fn weight(&self, _: &IntegrationId, entry: &Arc<CachedRead>) -> u64 {
        (entry.footprint() as u64).max(self.floor)
    }
}

fn stripe(id: IntegrationId) -> usize {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut hasher);
    (hasher.finish() % STRIPES as u64) as usize
}

impl ReadCache {
    pub(crate) fn new(config: ReadCacheConfig) -> Option<Self> {
        let budget = config.max_bytes as u64;
        let capacity = config.capacity as u64;
        (!config.short_life.is_zero() && capacity > 0 && budget > 0).then(|| Self {
            config,
            entries: quick_cache::sync::Cache::with_weighter(
                // A guess for the initial tables: the bench's entries take ~0.5 KB.
                config.capacity.min(config.max_bytes / 512).max(1),
                budget,
                Weight {
                    floor: budget.div_ceil(capacity),
                },
            ),
            coherent: AtomicBool::new(false),
            has_bus: AtomicBool::new(false),
            epochs: std::array::from_fn(|_| AtomicU64::new(0)),
            received: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            scope_sets: Mutex::new(HashSet::new()),
        })
    }

    /// `granted` as one copy shared by every entry with the same set.
    fn shared(&self, granted: &ScopeSet) -> ScopeSet {
        let Ok(mut sets) = self.scope_sets.lock() else {
            return granted.clone();
        };
        match sets.get(granted) {
            Some(shared) => shared.clone(),
            None => {
                if sets.len() < SHARED_SCOPE_SETS {
                    sets.insert(granted.clone());
                }
                granted.clone()
            }
        }
    }

    pub(crate) fn get(&self, id: IntegrationId) -> Option<Arc<CachedRead>> {
        let entry = self.entries.get(&id)?;
        (Instant::now() < entry.life_ends).then_some(entry)
    }

    /// Call before reading `id` from the database; pass the ticket to [`ReadCache::put`].
    pub(crate) fn ticket(&self, id: IntegrationId) -> Ticket {
        let stripe = stripe(id);
        Ticket {
            stripe,
            epoch: self.epochs[stripe].load(Ordering::SeqCst),
        }
    }

    /// Caches what a token read needs of `read` ([`CachedRead`]), taken from the database
    /// after `ticket`, unless an invalidation of its stripe arrived since (then the read may
    /// predate the change). The caller checked that the integration is usable and its token
    /// before the refresh point.
    pub(crate) fn put(&self, read: &AccessRead, ticket: Ticket) {
        let id = read.integration.id;
        if self.epochs[ticket.stripe].load(Ordering::SeqCst) != ticket.epoch {
            return;
        }
        let life = if self.coherent.load(Ordering::SeqCst) {
            self.config.coherent_life
        } else {
            self.config.short_life
        };
        let life = life.mul_f64(rand::rng().random_range(0.5..=1.0));
        let granted = self.shared(&read.integration.granted_scopes);
        let Some(entry) = CachedRead::of(read, granted, Instant::now() + life) else {
            return;
        };
        self.entries.insert(id, Arc::new(entry));
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
            bytes: self.entries.weight(),
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
            access: Some(tether_core::token::StoredAccess {
                access_token: tether_core::secret::AccessToken::new("access-1"),
                token_type: "Bearer".into(),
                expires_at: Some(now + chrono::Duration::hours(1)),
                scope: None,
                version: 3,
                issued_at: now,
            }),
        })
    }

    fn cache(capacity: usize) -> ReadCache {
        ReadCache::new(ReadCacheConfig {
            capacity,
            ..ReadCacheConfig::default()
        })
        .expect("a cache")
    }

    fn cached(cache: &ReadCache, read: &AccessRead) -> Arc<CachedRead> {
        cache.put(read, cache.ticket(read.integration.id));
        cache.get(read.integration.id).expect("cached")
    }

    #[test]
    fn a_cached_read_keeps_what_a_token_read_uses_and_answers_as_the_row_would() {
        let cache = cache(10);
        let mut full = (*read(IntegrationId::new())).clone();
        full.integration.granted_scopes =
            ScopeSet::parse_delimited("openid email").expect("scopes");
        full.integration.requested_scopes =
            ScopeSet::parse_delimited("openid email calendar").expect("scopes");
        full.integration.account_label = Some("ada@example.com".into());
        full.integration.last_error = Some("a long message".into());
        full.integration.metadata = serde_json::json!({
            crate::registry::INSTANCE_METADATA_KEY: "clinic-a",
            "fhir_user": "Practitioner/1",
        });
        let kept = cached(&cache, &full);
        let (was, access) = (&full.integration, full.access.as_ref().unwrap());
        assert_eq!(
            (&kept.user_id, kept.provider, &*kept.instance),
            (&was.user_id, was.provider, "clinic-a"),
            "the provider instance is kept: reads find their provider by it"
        );
        assert_eq!(kept.granted_scopes, was.granted_scopes);
        assert_eq!(
            (kept.expires_at, kept.issued_at, &*kept.token_type),
            (access.expires_at, access.issued_at, "Bearer")
        );
        // The answer is the one the row gives, whatever the token's own scopes.
        for token_scope in [None, Some("openid email"), Some("openid")] {
            let mut full = full.clone();
            full.access.as_mut().unwrap().scope =
                token_scope.map(|s| ScopeSet::parse_delimited(s).expect("scopes"));
            let kept = cached(&cache, &full);
            let (from_cache, from_row) = (
                kept.grant(was.id),
                AccessGrant::from_access(&full.integration, full.access.as_ref().unwrap()),
            );
            assert_eq!(
                (
                    from_cache.integration_id,
                    from_cache.access_token.expose_secret(),
                    &from_cache.token_type,
                    from_cache.expires_at,
                    &from_cache.scopes
                ),
                (
                    from_row.integration_id,
                    from_row.access_token.expose_secret(),
                    &from_row.token_type,
                    from_row.expires_at,
                    &from_row.scopes
                ),
                "{token_scope:?}"
            );
            assert_eq!(
                kept.token_scope.is_some(),
                token_scope == Some("openid"),
                "the token's scopes are kept only when they differ: {token_scope:?}"
            );
        }
        full.integration.metadata = serde_json::json!({ "other": 1 });
        assert_eq!(&*cached(&cache, &full).instance, "");
    }

    #[test]
    fn a_read_without_a_token_is_not_cached() {
        let cache = cache(10);
        let mut no_token = (*read(IntegrationId::new())).clone();
        no_token.access = None;
        cache.put(&no_token, cache.ticket(no_token.integration.id));
        assert!(cache.get(no_token.integration.id).is_none());
    }

    #[test]
    fn entries_with_the_same_granted_scopes_share_one_copy() {
        let cache = cache(10);
        let with_scopes = |scopes: &str| {
            let mut read = (*read(IntegrationId::new())).clone();
            read.integration.granted_scopes = ScopeSet::parse_delimited(scopes).expect("scopes");
            cached(&cache, &read)
        };
        // Where a set's first scope lives: the same address means the same copy.
        let storage = |read: &CachedRead| {
            std::ptr::from_ref(read.granted_scopes.iter().next().expect("a scope"))
        };
        let (a, b, other) = (
            with_scopes("openid email"),
            with_scopes("email openid"),
            with_scopes("openid"),
        );
        assert_eq!(a.granted_scopes, b.granted_scopes);
        assert_eq!(storage(&a), storage(&b), "one copy for both entries");
        assert_ne!(storage(&a), storage(&other));
        assert_eq!(other.granted_scopes.to_delimited(), "openid");
    }

    #[test]
    fn a_fill_racing_an_invalidation_is_not_cached() {
        let cache = cache(10);
        let id = IntegrationId::new();
        let ticket = cache.ticket(id);
        // The change is announced while the read is on its way from the database.
        cache.invalidate(id);
        cache.put(&read(id), ticket);
        assert!(cache.get(id).is_none());
        // The next read, after the change, is cached.
        cache.put(&read(id), cache.ticket(id));
        assert!(cache.get(id).is_some());
    }

    #[test]
    fn losing_the_subscription_clears_the_cache_and_voids_fills_in_flight() {
        let cache = cache(10);
        cache.bus_attached();
        cache.subscribed();
        let (a, b) = (IntegrationId::new(), IntegrationId::new());
        cache.put(&read(a), cache.ticket(a));
        let in_flight = cache.ticket(b);
        assert_eq!(cache.stats().mode, ReadCacheMode::Coherent);

        cache.subscription_lost();
        cache.put(&read(b), in_flight);
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
        cache.put(&read(id), cache.ticket(id));
        let short = cache.entries.get(&id).expect("cached").life_ends;
        assert!(short <= Instant::now() + Duration::from_secs(1));

        cache.bus_attached();
        cache.subscribed();
        cache.put(&read(id), cache.ticket(id));
        let long = cache.entries.get(&id).expect("cached").life_ends;
        assert!(long > Instant::now() + Duration::from_secs(100));
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = cache(1_000);
        for _ in 0..20_000 {
            let id = IntegrationId::new();
            cache.put(&read(id), cache.ticket(id));
        }
        assert!(cache.stats().entries <= 1_100, "{}", cache.stats().entries);
    }

    #[test]
    fn the_cache_stays_within_its_memory_budget_whatever_the_token_sizes() {
        let budget = 1 << 20;
        let filled = |token_len: usize| {
            let cache = ReadCache::new(ReadCacheConfig {
                capacity: 1_000_000,
                max_bytes: budget,
                ..ReadCacheConfig::default()
            })
            .expect("a cache");
            for _ in 0..20_000 {
                let mut read = (*read(IntegrationId::new())).clone();
                read.access.as_mut().unwrap().access_token =
                    AccessToken::new("t".repeat(token_len));
                cache.put(&read, cache.ticket(read.integration.id));
            }
            cache.stats()
        };
        // Google-sized tokens, Microsoft-sized ones: the entry count follows their size.
        let (small, big) = (filled(200), filled(2_000));
        for stats in [small, big] {
            assert!(stats.bytes <= budget as u64, "{stats:?}");
            assert!(
                stats.bytes > budget as u64 / 2,
                "the budget is used: {stats:?}"
            );
        }
        assert!(small.entries > 1_500, "{small:?}");
        assert!(big.entries < small.entries / 3, "{small:?} and {big:?}");
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
        assert!(
            ReadCache::new(ReadCacheConfig {
                max_bytes: 0,
                ..ReadCacheConfig::default()
            })
            .is_none()
        );
    }
}
