//! The public test controls: failure switches, delays, token lifetime, forced expiry and stats.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

use crate::state::SandboxState;

/// The grant types the token endpoint supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrantType {
    /// `authorization_code`
    AuthorizationCode,
    /// `refresh_token`
    RefreshToken,
    /// `client_credentials`
    ClientCredentials,
}

impl GrantType {
    /// Every variant, for round-trip tests and metadata.
    pub const ALL: [Self; 3] = [
        Self::AuthorizationCode,
        Self::RefreshToken,
        Self::ClientCredentials,
    ];

    /// The `grant_type` parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GrantType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| format!("unsupported grant_type {s:?}"))
    }
}

/// How an armed token-endpoint call fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// 400 `invalid_grant` (as when a user revoked access upstream).
    InvalidGrant,
    /// A 5xx status (503 adds `Retry-After: 1`); values outside 500–599 are answered as 500.
    Status(u16),
}

/// Token-endpoint calls of one client, by grant type (failed and switched calls included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GrantCounts {
    /// `grant_type=authorization_code` calls.
    pub authorization_code: u64,
    /// `grant_type=refresh_token` calls.
    pub refresh_token: u64,
    /// `grant_type=client_credentials` calls.
    pub client_credentials: u64,
    /// Calls with a missing or unsupported `grant_type`.
    pub other: u64,
}

impl GrantCounts {
    /// Calls of one grant type.
    pub fn get(&self, grant_type: GrantType) -> u64 {
        match grant_type {
            GrantType::AuthorizationCode => self.authorization_code,
            GrantType::RefreshToken => self.refresh_token,
            GrantType::ClientCredentials => self.client_credentials,
        }
    }
}

/// A snapshot of the sandbox's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Token-endpoint calls per registered client id.
    pub token_calls: BTreeMap<String, GrantCounts>,
    /// Already-used refresh tokens presented again (each revoked its grant).
    pub refresh_token_reuse_detected: u64,
    /// Already-used authorization codes presented again (each revoked its grant).
    pub code_reuse_detected: u64,
    /// Revocation-endpoint calls that revoked a token or a grant.
    pub revocations: u64,
    /// Token-endpoint calls answered by a switch (armed failure or down).
    pub injected_failures: u64,
}

impl Stats {
    /// Token-endpoint calls by `client_id` with `grant_type`.
    pub fn token_calls(&self, client_id: &str, grant_type: GrantType) -> u64 {
        self.token_calls
            .get(client_id)
            .map_or(0, |c| c.get(grant_type))
    }
}

/// Switches and counters of a running sandbox. Cheap to clone; all clones act on one sandbox.
#[derive(Clone, Debug)]
pub struct SandboxControls {
    state: SandboxState,
}

impl SandboxControls {
    pub(crate) fn new(state: SandboxState) -> Self {
        Self { state }
    }

    /// The next `count` token-endpoint calls (any grant type) fail with `failure`.
    pub fn fail_next(&self, count: u32, failure: Failure) {
        self.state.switchboard().arm(failure, None, count);
    }

    /// The next `count` token-endpoint calls with `grant_type` fail with `failure`.
    pub fn fail_next_for(&self, grant_type: GrantType, count: u32, failure: Failure) {
        self.state
            .switchboard()
            .arm(failure, Some(grant_type), count);
    }

    /// Token and revocation calls wait `delay` before answering (`None` clears it).
    pub fn set_delay(&self, delay: Option<Duration>) {
        self.state.switchboard().delay = delay;
    }

    /// While down, every token and revocation call answers 503.
    pub fn set_down(&self, down: bool) {
        self.state.switchboard().down = down;
    }

    /// Lifetime of access tokens issued from now on.
    pub fn set_access_token_ttl(&self, ttl: Duration) {
        self.state.switchboard().access_ttl = ttl;
    }

    /// Makes one access token expire now; `false` if it was unknown or already invalid.
    pub fn expire_access_token(&self, access_token: &str) -> bool {
        self.state.store().expire_access(Some(access_token), None) > 0
    }

    /// Makes every access token of `client_id` (or of every client) expire now; returns how many.
    pub fn expire_access_tokens(&self, client_id: Option<&str>) -> usize {
        self.state.store().expire_access(None, client_id)
    }

    /// Clears every switch and counter and restores the configured token lifetime.
    /// Issued tokens stay as they are.
    pub fn reset(&self) {
        *self.state.switchboard() =
            crate::switchboard::Switchboard::new(self.state.config().access_token_ttl);
        let mut store = self.state.store();
        store.refresh_reuse_detected = 0;
        store.code_reuse_detected = 0;
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let (refresh_token_reuse_detected, code_reuse_detected) = {
            let store = self.state.store();
            (store.refresh_reuse_detected, store.code_reuse_detected)
        };
        let board = self.state.switchboard();
        Stats {
            token_calls: board.token_calls.clone(),
            refresh_token_reuse_detected,
            code_reuse_detected,
            revocations: board.revocations,
            injected_failures: board.injected_failures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_types_round_trip_through_their_names() {
        for grant in GrantType::ALL {
            assert_eq!(grant.to_string().parse::<GrantType>(), Ok(grant));
        }
        assert!("password".parse::<GrantType>().is_err());
    }
}
