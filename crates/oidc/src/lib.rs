//! OpenID Connect pieces Tether shares: [`JwksCache`], an issuer's key set fetched and cached
//! (used for the product's user JWTs by the API and for providers' ID tokens), and
//! [`IdTokenVerifier`], which checks an ID token before any of its claims is used.

mod id_token;
mod jwks;
#[cfg(feature = "testing")]
pub mod testing;

pub use id_token::{ExpectedIssuer, IdTokenVerifier, LEEWAY, REFETCH_EVERY, VerifiedClaims};
pub use jwks::{ASYMMETRIC, JwksCache, KeyError, MAX_AGE};
