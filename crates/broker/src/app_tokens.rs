//! App-level (client-credentials) tokens, e.g. Orange's SMS API: fetched on demand, stored
//! encrypted, renewed shortly before expiry or when the provider answers "expired token".
//! Concurrent callers share one request, in this process and across replicas.

use chrono::{DateTime, Utc};
use tether_core::audit::{Actor, AuditAction, AuditEvent};
use tether_core::events::AppTokenStatus;
use tether_core::provider::GrantKind;
use tether_core::secret::AccessToken;
use tether_core::token::{StoredTokens, TokenOwner};
use tether_core::{ProviderKind, StorageError};

use crate::broker::Broker;
use crate::error::{BrokerError, BrokerResult};
use crate::locking::{Acquired, LockKey, busy_elsewhere};
use crate::{oauth, retry};

/// A usable app token.
#[derive(Debug, Clone)]
pub struct AppGrant {
    pub provider: ProviderKind,
    pub access_token: AccessToken,
    pub token_type: String,
    pub expires_at: Option<DateTime<Utc>>,
}

impl AppGrant {
    fn from_stored(provider: ProviderKind, stored: &StoredTokens) -> Self {
        Self {
            provider,
            access_token: stored.tokens.access_token.clone(),
            token_type: stored.tokens.token_type.clone(),
            expires_at: stored.tokens.expires_at,
        }
    }
}

impl Broker {
    /// A valid app token for the provider configuration.
    #[tracing::instrument(skip_all, fields(provider = %kind))]
    pub async fn app_token(&self, kind: ProviderKind, instance: &str) -> BrokerResult<AppGrant> {
        let owner = self.app_owner(kind, instance)?;
        if let Some(stored) = self.inner.stores.tokens.get(&owner).await?
            && self.still_good(&stored, None)
        {
            return Ok(AppGrant::from_stored(kind, &stored));
        }
        self.renew_app_token(kind, instance, None).await
    }

    /// After the provider rejected `rejected` as expired: renews once, however many callers
    /// report the same rejected token.
    pub async fn app_token_rejected(
        &self,
        kind: ProviderKind,
        instance: &str,
        rejected: &AccessToken,
    ) -> BrokerResult<AppGrant> {
        self.renew_app_token(kind, instance, Some(rejected.clone()))
            .await
    }

