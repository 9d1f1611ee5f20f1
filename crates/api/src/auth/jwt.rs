//! User JWTs from the product's auth system: HS256 with a shared secret, or RS256/ES256 (any
//! of `tether_oidc::ASYMMETRIC`) with keys from a JWKS URL (`tether_oidc::JwksCache`: cached,
//! fetched again on an unknown `kid`, at most every `jwks_refetch_every`; a token naming no
//! `kid` uses the set's only key). Issuer, audience and expiry are always checked; `sub` is
//! the user id.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use tether_core::UserId;
use tether_oidc::JwksCache;

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

pub struct JwtVerifier {
    config: JwtConfig,
    keys: Keys,
}

/// The configured keys, ready to use.
enum Keys {
    Hs256(DecodingKey),
    Jwks(JwksCache),
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
        let keys = match &config.keys {
            JwtKeys::Hs256(secret) => Keys::Hs256(DecodingKey::from_secret(secret)),
            JwtKeys::Jwks(url) => {
                Keys::Jwks(JwksCache::new(url.clone(), http, config.jwks_refetch_every))
            }
        };
        Self { config, keys }
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
        let claims = match &self.keys {
            Keys::Hs256(key) => {
                if header.alg != Algorithm::HS256 {
                    return Err(invalid());
                }
                decode::<Claims>(token, key, &self.validation(Algorithm::HS256))
                    .map_err(|_| invalid())?
                    .claims
            }
            // Only asymmetric algorithms: an HS256 token "signed" with a public key is refused.
            Keys::Jwks(jwks) => {
                let key = jwks.key_for(&header).await.map_err(|_| invalid())?;
                decode::<Claims>(token, &key, &self.validation(header.alg))
                    .map_err(|_| invalid())?
                    .claims
            }
        };
        UserId::parse(claims.sub).map_err(|_| invalid())
    }
}
