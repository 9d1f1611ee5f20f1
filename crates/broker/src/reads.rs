//! Token reads, the hot path: one indexed query for the integration and its token row and
//! one decrypt (the access token) while the token is before its refresh point; a refresh
//! (see `lifecycle`) otherwise. A caller may name the scopes it needs. Nothing is written
//! inline: the audit record is batched and `last_used_at` is recorded in memory and flushed
//! every few seconds.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;
use tether_core::audit::{Actor, AuditAction, AuditEvent};
use tether_core::integration::Integration;
use tether_core::secret::AccessToken;
use tether_core::token::{AccessRead, StoredAccess, StoredTokens};
use tether_core::{IntegrationId, ProviderKind, ScopeSet, UserId};

use crate::broker::Broker;
use crate::callback::ClientInfo;
use crate::error::{BrokerError, BrokerResult};
use crate::lifecycle::RefreshWant;
use crate::read_cache::CachedRead;
use crate::registry::instance_of;

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
    /// The answer with a token whose own scopes (`token_scope`, when the provider said) or
    /// else the integration's `granted` ones.
    pub(crate) fn new(
        integration_id: IntegrationId,
        access_token: &AccessToken,
        token_type: &str,
        expires_at: Option<DateTime<Utc>>,
        token_scope: Option<&ScopeSet>,
        granted: &ScopeSet,
    ) -> Self {
        Self {
            integration_id,
            access_token: access_token.clone(),
            token_type: token_type.to_owned(),
            expires_at,
            scopes: token_scope.unwrap_or(granted).clone(),
        }
    }

    pub(crate) fn from_stored(integration: &Integration, stored: &StoredTokens) -> Self {
        let tokens = &stored.tokens;
        Self::new(
            integration.id,
            &tokens.access_token,
            &tokens.token_type,
            tokens.expires_at,
            tokens.scope.as_ref(),
            &integration.granted_scopes,
        )
    }

    pub(crate) fn from_access(integration: &Integration, access: &StoredAccess) -> Self {
        Self::new(
            integration.id,
            &access.access_token,
            &access.token_type,
            access.expires_at,
            access.scope.as_ref(),
            &integration.granted_scopes,
        )
    }
}

