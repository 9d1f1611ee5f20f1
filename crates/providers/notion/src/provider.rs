//! The Notion provider: the `Provider` contract over Notion's OAuth endpoints and API.

use async_trait::async_trait;
use serde_json::Value;
use tether_core::ScopeSet;
use tether_core::provider::{
    AccountIdentity, AuthorizeContext, ConnectionReport, Provider, ProviderError, ProviderSettings,
    RawTokenResponse,
};
use tether_core::secret::AccessToken;
use tether_provider_common::{Described, ProviderBase, provider_basics};

use crate::config::{Config, NOTION};
use crate::{api, identity};

/// Notion public connections (see the crate docs for endpoints and options).
#[derive(Debug, Clone)]
pub struct NotionProvider {
    base: ProviderBase,
    config: Config,
}

impl NotionProvider {
    /// Builds the provider; a bad option or endpoint is `Misconfigured`, naming it.
    pub fn new(settings: &ProviderSettings, http: reqwest::Client) -> Result<Self, ProviderError> {
        let config = Config::read(settings)?;
        let mut base = ProviderBase::new(&NOTION, settings, config.endpoints.clone(), http);
        base.capabilities.pkce = config.pkce;
        Ok(Self { base, config })
    }

    /// The `Notion-Version` header value for API calls made with this connection's tokens
    /// (the proxy should send it when the caller does not).
    pub fn notion_version(&self) -> &str {
        &self.config.notion_version
    }

    async fn bot_user(&self, access_token: &AccessToken) -> Result<Value, ProviderError> {
        api::get_json(
            &self.base.http,
            &self.config.me_url,
            &self.config.notion_version,
            access_token,
        )
        .await
    }
}

impl Described for NotionProvider {
    fn base(&self) -> &ProviderBase {
        &self.base
    }
}

#[async_trait]
impl Provider for NotionProvider {
    provider_basics!();

    fn authorize_params(&self, _ctx: &AuthorizeContext<'_>) -> Vec<(String, String)> {
        vec![("owner".to_owned(), "user".to_owned())]
    }

    /// Notion reports no scopes and grants none: nothing asked for counts as granted.
    /// Notion requires `Notion-Version` on every request, the OAuth endpoints included.
    fn token_request_headers(&self) -> Vec<(String, String)> {
        vec![(
            "Notion-Version".to_owned(),
            self.config.notion_version.clone(),
        )]
    }

    fn api_headers(&self) -> Vec<(String, String)> {
        self.token_request_headers()
    }

    fn granted_scopes_when_unreported(&self, _requested: &ScopeSet) -> ScopeSet {
        ScopeSet::new()
    }

    async fn fetch_identity(
        &self,
        access_token: &AccessToken,
        response: &RawTokenResponse,
        _nonce: Option<&str>,
    ) -> Result<AccountIdentity, ProviderError> {
        if identity::answer_names_account(&response.extra) {
            return identity::account(&response.extra, None);
        }
        let bot_user = self.bot_user(access_token).await?;
        identity::account(&response.extra, Some(&bot_user))
    }

    async fn test_connection(
        &self,
        access_token: &AccessToken,
    ) -> Result<ConnectionReport, ProviderError> {
        let me = self.bot_user(access_token).await?;
        let id = me.get("id").and_then(Value::as_str).unwrap_or("?");
        let workspace = me
            .get("bot")
            .and_then(|b| b.get("workspace_name"))
            .and_then(Value::as_str)
            .map(|w| format!(" in workspace {w}"))
            .unwrap_or_default();
        Ok(ConnectionReport {
            detail: format!("Notion /users/me answered for bot {id}{workspace}"),
        })
    }
}
