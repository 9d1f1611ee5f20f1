//! Integrations, their tokens, consents and audit records as the API shows them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tether_broker::{AccessGrant, RevokeOutcome};
use tether_core::audit::AuditRecord;
use tether_core::consent::Consent;
use tether_core::{Integration, ScopeSet};
use utoipa::ToSchema;

use crate::openapi::enums::{
    ActorKind, AuditAction, IntegrationStatus, Provider, ProviderRevocation,
};

fn scopes(set: &ScopeSet) -> Vec<String> {
    set.iter().map(ToString::to_string).collect()
}

/// A connected account. Never carries a token.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationOut {
    pub id: uuid::Uuid,
    #[schema(value_type = Provider, example = "google")]
    pub provider: String,
    pub user_id: String,
    #[schema(example = "alice@example.com")]
    pub account_label: Option<String>,
    #[schema(value_type = IntegrationStatus, example = "active")]
    pub status: String,
    pub requested_scopes: Vec<String>,
    pub granted_scopes: Vec<String>,
    /// When the current access token expires, if known.
    pub token_expires_at: Option<DateTime<Utc>>,
    pub last_refreshed_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub next_refresh_at: Option<DateTime<Utc>>,
    /// The last failure, safe to show (never a secret).
    pub last_error: Option<String>,
    /// Non-secret provider details (workspace name, tenant, …).
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl IntegrationOut {
    pub fn new(i: Integration, token_expires_at: Option<DateTime<Utc>>) -> Self {
        Self {
            id: i.id.as_uuid(),
            provider: i.provider.to_string(),
            user_id: i.user_id.to_string(),
            account_label: i.account_label,
            status: i.status.to_string(),
            requested_scopes: scopes(&i.requested_scopes),
            granted_scopes: scopes(&i.granted_scopes),
            token_expires_at,
            last_refreshed_at: i.last_refreshed_at,
            last_used_at: i.last_used_at,
            next_refresh_at: i.next_refresh_at,
            last_error: i.last_error,
            metadata: i.metadata,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

/// A valid access token (service role only; the answer is `Cache-Control: no-store`).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    pub integration_id: uuid::Uuid,
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub scopes: Vec<String>,
}

impl From<AccessGrant> for TokenOut {
    fn from(g: AccessGrant) -> Self {
        Self {
            integration_id: g.integration_id.as_uuid(),
            access_token: g.access_token.expose_secret().to_owned(),
            token_type: g.token_type,
            expires_at: g.expires_at,
            scopes: scopes(&g.scopes),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TestConnectionOut {
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DisconnectOut {
    pub integration: IntegrationOut,
    #[schema(value_type = ProviderRevocation)]
    pub provider_revocation: String,
    pub message: String,
}

impl From<RevokeOutcome> for DisconnectOut {
    fn from(o: RevokeOutcome) -> Self {
        use tether_broker::ProviderRevocation as R;
        let provider = o.integration.provider.display_name();
        let message = match &o.provider_revocation {
            R::Revoked => format!("Disconnected, and access was revoked at {provider}."),
            R::NotSupported => format!(
                "Disconnected here. {provider} offers no way to revoke access for you: remove Tether in your {provider} account settings if you want to."
            ),
            R::NothingToRevoke => "Disconnected.".to_owned(),
            R::Failed { .. } => format!(
                "Disconnected here, but {provider} could not be reached to revoke access; remove Tether in your {provider} account settings."
            ),
        };
        Self {
            provider_revocation: o.provider_revocation.as_str().to_owned(),
            integration: IntegrationOut::new(o.integration, None),
            message,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentOut {
    pub id: uuid::Uuid,
    pub scopes: Vec<String>,
    pub granted_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub consent_version: String,
}

impl From<Consent> for ConsentOut {
    fn from(c: Consent) -> Self {
        Self {
            id: c.id.as_uuid(),
            scopes: scopes(&c.scopes),
            granted_at: c.granted_at,
            expires_at: c.expires_at,
            revoked_at: c.revoked_at,
            ip_address: c.ip_address,
            user_agent: c.user_agent,
            consent_version: c.consent_version,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditRecordOut {
    pub id: uuid::Uuid,
    pub integration_id: Option<uuid::Uuid>,
    pub user_id: Option<String>,
    /// `operator`: someone running a `tether` command.
    #[schema(value_type = ActorKind)]
    pub actor: String,
    pub actor_id: Option<String>,
    #[schema(value_type = AuditAction, example = "token_read")]
    pub action: String,
    #[schema(value_type = Option<Provider>)]
    pub provider: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub success: bool,
    pub error_message: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

impl From<AuditRecord> for AuditRecordOut {
    fn from(r: AuditRecord) -> Self {
        let e = r.event;
        Self {
            id: r.id.as_uuid(),
            integration_id: e.integration_id.map(|i| i.as_uuid()),
            user_id: e.user_id.map(|u| u.to_string()),
            actor: e.actor.kind().to_string(),
            actor_id: e.actor.id_text(),
            action: e.action.to_string(),
            provider: e.provider.map(|p| p.to_string()),
            scopes: e.scopes.as_ref().map(scopes),
            ip_address: e.ip_address,
            user_agent: e.user_agent,
            success: e.success,
            error_message: e.error_message,
            detail: e.detail,
            created_at: e.created_at,
        }
    }
}
