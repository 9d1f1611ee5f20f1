//! Token refresh: exactly one refresh runs per integration across all replicas: callers in
//! this process share one in-flight refresh, processes take a shared lock, and whoever holds
//! it re-reads the row first (someone may have refreshed already) and persists the new pair,
//! version-checked, before anyone uses it. (Reads that need no refresh are in `reads`.)

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use tether_core::audit::{Actor, AuditAction, AuditEvent};
use tether_core::integration::{Integration, IntegrationStatus};
use tether_core::provider::ProviderError;
use tether_core::secret::OpaqueSecret;
use tether_core::token::{StoredTokens, TokenOwner, TokenSet};
use tether_core::{IntegrationId, StorageError};

use crate::broker::Broker;
use crate::error::{BrokerError, BrokerResult};
use crate::reads::AccessGrant;
use crate::{oauth, retry};

/// How long to wait between looks while another process holds the refresh lock.
const LOCK_POLL: Duration = Duration::from_millis(50);

impl Broker {
    /// Refreshes now, even if the token is still fresh (a refresh by someone else after this
    /// call began counts).
    #[tracing::instrument(skip_all, fields(integration_id = %id))]
    pub async fn force_refresh(
        &self,
        id: IntegrationId,
        actor: &Actor,
    ) -> BrokerResult<AccessGrant> {
        let integration = self.integration_for(id, actor).await?;
        if !integration.status.is_usable() {
            return Err(BrokerError::ReauthRequired {
                status: integration.status.as_str(),
            });
        }
        self.refresh_shared(id, Some(Utc::now())).await
    }

