//! Token refresh: exactly one refresh runs per integration across all replicas: callers in
//! this process share one in-flight refresh, processes take the integration's refresh lock
//! (renewed while the refresh runs), and whoever holds it re-reads the row first (someone may
//! have refreshed already) and persists the new pair, version-checked, before anyone uses it.
//! (Reads that need no refresh are in `reads`; the scheduler in `scheduler`.)

use chrono::{DateTime, Utc};
use serde_json::json;
use tether_core::audit::{Actor, AuditAction, AuditEvent};
use tether_core::events::ReasonCode;
use tether_core::integration::{Integration, IntegrationStatus};
use tether_core::ports::RefreshWrite;
use tether_core::provider::{Provider, ProviderError};
use tether_core::secret::OpaqueSecret;
use tether_core::token::{RefreshTiming, StoredTokens, TokenSet};
use tether_core::{IntegrationId, ScopeSet, StorageError};

use crate::broker::Broker;
use crate::error::{BrokerError, BrokerResult};
use crate::locking::{Acquired, HeldLock, LockKey, busy_elsewhere};
use crate::reads::AccessGrant;
use crate::{oauth, retry};

/// What a caller of a refresh needs, so that whoever gets the lock after someone else
/// refreshed does not refresh again.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RefreshWant {
    /// A token before its refresh point, or one refreshed after `since` (a reader).
    Fresh { since: DateTime<Utc> },
    /// A token refreshed after `since` (an operator's "refresh now").
    Forced { since: DateTime<Utc> },
    /// A refresh only if the integration is still due at `at` (the scheduler).
    Due { at: DateTime<Utc> },
}

impl RefreshWant {
    pub(crate) fn fresh() -> Self {
        Self::Fresh { since: Utc::now() }
    }

    pub(crate) fn forced() -> Self {
        Self::Forced { since: Utc::now() }
    }
}

/// How a refresh under the lock ended.
pub(crate) enum Refreshed {
    /// Refreshed now, by this caller.
    Done(AccessGrant),
    /// Nothing to do: someone else refreshed since the caller asked, or it is not due.
    NotNeeded(AccessGrant),
    /// The provider refused or failed (already recorded on the integration); `fallback` is
    /// the stored token when it has not actually expired yet.
    Failed {
        error: ProviderError,
        fallback: Option<AccessGrant>,
    },
}

