//! Read-side use-cases the API needs: a connection test with a valid token, and the expiry
//! of an integration's current token.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tether_core::IntegrationId;
use tether_core::audit::{Actor, AuditAction, AuditEvent};
use tether_core::provider::ConnectionReport;

use crate::broker::Broker;
use crate::error::{BrokerError, BrokerResult};

impl Broker {
    /// Makes the provider's cheap authenticated call with a valid token (refreshing first if
    /// needed) and audits the outcome.
    #[tracing::instrument(skip_all, fields(integration_id = %id))]
    pub async fn test_connection(
        &self,
        id: IntegrationId,
        actor: &Actor,
    ) -> BrokerResult<ConnectionReport> {
        let integration = self.integration_for(id, actor).await?;
        let provider = self.inner.providers.load().for_integration(&integration)?;
        let grant = self
            .access_token(id, actor, Some("test connection"))
            .await?;
        let result = provider
            .test_connection(&grant.access_token)
            .await
            .map_err(BrokerError::Provider);
        let mut event = AuditEvent::new(actor.clone(), AuditAction::TestConnection);
        event.integration_id = Some(id);
        event.user_id = Some(integration.user_id.clone());
        event.provider = Some(integration.provider);
        if let Err(e) = &result {
            event = event.failed(e.to_string());
        }
        self.inner.audit.record(event).await;
        result
    }

    /// When each integration's current access token expires: one query, nothing decrypted.
    /// Integrations without tokens are absent.
    pub async fn token_expiries(
        &self,
        ids: &[IntegrationId],
    ) -> BrokerResult<HashMap<IntegrationId, Option<DateTime<Utc>>>> {
        Ok(self.inner.stores.tokens.expiries(ids).await?)
    }
}
