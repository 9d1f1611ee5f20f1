//! The Dexcom provider: construction from settings (region, PKCE, endpoint overrides) and the
//! `Provider` contract (form-body client authentication, rotating refresh tokens, identity
//! and connection test via the data range, no revocation).

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use tether_core::ProviderKind;
use tether_core::provider::{
    AccountIdentity, ClientAuthMethod, ConnectionReport, Provider, ProviderCapabilities,
    ProviderError, ProviderSettings, RawTokenResponse,
};
use tether_core::secret::AccessToken;
use tether_provider_common::{
    Described, EndpointSpec, ProviderBase, ProviderDescriptor, ScopeCatalogue, provider_basics,
};
use url::Url;

use crate::region::Region;
use crate::{api, scopes};

/// Options a configuration may set.
pub const OPTION_NAMES: [&str; 2] = ["region", "pkce"];

/// Dexcom as data: form-body client authentication, PKCE (option `pkce`), single-use
/// refresh tokens, no revocation; every default on the region's host (`{base}`).
pub const DEXCOM: ProviderDescriptor = ProviderDescriptor {
    kind: ProviderKind::Dexcom,
    // Dexcom documents the client id and secret in the form body only.
    client_auth: ClientAuthMethod::Post,
    capabilities: ProviderCapabilities::NONE
        .with_pkce()
        .rotating_refresh_tokens(),
    endpoints: &[
        EndpointSpec::new("authorize", "{base}/v2/oauth2/login"),
        EndpointSpec::new("token", "{base}/v2/oauth2/token"),
        EndpointSpec::new("api_base", "{base}"),
    ],
    options: &OPTION_NAMES,
    scopes: ScopeCatalogue::Table(&scopes::SCOPES),
    default_scopes: &[scopes::OFFLINE_ACCESS],
    implicit_scopes: &[],
    secret_required: Some("it is sent in the token request body"),
    token_errors: classify_token_error,
};

/// RFC 6749 errors, with the message taken from whatever shape the body has.
fn classify_token_error(status: u16, retry_after: Option<Duration>, body: &[u8]) -> ProviderError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let error = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(Value::as_str)
        .map(tether_provider_common::error_body::clip);
    let description = api::error_message(body).filter(|m| Some(m) != error.as_ref());
    ProviderError::from_oauth_error(
        status,
        retry_after,
        error.as_deref(),
        description.as_deref(),
    )
}

/// Dexcom (OAuth on `/v2/oauth2/…`, data on `/v3/users/self/…`).
#[derive(Debug, Clone)]
pub struct DexcomProvider {
    pub(crate) base: ProviderBase,
    pub(crate) region: Region,
}

impl DexcomProvider {
    /// Builds the provider; refuses unknown endpoint names and options, an unknown `region`,
    /// a `pkce` that is not `true`/`false`, invalid URLs and a missing client secret.
    pub fn new(settings: &ProviderSettings, http: reqwest::Client) -> Result<Self, ProviderError> {
        DEXCOM.check(settings)?;
        let region = settings
            .option("region")
            .map(Region::parse)
            .transpose()?
            .unwrap_or(Region::Us);
        let vars = [("base", region.base_url().to_owned())];
        let mut base = ProviderBase::configure(&DEXCOM, settings, http, &vars)?;
        base.capabilities.pkce = settings.flag("pkce", true)?;
        Ok(Self { base, region })
    }

    /// The configured deployment.
    pub fn region(&self) -> Region {
        self.region
    }

    /// `{api_base}{path}` (path starting with `/`).
    pub(crate) fn api_url(&self, path: &str) -> Result<Url, ProviderError> {
        self.base.api_url(path)
    }
}

impl Described for DexcomProvider {
    fn base(&self) -> &ProviderBase {
        &self.base
    }
}

#[async_trait]
impl Provider for DexcomProvider {
    provider_basics!();

    async fn fetch_identity(
        &self,
        access_token: &AccessToken,
        _response: &RawTokenResponse,
        _nonce: Option<&str>,
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