impl Refreshed {
    /// The caller's view: a usable token, or the error to answer.
    pub(crate) fn into_grant(self) -> BrokerResult<AccessGrant> {
        match self {
            Refreshed::Done(grant)
            | Refreshed::NotNeeded(grant)
            | Refreshed::Failed {
                fallback: Some(grant),
                ..
            } => Ok(grant),
            Refreshed::Failed { error, .. } if error.needs_reauth() => {
                Err(BrokerError::ReauthRequired {
                    status: IntegrationStatus::ReauthRequired.as_str(),
                })
            }
            Refreshed::Failed { error, .. } if error.is_transient() => {
                Err(BrokerError::ProviderUnavailable {
                    retry_after: error.retry_after(),
                    message: error.to_string(),
                })
            }
            Refreshed::Failed { error, .. } => Err(BrokerError::Provider(error)),
        }
    }
}

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
            return Err(self.unusable(&integration));
        }
        self.refresh_shared(id, RefreshWant::forced()).await
    }

    pub(crate) fn timing(&self) -> RefreshTiming {
        self.inner.config.refresh_timing
    }

    /// When the scheduler should refresh a token set issued at `issued_at`: at its refresh
    /// point, before a known refresh-token expiry, and at least every keep-alive period.
    /// `None` when there is nothing to refresh with. Decided once, when the tokens are stored.
    pub(crate) fn next_refresh_at(
        &self,
        tokens: &TokenSet,
        issued_at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        tokens.refresh_token.as_ref()?;
        let config = &self.inner.config;
        let keepalive = config
            .refresh_keepalive
            .and_then(|k| chrono::Duration::from_std(k).ok())
            .map(|k| issued_at + k);
        let before_expiry = self.timing().refresh_point(issued_at, tokens.expires_at);
        let before_refresh_expiry = tokens
            .refresh_expires_at
            .map(|at| at - chrono::Duration::days(1).min((at - issued_at) / 2));
        [before_expiry, before_refresh_expiry, keepalive]
            .into_iter()
            .flatten()
            .min()
    }

    /// Why an integration that is not usable hands out nothing: missing permissions, or a
    /// reconnect the user must make.
    pub(crate) fn unusable(&self, integration: &Integration) -> BrokerError {
        if integration.status != IntegrationStatus::InsufficientScopes {
            return BrokerError::ReauthRequired {
                status: integration.status.as_str(),
            };
        }
        let missing = match self.inner.providers.load().for_integration(integration) {
            Ok(provider) => lost_required_scopes(
                provider.as_ref(),
                &integration.requested_scopes,
                &integration.granted_scopes,
            ),
            Err(_) => integration
                .requested_scopes
                .missing_from(&integration.granted_scopes),
        };
        BrokerError::InsufficientScopes {
            provider: integration.provider.display_name(),
            missing,
        }
    }

    pub(crate) async fn refresh_shared(
        &self,
        id: IntegrationId,
        want: RefreshWant,
    ) -> BrokerResult<AccessGrant> {
        let broker = self.clone();
        self.inner
            .refreshes
            .run(
                id,
                move || async move { broker.refresh_across_processes(id, want).await },
                || Err(BrokerError::Internal("the refresh task failed".to_owned())),
            )
            .await
    }

    async fn refresh_across_processes(
        &self,
        id: IntegrationId,
        want: RefreshWant,
    ) -> BrokerResult<AccessGrant> {
        let wait = self.inner.config.lock_ttl;
        let acquired = self
            .lock_or_wait(LockKey::Refresh(id), wait, || {
                self.refreshed_elsewhere(id, want)
            })
            .await?;
        match acquired {
            Acquired::Done(grant) => Ok(grant),
            Acquired::TimedOut => Err(busy_elsewhere("a refresh")),
            Acquired::Held(lock) => {
                let result = self.refresh_locked(id, want, &lock).await;
                lock.release().await;
                result?.into_grant()
            }
        }
    }

    /// The integration and its tokens (one query), failing when it cannot hand out tokens.
    async fn load_usable(&self, id: IntegrationId) -> BrokerResult<(Integration, StoredTokens)> {
        let (integration, stored) = self
            .inner
            .stores
            .tokens
            .read_for_refresh(id)
            .await?
            .ok_or(BrokerError::IntegrationNotFound)?;
        if !integration.status.is_usable() {
            return Err(self.unusable(&integration));
        }
        let stored = stored.ok_or(BrokerError::ReauthRequired {
            status: "no_tokens",
        })?;
        Ok((integration, stored))
    }

    /// Whether the stored token already satisfies `want` (someone refreshed meanwhile).
    fn satisfies(
        &self,
        integration: &Integration,
        stored: &StoredTokens,
        want: RefreshWant,
    ) -> bool {
        match want {
            RefreshWant::Fresh { since } => {
                stored.updated_at > since
                    || self.timing().is_fresh(
                        stored.updated_at,
                        stored.tokens.expires_at,
                        Utc::now(),
                    )
            }
            RefreshWant::Forced { since } => stored.updated_at > since,
            RefreshWant::Due { at } => integration.next_refresh_at.is_none_or(|next| next > at),
        }
    }

    /// The stored token if it no longer needs this refresh.
    async fn refreshed_elsewhere(
        &self,
        id: IntegrationId,
        want: RefreshWant,
    ) -> BrokerResult<Option<AccessGrant>> {
        let (integration, stored) = self.load_usable(id).await?;
        Ok(self
            .satisfies(&integration, &stored, want)
            .then(|| AccessGrant::from_stored(&integration, &stored)))
    }

    /// The refresh itself; the caller holds the integration's refresh lock.
    pub(crate) async fn refresh_locked(
        &self,
        id: IntegrationId,
        want: RefreshWant,
        lock: &HeldLock,
    ) -> BrokerResult<Refreshed> {
        let (integration, stored) = self.load_usable(id).await?;
        if self.satisfies(&integration, &stored, want) {
            return Ok(Refreshed::NotNeeded(AccessGrant::from_stored(
                &integration,
                &stored,
            )));
        }
        let inner = &self.inner;
        let provider = inner.providers.load().for_integration(&integration)?;
        let Some(refresh_token) = stored.tokens.refresh_token.clone() else {
            // Nothing to refresh with: hand out what is still valid, else the user must reconnect.
            if stored
                .tokens
                .is_fresh_at(Utc::now(), chrono::Duration::zero())
            {
                return Ok(Refreshed::Done(AccessGrant::from_stored(
                    &integration,
                    &stored,
                )));
            }
            let message = "the access token expired and the provider issued no refresh token";
            self.mark_reauth_required(integration, message, ReasonCode::NoRefreshToken)
                .await?;
            return Err(BrokerError::ReauthRequired {
                status: IntegrationStatus::ReauthRequired.as_str(),
            });
        };

        let mut attempt = 1;
        let failure = loop {
            // A lapsed lease means another replica may present this refresh token too.
            lock.check()?;
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
                        .launch_context(&raw, None)
                        .await
                        .map(|context| OpaqueSecret::new(context.to_string()))
                        .or_else(|| stored.tokens.launch_context.clone());
                    return self
                        .persist_refresh(integration, &stored, tokens, provider.as_ref())
                        .await
                        .map(Refreshed::Done);
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

    /// Stores the new pair and the integration's state after it in one transaction.
    async fn persist_refresh(
        &self,
        integration: Integration,
        stored: &StoredTokens,
        tokens: TokenSet,
        provider: &dyn Provider,
    ) -> BrokerResult<AccessGrant> {
        let inner = &self.inner;
        let previous = integration.status;
        let issued_at = Utc::now();
        let mut wanted = integration.clone();
        let mut reason = ReasonCode::RefreshSucceeded;
        wanted.status = IntegrationStatus::Active;
        wanted.failure_count = 0;
        wanted.last_error = None;
        wanted.last_refreshed_at = Some(issued_at);
        wanted.next_refresh_at = self.next_refresh_at(&tokens, issued_at);
        if let Some(scope) = &tokens.scope {
            wanted.granted_scopes = scope.clone();
            let lost = lost_required_scopes(provider, &wanted.requested_scopes, scope);
            if !lost.is_empty() {
                // The user withdrew a permission the integration needs.
                wanted.status = IntegrationStatus::InsufficientScopes;
                wanted.next_refresh_at = None;
                wanted.last_error = Some(format!(
                    "the provider no longer grants required permissions: {}",
                    lost.to_delimited()
                ));
                reason = ReasonCode::ScopesWithdrawn;
            }
        }
        let write = RefreshWrite {
            before: &integration,
            integration: &wanted,
            reason,
            token_id: stored.id,
            expected_version: stored.version,
            tokens: &tokens,
        };
        let written = inner.stores.integrations.save_refresh(write).await;
        // After the write (whatever its outcome): a replica that read the old row meanwhile
        // must not keep it.
        self.announce_change(wanted.id);
        let (updated, saved) = match written {
            Ok(written) => written,
            Err(StorageError::VersionConflict { .. }) => {
                // Someone else stored a newer pair (their write won the version check):
                // theirs is the current pair.
                let (current, tokens) = inner
                    .stores
                    .tokens
                    .read_for_refresh(wanted.id)
                    .await?
                    .ok_or(BrokerError::IntegrationNotFound)?;
                let tokens = tokens.ok_or(BrokerError::IntegrationNotFound)?;
                return Ok(AccessGrant::from_stored(&current, &tokens));
            }
            Err(StorageError::NotFound { .. }) => return Err(BrokerError::IntegrationNotFound),
            Err(e) => return Err(e.into()),
        };
        let mut event = AuditEvent::new(Actor::System, AuditAction::TokenRefreshed);
        event.integration_id = Some(updated.id);
        event.user_id = Some(updated.user_id.clone());
        event.provider = Some(updated.provider);
        inner.audit.record(event).await;
        if let Some(observer) = self.observer() {
            observer.refresh(updated.provider, "refreshed");
        }
        if previous != updated.status {
            let reason = updated.last_error.clone();
            self.audit_status_change(&updated, previous, reason.as_deref())
                .await;
        }
        if !updated.status.is_usable() {
            return Err(self.unusable(&updated));
        }
        Ok(AccessGrant::from_stored(&updated, &saved))
    }

    async fn record_refresh_failure(
        &self,
        integration: Integration,
        stored: &StoredTokens,
        error: ProviderError,
    ) -> BrokerResult<Refreshed> {
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
            self.mark_reauth_required(integration, &message, ReasonCode::GrantRefused)
                .await?;
            return Ok(Refreshed::Failed {
                error,
                fallback: None,
            });
        }
        let previous = integration.status;
        let mut updated = integration.clone();
        updated.failure_count = updated.failure_count.saturating_add(1);
        updated.last_error = Some(message.clone());
        if error.is_transient() && updated.failure_count >= inner.config.degraded_after_failures {
            updated.status = IntegrationStatus::Degraded;
        }
        // When the scheduler tries again: exponentially later with each consecutive failure
        // (an outage), at the longest for a problem an operator has to fix.
        let policy = &inner.config.failure_backoff;
        let wait = if error.is_transient() {
            retry::backoff(
                policy,
                u32::try_from(updated.failure_count).unwrap_or(u32::MAX),
                error.retry_after(),
            )
        } else {
            policy.max_delay
        };
        updated.next_refresh_at =
            Some(Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default());
        let updated = self
            .update_integration(&integration, updated, ReasonCode::ProviderUnavailable)
            .await?;
        if updated.status != previous {
            self.audit_status_change(&updated, previous, Some(&message))
                .await;
        }
        // A token that has not actually expired is still worth handing out.
        let fallback = stored
            .tokens
            .is_fresh_at(Utc::now(), chrono::Duration::zero())
            .then(|| AccessGrant::from_stored(&updated, stored));
        Ok(Refreshed::Failed { error, fallback })
    }

    pub(crate) async fn mark_reauth_required(
        &self,
        integration: Integration,
        message: &str,
        reason: ReasonCode,
    ) -> BrokerResult<()> {
        let previous = integration.status;
        let mut updated = integration.clone();
        updated.status = IntegrationStatus::ReauthRequired;
        updated.last_error = Some(message.to_owned());
        updated.next_refresh_at = None;
        let updated = self
            .update_integration(&integration, updated, reason)
            .await?;
        if previous != IntegrationStatus::ReauthRequired {
            self.audit_status_change(&updated, previous, Some(message))
                .await;
        }
        Ok(())
    }

    /// Writes the lifecycle fields of `wanted` onto the integration read as `before` (or a
    /// newer row), with the events of the change (`reason`), in one transaction.
    pub(crate) async fn update_integration(
        &self,
        before: &Integration,
        wanted: Integration,
        reason: ReasonCode,
    ) -> BrokerResult<Integration> {
        let repo = &self.inner.stores.integrations;
        let written = repo.update_lifecycle(before, &wanted, reason).await;
        self.announce_change(wanted.id);
        match written? {
            Some(updated) => Ok(updated),
            // Disconnected meanwhile: the disconnect wins.
            None => repo
                .get(wanted.id)
                .await?
                .ok_or(BrokerError::IntegrationNotFound),
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

/// The required scopes (per the provider's catalogue) that were requested, or are added to
/// every request, but are not in what the provider reports as granted.
pub(crate) fn lost_required_scopes(
    provider: &dyn Provider,
    requested: &ScopeSet,
    granted: &ScopeSet,
) -> ScopeSet {
    let asked = requested.union(&provider.implicit_scopes());
    provider.required_among(&provider.missing_scopes(&asked, granted))
}
