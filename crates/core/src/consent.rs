//! What a user consented to, one record per grant; revoked, never deleted.

use chrono::{DateTime, Utc};

use crate::ids::{ConsentId, IntegrationId, UserId};
use crate::scope::ScopeSet;

#[derive(Debug, Clone, PartialEq)]
pub struct Consent {
    pub id: ConsentId,
    pub integration_id: IntegrationId,
    pub user_id: UserId,
    pub scopes: ScopeSet,
    pub granted_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// The version of the consent text the user saw.
    pub consent_version: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewConsent {
    pub integration_id: IntegrationId,
    pub user_id: UserId,
    pub scopes: ScopeSet,
    pub granted_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub consent_version: String,
}
