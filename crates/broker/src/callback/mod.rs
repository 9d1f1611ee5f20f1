//! Step 3 of the connect flow: the provider's redirect back. Takes the state (single use),
//! checks provider, browser binding, expiry and `iss`, exchanges the code, identifies the
//! account, compares scopes, and stores integration + tokens + consent in one transaction.
//! Every failure writes an audit row and nothing else.

use chrono::Utc;
use serde_json::{Value, json};
use tether_core::audit::{Actor, AuditAction, AuditEvent};
use tether_core::consent::NewConsent;
use tether_core::integration::{IntegrationStatus, NewIntegration};
use tether_core::ports::{ConnectionWrite, IntegrationWrite};
use tether_core::secret::OpaqueSecret;
use tether_core::{IntegrationId, ProviderKind};
use url::Url;

use crate::broker::Broker;
use crate::error::{BrokerError, BrokerResult};
use crate::flow::{MAX_PARAM_LEN, PendingFlow};
use crate::registry::INSTANCE_METADATA_KEY;
use crate::{oauth, random};

pub use outcome::{
    CallbackParams, CallbackResult, ClientInfo, ConnectOutcome, binding_cookie_name,
};
use outcome::{Failure, clip, fail, provider_label, required_among, with_outcome};

mod outcome;

impl Broker {
    /// Handles the provider's redirect. `binding_cookie` is the value of the cookie named
    /// [`binding_cookie_name`] for this state, if the browser sent one.
    #[tracing::instrument(skip_all, fields(provider = %provider_kind))]
    pub async fn complete_callback(
        &self,
        provider_kind: ProviderKind,
        params: CallbackParams,
        binding_cookie: Option<&str>,
        client: &ClientInfo,
    ) -> BrokerResult<CallbackResult> {
        let state = params.state.clone().unwrap_or_default();
        let mut flow_for_audit: Option<PendingFlow> = None;
        let result = self
            .callback_steps(
                provider_kind,
                &params,
                binding_cookie,
                client,
                &mut flow_for_audit,
            )
            .await;
        let cookie_name = (!state.is_empty() && state.len() <= MAX_PARAM_LEN)
            .then(|| binding_cookie_name(&state));
        match result {
            Ok((outcome_id, message, redirect)) => Ok(CallbackResult {
                outcome: ConnectOutcome::Connected,
                message,
                integration_id: Some(outcome_id),
                provider: provider_kind,
                redirect_to: redirect,
                cookie_name,
            }),
            Err(Err(e)) => {
                self.audit_failure(
                    provider_kind,
                    flow_for_audit.as_ref(),
                    client,
                    &e.to_string(),
                )
                .await;
                Err(e)
            }
            Err(Ok(failure)) => {
                self.audit_failure(
                    provider_kind,
                    flow_for_audit.as_ref(),
                    client,
                    &failure.message,
                )
                .await;
                let redirect_to = match (&flow_for_audit, failure.trusted) {
                    (Some(flow), true) => {
                        with_outcome(&flow.return_to, failure.outcome, &failure.message, None)
                    }
                    _ => None,
                };
                Ok(CallbackResult {
                    outcome: failure.outcome,
                    message: failure.message,
                    integration_id: None,
                    provider: provider_kind,
                    redirect_to,
                    cookie_name,
                })
            }
        }
    }

    async fn audit_failure(
        &self,
        provider: ProviderKind,
        flow: Option<&PendingFlow>,
        client: &ClientInfo,
        message: &str,
    ) {
        let actor = flow.map_or(Actor::System, |f| Actor::User(f.user_id.clone()));
        let mut event = AuditEvent::new(actor, AuditAction::AuthorizationFailed).failed(message);
        event.user_id = flow.map(|f| f.user_id.clone());
        event.provider = Some(provider);
        event.ip_address = client.ip.clone();
        event.user_agent = client.user_agent.clone();
        self.inner.audit.record(event).await;
    }

