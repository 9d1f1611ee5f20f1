//! The first two steps of the connect flow: `begin_authorization` (create the pending flow,
//! answer with a start URL on Tether) and `start` (bind the flow to the browser, send it to
//! the provider). The flow is kept twice, each time single-use: under a start token until
//! the browser opens the start URL, then under its `state` until the callback.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tether_core::audit::{Actor, AuditAction, AuditEvent};
use tether_core::provider::GrantKind;
use tether_core::provider::Provider;
use tether_core::secret::{OpaqueSecret, PkceVerifier};
use tether_core::{IntegrationId, ProviderKind, ScopeSet, UserId};
use url::Url;

use crate::broker::Broker;
use crate::callback::{ClientInfo, binding_cookie_name};
use crate::error::{BrokerError, BrokerResult};
use crate::{oauth, random};

/// What the frontend asks for.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub user_id: UserId,
    pub provider: ProviderKind,
    /// The provider configuration instance (an OpenEMR site); `""` for the usual one.
    pub instance: String,
    /// `None`: the provider's default scopes.
    pub scopes: Option<ScopeSet>,
    pub return_to: String,
    pub login_hint: Option<String>,
}

/// Where to send the browser to begin.
#[derive(Debug, Clone)]
pub struct AuthorizationStart {
    pub start_url: Url,
    pub expires_at: DateTime<Utc>,
    pub requested_scopes: ScopeSet,
}

/// The answer of the start step: redirect to `authorize_url`, setting the binding cookie.
#[derive(Debug)]
pub struct StartRedirect {
    pub authorize_url: Url,
    pub cookie_name: String,
    pub cookie_value: OpaqueSecret,
    /// The cookie is sent back only to this provider's callback path.
    pub cookie_path: String,
    pub cookie_max_age: Duration,
}

/// The pending authorization, stored between the steps: encrypted in the database, or sealed
/// with the token cipher in Redis. Its secrets are secret types (`Debug` prints none of
/// them); only the payload encoding sees their text.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct PendingFlow {
    pub(crate) user_id: UserId,
    pub(crate) provider: ProviderKind,
    pub(crate) instance: String,
    pub(crate) issuer: Option<String>,
    pub(crate) redirect_uri: String,
    #[serde(with = "payload_text::optional")]
    pub(crate) verifier: Option<PkceVerifier>,
    #[serde(with = "payload_text")]
    pub(crate) nonce: OpaqueSecret,
    pub(crate) requested_scopes: ScopeSet,
    pub(crate) return_to: String,
    #[serde(with = "payload_text")]
    pub(crate) state: OpaqueSecret,
    /// SHA-256 of the browser-binding secret, set by the start step.
    pub(crate) binding_hash: Option<String>,
    pub(crate) login_hint: Option<String>,
    pub(crate) expires_at: DateTime<Utc>,
    /// A hosted connect session's upgrade: the callback must land on this integration (the
    /// same upstream account), or it stores nothing. Absent in flows written before it.
    #[serde(default)]
    pub(crate) upgrade_of: Option<IntegrationId>,
}

impl PendingFlow {
    pub(crate) fn to_payload(&self) -> BrokerResult<OpaqueSecret> {
        serde_json::to_string(self)
            .map(OpaqueSecret::new)
            .map_err(|e| BrokerError::Internal(format!("flow encoding: {e}")))
    }

    pub(crate) fn from_payload(payload: &OpaqueSecret) -> BrokerResult<Self> {
        serde_json::from_str(payload.expose_secret())
            .map_err(|_| BrokerError::Internal("malformed pending flow".to_owned()))
    }
}

/// The text of the flow's secrets inside its payload (which is itself a secret).
mod payload_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use tether_core::secret::{OpaqueSecret, PkceVerifier};

    pub(crate) trait SecretText: Sized {
        fn text(&self) -> &str;
        fn from_text(text: String) -> Self;
    }

    impl SecretText for OpaqueSecret {
        fn text(&self) -> &str {
            self.expose_secret()
        }
        fn from_text(text: String) -> Self {
            Self::new(text)
        }
    }

    impl SecretText for PkceVerifier {
        fn text(&self) -> &str {
            self.expose_secret()
        }
        fn from_text(text: String) -> Self {
            Self::new(text)
        }
    }

    pub(crate) fn serialize<T: SecretText, S: Serializer>(
        value: &T,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value.text())
    }

    pub(crate) fn deserialize<'de, T: SecretText, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<T, D::Error> {
        String::deserialize(deserializer).map(T::from_text)
    }

    pub(crate) mod optional {
        use super::*;

        pub(crate) fn serialize<T: SecretText, S: Serializer>(
            value: &Option<T>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(value) => serializer.serialize_some(value.text()),
                None => serializer.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, T: SecretText, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<T>, D::Error> {
            Option::<String>::deserialize(deserializer).map(|text| text.map(T::from_text))
        }
    }
}

