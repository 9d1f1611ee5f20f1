//! Hosted connect sessions: a backend asks for a short-lived, single-use link to Tether's
//! connect page for one user; the link's token is stored only as its SHA-256.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::ids::{ApiKeyId, ConnectSessionId, IntegrationId, UserId};
use crate::provider::ProviderKind;
use crate::scope::ScopeSet;

/// Where the outcome of a connect session goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectTarget {
    /// The browser is sent back to this URL (checked against the `return_to` allowlist) with
    /// the outcome in its query.
    ReturnTo(String),
    /// The page posts the outcome to the window that opened it, restricted to this origin
    /// (`https://app.example.com`), and closes.
    Opener(String),
}

/// An upgrade of an existing integration: the same account, more scopes (incremental
/// authorization).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectUpgrade {
    pub integration_id: IntegrationId,
    /// Scopes added to what the integration was granted.
    pub extra_scopes: ScopeSet,
}

/// A connect session to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConnectSession {
    pub id: ConnectSessionId,
    /// SHA-256 of the link's token (never the token).
    pub token_hash: String,
    pub user_id: UserId,
    /// The providers the page offers, in the order given.
    pub providers: Vec<ProviderKind>,
    /// Scopes to request per provider; a provider not named gets its default scopes.
    pub scopes: BTreeMap<ProviderKind, ScopeSet>,
    /// The configuration instance per provider (an OpenEMR site); a provider not named uses
    /// its usual, unnamed one.
    pub instances: BTreeMap<ProviderKind, String>,
    pub target: ConnectTarget,
    pub upgrade: Option<ConnectUpgrade>,
    /// The API key that created it.
    pub created_by: Option<ApiKeyId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A stored connect session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectSession {
    pub id: ConnectSessionId,
    pub user_id: UserId,
    pub providers: Vec<ProviderKind>,
    pub scopes: BTreeMap<ProviderKind, ScopeSet>,
    pub instances: BTreeMap<ProviderKind, String>,
    pub target: ConnectTarget,
    pub upgrade: Option<ConnectUpgrade>,
    pub created_by: Option<ApiKeyId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// When the user picked a provider (the session is then spent).
    pub used_at: Option<DateTime<Utc>>,
    /// The provider the user picked.
    pub chosen_provider: Option<ProviderKind>,
}

/// Why a connect session's link cannot be used (any more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectSessionState {
    Usable,
    Used,
    Expired,
}

impl ConnectSession {
    /// Whether the link can still be used at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> ConnectSessionState {
        if self.used_at.is_some() {
            ConnectSessionState::Used
        } else if self.expires_at <= now {
            ConnectSessionState::Expired
        } else {
            ConnectSessionState::Usable
        }
    }

    /// The configuration instance of `provider` (`""`: its usual one).
    pub fn instance_for(&self, provider: ProviderKind) -> &str {
        self.instances.get(&provider).map_or("", String::as_str)
    }

    /// The scopes to request from `provider` (`None`: its defaults).
    pub fn scopes_for(&self, provider: ProviderKind) -> Option<&ScopeSet> {
        self.scopes.get(&provider)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use chrono::Duration;

    use super::*;

    fn session(used: bool, expires_in: i64) -> ConnectSession {
        let now = Utc::now();
        ConnectSession {
            id: ConnectSessionId::new(),
            user_id: UserId::parse("u").unwrap(),
            providers: vec![ProviderKind::Google],
            scopes: BTreeMap::new(),
            instances: BTreeMap::new(),
            target: ConnectTarget::Opener("https://app.example.com".to_owned()),
            upgrade: None,
            created_by: None,
            created_at: now,
            expires_at: now + Duration::minutes(expires_in),
            used_at: used.then_some(now),
            chosen_provider: None,
        }
    }

    #[test]
    fn a_session_is_usable_until_used_or_expired() {
        let now = Utc::now();
        assert_eq!(session(false, 5).state(now), ConnectSessionState::Usable);
        assert_eq!(session(true, 5).state(now), ConnectSessionState::Used);
        assert_eq!(session(false, -1).state(now), ConnectSessionState::Expired);
        // Used wins: the page says it was used rather than that it expired.
        assert_eq!(session(true, -1).state(now), ConnectSessionState::Used);
    }
}
