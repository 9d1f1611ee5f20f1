//! Service and admin API keys: `tk_` + 256 random bits, stored as a SHA-256 hash, shown once.
//! Lookups are cached briefly so a key check is not a database read per request, and
//! `last_used_at` is written at most once a minute per key.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use rand::RngCore;
use sha2::{Digest, Sha256};
use tether_core::api_key::{ApiKey, ApiKeyRole, NewApiKey};
use tether_core::ports::ApiKeyRepository;
use tether_core::secret::ApiKeySecret;
use tether_core::{ApiKeyId, StorageResult};

/// The prefix that tells an API key from a JWT.
pub const KEY_PREFIX: &str = "tk_";
const CACHE_FOR: Duration = Duration::from_secs(30);
/// Most cached lookups held at once.
const CACHE_CAP: usize = 10_000;
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Lower-case hex SHA-256 of a key.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Creates a key: returns the stored record and the plaintext, which is never kept.
pub async fn create_key(
    repo: &dyn ApiKeyRepository,
    name: &str,
    role: ApiKeyRole,
) -> StorageResult<(ApiKey, ApiKeySecret)> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let record = repo
        .create(NewApiKey {
            name: name.to_owned(),
            role,
            prefix: secret.chars().take(KEY_PREFIX.len() + 6).collect(),
            key_hash: hash_key(&secret),
        })
        .await?;
    Ok((record, ApiKeySecret::new(secret)))
}

struct Cached {
    key: Option<ApiKey>,
    at: Instant,
}

/// Verifies API keys against the repository, with a short cache.
pub struct ApiKeys {
    repo: Arc<dyn ApiKeyRepository>,
    cache: Mutex<HashMap<String, Cached>>,
    touched: Mutex<HashMap<ApiKeyId, Instant>>,
    lookups: AtomicU64,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys").finish_non_exhaustive()
    }
}

impl ApiKeys {
    pub fn new(repo: Arc<dyn ApiKeyRepository>) -> Self {
        Self {
            repo,
            cache: Mutex::new(HashMap::new()),
            touched: Mutex::new(HashMap::new()),
            lookups: AtomicU64::new(0),
        }
    }

    pub fn repo(&self) -> &Arc<dyn ApiKeyRepository> {
        &self.repo
    }

    /// The active key with this plaintext, if any. A revoked key stops working here at once
    /// and on other replicas within the cache time (30 s).
    pub async fn verify(&self, key: &str) -> StorageResult<Option<ApiKey>> {
        let hash = hash_key(key);
        if let Ok(cache) = self.cache.lock()
            && let Some(hit) = cache.get(&hash)
            && hit.at.elapsed() < CACHE_FOR
        {
            let found = hit.key.clone();
            drop(cache);
            self.touch(found.as_ref());
            return Ok(found);
        }
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let found = self.repo.find_active_by_hash(&hash).await?;
        if let Ok(mut cache) = self.cache.lock() {
            // Bounded whatever keys clients make up: expired entries go first, then all.
            if cache.len() >= CACHE_CAP {
                cache.retain(|_, c| c.at.elapsed() < CACHE_FOR);
                if cache.len() >= CACHE_CAP {
                    cache.clear();
                }
            }
            cache.insert(
                hash,
                Cached {
                    key: found.clone(),
                    at: Instant::now(),
                },
            );
        }
        self.touch(found.as_ref());
        Ok(found)
    }

    /// Database lookups made so far (cache misses).
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    /// Lookups held in the cache.
    pub fn cached(&self) -> usize {
        self.cache.lock().map_or(0, |c| c.len())
    }

    /// Forgets cached lookups (after a revocation on this replica).
    pub fn forget(&self) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.clear();
        }
    }

    fn touch(&self, key: Option<&ApiKey>) {
        let Some(key) = key else { return };
        let due = self.touched.lock().is_ok_and(|mut touched| {
            let due = touched
                .get(&key.id)
                .is_none_or(|at| at.elapsed() >= TOUCH_EVERY);
            if due {
                touched.insert(key.id, Instant::now());
            }
            due
        });
        if due {
            let (repo, id) = (self.repo.clone(), key.id);
            tokio::spawn(async move {
                if let Err(e) = repo.touch(id, Utc::now()).await {
                    tracing::warn!(error = %e, "could not record API key use");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_hashes_are_hex_sha256() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