/// The longest flow id, state or code Tether accepts from a browser.
pub(crate) const MAX_PARAM_LEN: usize = 4096;

impl Broker {
    /// Step 1: checks `return_to`, creates the pending flow and answers with the start URL.
    #[tracing::instrument(skip_all, fields(provider = %request.provider))]
    pub async fn begin_authorization(
        &self,
        request: AuthorizationRequest,
        client: &ClientInfo,
    ) -> BrokerResult<AuthorizationStart> {
        let return_to = self.inner.config.return_to.check(&request.return_to)?;
        self.begin_flow(request, return_to, None, client).await
    }

    /// Step 1 for the hosted connect page: the browser comes back to Tether's own result page
    /// (`return_to` must be on Tether's public base URL), and an upgrade names the integration
    /// the callback must land on.
    pub(crate) async fn begin_hosted_authorization(
        &self,
        request: AuthorizationRequest,
        upgrade_of: Option<IntegrationId>,
        client: &ClientInfo,
    ) -> BrokerResult<AuthorizationStart> {
        let return_to = Url::parse(&request.return_to).map_err(|_| BrokerError::InvalidReturnTo)?;
        if return_to.origin() != self.inner.config.public_base_url.origin() {
            return Err(BrokerError::InvalidReturnTo);
        }
        self.begin_flow(request, return_to, upgrade_of, client)
            .await
    }

    /// Where `provider` sends the browser back after consent (what a client registers).
    pub fn callback_url(&self, provider: ProviderKind) -> BrokerResult<Url> {
        self.inner.config.oauth_url(provider.as_str(), "callback")
    }

    /// The scopes a flow for `provider` asks for: `asked` (or the provider's defaults) plus
    /// every scope its catalogue marks required.
    pub fn scopes_to_request(
        &self,
        provider: ProviderKind,
        instance: &str,
        asked: Option<ScopeSet>,
    ) -> BrokerResult<ScopeSet> {
        let provider = self.inner.providers.load().get(provider, instance)?;
        Ok(requested_scopes(provider.as_ref(), asked))
    }

    async fn begin_flow(
        &self,
        request: AuthorizationRequest,
        return_to: Url,
        upgrade_of: Option<IntegrationId>,
        client: &ClientInfo,
    ) -> BrokerResult<AuthorizationStart> {
        let inner = &self.inner;
        let provider = inner
            .providers
            .load()
            .get(request.provider, &request.instance)?;
        if request.provider.grant_kind() != GrantKind::AuthorizationCode {
            return Err(BrokerError::InvalidInput(format!(
                "{} uses app-level credentials; there is nothing for a user to connect",
                request.provider.display_name()
            )));
        }
        let requested = requested_scopes(provider.as_ref(), request.scopes);
        let now = Utc::now();
        let ttl = inner.config.flow_ttl;
        let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or_default();
        let flow = PendingFlow {
            user_id: request.user_id.clone(),
            provider: request.provider,
            instance: request.instance.clone(),
            issuer: provider.endpoints().issuer.clone(),
            redirect_uri: inner
                .config
                .oauth_url(request.provider.as_str(), "callback")?
                .to_string(),
            verifier: provider.capabilities().pkce.then(oauth::new_pkce_verifier),
            nonce: OpaqueSecret::new(random::token()),
            requested_scopes: requested.clone(),
            return_to: return_to.to_string(),
            state: OpaqueSecret::new(random::token()),
            binding_hash: None,
            login_hint: request.login_hint.clone(),
            expires_at,
            upgrade_of,
        };
        let start_token = OpaqueSecret::new(random::token());
        inner
            .flows
            .put(&start_token, &flow.to_payload()?, ttl)
            .await?;
        let mut start_url = inner.config.oauth_url(request.provider.as_str(), "start")?;
        start_url
            .query_pairs_mut()
            .append_pair("flow", start_token.expose_secret());

        let mut event = AuditEvent::new(
            Actor::User(request.user_id.clone()),
            AuditAction::AuthorizationStarted,
        );
        event.user_id = Some(request.user_id);
        event.provider = Some(request.provider);
        event.scopes = Some(requested.clone());
        event.ip_address = client.ip.clone();
        event.user_agent = client.user_agent.clone();
        inner.audit.record(event).await;

        Ok(AuthorizationStart {
            start_url,
            expires_at,
            requested_scopes: requested,
        })
    }