/// A user acts only on their own integrations (`owner`'s); API keys and the system on any.
fn may_act_on(actor: &Actor, owner: &UserId) -> bool {
    !matches!(actor, Actor::User(user) if user != owner)
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
            .filter(|integration| may_act_on(actor, &integration.user_id))
            .ok_or(BrokerError::IntegrationNotFound)
    }

    /// A valid access token for the integration, refreshing first when it reached its refresh
    /// point. Every read is audited with the actor and purpose (batched: see [`Broker::flush`]).
    pub async fn access_token(
        &self,
        id: IntegrationId,
        actor: &Actor,
        purpose: Option<&str>,
    ) -> BrokerResult<AccessGrant> {
        self.access_token_requiring(id, actor, purpose, &ScopeSet::new(), &ClientInfo::default())
            .await
    }

    /// [`Broker::access_token`] for a caller that needs `required` scopes: when the user has
    /// not granted one of them, the read fails with `InsufficientScopes` naming the missing
    /// ones (the user must reconnect and grant them). The audit record carries the caller's
    /// address and user agent (`client`).
    #[tracing::instrument(skip_all, fields(integration_id = %id))]
    pub async fn access_token_requiring(
        &self,
        id: IntegrationId,
        actor: &Actor,
        purpose: Option<&str>,
        required: &ScopeSet,
        client: &ClientInfo,
    ) -> BrokerResult<AccessGrant> {
        // Whose token it is, from which provider, and the answer.
        let (owner, provider, result) = match self.cached_read(id) {
            Some(hit) => {
                if !may_act_on(actor, &hit.user_id) {
                    return Err(BrokerError::IntegrationNotFound);
                }
                let result = self
                    .check_required(hit.provider, &hit.instance, &hit.granted_scopes, required)
                    .map(|()| hit.grant(id));
                (hit.user_id.clone(), hit.provider, result)
            }
            None => {
                // Taken before the query: an invalidation arriving meanwhile voids the fill.
                let ticket = self.inner.read_cache.as_ref().map(|c| c.ticket(id));
                let read = self
                    .inner
                    .misses
                    .load(id)
                    .await?
                    .ok_or(BrokerError::IntegrationNotFound)?;
                let integration = &read.integration;
                if !may_act_on(actor, &integration.user_id) {
                    return Err(BrokerError::IntegrationNotFound);
                }
                let (owner, provider) = (integration.user_id.clone(), integration.provider);
                let result = match self.check_required(
                    provider,
                    instance_of(integration),
                    &integration.granted_scopes,
                    required,
                ) {
                    Ok(()) => self.grant(read.clone(), ticket).await,
                    Err(e) => Err(e),
                };
                (owner, provider, result)
            }
        };
        let mut event = AuditEvent::new(actor.clone(), AuditAction::TokenRead);
        event.integration_id = Some(id);
        event.user_id = Some(owner);
        event.provider = Some(provider);
        event.detail =
            purpose.map(|p| json!({ "purpose": p.chars().take(200).collect::<String>() }));
        event.ip_address = client.ip.clone();
        event.user_agent = client.user_agent.clone();
        match &result {
            Ok(_) => self.inner.usage.record(id, Utc::now()),
            Err(e) => event = event.failed(e.to_string()),
        }
        if let Some(observer) = self.observer() {
            let outcome = match &result {
                Ok(_) => "ok",
                Err(BrokerError::ReauthRequired { .. }) => "reauth_required",
                Err(BrokerError::InsufficientScopes { .. }) => "insufficient_scopes",
                Err(_) => "error",
            };
            observer.token_read(provider, outcome);
        }
        // No token leaves without its audit record committed.
        match self.inner.audit.record_committed(event).await {
            Ok(()) => result,
            Err(_) => Err(BrokerError::AuditUnavailable),
        }
    }

    /// Refuses a read whose caller needs scopes the integration (connected through
    /// `provider`'s `instance`) was not granted.
    fn check_required(
        &self,
        provider: ProviderKind,
        instance: &str,
        granted: &ScopeSet,
        required: &ScopeSet,
    ) -> BrokerResult<()> {
        if required.is_empty() {
            return Ok(());
        }
        let missing = match self.inner.providers.load().get(provider, instance) {
            Ok(connected) => connected.missing_scopes(required, granted),
            Err(_) => required.missing_from(granted),
        };
        if missing.is_empty() {
            return Ok(());
        }
        Err(BrokerError::InsufficientScopes {
            provider: provider.display_name(),
            missing,
        })
    }

    fn is_fresh(&self, access: &StoredAccess) -> bool {
        self.timing()
            .is_fresh(access.issued_at, access.expires_at, Utc::now())
    }

    /// `fill`: the read came from the database after this ticket and may be cached (`None`
    /// for a read from the cache, which must not extend its entry's life).
    async fn grant(
        &self,
        read: Arc<AccessRead>,
        fill: Option<crate::read_cache::Ticket>,
    ) -> BrokerResult<AccessGrant> {
        let integration = &read.integration;
        if !integration.status.is_usable() {
            return Err(self.unusable(integration));
        }
        match &read.access {
            Some(access) if self.is_fresh(access) => {
                if let (Some(cache), Some(ticket)) = (&self.inner.read_cache, fill) {
                    cache.put(&read, ticket);
                }
                Ok(AccessGrant::from_access(integration, access))
            }
            _ => {
                // Only here: the refresh announces its change to every replica.
                if let Some(cache) = &self.inner.read_cache {
                    cache.invalidate(integration.id);
                }
                self.refresh_shared(integration.id, RefreshWant::fresh())
                    .await
            }
        }
    }

    /// A cached read still before its refresh point, if any (only usable integrations are
    /// cached).
    fn cached_read(&self, id: IntegrationId) -> Option<Arc<CachedRead>> {
        let hit = self.inner.read_cache.as_ref()?.get(id)?;
        self.timing()
            .is_fresh(hit.issued_at, hit.expires_at, Utc::now())
            .then_some(hit)
    }
}
