//! The Orange SMS provider: construction from settings and the `Provider` contract for an
//! app-level, client-credentials-only provider (no user, no authorize URL, no refresh
//! token, no revocation; identity is the app's client id).

use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use tether_core::provider::{
    AccountIdentity, ClientAuthMethod, ClientCredentials, ConnectionReport, Provider,
    ProviderCapabilities, ProviderEndpoints, ProviderError, ProviderSettings, RawTokenResponse,
};
use tether_core::scope_catalog::ScopeCatalogEntry;
use tether_core::secret::AccessToken;
use tether_core::{ProviderKind, ScopeSet};

use crate::errors;
use crate::phone::to_tel_uri;

/// Endpoint names a configuration may override.
pub const ENDPOINT_NAMES: [&str; 2] = ["token", "api_base"];
/// Options a configuration may set.
pub const OPTION_NAMES: [&str; 2] = ["sender_address", "sender_name"];

const TOKEN_URL: &str = "https://api.orange.com/oauth/v3/token";
const API_BASE: &str = "https://api.orange.com";

/// Orange's SMS API (Africa & Middle East) with an app token.
#[derive(Debug, Clone)]
pub struct OrangeProvider {
    instance: String,
    endpoints: ProviderEndpoints,
    client: ClientCredentials,
    pub(crate) default_sender: Option<String>,
    pub(crate) default_sender_name: Option<String>,
    pub(crate) http: reqwest::Client,
}

impl OrangeProvider {
    /// Builds the provider; refuses unknown endpoint names and options, invalid URLs, a
    /// missing client secret and a `sender_address` that is not E.164.
    pub fn new(settings: &ProviderSettings, http: reqwest::Client) -> Result<Self, ProviderError> {
        settings.check_known(&ENDPOINT_NAMES, &OPTION_NAMES)?;
        if settings.client.client_id.trim().is_empty() {
            return Err(ProviderError::Misconfigured {
                message: "Orange needs a client id".to_owned(),
            });
        }
        if settings.client.client_secret.is_none() {
            return Err(ProviderError::Misconfigured {
                message: "Orange needs a client secret (sent with the client id as HTTP Basic)"
                    .to_owned(),
            });
        }
        let default_sender = settings
            .option("sender_address")
            .map(|s| to_tel_uri(s, "option `sender_address`"))
            .transpose()
            .map_err(|e| ProviderError::Misconfigured {
                message: e.to_string(),
            })?;
        let default_sender_name = settings
            .option("sender_name")
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        let token_url = settings.endpoint_url("token", TOKEN_URL)?;
        let api_base = settings
            .endpoint_url("api_base", API_BASE)?
            .trim_end_matches('/')
            .to_owned();
        Ok(Self {
            instance: settings.instance.clone(),
            endpoints: ProviderEndpoints {
                authorize_url: None,
                token_url,
                revocation_url: None,
                userinfo_url: None,
                api_base_url: api_base,
                issuer: None,
            },
            client: settings.client.clone(),
            default_sender,
            default_sender_name,
            http,
        })
    }

    pub(crate) fn api_base(&self) -> &str {
        &self.endpoints.api_base_url
    }
}

#[async_trait]
impl Provider for OrangeProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Orange
    }

    fn instance(&self) -> &str {
        &self.instance
    }

    fn endpoints(&self) -> &ProviderEndpoints {
        &self.endpoints
    }

    fn client(&self) -> &ClientCredentials {
        &self.client
    }

    /// The portal's ready-made `Authorization: Basic …` header.
    fn client_auth_method(&self) -> ClientAuthMethod {
        ClientAuthMethod::Basic
    }

    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities {
            pkce: false,
            revocation: false,
            rotates_refresh_tokens: false,
            requires_issuer_parameter: false,
        }
    }

    /// Orange has no OAuth scopes: access comes from the app's API subscriptions.
    fn default_scopes(&self) -> ScopeSet {
        ScopeSet::new()
    }

    fn scope_catalogue(&self) -> Vec<ScopeCatalogEntry> {
        Vec::new()
    }

    fn classify_error(
        &self,
        status: u16,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> ProviderError {
        errors::classify(status, retry_after, body)
    }

    /// No user: the "account" is the application, named by its client id.
    async fn fetch_identity(
        &self,
        _access_token: &AccessToken,
        _response: &RawTokenResponse,
    ) -> Result<AccountIdentity, ProviderError> {
        Ok(AccountIdentity {
            subject: self.client.client_id.clone(),
            label: Some(format!("Orange SMS application {}", self.client.client_id)),
            metadata: json!({ "grant": "client_credentials" }),
        })
    }

    /// The contracts (balance) call with this token: proves the token and the subscription
    /// without sending an SMS.
    async fn test_connection(
        &self,
        access_token: &AccessToken,
    ) -> Result<ConnectionReport, ProviderError> {
        self.test_with_balance(access_token).await
    }

    fn is_expired_token_answer(&self, status: u16, body: &[u8]) -> bool {
        errors::is_expired_token(status, body)
    }
}

#[cfg(test)]
mod tests {
    use tether_core::secret::ClientSecret;

    use super::*;

    fn settings() -> ProviderSettings {
        ProviderSettings::new("orange-id", Some(ClientSecret::new("orange-secret")))
    }

    fn build(s: &ProviderSettings) -> Result<OrangeProvider, ProviderError> {
        OrangeProvider::new(s, reqwest::Client::new())
    }

    #[test]
    fn defaults_are_orange_production_with_no_user_flow() {
        let p = build(&settings()).unwrap();
        assert_eq!(p.kind(), ProviderKind::Orange);
        assert_eq!(
            p.endpoints().token_url,
            "https://api.orange.com/oauth/v3/token"
        );
        assert_eq!(p.endpoints().api_base_url, "https://api.orange.com");
        assert!(p.endpoints().authorize_url.is_none());
        assert!(p.endpoints().revocation_url.is_none());
        let caps = p.capabilities();
        assert!(!caps.revocation && !caps.pkce && !caps.rotates_refresh_tokens);
        assert!(p.default_scopes().is_empty());
        assert_eq!(p.client_auth_method(), ClientAuthMethod::Basic);
    }

    #[test]
    fn bad_settings_are_refused_by_name() {
        let mut s = settings();
        s.options.insert("region".into(), "x".into());
        assert!(build(&s).unwrap_err().to_string().contains("`region`"));
        let mut s = settings();
        s.endpoints.insert("authorize".into(), "https://x".into());
        assert!(build(&s).unwrap_err().to_string().contains("`authorize`"));
        let mut s = settings();
        s.options.insert("sender_address".into(), "2250000".into());
        assert!(
            build(&s)
                .unwrap_err()
                .to_string()
                .contains("sender_address")
        );
        let no_secret = ProviderSettings::new("orange-id", None);
        assert!(
            build(&no_secret)
                .unwrap_err()
                .to_string()
                .contains("client secret")
        );
    }

    #[test]
    fn the_sender_option_is_normalised() {
        let mut s = settings();
        s.options.insert("sender_address".into(), "+2250000".into());
        assert_eq!(
            build(&s).unwrap().default_sender.as_deref(),
            Some("tel:+2250000")
        );
    }
}