    fn app_buffer(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.inner.config.app_token_buffer).unwrap_or_default()
    }

    fn app_owner(&self, kind: ProviderKind, instance: &str) -> BrokerResult<TokenOwner> {
        if kind.grant_kind() != GrantKind::ClientCredentials {
            return Err(BrokerError::InvalidInput(format!(
                "{} has no app-level token",
                kind.display_name()
            )));
        }
        let provider = self.inner.providers.load().get(kind, instance)?;
        let key = if instance.is_empty() {
            provider.client().client_id.clone()
        } else {
            format!("{instance}:{}", provider.client().client_id)
        };
        Ok(TokenOwner::App {
            provider: kind,
            key,
        })
    }

    async fn renew_app_token(
        &self,
        kind: ProviderKind,
        instance: &str,
        rejected: Option<AccessToken>,
    ) -> BrokerResult<AppGrant> {
        let owner = self.app_owner(kind, instance)?;
        let key = match &owner {
            TokenOwner::App { key, .. } => format!("{kind}:{key}"),
            TokenOwner::Integration(id) => id.to_string(),
        };
        let broker = self.clone();
        let instance = instance.to_owned();
        self.inner
            .app_tokens
            .run(
                key.clone(),
                move || async move {
                    broker
                        .renew_across_processes(kind, &instance, owner, key, rejected)
                        .await
                },
                || {
                    Err(BrokerError::Internal(
                        "the app token task failed".to_owned(),
                    ))
                },
            )
            .await
    }

    async fn renew_across_processes(
        &self,
        kind: ProviderKind,
        instance: &str,
        owner: TokenOwner,
        key: String,
        rejected: Option<AccessToken>,
    ) -> BrokerResult<AppGrant> {
        // Someone (here or elsewhere) may have renewed already.
        let renewed_elsewhere = || async {
            let stored = self.inner.stores.tokens.get(&owner).await?;
            BrokerResult::Ok(
                stored
                    .filter(|stored| self.still_good(stored, rejected.as_ref()))
                    .map(|stored| AppGrant::from_stored(kind, &stored)),
            )
        };
        if let Some(grant) = renewed_elsewhere().await? {
            return Ok(grant);
        }
        let wait = self.inner.config.lock_ttl;
        match self
            .lock_or_wait(LockKey::AppToken(&key), wait, renewed_elsewhere)
            .await?
        {
            Acquired::Done(grant) => Ok(grant),
            Acquired::TimedOut => Err(busy_elsewhere("an app token renewal")),
            Acquired::Held(lock) => {
                let result = self
                    .fetch_app_token(kind, instance, &owner, rejected.as_ref())
                    .await;
                lock.release().await;
                result
            }
        }
    }

    /// A stored app token that is fresh and is not the one the provider just rejected.
    fn still_good(&self, stored: &StoredTokens, rejected: Option<&AccessToken>) -> bool {
        let replaced = rejected.is_some_and(|r| *r != stored.tokens.access_token);
        stored.tokens.is_fresh_at(Utc::now(), self.app_buffer()) && (rejected.is_none() || replaced)
    }

    async fn fetch_app_token(
        &self,
        kind: ProviderKind,
        instance: &str,
        owner: &TokenOwner,
        rejected: Option<&AccessToken>,
    ) -> BrokerResult<AppGrant> {
        let inner = &self.inner;
        let current = inner.stores.tokens.get(owner).await?;
        if let Some(stored) = current.as_ref().filter(|s| self.still_good(s, rejected)) {
            return Ok(AppGrant::from_stored(kind, stored));
        }
        let provider = inner.providers.load().get(kind, instance)?;
        let scopes = provider.default_scopes();
        let mut attempt = 1;
        let raw = loop {
            match oauth::client_credentials(provider.as_ref(), &inner.http, &scopes).await {
                Ok(raw) => break raw,
                Err(e) if e.is_transient() => {
                    match retry::next_delay(&inner.config.retry, attempt, e.retry_after()) {
                        Some(wait) => {
                            tokio::time::sleep(wait).await;
                            attempt += 1;
                        }
                        None => {
                            self.app_token_outcome(kind, instance, Some(&e.to_string()))
                                .await;
                            return Err(BrokerError::ProviderUnavailable {
                                retry_after: e.retry_after(),
                                message: e.to_string(),
                            });
                        }
                    }
                }
                Err(e) => {
                    self.app_token_outcome(kind, instance, Some(&e.to_string()))
                        .await;
                    return Err(BrokerError::Provider(e));
                }
            }
        };
        let tokens = raw.to_token_set(Utc::now());
        let saved = match inner
            .stores
            .tokens
            .save(owner, &tokens, current.as_ref().map(|c| c.version))
            .await
        {
            Ok(saved) => saved,
            Err(StorageError::VersionConflict { .. } | StorageError::Duplicate { .. }) => inner
                .stores
                .tokens
                .get(owner)
                .await?
                .ok_or_else(|| BrokerError::Internal("app token vanished".to_owned()))?,
            Err(e) => return Err(e.into()),
        };
        self.app_token_outcome(kind, instance, None).await;
        Ok(AppGrant::from_stored(kind, &saved))
    }

    /// Audits a token request and records the app token's status (with its event when it
    /// changed: `app_token.failed` / `app_token.recovered`).
    async fn app_token_outcome(&self, kind: ProviderKind, instance: &str, error: Option<&str>) {
        let mut event = AuditEvent::new(Actor::System, AuditAction::AppTokenFetched);
        event.provider = Some(kind);
        if let Some(error) = error {
            event = event.failed(error);
        }
        self.inner.audit.record(event).await;
        let status = match error {
            None => AppTokenStatus::Ok,
            Some(_) => AppTokenStatus::Failed,
        };
        let instance = if instance.is_empty() {
            "default"
        } else {
            instance
        };
        if let Err(e) = self
            .inner
            .stores
            .events
            .record_app_token_status(kind, instance, status, Utc::now())
            .await
        {
            tracing::warn!(provider = %kind, error = %e, "could not record the app token's status");
        }
    }
}

/// The broker's app-token cache as the source of tokens for provider APIs (Orange SMS).
#[derive(Debug, Clone)]
pub struct BrokerAppTokens {
    broker: Broker,
    kind: ProviderKind,
    instance: String,
}

impl Broker {
    pub fn app_token_source(&self, kind: ProviderKind, instance: &str) -> BrokerAppTokens {
        BrokerAppTokens {
            broker: self.clone(),
            kind,
            instance: instance.to_owned(),
        }
    }
}

fn as_provider_error(e: BrokerError) -> tether_core::provider::ProviderError {
    use tether_core::provider::ProviderError;
    match e {
        BrokerError::Provider(p) => p,
        BrokerError::ProviderUnavailable {
            message,
            retry_after,
        } => ProviderError::Upstream {
            status: None,
            retry_after,
            message,
        },
        other => ProviderError::Misconfigured {
            message: other.to_string(),
        },
    }
}

#[async_trait::async_trait]
impl tether_core::provider::AppTokenSource for BrokerAppTokens {
    async fn token(&self) -> Result<AccessToken, tether_core::provider::ProviderError> {
        self.broker
            .app_token(self.kind, &self.instance)
            .await
            .map(|g| g.access_token)
            .map_err(as_provider_error)
    }

    async fn token_rejected(
        &self,
        rejected: &AccessToken,
    ) -> Result<AccessToken, tether_core::provider::ProviderError> {
        self.broker
            .app_token_rejected(self.kind, &self.instance, rejected)
            .await
            .map(|g| g.access_token)
            .map_err(as_provider_error)
    }
}
