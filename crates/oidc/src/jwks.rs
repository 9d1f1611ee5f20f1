//! A JSON Web Key Set published at a URL, cached: fetched on first use, fetched again when a
//! token names a key the cached set lacks (the issuer rotated its keys) — but not more often
//! than a set interval, so a flood of made-up `kid`s cannot make a request each — and when
//! the set is older than [`MAX_AGE`] (so a withdrawn key stops verifying); one fetch at a
//! time. Only asymmetric algorithms are accepted: a token "signed" with HS256 and
//! the public key as secret is refused before any key is looked up. A token that names no key
//! (`kid` is optional, and OpenEMR neither sets it nor publishes one) is verified with the
//! set's only signing key, and refused when the set has several.

use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Header};
use tokio::time::Instant;
use url::Url;

/// The algorithms a token verified against a key set may use.
pub const ASYMMETRIC: [Algorithm; 5] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// Why no key verifies a token. The messages name no token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("its algorithm is not one of RS256, RS384, PS256, ES256, ES384")]
    Algorithm,
    #[error("its header names no key (`kid`) and the issuer's key set has several")]
    Ambiguous,
    #[error("its key (`kid`) is not in the issuer's key set")]
    UnknownKey,
    #[error("the issuer's key for it is unusable or published for another algorithm")]
    UnusableKey,
    #[error("the issuer's key set could not be fetched")]
    Unavailable,
}

/// How long a fetched set is trusted before it is fetched again (a key the issuer withdrew
/// stops verifying); a failed fetch keeps the set there was.
pub const MAX_AGE: Duration = Duration::from_secs(24 * 3600);

struct Cached {
    keys: JwkSet,
    /// The last fetch that succeeded.
    fetched_at: Option<Instant>,
    /// The last fetch tried.
    attempted_at: Option<Instant>,
    last_fetch_failed: bool,
}

/// One issuer's key set.
pub struct JwksCache {
    url: Url,
    http: reqwest::Client,
    refetch_every: Duration,
    max_age: Duration,
    cached: Mutex<Cached>,
    /// Serialises fetches so a burst of unknown `kid`s makes one request.
    fetching: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("url", &self.url.as_str())
            .field("refetch_every", &self.refetch_every)
            .finish_non_exhaustive()
    }
}

impl JwksCache {
    /// The key set at `url`, fetched with `http` when first needed; an unknown `kid` fetches
    /// it again at most once per `refetch_every`, and a set older than [`MAX_AGE`] is
    /// fetched again before use.
    pub fn new(url: Url, http: reqwest::Client, refetch_every: Duration) -> Self {
        Self {
            url,
            http,
            refetch_every,
            max_age: MAX_AGE,
            cached: Mutex::new(Cached {
                keys: JwkSet { keys: Vec::new() },
                fetched_at: None,
                attempted_at: None,
                last_fetch_failed: false,
            }),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// A fresh cache of the same set with other limits: fetched again at most once per
    /// `refetch_every`, trusted for `max_age`.
    pub fn with_limits(&self, refetch_every: Duration, max_age: Duration) -> Self {
        Self {
            max_age,
            ..Self::new(self.url.clone(), self.http.clone(), refetch_every)
        }
    }

    /// The key that verifies a token with this header: an asymmetric algorithm, the key its
    /// `kid` names (or the only signing key when it names none) and, when the key names its
    /// algorithm, that same one.
    pub async fn key_for(&self, header: &Header) -> Result<DecodingKey, KeyError> {
        if !ASYMMETRIC.contains(&header.alg) {
            return Err(KeyError::Algorithm);
        }
        let jwk = self.jwk(header.kid.as_deref()).await?;
        if let Some(published) = jwk.common.key_algorithm
            && Algorithm::from_str(&published.to_string()).ok() != Some(header.alg)
        {
            return Err(KeyError::UnusableKey);
        }
        DecodingKey::from_jwk(&jwk).map_err(|_| KeyError::UnusableKey)
    }

    /// Fetches the set again unless it was fetched within the refetch interval; whether it
    /// was. For a token that names no key and fails its signature check: the issuer may have
    /// replaced its only key.
    pub async fn refetch(&self) -> bool {
        let _one_fetch = self.fetching.lock().await;
        if self.fetched_recently().is_some() {
            return false;
        }
        self.fetch_and_store().await;
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cached> {
        // The cache holds no invariant a panic could break: keep using it.
        self.cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The key `kid` names, or with `None` the set's only signing key.
    fn cached(&self, kid: Option<&str>) -> Result<Jwk, KeyError> {
        let cached = self.lock();
        let found = match kid {
            Some(kid) => cached.keys.find(kid),
            None => {
                let mut signing = cached
                    .keys
                    .keys
                    .iter()
                    .filter(|k| k.common.public_key_use != Some(PublicKeyUse::Encryption));
                match (signing.next(), signing.next()) {
                    (Some(only), None) => Some(only),
                    (Some(_), Some(_)) => return Err(KeyError::Ambiguous),
                    (None, _) => None,
                }
            }
        };
        match found {
            Some(jwk) => Ok(jwk.clone()),
            None if cached.last_fetch_failed => Err(KeyError::Unavailable),
            None => Err(KeyError::UnknownKey),
        }
    }

    /// `Some(whether that fetch failed)` when a fetch was tried within the refetch interval.
    fn fetched_recently(&self) -> Option<bool> {
        let cached = self.lock();
        cached
            .attempted_at
            .is_some_and(|at| at.elapsed() < self.refetch_every)
            .then_some(cached.last_fetch_failed)
    }

    /// The set is older than the maximum age and may be fetched again.
    fn stale(&self) -> bool {
        let expired = self
            .lock()
            .fetched_at
            .is_some_and(|at| at.elapsed() >= self.max_age);
        expired && self.fetched_recently().is_none()
    }

    async fn jwk(&self, kid: Option<&str>) -> Result<Jwk, KeyError> {
        if !self.stale() {
            match self.cached(kid) {
                Err(KeyError::UnknownKey | KeyError::Unavailable) => {}
                known_or_ambiguous => return known_or_ambiguous,
            }
        }
        let _one_fetch = self.fetching.lock().await;
        if !self.stale() {
            match self.cached(kid) {
                Err(KeyError::UnknownKey | KeyError::Unavailable) => {}
                fetched_meanwhile => return fetched_meanwhile,
            }
        }
        if self.fetched_recently().is_none() {
            self.fetch_and_store().await;
        }
        self.cached(kid)
    }

    /// Fetches the set; a failed fetch keeps the keys there were.
    async fn fetch_and_store(&self) {
        let fetched = self.fetch().await;
        let now = Instant::now();
        let mut cached = self.lock();
        cached.attempted_at = Some(now);
        cached.last_fetch_failed = fetched.is_none();
        if let Some(keys) = fetched {
            cached.keys = keys;
            cached.fetched_at = Some(now);
        }
    }

    async fn fetch(&self) -> Option<JwkSet> {
        let response = match self.http.get(self.url.clone()).send().await {
            Ok(response) => response,
            Err(e) => {
                tracing::warn!(url = %self.url, error = %e.without_url(), "fetching the JWKS failed");
                return None;
            }
        };
        if !response.status().is_success() {
            tracing::warn!(url = %self.url, status = %response.status(), "fetching the JWKS failed");
            return None;
        }
        match response.json::<JwkSet>().await {
            Ok(keys) => Some(keys),
            Err(e) => {
                tracing::warn!(url = %self.url, error = %e.without_url(), "the JWKS is not a key set");
                None
            }
        }
    }
}
