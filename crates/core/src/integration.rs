//! A connected account and its lifecycle status.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::ids::{IntegrationId, UserId};
use crate::provider::ProviderKind;
use crate::scope::ScopeSet;

crate::closed_enum! {
    /// Where an integration stands (DESIGN.md §5). "Refreshing" is not a status: that is a lock.
    pub enum IntegrationStatus ("integration status") {
        /// Tokens are valid or can be refreshed.
        Active = "active",
        /// Transient failures (network, 5xx, 429); still retrying.
        Degraded = "degraded",
        /// A permanent failure (`invalid_grant`, revoked consent): the user must reconnect.
        ReauthRequired = "reauth_required",
        /// The user did not grant a required scope.
        InsufficientScopes = "insufficient_scopes",
        /// Disconnected; tokens deleted, the row kept for the audit trail.
        Revoked = "revoked",
    }
}

impl IntegrationStatus {
    /// Whether tokens may be handed out and refreshed in this status.
    pub const fn is_usable(&self) -> bool {
        matches!(
            self,
            IntegrationStatus::Active | IntegrationStatus::Degraded
        )
    }
}

/// One connected account of one user at one provider.
#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    pub id: IntegrationId,
    pub user_id: UserId,
    pub provider: ProviderKind,
    /// The stable upstream subject (Google `sub`, Microsoft `oid:tid`, …).
    pub provider_account_id: String,
    /// A human label: an e-mail address, a workspace name.
    pub account_label: Option<String>,
    pub status: IntegrationStatus,
    pub requested_scopes: ScopeSet,
    pub granted_scopes: ScopeSet,
    /// Non-secret provider metadata (Notion workspace name, OpenEMR site, …).
    pub metadata: Value,
    pub last_refreshed_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub next_refresh_at: Option<DateTime<Utc>>,
    pub failure_count: i32,
    /// The last failure, as a message safe to show an operator (never a secret).
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency counter, bumped by every update.
    pub version: i64,
}

/// What is needed to create an integration.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIntegration {
    /// Chosen by the caller so that consent and audit rows written in the same step can name it.
    pub id: IntegrationId,
    pub user_id: UserId,
    pub provider: ProviderKind,
    pub provider_account_id: String,
    pub account_label: Option<String>,
    pub status: IntegrationStatus,
    pub requested_scopes: ScopeSet,
    pub granted_scopes: ScopeSet,
    pub metadata: Value,
    pub next_refresh_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_and_unknown_ones_are_errors() {
        for status in IntegrationStatus::ALL {
            assert_eq!(
                status.as_str().parse::<IntegrationStatus>().unwrap(),
                *status
            );
        }
        assert!("refreshing".parse::<IntegrationStatus>().is_err());
        assert!("Active".parse::<IntegrationStatus>().is_err());
    }

    #[test]
    fn only_active_and_degraded_integrations_are_usable() {
        let usable: Vec<_> = IntegrationStatus::ALL
            .iter()
            .filter(|s| s.is_usable())
            .collect();
        assert_eq!(
            usable,
            [&IntegrationStatus::Active, &IntegrationStatus::Degraded]
        );
    }
}