    pub(crate) fn buffer(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.inner.config.refresh_buffer).unwrap_or_default()
    }

    /// When the scheduler should refresh this token set next: before the access token
    /// expires, before a known refresh-token expiry, and at least every keep-alive period.
    /// `None` when there is nothing to refresh with.
    pub(crate) fn next_refresh_at(&self, tokens: &TokenSet) -> Option<DateTime<Utc>> {
        tokens.refresh_token.as_ref()?;
        let config = &self.inner.config;
        let now = Utc::now();
        let keepalive = config
            .refresh_keepalive
            .and_then(|k| chrono::Duration::from_std(k).ok())
            .map(|k| now + k);
        let before_expiry = tokens.expires_at.map(|at| at - self.buffer());
        let before_refresh_expiry = tokens
            .refresh_expires_at
            .map(|at| at - chrono::Duration::days(1).min((at - now) / 2));
        [before_expiry, before_refresh_expiry, keepalive]
            .into_iter()
            .flatten()
            .min()
    }

    pub(crate) async fn refresh_shared(
        &self,
        id: IntegrationId,
        forced_since: Option<DateTime<Utc>>,
    ) -> BrokerResult<AccessGrant> {
        let broker = self.clone();
        self.inner
            .refreshes
            .run(
                id,
                move || async move { broker.refresh_across_processes(id, forced_since).await },
                || Err(BrokerError::Internal("the refresh task failed".to_owned())),
            )
            .await
    }

    async fn refresh_across_processes(
        &self,
        id: IntegrationId,
        forced_since: Option<DateTime<Utc>>,
    ) -> BrokerResult<AccessGrant> {
        let inner = &self.inner;
        let lock_name = format!("refresh:{id}");
        let give_up_at = tokio::time::Instant::now() + inner.config.lock_ttl;
        loop {
            if let Some(lease) = inner
                .locks
                .try_acquire(&lock_name, inner.config.lock_ttl)
                .await?
            {
                let result = self.refresh_locked(id, forced_since).await;
                if let Err(e) = inner.locks.release(&lease).await {
                    tracing::warn!(error = %e, "could not release the refresh lock; it will lapse");
                }
                return result;
            }
            // Another process is refreshing: wait for its result in the row.
            tokio::time::sleep(LOCK_POLL).await;
            if let Some(grant) = self.refreshed_elsewhere(id, forced_since).await? {
                return Ok(grant);
            }
            if tokio::time::Instant::now() >= give_up_at {
                return Err(BrokerError::ProviderUnavailable {
                    message: "a refresh in progress elsewhere did not finish in time".to_owned(),
                    retry_after: Some(Duration::from_secs(1)),
                });
            }
        }
    }

    /// The stored token if it no longer needs this refresh.
    async fn refreshed_elsewhere(
        &self,
        id: IntegrationId,
        forced_since: Option<DateTime<Utc>>,
    ) -> BrokerResult<Option<AccessGrant>> {
        let Some(integration) = self.inner.stores.integrations.get(id).await? else {
            return Err(BrokerError::IntegrationNotFound);
        };
        if !integration.status.is_usable() {
            return Err(BrokerError::ReauthRequired {
                status: integration.status.as_str(),
            });
        }
        let stored = self
            .inner
            .stores
            .tokens
            .get(&TokenOwner::Integration(id))
            .await?;
        Ok(stored.and_then(|stored| {
            let done = match forced_since {
                Some(since) => stored.updated_at > since,
                None => stored.tokens.is_fresh_at(Utc::now(), self.buffer()),
            };
            done.then(|| AccessGrant::from_stored(&integration, &stored))
        }))
    }

    pub(crate) async fn refresh_locked(
        &self,
        id: IntegrationId,
        forced_since: Option<DateTime<Utc>>,
    ) -> BrokerResult<AccessGrant> {
        if let Some(grant) = self.refreshed_elsewhere(id, forced_since).await? {
            return Ok(grant);
        }
        let inner = &self.inner;
        let integration = inner
            .stores
            .integrations
            .get(id)
            .await?
            .ok_or(BrokerError::IntegrationNotFound)?;
        let provider = inner.providers.for_integration(&integration)?;
        let stored = inner
            .stores
            .tokens
            .get(&TokenOwner::Integration(id))
            .await?
            .ok_or(BrokerError::ReauthRequired {
                status: "no_tokens",
            })?;
        let Some(refresh_token) = stored.tokens.refresh_token.clone() else {
            // Nothing to refresh with: hand out what is still valid, else the user must reconnect.
            if stored
                .tokens
                .is_fresh_at(Utc::now(), chrono::Duration::zero())
            {
                return Ok(AccessGrant::from_stored(&integration, &stored));
            }
            let message = "the access token expired and the provider issued no refresh token";
            self.mark_reauth_required(integration, message).await?;
            return Err(BrokerError::ReauthRequired {
                status: "reauth_required",
            });
        };

        let mut attempt = 1;
        let failure = loop {
            match oauth::refresh(
                provider.as_ref(),
                &inner.http,
                refresh_token.expose_secret(),
            )
            .await
            {
                Ok(raw) => {
                    let mut tokens = raw.to_token_set(Utc::now());
                    if tokens.refresh_token.is_none() {
                        // RFC 6749 §6: no new refresh token means the old one stays valid.
                        tokens.refresh_token = Some(refresh_token.clone());
                    }
                    if tokens.scope.is_none() {
                        tokens.scope = stored.tokens.scope.clone();
                    }
                    tokens.launch_context = provider
                        .launch_context(&raw)
                        .map(|context| OpaqueSecret::new(context.to_string()))
                        .or_else(|| stored.tokens.launch_context.clone());
                    return self.persist_refresh(integration, &stored, tokens).await;
                }
                Err(e) if e.is_transient() => {
                    match retry::next_delay(&inner.config.retry, attempt, e.retry_after()) {
                        Some(wait) => {
                            tracing::info!(attempt, error = %e, "transient refresh failure; retrying");
                            tokio::time::sleep(wait).await;
                            attempt += 1;
                        }
                        None => break e,
                    }
                }
                Err(e) => break e,
            }
        };
        self.record_refresh_failure(integration, &stored, failure)
            .await
    }

    async fn persist_refresh(
        &self,
        integration: Integration,
        stored: &StoredTokens,
        tokens: TokenSet,
    ) -> BrokerResult<AccessGrant> {
        let inner = &self.inner;
        let owner = TokenOwner::Integration(integration.id);
        let saved = match inner
            .stores
            .tokens
            .save(&owner, &tokens, Some(stored.version))
            .await
        {
            Ok(saved) => saved,
            Err(StorageError::VersionConflict { .. }) => {
                // Our lease lapsed and someone else refreshed: theirs is the current pair.
                let current = inner
                    .stores
                    .tokens
                    .get(&owner)
                    .await?
                    .ok_or(BrokerError::IntegrationNotFound)?;
                return Ok(AccessGrant::from_stored(&integration, &current));
            }
            Err(StorageError::NotFound { .. }) => return Err(BrokerError::IntegrationNotFound),
            Err(e) => return Err(e.into()),
        };
        self.forget_read(integration.id);
        let previous = integration.status;
        let mut updated = integration;
        updated.status = IntegrationStatus::Active;
        updated.failure_count = 0;
        updated.last_error = None;
        updated.last_refreshed_at = Some(saved.updated_at);
        updated.next_refresh_at = self.next_refresh_at(&tokens);
        if let Some(scope) = &tokens.scope {
            updated.granted_scopes = scope.clone();
        }
        let updated = self.update_integration(updated).await?;
        let mut event = AuditEvent::new(Actor::System, AuditAction::TokenRefreshed);
        event.integration_id = Some(updated.id);
        event.user_id = Some(updated.user_id.clone());
        event.provider = Some(updated.provider);
        inner.audit.record(event).await;
        if let Some(observer) = self.observer() {
            observer.refresh(updated.provider, "refreshed");
        }
        if previous != IntegrationStatus::Active {
            self.audit_status_change(&updated, previous, None).await;
        }
        Ok(AccessGrant::from_stored(&updated, &saved))
    }

    async fn record_refresh_failure(
        &self,
        integration: Integration,
        stored: &StoredTokens,
        error: ProviderError,
    ) -> BrokerResult<AccessGrant> {
        let inner = &self.inner;
        let message = error.to_string();
        let mut event =
            AuditEvent::new(Actor::System, AuditAction::RefreshFailed).failed(message.clone());
        event.integration_id = Some(integration.id);
        event.user_id = Some(integration.user_id.clone());
        event.provider = Some(integration.provider);
        inner.audit.record(event).await;
        if let Some(observer) = self.observer() {
            let outcome = if error.needs_reauth() {
                "reauth_required"
            } else if error.is_transient() {
                "transient_failure"
            } else {
                "error"
            };
            observer.refresh(integration.provider, outcome);
        }

        if error.needs_reauth() {
            self.mark_reauth_required(integration, &message).await?;
            return Err(BrokerError::ReauthRequired {
                status: "reauth_required",
            });
        }
        let previous = integration.status;
        let mut updated = integration;
        updated.failure_count = updated.failure_count.saturating_add(1);
        updated.last_error = Some(message.clone());
        if error.is_transient() && updated.failure_count >= inner.config.degraded_after_failures {
            updated.status = IntegrationStatus::Degraded;
        }
        // When the scheduler tries again: soon after an outage, later after a configuration
        // problem an operator has to fix.
        let wait = match error.retry_after() {
            Some(wait) => wait,
            None if error.is_transient() => Duration::from_secs(60),
            None => Duration::from_secs(3600),
        };
        updated.next_refresh_at =
            Some(Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default());
        let updated = self.update_integration(updated).await?;
        if updated.status != previous {
            self.audit_status_change(&updated, previous, Some(&message))
                .await;
        }
        // A token that has not actually expired is still worth handing out.
        if stored
            .tokens
            .is_fresh_at(Utc::now(), chrono::Duration::zero())
        {
            return Ok(AccessGrant::from_stored(&updated, stored));
        }
        Err(if error.is_transient() {
            BrokerError::ProviderUnavailable {
                retry_after: error.retry_after(),
                message,
            }
        } else {
            BrokerError::Provider(error)
        })
    }

    pub(crate) async fn mark_reauth_required(
        &self,
        integration: Integration,
        message: &str,
    ) -> BrokerResult<()> {
        let previous = integration.status;
        let mut updated = integration;
        updated.status = IntegrationStatus::ReauthRequired;
        updated.last_error = Some(message.to_owned());
        updated.next_refresh_at = None;
        let updated = self.update_integration(updated).await?;
        if previous != IntegrationStatus::ReauthRequired {
            self.audit_status_change(&updated, previous, Some(message))
                .await;
        }
        Ok(())
    }

    /// Writes the integration; on a concurrent change, re-applies the lifecycle fields to the
    /// newer row once.
    pub(crate) async fn update_integration(
        &self,
        wanted: Integration,
    ) -> BrokerResult<Integration> {
        self.forget_read(wanted.id);
        let repo = &self.inner.stores.integrations;
        match repo.update(&wanted).await {
            Err(StorageError::VersionConflict { .. }) => {
                let mut current = repo
                    .get(wanted.id)
                    .await?
                    .ok_or(BrokerError::IntegrationNotFound)?;
                if current.status == IntegrationStatus::Revoked {
                    return Ok(current);
                }
                current.status = wanted.status;
                current.failure_count = wanted.failure_count;
                current.last_error = wanted.last_error;
                current.last_refreshed_at = wanted.last_refreshed_at;
                current.next_refresh_at = wanted.next_refresh_at;
                current.granted_scopes = wanted.granted_scopes;
                Ok(repo.update(&current).await?)
            }
            other => Ok(other?),
        }
    }

    pub(crate) async fn audit_status_change(
        &self,
        integration: &Integration,
        from: IntegrationStatus,
        reason: Option<&str>,
    ) {
        let mut event = AuditEvent::new(Actor::System, AuditAction::StatusChanged);
        event.integration_id = Some(integration.id);
        event.user_id = Some(integration.user_id.clone());
        event.provider = Some(integration.provider);
        event.detail = Some(json!({ "from": from.as_str(), "to": integration.status.as_str() }));
        if let Some(reason) = reason {
            event.error_message = Some(reason.to_owned());
        }
        self.inner.audit.record(event).await;
    }
}
