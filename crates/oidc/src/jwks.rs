//! A JSON Web Key Set published at a URL, cached: fetched on first use, fetched again when a
//! token names a key the cached set lacks (the issuer rotated its keys) — but not more often
//! than a set interval, so a flood of made-up `kid`s cannot make a request each — and one
//! fetch at a time. Only asymmetric algorithms are accepted: a token "signed" with HS256 and
//! the public key as secret is refused before any key is looked up.

use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, JwkSet};
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
    #[error("its header names no key (`kid`)")]
    NoKeyId,
    #[error("its key (`kid`) is not in the issuer's key set")]
    UnknownKey,
    #[error("the issuer's key for it is unusable or published for another algorithm")]
    UnusableKey,
    #[error("the issuer's key set could not be fetched")]
    Unavailable,
}

struct Cached {
    keys: JwkSet,
    fetched_at: Option<Instant>,
    last_fetch_failed: bool,
}

/// One issuer's key set.
pub struct JwksCache {
    url: Url,
    http: reqwest::Client,
    refetch_every: Duration,
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
    /// it again at most once per `refetch_every`.
    pub fn new(url: Url, http: reqwest::Client, refetch_every: Duration) -> Self {
        Self {
            url,
            http,
            refetch_every,
            cached: Mutex::new(Cached {
                keys: JwkSet { keys: Vec::new() },
                fetched_at: None,
                last_fetch_failed: false,
            }),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The key that verifies a token with this header: an asymmetric algorithm, a `kid` in
    /// the set, and, when the key names its algorithm, that same one.
    pub async fn key_for(&self, header: &Header) -> Result<DecodingKey, KeyError> {
        if !ASYMMETRIC.contains(&header.alg) {
            return Err(KeyError::Algorithm);
        }
        let kid = header.kid.as_deref().ok_or(KeyError::NoKeyId)?;
        let jwk = self.jwk(kid).await?;
        if let Some(published) = jwk.common.key_algorithm
            && Algorithm::from_str(&published.to_string()).ok() != Some(header.alg)
        {
            return Err(KeyError::UnusableKey);
        }
        DecodingKey::from_jwk(&jwk).map_err(|_| KeyError::UnusableKey)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cached> {
        // The cache holds no invariant a panic could break: keep using it.
        self.cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn cached(&self, kid: &str) -> Option<Jwk> {
        self.lock().keys.find(kid).cloned()
    }

    async fn jwk(&self, kid: &str) -> Result<Jwk, KeyError> {
        if let Some(jwk) = self.cached(kid) {
            return Ok(jwk);
        }
        let _one_fetch = self.fetching.lock().await;
        if let Some(jwk) = self.cached(kid) {
            return Ok(jwk);
        }
        let recent = {
            let cached = self.lock();
            cached
                .fetched_at
                .is_some_and(|at| at.elapsed() < self.refetch_every)
                .then_some(cached.last_fetch_failed)
        };
        if let Some(failed) = recent {
            return Err(if failed {
                KeyError::Unavailable
            } else {
                KeyError::UnknownKey
            });
        }
        let fetched = self.fetch().await;
        let mut cached = self.lock();
        cached.fetched_at = Some(Instant::now());
        cached.last_fetch_failed = fetched.is_none();
        if let Some(keys) = fetched {
            cached.keys = keys;
        }
        match cached.keys.find(kid) {
            Some(jwk) => Ok(jwk.clone()),
            None if cached.last_fetch_failed => Err(KeyError::Unavailable),
            None => Err(KeyError::UnknownKey),
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
