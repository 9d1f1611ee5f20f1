//! User JWTs from the product's auth system: HS256 with a shared secret, or RS256/ES256 with
//! keys from a JWKS URL (cached, fetched again on an unknown `kid`, at most every 30 s).
//! Issuer, audience and expiry are always checked; `sub` is the user id.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use tether_core::UserId;

use crate::error::{ApiError, ApiResult};

/// Where verification keys come from.
#[derive(Clone)]
pub enum JwtKeys {
    /// A shared HS256 secret.
    Hs256(Vec<u8>),
    /// RS256/ES256 keys published at this JWKS URL.
    Jwks(url::Url),
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtKeys::Hs256(_) => f.write_str("Hs256([redacted])"),
            JwtKeys::Jwks(url) => write!(f, "Jwks({url})"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct JwtConfig {
    pub keys: JwtKeys,
    pub issuer: String,
    pub audience: String,
    /// Clock skew tolerated on `exp`/`nbf`.
    pub leeway: Duration,
    /// The least time between two JWKS fetches (an unknown `kid` fetches the set again, but
    /// a flood of made-up `kid`s must not make a request each).
    pub jwks_refetch_every: Duration,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
}

const ASYMMETRIC: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::ES256,
    Algorithm::ES384,
];

struct JwksCache {
    keys: JwkSet,
    fetched_at: Option<Instant>,
}

pub struct JwtVerifier {
    config: JwtConfig,
    http: reqwest::Client,
    jwks: Mutex<JwksCache>,
    /// Serialises JWKS fetches so a burst of unknown `kid`s makes one request.
    fetching: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn invalid() -> ApiError {
    ApiError::unauthorized(
        "The bearer token is not valid (bad signature, expired, or issued for another audience); sign in again.",
    )
}

impl JwtVerifier {
    pub fn new(config: JwtConfig, http: reqwest::Client) -> Self {
        Self {
            config,
            http,
            jwks: Mutex::new(JwksCache {
                keys: JwkSet { keys: Vec::new() },
                fetched_at: None,
            }),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.leeway = self.config.leeway.as_secs();
        // A token not valid yet (`nbf` in the future, beyond the leeway) is refused.
        validation.validate_nbf = true;
        validation
    }

    /// The user a token was issued for.
    pub async fn verify(&self, token: &str) -> ApiResult<UserId> {
        let header = decode_header(token).map_err(|_| invalid())?;
        let claims = match &self.config.keys {
            JwtKeys::Hs256(secret) => {
                if header.alg != Algorithm::HS256 {
                    return Err(invalid());
                }
                decode::<Claims>(
                    token,
                    &DecodingKey::from_secret(secret),
                    &self.validation(Algorithm::HS256),
                )
                .map_err(|_| invalid())?
                .claims
            }
            JwtKeys::Jwks(url) => {
                // Only asymmetric algorithms: an HS256 token "signed" with a public key is refused.
                if !ASYMMETRIC.contains(&header.alg) {
                    return Err(invalid());
                }
                let kid = header.kid.ok_or_else(invalid)?;
                let key = self.key_for(url, &kid).await?;
                decode::<Claims>(token, &key, &self.validation(header.alg))
                    .map_err(|_| invalid())?
                    .claims
            }
        };
        UserId::parse(claims.sub).map_err(|_| invalid())
    }

    fn cached_key(&self, kid: &str) -> Option<Result<DecodingKey, ApiError>> {
        let cache = self.jwks.lock().ok()?;
        cache
            .keys
            .find(kid)
            .map(|jwk| DecodingKey::from_jwk(jwk).map_err(|_| invalid()))
    }

    async fn key_for(&self, url: &url::Url, kid: &str) -> ApiResult<DecodingKey> {
        if let Some(key) = self.cached_key(kid) {
            return key;
        }
        let _guard = self.fetching.lock().await;
        if let Some(key) = self.cached_key(kid) {
            return key;
        }
        let recently = self
            .jwks
            .lock()
            .ok()
            .and_then(|c| c.fetched_at)
            .is_some_and(|at| at.elapsed() < self.config.jwks_refetch_every);
        if recently {
            return Err(invalid());
        }
        let fetched = self.fetch(url).await;
        if let Ok(mut cache) = self.jwks.lock() {
            cache.fetched_at = Some(Instant::now());
            if let Ok(keys) = fetched {
                cache.keys = keys;
            }
        }
        self.cached_key(kid).unwrap_or_else(|| Err(invalid()))
    }

    async fn fetch(&self, url: &url::Url) -> Result<JwkSet, ()> {
        let response = self.http.get(url.clone()).send().await.map_err(|e| {
            tracing::warn!(error = %e.without_url(), "fetching the JWKS failed");
        })?;
        if !response.status().is_success() {
            tracing::warn!(status = %response.status(), "fetching the JWKS failed");
            return Err(());
        }
        response.json::<JwkSet>().await.map_err(|e| {
            tracing::warn!(error = %e.without_url(), "the JWKS is not valid JSON");
        })
    }
}
