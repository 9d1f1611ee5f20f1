//! The Dexcom provider: construction from settings (region, PKCE, endpoint overrides) and the
//! `Provider` contract (form-body client authentication, rotating refresh tokens, identity
//! and connection test via the data range, no revocation).

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use tether_core::provider::{
    AccountIdentity, ClientAuthMethod, ClientCredentials, ConnectionReport, Provider,
    ProviderCapabilities, ProviderEndpoints, ProviderError, ProviderSettings, RawTokenResponse,
};
use tether_core::scope_catalog::ScopeCatalogEntry;
use tether_core::secret::AccessToken;
use tether_core::{ProviderKind, ScopeSet};
use url::Url;

use crate::region::Region;
use crate::{api, scopes};

/// Endpoint names a configuration may override.
pub const ENDPOINT_NAMES: [&str; 3] = ["authorize", "token", "api_base"];
/// Options a configuration may set.
pub const OPTION_NAMES: [&str; 2] = ["region", "pkce"];

/// Dexcom (OAuth on `/v2/oauth2/…`, data on `/v3/users/self/…`).
#[derive(Debug, Clone)]
pub struct DexcomProvider {
    instance: String,
    endpoints: ProviderEndpoints,
    client: ClientCredentials,
    pub(crate) region: Region,
    pkce: bool,
    pub(crate) http: reqwest::Client,
}

impl DexcomProvider {
    /// Builds the provider; refuses unknown endpoint names and options, an unknown `region`,
    /// a `pkce` that is not `true`/`false`, invalid URLs and a missing client secret.
    pub fn new(settings: &ProviderSettings, http: reqwest::Client) -> Result<Self, ProviderError> {
        settings.check_known(&ENDPOINT_NAMES, &OPTION_NAMES)?;
        if settings.client.client_id.trim().is_empty() {
            return Err(ProviderError::Misconfigured {
                message: "Dexcom needs a client id".to_owned(),
            });
        }
        if settings.client.client_secret.is_none() {
            return Err(ProviderError::Misconfigured {
                message: "Dexcom needs a client secret (it is sent in the token request body)"
                    .to_owned(),
            });
        }
        let region = settings
            .option("region")
            .map(Region::parse)
            .transpose()?
            .unwrap_or(Region::Us);
        let pkce = settings.flag("pkce", true)?;
        let base = region.base_url();
        let authorize = settings.endpoint_url("authorize", &format!("{base}/v2/oauth2/login"))?;
        let token = settings.endpoint_url("token", &format!("{base}/v2/oauth2/token"))?;
        let api_base = settings
            .endpoint_url("api_base", base)?
            .trim_end_matches('/')
            .to_owned();
        Ok(Self {
            instance: settings.instance.clone(),
            endpoints: ProviderEndpoints {
                authorize_url: Some(authorize),
                token_url: token,
                revocation_url: None,
                userinfo_url: None,
                api_base_url: api_base,
                issuer: None,
            },
            client: settings.client.clone(),
            region,
            pkce,
            http,
        })
    }

    /// The configured deployment.
    pub fn region(&self) -> Region {
        self.region
    }

    /// `{api_base}{path}` (path starting with `/`).
    pub(crate) fn api_url(&self, path: &str) -> Result<Url, ProviderError> {
        Url::parse(&format!("{}{path}", self.endpoints.api_base_url)).map_err(|e| {
            ProviderError::Misconfigured {
                message: format!("endpoint `api_base` cannot take a path: {e}"),
            }
        })
    }
}

#[async_trait]
impl Provider for DexcomProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Dexcom
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

    /// Dexcom documents the client id and secret in the form body only.
    fn client_auth_method(&self) -> ClientAuthMethod {
        ClientAuthMethod::Post
    }

    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities {
            pkce: self.pkce,
            revocation: false,
            rotates_refresh_tokens: true,
            requires_issuer_parameter: false,
        }
    }

    fn default_scopes(&self) -> ScopeSet {
        scopes::default_scopes()
    }

    fn scope_catalogue(&self) -> Vec<ScopeCatalogEntry> {
        scopes::catalogue()
    }

    /// RFC 6749 errors, with the message taken from whatever shape the body has.
    fn classify_error(
        &self,
        status: u16,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> ProviderError {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let error = parsed
            .as_ref()
            .and_then(|v| v.get("error"))
            .and_then(Value::as_str)
            .map(api::clip);
        let description = api::error_message(body).filter(|m| Some(m) != error.as_ref());
        ProviderError::from_oauth_error(
            status,
            retry_after,
            error.as_deref(),
            description.as_deref(),
        )
    }

    async fn fetch_identity(
        &self,
        access_token: &AccessToken,
        _response: &RawTokenResponse,
    ) -> Result<AccountIdentity, ProviderError> {
        self.identity_from_data_range(access_token).await
    }

    async fn test_connection(
        &self,
        access_token: &AccessToken,
    ) -> Result<ConnectionReport, ProviderError> {
        self.test_with_data_range(access_token).await
    }
}

