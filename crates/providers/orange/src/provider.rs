//! The Orange SMS provider: construction from settings and the `Provider` contract for an
//! app-level, client-credentials-only provider (no user, no authorize URL, no refresh
//! token, no revocation; identity is the app's client id).

use async_trait::async_trait;
use serde_json::json;
use tether_core::ProviderKind;
use tether_core::provider::{
    AccountIdentity, ClientAuthMethod, ConnectionReport, Provider, ProviderCapabilities,
    ProviderError, ProviderSettings, RawTokenResponse,
};
use tether_core::secret::AccessToken;
use tether_provider_common::{
    Described, EndpointSpec, ProviderBase, ProviderDescriptor, ScopeCatalogue, provider_basics,
};

use crate::errors;
use crate::phone::to_tel_uri;

/// Options a configuration may set.
pub const OPTION_NAMES: [&str; 2] = ["sender_address", "sender_name"];

/// Orange SMS as data: client credentials only (no authorize, refresh, revocation or
/// userinfo), HTTP Basic (the portal's ready-made `Authorization: Basic …` header), and no
/// OAuth scopes (access comes from the app's API subscriptions).
pub const ORANGE: ProviderDescriptor = ProviderDescriptor {
    kind: ProviderKind::Orange,
    client_auth: ClientAuthMethod::Basic,
    capabilities: ProviderCapabilities::NONE,
    endpoints: &[
        EndpointSpec::new("token", "https://api.orange.com/oauth/v3/token"),
        EndpointSpec::new("api_base", "https://api.orange.com"),
    ],
    options: &OPTION_NAMES,
    scopes: ScopeCatalogue::Table(&[]),
    default_scopes: &[],
    implicit_scopes: &[],
    secret_required: Some("sent with the client id as HTTP Basic"),
    token_errors: errors::classify,
};

/// Orange's SMS API (Africa & Middle East) with an app token.
#[derive(Debug, Clone)]
pub struct OrangeProvider {
    pub(crate) base: ProviderBase,
    pub(crate) default_sender: Option<String>,
    pub(crate) default_sender_name: Option<String>,
}

impl OrangeProvider {
    /// Builds the provider; refuses unknown endpoint names and options, invalid URLs, a
    /// missing client secret and a `sender_address` that is not E.164.
    pub fn new(settings: &ProviderSettings, http: reqwest::Client) -> Result<Self, ProviderError> {
        let base = ProviderBase::configure(&ORANGE, settings, http, &[])?;
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
        Ok(Self {
            base,
            default_sender,
            default_sender_name,
        })
    }

    pub(crate) fn api_base(&self) -> &str {
        &self.base.endpoints.api_base_url
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.base.http
    }
}

impl Described for OrangeProvider {
    fn base(&self) -> &ProviderBase {
        &self.base
    }
}

#[async_trait]
impl Provider for OrangeProvider {
    provider_basics!();

    /// No user: the "account" is the application, named by its client id.
    async fn fetch_identity(
        &self,
        _access_token: &AccessToken,
        _response: &RawTokenResponse,
        _nonce: Option<&str>,
    ) -> Result<AccountIdentity, ProviderError> {
        let client_id = &self.base.client.client_id;
        Ok(AccountIdentity {
            subject: client_id.clone(),
            label: Some(format!("Orange SMS application {client_id}")),
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
