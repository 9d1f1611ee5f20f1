//! The Microsoft provider: the `Provider` contract over the identity platform v2.0 and Graph.

use async_trait::async_trait;
use serde_json::Value;
use tether_core::provider::{
    AccountIdentity, AuthorizeContext, ConnectionReport, Provider, ProviderError, ProviderSettings,
    RawTokenResponse,
};
use tether_core::secret::AccessToken;
use tether_core::{Scope, ScopeSet};
use tether_oidc::{ExpectedIssuer, IdTokenVerifier};
use tether_provider_common::{Described, ProviderBase, provider_basics};

use crate::config::{Config, MICROSOFT};
use crate::{graph, identity, scopes};

/// Microsoft identity platform v2.0 + Microsoft Graph (see the crate docs for endpoints and
/// options).
#[derive(Debug, Clone)]
pub struct MicrosoftProvider {
    base: ProviderBase,
    config: Config,
    id_tokens: IdTokenVerifier,
}

impl MicrosoftProvider {
    /// Builds the provider; a bad tenant, option or endpoint is `Misconfigured`, naming it.
    pub fn new(settings: &ProviderSettings, http: reqwest::Client) -> Result<Self, ProviderError> {
        let config = Config::read(settings)?;
        let id_tokens = IdTokenVerifier::new(
            config.jwks_url.clone(),
            http.clone(),
            settings.client.client_id.clone(),
            ExpectedIssuer::PerTenant(config.id_token_issuer.clone()),
        );
        let base = ProviderBase::new(&MICROSOFT, settings, config.endpoints.clone(), http);
        Ok(Self {
            base,
            config,
            id_tokens,
        })
    }

    /// The configured tenant (`common`, `organizations`, `consumers`, an id or a domain).
    pub fn tenant(&self) -> &str {
        &self.config.tenant
    }

    /// `https://graph.example/` for the configured API base: the prefix Microsoft puts on
    /// Graph scopes it reports.
    fn graph_origin(&self) -> String {
        url::Url::parse(&self.base.endpoints.api_base_url)
            .map(|u| format!("{}/", u.origin().ascii_serialization()))
            .unwrap_or_default()
    }

    fn me_with(&self, select: &str) -> url::Url {
        let mut url = self.config.me_url.clone();
        url.set_query(Some(&format!("$select={select}")));
        url
    }
}

impl Described for MicrosoftProvider {
    fn base(&self) -> &ProviderBase {
        &self.base
    }
}

#[async_trait]
impl Provider for MicrosoftProvider {
    provider_basics!();

    /// `offline_access` and `openid` are never reported back: the refresh token and the ID
    /// token are their evidence.
    fn grants(&self, granted: &ScopeSet, wanted: &Scope) -> bool {
        granted.contains(wanted) || self.implicit_scopes().contains(wanted)
    }

    fn authorize_params(&self, ctx: &AuthorizeContext<'_>) -> Vec<(String, String)> {
        let mut params = Vec::new();
        if let Some(prompt) = &self.config.prompt {
            params.push(("prompt".to_owned(), prompt.clone()));
        }
        if let Some(hint) = ctx.login_hint {
            params.push(("login_hint".to_owned(), hint.to_owned()));
        }
        if let Some(domain) = &self.config.domain_hint {
            params.push(("domain_hint".to_owned(), domain.clone()));
        }
        params
    }

    /// The standard lenient parse, with the reported `scope` normalised to the requested
    /// spelling; `openid` and `offline_access` count as granted when their products (an ID
    /// token, a refresh token) came back.
    fn parse_token_response(&self, body: &[u8]) -> Result<RawTokenResponse, ProviderError> {
        let mut raw = RawTokenResponse::parse(body)?;
        if let Some(reported) = raw.scope.take() {
            let mut names = scopes::normalise_reported(&reported, &self.graph_origin());
            for (implied, present) in [
                ("openid", raw.id_token.is_some()),
                ("offline_access", raw.refresh_token.is_some()),
            ] {
                if present && !names.split_whitespace().any(|n| n == implied) {
                    names = format!("{names} {implied}");
                }
            }
            raw.scope = Some(names.trim().to_owned());
        }
        Ok(raw)
    }

    /// Microsoft may omit `scope`; then the token holds what was requested (PROVIDERS §3.4).
    fn granted_scopes_when_unreported(&self, requested: &ScopeSet) -> ScopeSet {
        requested.clone()
    }

    /// The account named by the answer's ID token, once verified (signature, issuer of the
    /// token's tenant, audience, expiry, `nonce`) and its tenant admitted by the configured one.
    async fn fetch_identity(
        &self,
        access_token: &AccessToken,
        response: &RawTokenResponse,
        nonce: Option<&str>,
    ) -> Result<AccountIdentity, ProviderError> {
        let id_token = response
            .id_token
            .as_ref()
            .ok_or_else(|| ProviderError::Upstream {
                status: None,
                retry_after: None,
                message: "the token answer has no ID token (was `openid` granted?)".to_owned(),
            })?;
        let verified = self
            .id_tokens
            .verify(id_token.expose_secret(), nonce)
            .await?;
        let claims = identity::IdClaims::from_verified(verified)?;
        identity::check_tenant(&claims, &self.config.tenant)?;
        // Fail before calling Graph when the ID token cannot name the account.
        identity::subject(&claims)?;
        let me = graph::get_json(
            &self.base.http,
            &self.me_with("id,displayName,mail,userPrincipalName"),
            "/me",
            access_token,
        )
        .await?;
        identity::account(&claims, &me, &self.config.tenant)
    }

    async fn test_connection(
        &self,
        access_token: &AccessToken,
    ) -> Result<ConnectionReport, ProviderError> {
        let me = graph::get_json(&self.base.http, &self.me_with("id"), "/me", access_token).await?;
        let id = me.get("id").and_then(Value::as_str).unwrap_or("?");
        Ok(ConnectionReport {
            detail: format!("Microsoft Graph /me answered for user {id}"),
        })
    }
}