#[cfg(test)]
mod tests {
    use tether_core::secret::ClientSecret;

    use super::*;

    fn settings() -> ProviderSettings {
        ProviderSettings::new("client-1", Some(ClientSecret::new("s3cret")))
    }

    fn build(settings: &ProviderSettings) -> Result<DexcomProvider, ProviderError> {
        DexcomProvider::new(settings, reqwest::Client::new())
    }

    #[test]
    fn defaults_are_the_us_production_hosts_with_pkce() {
        let p = build(&settings()).unwrap();
        let e = p.endpoints();
        assert_eq!(
            e.authorize_url.as_deref(),
            Some("https://api.dexcom.com/v2/oauth2/login")
        );
        assert_eq!(e.token_url, "https://api.dexcom.com/v2/oauth2/token");
        assert_eq!(e.api_base_url, "https://api.dexcom.com");
        assert!(e.revocation_url.is_none());
        assert!(p.capabilities().pkce);
        assert!(p.capabilities().rotates_refresh_tokens);
        assert!(!p.capabilities().revocation);
        assert_eq!(p.client_auth_method(), ClientAuthMethod::Post);
    }

    #[test]
    fn each_region_uses_its_own_host() {
        for (region, host) in [
            ("eu", "https://api.dexcom.eu"),
            ("jp", "https://api.dexcom.jp"),
            ("sandbox", "https://sandbox-api.dexcom.com"),
        ] {
            let mut s = settings();
            s.options.insert("region".into(), region.into());
            let p = build(&s).unwrap();
            assert_eq!(p.endpoints().token_url, format!("{host}/v2/oauth2/token"));
            assert_eq!(p.endpoints().api_base_url, host);
            assert_eq!(p.region().as_str(), region);
        }
    }

    #[test]
    fn endpoint_overrides_win_over_the_region() {
        let mut s = settings();
        s.options.insert("region".into(), "eu".into());
        s.endpoints
            .insert("token".into(), "http://127.0.0.1:9/token".into());
        s.endpoints
            .insert("api_base".into(), "http://127.0.0.1:9/".into());
        let p = build(&s).unwrap();
        assert_eq!(p.endpoints().token_url, "http://127.0.0.1:9/token");
        assert_eq!(p.endpoints().api_base_url, "http://127.0.0.1:9");
        assert_eq!(
            p.endpoints().authorize_url.as_deref(),
            Some("https://api.dexcom.eu/v2/oauth2/login")
        );
    }

    #[test]
    fn pkce_can_be_switched_off() {
        let mut s = settings();
        s.options.insert("pkce".into(), "false".into());
        assert!(!build(&s).unwrap().capabilities().pkce);
        s.options.insert("pkce".into(), "off".into());
        assert!(build(&s).unwrap_err().to_string().contains("`pkce`"));
    }

    #[test]
    fn bad_settings_are_refused_with_a_message_naming_them() {
        let mut s = settings();
        s.options.insert("tenant".into(), "x".into());
        assert!(build(&s).unwrap_err().to_string().contains("`tenant`"));
        let mut s = settings();
        s.endpoints.insert("revocation".into(), "https://x".into());
        assert!(build(&s).unwrap_err().to_string().contains("`revocation`"));
        let mut s = settings();
        s.endpoints.insert("token".into(), "not a url".into());
        assert!(build(&s).unwrap_err().to_string().contains("`token`"));
        let mut s = settings();
        s.options.insert("region".into(), "ca".into());
        assert!(build(&s).unwrap_err().to_string().contains("`region`"));
        let no_secret = ProviderSettings::new("client-1", None);
        assert!(
            build(&no_secret)
                .unwrap_err()
                .to_string()
                .contains("client secret")
        );
    }
}
