//! Token reads, the hot path: one indexed query for the integration and its token row and
//! one decrypt (the access token) while the token is valid beyond the buffer; a refresh
//! (see `lifecycle`) otherwise. Nothing is written inline: the audit record is batched and
//! `last_used_at` is recorded in memory and flushed every few seconds.

use chrono::{DateTime, Utc};
use serde_json::json;
use tether_core::audit::{Actor, AuditAction, AuditEvent};
use tether_core::integration::Integration;
use tether_core::secret::AccessToken;
use tether_core::token::{AccessRead, StoredAccess, StoredTokens};
use tether_core::{IntegrationId, ScopeSet};

use crate::broker::Broker;
use crate::error::{BrokerError, BrokerResult};

/// A usable access token.
#[derive(Debug, Clone)]
pub struct AccessGrant {
    pub integration_id: IntegrationId,
    pub access_token: AccessToken,
    pub token_type: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub scopes: ScopeSet,
}

impl AccessGrant {
    pub(crate) fn from_stored(integration: &Integration, stored: &StoredTokens) -> Self {
        Self {
            integration_id: integration.id,
            access_token: stored.tokens.access_token.clone(),
            token_type: stored.tokens.token_type.clone(),
            expires_at: stored.tokens.expires_at,
            scopes: stored
                .tokens
                .scope
                .clone()
                .unwrap_or_else(|| integration.granted_scopes.clone()),
        }
    }

    fn from_access(integration: Integration, access: StoredAccess) -> Self {
        Self {
            integration_id: integration.id,
            access_token: access.access_token,
            token_type: access.token_type,
            expires_at: access.expires_at,
            scopes: access.scope.unwrap_or(integration.granted_scopes),
        }
    }
}

/// A user acts only on their own integrations; API keys and the system on any.
fn may_act_on(actor: &Actor, integration: &Integration) -> bool {
    !matches!(actor, Actor::User(user) if *user != integration.user_id)
}

impl Broker {
    /// Loads an integration the actor may act on: a user only their own (others' look like
    /// missing), API keys and the system any.
    pub async fn integration_for(
        &self,
        id: IntegrationId,
        actor: &Actor,
    ) -> BrokerResult<Integration> {
        self.inner
            .stores
            .integrations
            .get(id)
            .await?
            .filter(|integration| may_act_on(actor, integration))
            .ok_or(BrokerError::IntegrationNotFound)
    }

    /// A valid access token for the integration, refreshing first when it expires within the
    /// buffer. Every read is audited with the actor and purpose (batched: see [`Broker::flush`]).
    #[tracing::instrument(skip_all, fields(integration_id = %id))]
    pub async fn access_token(
        &self,
        id: IntegrationId,
        actor: &Actor,
        purpose: Option<&str>,
    ) -> BrokerResult<AccessGrant> {
        let AccessRead {
            integration,
            access,
        } = self
            .inner
            .stores
            .tokens
            .read_for_access(id)
            .await?
            .filter(|read| may_act_on(actor, &read.integration))
            .ok_or(BrokerError::IntegrationNotFound)?;
        let mut event = AuditEvent::new(actor.clone(), AuditAction::TokenRead);
        event.integration_id = Some(id);
        event.user_id = Some(integration.user_id.clone());
        event.provider = Some(integration.provider);
        event.detail =
            purpose.map(|p| json!({ "purpose": p.chars().take(200).collect::<String>() }));
        let result = self.grant(integration, access).await;
        match &result {
            Ok(_) => self.inner.usage.record(id, Utc::now()),
            Err(e) => event = event.failed(e.to_string()),
        }
        self.inner.audit.record_batched(event).await;
        result
    }

    async fn grant(
        &self,
        integration: Integration,
        access: Option<StoredAccess>,
    ) -> BrokerResult<AccessGrant> {
        if !integration.status.is_usable() {
            return Err(BrokerError::ReauthRequired {
                status: integration.status.as_str(),
            });
        }
        match access {
            Some(access) if access.is_fresh_at(Utc::now(), self.buffer()) => {
                Ok(AccessGrant::from_access(integration, access))
            }
            _ => self.refresh_shared(integration.id, None).await,
        }
    }
}
