//! Disconnect: revoke at the provider where it offers revocation (refresh token first — it
//! takes the grant with it — then the access token), then delete the tokens, mark the
//! integration `revoked` and its consents revoked, in one local transaction. A provider that
//! is down does not stop the local disconnect; the outcome says what happened upstream.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use tether_core::IntegrationId;
use tether_core::audit::{Actor, AuditAction, AuditEvent};
use tether_core::events::ReasonCode;
use tether_core::integration::{Integration, IntegrationStatus};
use tether_core::token::TokenOwner;

use crate::broker::Broker;
use crate::callback::ClientInfo;
use crate::error::BrokerResult;
use crate::locking::{Acquired, LockKey};
use crate::oauth::{self, TokenKind};

/// What happened at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderRevocation {
    /// The provider confirmed the revocation.
    Revoked,
    /// The provider has no revocation endpoint: the grant stays on its side until the user
    /// removes it there (the outcome tells them).
    NotSupported,
    /// There were no tokens left to revoke.
    NothingToRevoke,
    /// The call failed; the local disconnect went ahead.
    Failed { message: String },
}

impl ProviderRevocation {
    pub fn as_str(&self) -> &'static str {
        match self {
            ProviderRevocation::Revoked => "revoked",
            ProviderRevocation::NotSupported => "not_supported",
            ProviderRevocation::NothingToRevoke => "nothing_to_revoke",
            ProviderRevocation::Failed { .. } => "failed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct RevokeOutcome {
    pub integration: Integration,
    pub provider_revocation: ProviderRevocation,
}

/// How long a disconnect waits for a refresh in progress before going ahead.
const LOCK_WAIT: Duration = Duration::from_secs(5);

impl Broker {
    #[tracing::instrument(skip_all, fields(integration_id = %id))]
    pub async fn revoke(
        &self,
        id: IntegrationId,
        actor: &Actor,
        client: &ClientInfo,
    ) -> BrokerResult<RevokeOutcome> {
        let inner = &self.inner;
        let integration = self.integration_for(id, actor).await?;
        // Hold the refresh lock so a refresh in flight cannot store tokens after we delete
        // them; after a while, go ahead anyway (the refresh's versioned write then fails).
        let lock = match self
            .lock_or_wait(LockKey::Refresh(id), LOCK_WAIT, || async {
                BrokerResult::<Option<()>>::Ok(None)
            })
            .await?
        {
            Acquired::Held(lock) => Some(lock),
            Acquired::Done(()) | Acquired::TimedOut => None,
        };

        let stored = inner
            .stores
            .tokens
            .get(&TokenOwner::Integration(id))
            .await?;
        let provider = inner.providers.load().for_integration(&integration).ok();
        let revocation = match (&provider, &stored) {
            (_, None) => ProviderRevocation::NothingToRevoke,
            (None, Some(_)) => ProviderRevocation::Failed {
                message: "the provider is no longer configured".to_owned(),
            },
            (Some(p), Some(_)) if !p.capabilities().revocation => ProviderRevocation::NotSupported,
            (Some(p), Some(stored)) => {
                let mut failure = None;
                if let Some(refresh) = &stored.tokens.refresh_token
                    && let Err(e) = oauth::revoke(
                        p.as_ref(),
                        &inner.http,
                        refresh.expose_secret(),
                        TokenKind::Refresh,
                    )
                    .await
                {
                    failure = Some(e.to_string());
                }
                if let Err(e) = oauth::revoke(
                    p.as_ref(),
                    &inner.http,
                    stored.tokens.access_token.expose_secret(),
                    TokenKind::Access,
                )
                .await
                {
                    failure.get_or_insert(e.to_string());
                }
                match failure {
                    None => ProviderRevocation::Revoked,
                    Some(message) => ProviderRevocation::Failed { message },
                }
            }
        };

        let previous = integration.status;
        let reason = match actor {
            Actor::User(_) => ReasonCode::DisconnectedByUser,
            Actor::ApiKey(_) => ReasonCode::DisconnectedByService,
            Actor::System | Actor::Operator(_) | Actor::Console(_) => {
                ReasonCode::DisconnectedByOperator
            }
        };
        let revoked = inner
            .stores
            .integrations
            .mark_revoked(id, Utc::now(), reason)
            .await;
        self.announce_change(id);
        if let Some(lock) = lock {
            lock.release().await;
        }
        let revoked = revoked?;

        let mut event = AuditEvent::new(actor.clone(), AuditAction::Revoked);
        event.integration_id = Some(id);
        event.user_id = Some(revoked.user_id.clone());
        event.provider = Some(revoked.provider);
        event.ip_address = client.ip.clone();
        event.user_agent = client.user_agent.clone();
        event.detail = Some(json!({ "provider_revocation": revocation.as_str() }));
        if let ProviderRevocation::Failed { message } = &revocation {
            event.error_message = Some(format!("provider revocation failed: {message}"));
        }
        inner.audit.record(event).await;
        if previous != IntegrationStatus::Revoked {
            self.audit_status_change(&revoked, previous, None).await;
        }
        Ok(RevokeOutcome {
            integration: revoked,
            provider_revocation: revocation,
        })
    }
}
