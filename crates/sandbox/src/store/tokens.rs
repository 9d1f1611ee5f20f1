//! Refresh with rotation and reuse detection, client credentials, revocation and token checks.

use std::time::{Duration, Instant};

use super::{Issued, Lifetimes, Store};
use crate::crypto::TokenHash;
use crate::oauth_error::{ErrorCode, OAuthError};
use crate::scope::Scopes;

/// What a revocation request hit (RFC 7009).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Revoked {
    /// A refresh token: its whole grant is revoked.
    Grant,
    AccessToken,
    /// Unknown or already invalid: still a success for the client.
    Nothing,
}

/// What a valid access token stands for.
#[derive(Debug)]
pub(crate) struct AccessInfo {
    pub(crate) client_id: String,
    pub(crate) username: Option<String>,
    pub(crate) scopes: Scopes,
    pub(crate) expires_in: Duration,
}

/// Why an access token is not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AccessProblem {
    Unknown,
    Expired,
    Revoked,
}

impl Store {
    /// RFC 6749 §6 with rotation: the presented token is spent and a new pair is issued.
    /// Presenting a spent token again revokes the whole grant (RFC 9700 §4.14).
    pub(crate) fn refresh(
        &mut self,
        token: &str,
        client_id: &str,
        requested: Option<Scopes>,
        life: Lifetimes,
    ) -> Result<Issued, OAuthError> {
        let hash = TokenHash::of(token);
        let Some(record) = self.refresh.get(&hash) else {
            return Err(OAuthError::invalid_grant(
                "the refresh token is unknown or revoked",
            ));
        };
        let grant_id = record.grant;
        let (used, expires_at) = (record.used, record.expires_at);
        let Some(grant) = self.grants.get(&grant_id) else {
            return Err(OAuthError::invalid_grant(
                "the refresh token is unknown or revoked",
            ));
        };
        let (granted, grant_revoked) = (grant.scopes.clone(), grant.revoked);
        if grant.client_id != client_id {
            return Err(OAuthError::invalid_grant(
                "the refresh token was issued to another client",
            ));
        }
        if grant_revoked {
            return Err(OAuthError::invalid_grant(
                "the grant behind this refresh token was revoked",
            ));
        }
        if used {
            self.refresh_reuse_detected += 1;
            self.revoke_grant(grant_id);
            tracing::warn!(client_id, "refresh token reuse detected; grant revoked");
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used; the whole grant is revoked",
            ));
        }
        if expires_at.is_some_and(|at| Instant::now() >= at) {
            return Err(OAuthError::invalid_grant("the refresh token has expired"));
        }
        let scopes = match requested {
            Some(scopes) if !scopes.is_subset(&granted) => {
                return Err(OAuthError::invalid_scope(
                    "the requested scope exceeds the original grant",
                ));
            }
            Some(scopes) => scopes,
            None => granted,
        };
        if let Some(record) = self.refresh.get_mut(&hash) {
            record.used = true;
        }
        Ok(self.issue(grant_id, scopes, true, life))
    }

    /// RFC 6749 §4.4: an access token for the client itself, no refresh token.
    pub(crate) fn client_credentials(
        &mut self,
        client_id: &str,
        scopes: Scopes,
        life: Lifetimes,
    ) -> Issued {
        let grant = self.new_grant(client_id, None, scopes.clone());
        self.issue(grant, scopes, false, life)
    }

    /// RFC 7009 §2.1. The hint is only an optimisation, so both kinds are always searched.
    pub(crate) fn revoke(&mut self, token: &str, client_id: &str) -> Result<Revoked, OAuthError> {
        let hash = TokenHash::of(token);
        let (grant_id, is_refresh) = match (self.refresh.get(&hash), self.access.get(&hash)) {
            (Some(r), _) => (r.grant, true),
            (None, Some(a)) => (a.grant, false),
            (None, None) => return Ok(Revoked::Nothing),
        };
        match self.grants.get(&grant_id) {
            None => return Ok(Revoked::Nothing),
            Some(grant) if grant.client_id != client_id => {
                return Err(OAuthError::new(
                    ErrorCode::UnauthorizedClient,
                    "the token was issued to another client",
                ));
            }
            Some(_) => {}
        }
        if is_refresh {
            self.revoke_grant(grant_id);
            return Ok(Revoked::Grant);
        }
        if let Some(access) = self.access.get_mut(&hash) {
            access.revoked = true;
        }
        Ok(Revoked::AccessToken)
    }

    /// Checks a bearer token presented to the protected API.
    pub(crate) fn access_info(&self, token: &str) -> Result<AccessInfo, AccessProblem> {
        let record = self
            .access
            .get(&TokenHash::of(token))
            .ok_or(AccessProblem::Unknown)?;
        let grant = self
            .grants
            .get(&record.grant)
            .ok_or(AccessProblem::Unknown)?;
        if record.revoked || grant.revoked {
            return Err(AccessProblem::Revoked);
        }
        let expires_in = record
            .expires_at
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
            .ok_or(AccessProblem::Expired)?;
        Ok(AccessInfo {
            client_id: grant.client_id.clone(),
            username: grant.username.clone(),
            scopes: record.scopes.clone(),
            expires_in,
        })
    }

    /// Makes access tokens expire now: one token, or all of a client's (or everyone's).
    /// Returns how many were still valid.
    pub(crate) fn expire_access(&mut self, token: Option<&str>, client_id: Option<&str>) -> usize {
        let now = Instant::now();
        let only = token.map(TokenHash::of);
        let grants = &self.grants;
        let mut expired = 0;
        for (hash, record) in &mut self.access {
            let token_matches = only.is_none_or(|h| h == *hash);
            let client_matches = client_id
                .is_none_or(|id| grants.get(&record.grant).is_some_and(|g| g.client_id == id));
            if token_matches && client_matches && record.expires_at > now {
                record.expires_at = now;
                expired += 1;
            }
        }
        expired
    }
}
