//! Step 3 of the connect flow: the provider's redirect back, as a sequence of small steps:
//! check the parameters, take the state (single use), check the flow (provider, browser
//! binding, expiry, `iss`), read the provider's answer, exchange the code, identify the
//! account, check the account link and the scopes, then store integration + tokens + consent
//! in one transaction. Every failure writes an audit row and nothing else.

use tether_core::audit::{Actor, AuditAction, AuditEvent};
use tether_core::provider::{AccountIdentity, Provider, RawTokenResponse};
use tether_core::secret::{OpaqueSecret, PkceVerifier};
use tether_core::{Integration, IntegrationId, ProviderKind, ScopeSet};
use url::Url;

use crate::broker::Broker;
use crate::error::{BrokerError, BrokerResult};
use crate::flow::{MAX_PARAM_LEN, PendingFlow};
use crate::lifecycle::lost_required_scopes;
use crate::oauth;

pub use outcome::{
    CallbackParams, CallbackResult, ClientInfo, ConnectOutcome, binding_cookie_name,
};
use outcome::{fail, provider_label, with_outcome};
use steps::Stop;

mod outcome;
mod steps;
mod store;

/// How the callback's steps ended when they did not stop early.
struct Finished {
    outcome: ConnectOutcome,
    integration_id: IntegrationId,
    message: String,
    redirect: Option<Url>,
}

/// What the provider granted, compared with what the flow asked for.
struct ScopeCheck {
    granted: ScopeSet,
    /// Required scopes the provider did not grant: the integration cannot be used.
    missing_required: ScopeSet,
    /// Optional scopes the provider did not grant: reported, not fatal.
    missing_optional: ScopeSet,
}