    /// `Err(Ok(failure))` is an outcome to report; `Err(Err(e))` an internal failure.
    async fn callback_steps(
        &self,
        provider_kind: ProviderKind,
        params: &CallbackParams,
        binding_cookie: Option<&str>,
        client: &ClientInfo,
        flow_slot: &mut Option<PendingFlow>,
    ) -> Result<(IntegrationId, String, Option<Url>), Result<Failure, BrokerError>> {
        use ConnectOutcome::{Denied, Error, Expired, InsufficientScopes};
        let inner = &self.inner;
        let oversized = [
            &params.state,
            &params.code,
            &params.error,
            &params.error_description,
            &params.iss,
        ]
        .iter()
        .any(|p| p.as_ref().is_some_and(|v| v.len() > MAX_PARAM_LEN));
        if oversized {
            return Err(Ok(fail(
                Error,
                "The provider's answer was malformed (a parameter is too long).",
                false,
            )));
        }
        let Some(state) = params.state.as_deref().filter(|s| !s.is_empty()) else {
            return Err(Ok(fail(
                Error,
                "The provider's answer has no state; start connecting again.",
                false,
            )));
        };
        let taken = inner
            .flows
            .take(&OpaqueSecret::new(state))
            .await
            .map_err(|e| Err(e.into()))?;
        let Some(taken) = taken else {
            return Err(Ok(fail(
                Error,
                "This sign-in link is unknown or was already used; start connecting again.",
                false,
            )));
        };
        let flow = PendingFlow::from_payload(&taken.payload).map_err(Err)?;
        let flow = &*flow_slot.insert(flow);
        if flow.provider != provider_kind {
            return Err(Ok(fail(
                Error,
                "This answer was meant for another provider; start connecting again.",
                false,
            )));
        }
        let bound = match (&flow.binding_hash, binding_cookie) {
            (Some(hash), Some(cookie)) => random::constant_time_eq(hash, &random::sha256(cookie)),
            _ => false,
        };
        if !bound {
            return Err(Ok(fail(
                Error,
                "This sign-in was started in another browser; start connecting again here.",
                false,
            )));
        }
        if flow.expires_at <= Utc::now() {
            return Err(Ok(fail(
                Expired,
                "The sign-in took too long and expired; please connect again.",
                true,
            )));
        }
        let provider = inner
            .providers
            .get(flow.provider, &flow.instance)
            .map_err(Err)?;
        match (&params.iss, &flow.issuer) {
            (Some(iss), Some(expected)) if iss != expected => {
                return Err(Ok(fail(
                    Error,
                    "The answer came from an unexpected issuer; start connecting again.",
                    false,
                )));
            }
            (None, _) if provider.capabilities().requires_issuer_parameter => {
                return Err(Ok(fail(
                    Error,
                    "The provider's answer did not name its issuer; start connecting again.",
                    false,
                )));
            }
            _ => {}
        }
        if let Some(error) = params.error.as_deref() {
            let detail = params.error_description.as_deref().map(clip);
            return Err(Ok(match error {
                "access_denied" => fail(
                    Denied,
                    "You declined the request, so nothing was connected.",
                    true,
                ),
                other => fail(
                    Error,
                    format!(
                        "{} refused the request ({}){}",
                        flow.provider.display_name(),
                        clip(other),
                        detail.map(|d| format!(": {d}")).unwrap_or_default()
                    ),
                    true,
                ),
            }));
        }
        let Some(code) = params.code.as_deref().filter(|c| !c.is_empty()) else {
            return Err(Ok(fail(
                Error,
                "The provider's answer has no authorization code.",
                true,
            )));
        };
        let redirect = Url::parse(&flow.redirect_uri)
            .map_err(|e| Err(BrokerError::Internal(format!("stored redirect URI: {e}"))))?;
        let raw = oauth::exchange_code(
            provider.as_ref(),
            &inner.http,
            code,
            flow.verifier.as_deref(),
            &redirect,
        )
        .await
        .map_err(|e| Ok(fail(Error, format!("Connecting failed: {e}"), true)))?;
        let identity = provider
            .fetch_identity(&raw.access_token, &raw)
            .await
            .map_err(|e| {
                Ok(fail(
                    Error,
                    format!("Could not identify the account: {e}"),
                    true,
                ))
            })?;

        let granted = raw
            .granted_scopes()
            .unwrap_or_else(|| provider.granted_scopes_when_unreported(&flow.requested_scopes));
        let missing = flow
            .requested_scopes
            .missing_from(&granted)
            .missing_from(&provider.implicit_scopes());
        let missing_required = required_among(provider.as_ref(), &missing);
        if !missing_required.is_empty() {
            return Err(Ok(fail(
                InsufficientScopes,
                format!(
                    "Some permissions Tether needs were not granted ({}); please connect again and allow them.",
                    missing_required.to_delimited()
                ),
                true,
            )));
        }

        let integrations = &inner.stores.integrations;
        // Every link of this upstream account, of any user: at most one is this user's (unique
        // per user, provider and account), and it is the one to update.
        let links = integrations
            .find_by_upstream_account(flow.provider, &identity.subject)
            .await
            .map_err(|e| Err(e.into()))?;
        let linked_elsewhere = links
            .iter()
            .any(|i| i.user_id != flow.user_id && i.status != IntegrationStatus::Revoked);
        if linked_elsewhere && !inner.config.allow_shared_accounts {
            return Err(Ok(fail(
                Error,
                "This account is already connected by another user of this product.",
                true,
            )));
        }
        let existing = links.into_iter().find(|i| i.user_id == flow.user_id);

        let now = Utc::now();
        let mut tokens = raw.to_token_set(now);
        tokens.launch_context = provider
            .launch_context(&raw)
            .map(|context| OpaqueSecret::new(context.to_string()));
        let next_refresh_at = self.next_refresh_at(&tokens);
        let mut metadata = match identity.metadata {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        if !flow.instance.is_empty() {
            metadata.insert(INSTANCE_METADATA_KEY.to_owned(), json!(flow.instance));
        }
        let reconnect = existing.is_some();
        let write = match existing {
            Some(mut current) => {
                current.account_label = identity.label.clone();
                current.status = IntegrationStatus::Active;
                current.requested_scopes = flow.requested_scopes.clone();
                current.granted_scopes = granted.clone();
                current.metadata = Value::Object(metadata);
                current.last_refreshed_at = Some(now);
                current.next_refresh_at = next_refresh_at;
                current.failure_count = 0;
                current.last_error = None;
                IntegrationWrite::Update(current)
            }
            None => IntegrationWrite::Create(NewIntegration {
                id: IntegrationId::new(),
                user_id: flow.user_id.clone(),
                provider: flow.provider,
                provider_account_id: identity.subject.clone(),
                account_label: identity.label.clone(),
                status: IntegrationStatus::Active,
                requested_scopes: flow.requested_scopes.clone(),
                granted_scopes: granted.clone(),
                metadata: Value::Object(metadata),
                next_refresh_at,
            }),
        };
        let integration_id = match &write {
            IntegrationWrite::Update(i) => i.id,
            IntegrationWrite::Create(n) => n.id,
        };
        let (integration, _, _) = integrations
            .save_connection(ConnectionWrite {
                integration: write,
                tokens,
                consent: NewConsent {
                    integration_id,
                    user_id: flow.user_id.clone(),
                    scopes: granted.clone(),
                    granted_at: now,
                    expires_at: None,
                    ip_address: client.ip.clone(),
                    user_agent: client.user_agent.clone(),
                    consent_version: inner.config.consent_version.clone(),
                },
            })
            .await
            .map_err(|e| Err(e.into()))?;
        self.forget_read(integration.id);

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
            event.scopes = Some(granted.clone());
            event.ip_address = client.ip.clone();
            event.user_agent = client.user_agent.clone();
            inner.audit.record(event).await;
        }
        let optional_missing = missing.len();
        let message = if optional_missing == 0 {
            format!(
                "{} is connected.",
                provider_label(provider.as_ref(), integration.account_label.as_deref())
            )
        } else {
            format!(
                "{} is connected without {} optional permission(s): {}.",
                provider_label(provider.as_ref(), integration.account_label.as_deref()),
                optional_missing,
                missing.to_delimited()
            )
        };
        let redirect = with_outcome(
            &flow.return_to,
            ConnectOutcome::Connected,
            &message,
            Some(integration.id),
        );
        Ok((integration.id, message, redirect))
    }
}
