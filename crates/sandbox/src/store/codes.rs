//! Authorization codes: issuing them at consent and redeeming them once, with PKCE S256.

use std::time::{Duration, Instant};

use super::{GrantId, Issued, Lifetimes, Store};
use crate::crypto::{TokenHash, pkce_s256_matches, random_token};
use crate::oauth_error::OAuthError;
use crate::scope::Scopes;

/// What the consent step approved.
#[derive(Debug)]
pub(crate) struct NewCode {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: String,
    pub(crate) scopes: Scopes,
    pub(crate) username: String,
}

#[derive(Debug)]
pub(super) struct CodeRecord {
    approved: NewCode,
    pub(super) expires_at: Instant,
    /// The grant created when the code was redeemed; a second redemption revokes it.
    redeemed: Option<GrantId>,
}

impl Store {
    /// Stores a new single-use code and returns its value.
    pub(crate) fn issue_code(&mut self, approved: NewCode, ttl: Duration) -> String {
        let now = Instant::now();
        self.prune(now);
        let code = random_token();
        let record = CodeRecord {
            approved,
            expires_at: now + ttl,
            redeemed: None,
        };
        self.codes.insert(TokenHash::of(&code), record);
        code
    }

    /// Exchanges a code for tokens (RFC 6749 §4.1.3, RFC 7636 §4.6). A reused code fails and
    /// revokes the tokens issued from it (RFC 6749 §4.1.2).
    pub(crate) fn redeem_code(
        &mut self,
        code: &str,
        client_id: &str,
        redirect_uri: &str,
        verifier: &str,
        life: Lifetimes,
    ) -> Result<Issued, OAuthError> {
        let hash = TokenHash::of(code);
        let Some(record) = self.codes.get(&hash) else {
            return Err(OAuthError::invalid_grant(
                "the authorization code is unknown",
            ));
        };
        if record.approved.client_id != client_id {
            return Err(OAuthError::invalid_grant(
                "the authorization code was issued to another client",
            ));
        }
        if let Some(grant) = record.redeemed {
            self.code_reuse_detected += 1;
            self.revoke_grant(grant);
            return Err(OAuthError::invalid_grant(
                "the authorization code was already used; tokens issued from it are revoked",
            ));
        }
        if Instant::now() >= record.expires_at {
            return Err(OAuthError::invalid_grant(
                "the authorization code has expired",
            ));
        }
        if record.approved.redirect_uri != redirect_uri {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the one in the authorization request",
            ));
        }
        if !pkce_s256_matches(verifier, &record.approved.code_challenge) {
            return Err(OAuthError::invalid_grant(
                "PKCE verification failed: code_verifier does not match",
            ));
        }
        let username = record.approved.username.clone();
        let scopes = record.approved.scopes.clone();
        let grant = self.new_grant(client_id, Some(username), scopes.clone());
        if let Some(record) = self.codes.get_mut(&hash) {
            record.redeemed = Some(grant);
        }
        Ok(self.issue(grant, scopes, true, life))
    }
}