impl ScopeCheck {
    fn new(provider: &dyn Provider, flow: &PendingFlow, raw: &RawTokenResponse) -> Self {
        let granted = raw
            .granted_scopes()
            .unwrap_or_else(|| provider.granted_scopes_when_unreported(&flow.requested_scopes));
        let missing_required = lost_required_scopes(provider, &flow.requested_scopes, &granted);
        let missing_optional = provider
            .missing_scopes(&flow.requested_scopes, &granted)
            .missing_from(&missing_required);
        Self {
            granted,
            missing_required,
            missing_optional,
        }
    }
}

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
        let failure = match result {
            Ok(done) => {
                return Ok(CallbackResult {
                    outcome: done.outcome,
                    message: done.message,
                    integration_id: Some(done.integration_id),
                    provider: provider_kind,
                    redirect_to: done.redirect,
                    cookie_name,
                });
            }
            Err(Stop::Fail(e)) => {
                let flow = flow_for_audit.as_ref();
                self.audit_failure(provider_kind, flow, client, &e.to_string())
                    .await;
                return Err(e);
            }
            Err(Stop::Report(failure)) => failure,
        };
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

    /// The whole callback, one named step after another.
    async fn callback_steps(
        &self,
        provider_kind: ProviderKind,
        params: &CallbackParams,
        binding_cookie: Option<&str>,
        client: &ClientInfo,
        flow_slot: &mut Option<PendingFlow>,
    ) -> Result<Finished, Stop> {
        let state = steps::checked_state(params)?;
        let flow = &*flow_slot.insert(self.take_flow(state).await?);
        steps::check_flow(flow, provider_kind, binding_cookie)?;
        let provider = self
            .inner
            .providers
            .load()
            .get(flow.provider, &flow.instance)?;
        steps::check_issuer(params, flow, provider.as_ref())?;
        steps::check_provider_error(params, flow)?;
        let (raw, identity) = self
            .exchange_and_identify(provider.as_ref(), flow, params)
            .await?;
        let existing = self.account_link(flow, &identity).await?;
        if let Some(expected) = flow.upgrade_of
            && existing.as_ref().map(|i| i.id) != Some(expected)
        {
            return Err(Stop::Report(fail(
                ConnectOutcome::AccountMismatch,
                format!(
                    "You signed in with a different {} account than the one being upgraded; \
                     nothing was changed. Try again with the same account.",
                    flow.provider.display_name()
                ),
                true,
            )));
        }
        let scopes = ScopeCheck::new(provider.as_ref(), flow, &raw);
        if !scopes.missing_required.is_empty() && existing.is_none() {
            // Nothing to keep: the new grant cannot be used, so no integration is created.
            return Err(Stop::Report(fail(
                ConnectOutcome::InsufficientScopes,
                insufficient_message(&scopes.missing_required),
                true,
            )));
        }
        let integration = self
            .store_connection(
                provider.as_ref(),
                flow,
                &raw,
                identity,
                existing,
                &scopes,
                client,
            )
            .await?;
        Ok(finish(provider.as_ref(), flow, &integration, &scopes))
    }

    async fn take_flow(&self, state: &str) -> Result<PendingFlow, Stop> {
        let taken = self.inner.flows.take(&OpaqueSecret::new(state)).await?;
        let Some(taken) = taken else {
            return Err(Stop::Report(fail(
                ConnectOutcome::Error,
                "This sign-in link is unknown or was already used; start connecting again.",
                false,
            )));
        };
        Ok(PendingFlow::from_payload(&taken.payload)?)
    }

    /// Exchanges the code (with the PKCE verifier) and asks the provider who the account is.
    async fn exchange_and_identify(
        &self,
        provider: &dyn Provider,
        flow: &PendingFlow,
        params: &CallbackParams,
    ) -> Result<(RawTokenResponse, AccountIdentity), Stop> {
        let Some(code) = params.code.as_deref().filter(|c| !c.is_empty()) else {
            return Err(Stop::Report(fail(
                ConnectOutcome::Error,
                "The provider's answer has no authorization code.",
                true,
            )));
        };
        let redirect = Url::parse(&flow.redirect_uri)
            .map_err(|e| BrokerError::Internal(format!("stored redirect URI: {e}")))?;
        let raw = oauth::exchange_code(
            provider,
            &self.inner.http,
            code,
            flow.verifier.as_ref().map(PkceVerifier::expose_secret),
            &redirect,
        )
        .await
        .map_err(|e| {
            Stop::Report(fail(
                ConnectOutcome::Error,
                format!("Connecting failed: {e}"),
                true,
            ))
        })?;
        let identity = provider
            .fetch_identity(&raw.access_token, &raw, sent_nonce(provider, flow))
            .await
            .map_err(|e| {
                Stop::Report(fail(
                    ConnectOutcome::Error,
                    format!("Could not identify the account: {e}"),
                    true,
                ))
            })?;
        Ok((raw, identity))
    }

    /// This user's existing integration for the upstream account, if any; refuses an account
    /// another user linked unless shared accounts are allowed.
    async fn account_link(
        &self,
        flow: &PendingFlow,
        identity: &AccountIdentity,
    ) -> Result<Option<Integration>, Stop> {
        // Every link of this upstream account, of any user: at most one is this user's (unique
        // per user, provider and account), and it is the one to update.
        let links = self
            .inner
            .stores
            .integrations
            .find_by_upstream_account(flow.provider, &identity.subject)
            .await?;
        let linked_elsewhere = links.iter().any(|i| {
            i.user_id != flow.user_id && i.status != tether_core::IntegrationStatus::Revoked
        });
        if linked_elsewhere && !self.inner.config.allow_shared_accounts {
            return Err(Stop::Report(fail(
                ConnectOutcome::Error,
                "This account is already connected by another user of this product.",
                true,
            )));
        }
        Ok(links.into_iter().find(|i| i.user_id == flow.user_id))
    }
}

/// The nonce the authorize URL of this flow carried, which an ID token must echo.
pub(super) fn sent_nonce<'f>(provider: &dyn Provider, flow: &'f PendingFlow) -> Option<&'f str> {
    oauth::sends_nonce(provider, &flow.requested_scopes).then(|| flow.nonce.expose_secret())
}

fn insufficient_message(missing: &ScopeSet) -> String {
    format!(
        "Some permissions Tether needs were not granted ({}); please connect again and allow them.",
        missing.to_delimited()
    )
}

/// The outcome, message and way back after the connection was stored.
fn finish(
    provider: &dyn Provider,
    flow: &PendingFlow,
    integration: &Integration,
    scopes: &ScopeCheck,
) -> Finished {
    let (outcome, message) = if !scopes.missing_required.is_empty() {
        (
            ConnectOutcome::InsufficientScopes,
            insufficient_message(&scopes.missing_required),
        )
    } else if scopes.missing_optional.is_empty() {
        let label = provider_label(provider, integration.account_label.as_deref());
        (ConnectOutcome::Connected, format!("{label} is connected."))
    } else {
        let label = provider_label(provider, integration.account_label.as_deref());
        (
            ConnectOutcome::Connected,
            format!(
                "{label} is connected without {} optional permission(s): {}.",
                scopes.missing_optional.len(),
                scopes.missing_optional.to_delimited()
            ),
        )
    };
    let redirect = with_outcome(&flow.return_to, outcome, &message, Some(integration.id));
    Finished {
        outcome,
        integration_id: integration.id,
        message,
        redirect,
    }
}
