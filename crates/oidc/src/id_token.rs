//! Verifying an OpenID Connect ID token before any of its claims is used (OpenID Connect Core
//! §3.1.3.7): the signature against the issuer's key set (asymmetric algorithms only), `iss`,
//! `aud` naming our client (and `azp` when there are several audiences), `exp` and `nbf` with
//! a small leeway, and `nonce` equal to the one the sign-in sent. A token that fails any check
//! is an answer that cannot be trusted: the error says which check failed, never the token.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Validation, decode, decode_header};
use serde_json::{Map, Value};
use tether_core::provider::ProviderError;
use url::Url;

use crate::jwks::JwksCache;

/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY: Duration = Duration::from_secs(60);

/// The least time between two key-set fetches caused by unknown `kid`s.
pub const REFETCH_EVERY: Duration = Duration::from_secs(60);

/// The issuer an ID token must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedIssuer {
    /// `iss` equals this exactly.
    Exact(String),
    /// `iss` equals this with `{tid}` replaced by the token's own `tid` claim: Microsoft's
    /// multi-tenant endpoints, where the issuer names the signed-in account's tenant.
    PerTenant(String),
}

/// The claims of a verified ID token.
pub type VerifiedClaims = Map<String, Value>;

/// Verifies the ID tokens of one provider configuration.
#[derive(Debug, Clone)]
pub struct IdTokenVerifier {
    keys: Arc<JwksCache>,
    client_id: String,
    issuer: ExpectedIssuer,
    leeway: Duration,
}

fn untrusted(why: impl std::fmt::Display) -> ProviderError {
    ProviderError::Upstream {
        status: None,
        retry_after: None,
        message: format!("the ID token cannot be trusted: {why}"),
    }
}

impl IdTokenVerifier {
    /// Tokens for `client_id` from `issuer`, signed by a key of the set at `jwks_url`.
    pub fn new(
        jwks_url: Url,
        http: reqwest::Client,
        client_id: impl Into<String>,
        issuer: ExpectedIssuer,
    ) -> Self {
        Self {
            keys: Arc::new(JwksCache::new(jwks_url, http, REFETCH_EVERY)),
            client_id: client_id.into(),
            issuer,
            leeway: LEEWAY,
        }
    }

    /// The same verifier with other key-set limits: fetched again at most once per
    /// `refetch_every` (default [`REFETCH_EVERY`]), trusted for `max_age` (default
    /// [`crate::MAX_AGE`]).
    pub fn with_key_limits(self, refetch_every: Duration, max_age: Duration) -> Self {
        Self {
            keys: Arc::new(self.keys.with_limits(refetch_every, max_age)),
            ..self
        }
    }

    pub fn jwks_url(&self) -> &Url {
        self.keys.url()
    }

    /// The claims of `id_token` once every check passed. `nonce`: the value the sign-in sent
    /// (the token must carry exactly it); `None` when none was sent (a refresh answer).
    pub async fn verify(
        &self,
        id_token: &str,
        nonce: Option<&str>,
    ) -> Result<VerifiedClaims, ProviderError> {
        let header = decode_header(id_token).map_err(|_| untrusted("it is not a JWT"))?;
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&[&self.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = self.leeway.as_secs();
        validation.validate_nbf = true;
        let key = self.keys.key_for(&header).await.map_err(untrusted)?;
        let mut decoded = decode::<VerifiedClaims>(id_token, &key, &validation);
        // A token that names no key was checked with the set's only one: the issuer may have
        // replaced it since the set was fetched (a named key would have been a new `kid`).
        if header.kid.is_none()
            && decoded
                .as_ref()
                .is_err_and(|e| *e.kind() == ErrorKind::InvalidSignature)
            && self.keys.refetch().await
        {
            let key = self.keys.key_for(&header).await.map_err(untrusted)?;
            decoded = decode::<VerifiedClaims>(id_token, &key, &validation);
        }
        let claims = decoded.map_err(|e| self.refused(e.kind()))?.claims;
        self.check_issuer(&claims)?;
        self.check_authorized_party(&claims)?;
        check_nonce(&claims, nonce)?;
        Ok(claims)
    }

    fn refused(&self, kind: &ErrorKind) -> ProviderError {
        match kind {
            ErrorKind::InvalidSignature => untrusted("its signature does not verify"),
            ErrorKind::ExpiredSignature => untrusted("it has expired"),
            ErrorKind::ImmatureSignature => untrusted("it is not valid yet (`nbf`)"),
            ErrorKind::InvalidAudience => ProviderError::Misconfigured {
                message: format!(
                    "the ID token was issued to another client (its `aud` does not name `{}`); \
                     check the configured client id",
                    self.client_id
                ),
            },
            ErrorKind::MissingRequiredClaim(claim) => {
                untrusted(format_args!("it has no `{claim}` claim"))
            }
            ErrorKind::InvalidClaimFormat(claim) => {
                untrusted(format_args!("its `{claim}` claim is malformed"))
            }
            ErrorKind::InvalidAlgorithm => untrusted("its key does not fit its algorithm"),
            _ => untrusted("it is malformed"),
        }
    }

    fn check_issuer(&self, claims: &VerifiedClaims) -> Result<(), ProviderError> {
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        let iss = text("iss").ok_or_else(|| untrusted("it has no `iss` claim"))?;
        let expected = match &self.issuer {
            ExpectedIssuer::Exact(issuer) => issuer.clone(),
            ExpectedIssuer::PerTenant(template) => {
                let tid = text("tid")
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| untrusted("it has no `tid` claim"))?;
                template.replace("{tid}", tid)
            }
        };
        if iss == expected {
            Ok(())
        } else {
            Err(untrusted(format_args!(
                "its issuer `{iss}` is not the expected `{expected}`"
            )))
        }
    }

    /// Several audiences: `azp` must name our client; one audience: `azp`, when present, too.
    fn check_authorized_party(&self, claims: &VerifiedClaims) -> Result<(), ProviderError> {
        let several = claims
            .get("aud")
            .and_then(Value::as_array)
            .is_some_and(|auds| auds.len() > 1);
        match claims.get("azp") {
            None if !several => Ok(()),
            Some(Value::String(azp)) if *azp == self.client_id => Ok(()),
            None => Err(untrusted(
                "it names several audiences but no authorized party (`azp`)",
            )),
            Some(_) => Err(untrusted(format_args!(
                "its authorized party (`azp`) is not `{}`",
                self.client_id
            ))),
        }
    }
}

fn check_nonce(claims: &VerifiedClaims, expected: Option<&str>) -> Result<(), ProviderError> {
    let Some(expected) = expected else {
        return Ok(());
    };
    match claims.get("nonce").and_then(Value::as_str) {
        Some(nonce) if nonce == expected => Ok(()),
        Some(_) => Err(untrusted(
            "its nonce is not the one this sign-in sent (a token from another sign-in?)",
        )),
        None => Err(untrusted("it carries no nonce, but this sign-in sent one")),
    }
}
