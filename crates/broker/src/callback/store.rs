//! The callback's write: the integration (new, or this user's existing one updated in place so
//! it keeps its id), its tokens and the consent, in one transaction, then the audit records.
//! A reconnect that lost a required scope leaves the integration `insufficient_scopes`, never
//! `active` with a grant callers would fail with.

use chrono::Utc;
use serde_json::{Value, json};
use tether_core::audit::{Actor, AuditAction, AuditEvent};
use tether_core::consent::NewConsent;
use tether_core::integration::{IntegrationStatus, NewIntegration};
use tether_core::ports::{ConnectionWrite, IntegrationWrite};
use tether_core::provider::{AccountIdentity, Provider, RawTokenResponse};
use tether_core::secret::OpaqueSecret;
use tether_core::{Integration, IntegrationId};

use super::steps::Stop;
use super::{ClientInfo, ScopeCheck};
use crate::broker::Broker;
use crate::flow::PendingFlow;
use crate::registry::INSTANCE_METADATA_KEY;

impl Broker {
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn store_connection(
        &self,
        provider: &dyn Provider,
        flow: &PendingFlow,
        raw: &RawTokenResponse,
        identity: AccountIdentity,
        existing: Option<Integration>,
        scopes: &ScopeCheck,
        client: &ClientInfo,
    ) -> Result<Integration, Stop> {
        let now = Utc::now();
        let mut tokens = raw.to_token_set(now);
        tokens.launch_context = provider
            .launch_context(raw, super::sent_nonce(provider, flow))
            .await
            .map(|context| OpaqueSecret::new(context.to_string()));
        let usable = scopes.missing_required.is_empty();
        let (status, next_refresh_at, last_error) = if usable {
            (
                IntegrationStatus::Active,
                self.next_refresh_at(&tokens, now),
                None,
            )
        } else {
            let message = format!(
                "the user did not grant required permissions: {}",
                scopes.missing_required.to_delimited()
            );
            (IntegrationStatus::InsufficientScopes, None, Some(message))
        };
        let mut metadata = match identity.metadata {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        if !flow.instance.is_empty() {
            metadata.insert(INSTANCE_METADATA_KEY.to_owned(), json!(flow.instance));
        }
        let previous = existing.as_ref().map(|i| i.status);
        let write = match existing {
            Some(mut current) => {
                current.account_label = identity.label.clone();
                current.status = status;
                current.requested_scopes = flow.requested_scopes.clone();
                current.granted_scopes = scopes.granted.clone();
                current.metadata = Value::Object(metadata);
                current.last_refreshed_at = Some(now);
                current.next_refresh_at = next_refresh_at;
                current.failure_count = 0;
                current.last_error = last_error.clone();
                IntegrationWrite::Update(current)
            }
            None => IntegrationWrite::Create(NewIntegration {
                id: IntegrationId::new(),
                user_id: flow.user_id.clone(),
                provider: flow.provider,
                provider_account_id: identity.subject.clone(),
                account_label: identity.label.clone(),
                status,
                requested_scopes: flow.requested_scopes.clone(),
                granted_scopes: scopes.granted.clone(),
                metadata: Value::Object(metadata),
                next_refresh_at,
            }),
        };
        let integration_id = match &write {
            IntegrationWrite::Update(i) => i.id,
            IntegrationWrite::Create(n) => n.id,
        };
        let (integration, _, _) = self
            .inner
            .stores
            .integrations
            .save_connection(ConnectionWrite {
                integration: write,
                tokens,
                consent: NewConsent {
                    integration_id,
                    user_id: flow.user_id.clone(),
                    scopes: scopes.granted.clone(),
                    granted_at: now,
                    expires_at: self.inner.config.consent_expires_at(flow.provider, now),
                    ip_address: client.ip.clone(),
                    user_agent: client.user_agent.clone(),
                    consent_version: self.inner.config.consent_version.clone(),
                },
            })
            .await?;
        self.announce_change(integration.id);
        self.audit_connection(flow, &integration, scopes, client, previous.is_some())
            .await;
        if let Some(previous) = previous.filter(|p| *p != integration.status) {
            self.audit_status_change(&integration, previous, last_error.as_deref())
                .await;
        }
        Ok(integration)
    }

    async fn audit_connection(
        &self,
        flow: &PendingFlow,
        integration: &Integration,
        scopes: &ScopeCheck,
        client: &ClientInfo,
        reconnect: bool,
    ) {
        let action = if reconnect {
            AuditAction::Reconnected
        } else {
            AuditAction::Connected
        };
        for action in [action, AuditAction::ConsentRecorded] {
            let mut event = AuditEvent::new(Actor::User(flow.user_id.clone()), action);
            event.integration_id = Some(integration.id);
            event.user_id = Some(flow.user_id.clone());
            event.provider = Some(flow.provider);
            event.scopes = Some(scopes.granted.clone());
            event.ip_address = client.ip.clone();
            event.user_agent = client.user_agent.clone();
            if !scopes.missing_required.is_empty() {
                event = event.failed(format!(
                    "required permissions not granted: {}",
                    scopes.missing_required.to_delimited()
                ));
            }
            self.inner.audit.record(event).await;
        }
    }
}