    /// Step 2: takes the start token (single use), binds the flow to this browser and
    /// answers with the provider's authorize URL and the binding cookie.
    #[tracing::instrument(skip_all, fields(provider = %provider_kind))]
    pub async fn start(
        &self,
        provider_kind: ProviderKind,
        flow_token: &str,
    ) -> BrokerResult<StartRedirect> {
        let inner = &self.inner;
        if flow_token.is_empty() || flow_token.len() > MAX_PARAM_LEN {
            return Err(BrokerError::UnknownFlow);
        }
        let taken = inner
            .flows
            .take(&OpaqueSecret::new(flow_token))
            .await?
            .ok_or(BrokerError::UnknownFlow)?;
        let mut flow = PendingFlow::from_payload(&taken.payload)?;
        let now = Utc::now();
        if flow.provider != provider_kind || flow.expires_at <= now {
            return Err(BrokerError::UnknownFlow);
        }
        let provider = inner.providers.load().get(flow.provider, &flow.instance)?;
        let binding = random::token();
        flow.binding_hash = Some(random::sha256(&binding));
        let remaining = (flow.expires_at - now).to_std().unwrap_or_default();
        inner
            .flows
            .put(&flow.state, &flow.to_payload()?, remaining)
            .await?;

        let redirect = Url::parse(&flow.redirect_uri)
            .map_err(|e| BrokerError::Internal(format!("stored redirect URI: {e}")))?;
        let authorize_url = oauth::provider_authorize_url(
            provider.as_ref(),
            &redirect,
            flow.state.expose_secret(),
            flow.verifier.as_ref().map(PkceVerifier::expose_secret),
            &flow.requested_scopes,
            flow.login_hint.as_deref(),
            flow.nonce.expose_secret(),
        )
        .map_err(BrokerError::Provider)?;
        Ok(StartRedirect {
            authorize_url,
            cookie_name: binding_cookie_name(flow.state.expose_secret()),
            cookie_value: OpaqueSecret::new(binding),
            cookie_path: redirect.path().to_owned(),
            cookie_max_age: remaining,
        })
    }
}

/// The caller's scopes (or the provider's defaults) plus every scope the catalogue marks
/// required, so a required scope is always asked for.
fn requested_scopes(provider: &dyn Provider, asked: Option<ScopeSet>) -> ScopeSet {
    let base = asked
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| provider.default_scopes());
    let required: ScopeSet = provider
        .scope_catalogue()
        .into_iter()
        .filter(|e| e.is_required)
        .map(|e| e.scope)
        .collect();
    base.union(&required)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;

    #[test]
    fn a_pending_flow_prints_no_secret_and_its_payload_round_trips() {
        let flow = PendingFlow {
            user_id: UserId::parse("user-1").unwrap(),
            provider: ProviderKind::Google,
            instance: String::new(),
            issuer: None,
            redirect_uri: "https://tether.example/oauth/google/callback".to_owned(),
            verifier: Some(PkceVerifier::new("verifier-text")),
            nonce: OpaqueSecret::new("nonce-text"),
            requested_scopes: ScopeSet::parse_delimited("openid email").unwrap(),
            return_to: "/app".to_owned(),
            state: OpaqueSecret::new("state-text"),
            binding_hash: None,
            login_hint: None,
            expires_at: Utc::now(),
            upgrade_of: None,
        };
        let printed = format!("{flow:?}");
        for secret in ["verifier-text", "nonce-text", "state-text"] {
            assert!(!printed.contains(secret), "{printed}");
        }
        let back = PendingFlow::from_payload(&flow.to_payload().unwrap()).unwrap();
        assert_eq!(back.verifier.unwrap().expose_secret(), "verifier-text");
        assert_eq!(back.nonce.expose_secret(), "nonce-text");
        assert_eq!(back.state.expose_secret(), "state-text");
        let without = PendingFlow {
            verifier: None,
            ..back
        };
        let back = PendingFlow::from_payload(&without.to_payload().unwrap()).unwrap();
        assert!(back.verifier.is_none());
    }
}
