//! Reads and checks the Notion settings: endpoints, the pinned `Notion-Version`, PKCE.

use tether_core::ProviderKind;
use tether_core::provider::{
    ClientAuthMethod, ProviderCapabilities, ProviderEndpoints, ProviderError, ProviderSettings,
};
use tether_provider_common::{EndpointSpec, ProviderDescriptor, ScopeCatalogue};
use url::Url;

/// The newest API version PROVIDERS.md lists (§4.10). Pin an older one (`2025-09-03`, the
/// JavaScript SDK v5 default; `2022-06-28`) with the `notion_version` option.
pub const DEFAULT_NOTION_VERSION: &str = "2026-03-11";

/// Notion as data: a JSON body with HTTP Basic at the token endpoint, refresh tokens that
/// rotate, revocation; PKCE only when the `pkce` option asks (Notion does not document it);
/// no OAuth scopes (capabilities are set on the connection in Notion's developer portal and
/// pages are picked by the user); Notion does not name itself in authorization responses.
pub const NOTION: ProviderDescriptor = ProviderDescriptor {
    kind: ProviderKind::Notion,
    client_auth: ClientAuthMethod::JsonBodyWithBasic,
    capabilities: ProviderCapabilities::NONE
        .with_revocation()
        .rotating_refresh_tokens(),
    endpoints: &[
        EndpointSpec::new("authorize", "https://api.notion.com/v1/oauth/authorize"),
        EndpointSpec::new("token", "https://api.notion.com/v1/oauth/token"),
        EndpointSpec::new("revocation", "https://api.notion.com/v1/oauth/revoke"),
        EndpointSpec::new("api_base", "https://api.notion.com/v1"),
        EndpointSpec::new("userinfo", "{api_base}/users/me"),
    ],
    options: &["notion_version", "pkce"],
    scopes: ScopeCatalogue::Table(&[]),
    default_scopes: &[],
    implicit_scopes: &[],
    secret_required: Some("HTTP Basic at the token endpoint"),
    token_errors: crate::errors::classify_oauth,
};

/// The checked Notion settings.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub endpoints: ProviderEndpoints,
    pub notion_version: String,
    pub pkce: bool,
    /// The bot user of the connection (`/v1/users/me`).
    pub me_url: Url,
}

fn misconfigured(message: impl Into<String>) -> ProviderError {
    ProviderError::Misconfigured {
        message: message.into(),
    }
}

impl Config {
    pub(crate) fn read(settings: &ProviderSettings) -> Result<Self, ProviderError> {
        NOTION.check(settings)?;
        let notion_version = settings
            .option("notion_version")
            .unwrap_or(DEFAULT_NOTION_VERSION)
            .to_owned();
        if !is_version(&notion_version) {
            return Err(misconfigured(format!(
                "notion: option `notion_version` must be a date such as {DEFAULT_NOTION_VERSION}, \
                 not `{notion_version}`"
            )));
        }
        let pkce = settings.flag("pkce", false)?;
        let endpoints = NOTION.resolve_endpoints(settings, &[])?;
        let me = endpoints.userinfo_url.as_deref().unwrap_or_default();
        let me_url =
            Url::parse(me).map_err(|e| misconfigured(format!("endpoint `userinfo`: {e}")))?;
        Ok(Self {
            endpoints,
            notion_version,
            pkce,
            me_url,
        })
    }
}

/// `YYYY-MM-DD`: the header value goes on every request, so nothing else gets through.
fn is_version(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 3
        && parts
            .iter()
            .zip([4, 2, 2])
            .all(|(p, len)| p.len() == len && p.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use tether_core::secret::ClientSecret;

    use super::*;

    fn settings() -> ProviderSettings {
        ProviderSettings::new("client", Some(ClientSecret::new("secret")))
    }

    #[test]
    fn production_defaults() {
        let config = Config::read(&settings()).unwrap();
        let e = &config.endpoints;
        assert_eq!(
            e.authorize_url.as_deref(),
            Some("https://api.notion.com/v1/oauth/authorize")
        );
        assert_eq!(e.token_url, "https://api.notion.com/v1/oauth/token");
        assert_eq!(
            e.revocation_url.as_deref(),
            Some("https://api.notion.com/v1/oauth/revoke")
        );
        assert_eq!(e.api_base_url, "https://api.notion.com/v1");
        assert_eq!(config.me_url.as_str(), "https://api.notion.com/v1/users/me");
        assert_eq!(config.notion_version, "2026-03-11");
        assert!(!config.pkce);
    }

    #[test]
    fn the_version_and_pkce_options_are_checked() {
        let mut s = settings();
        s.options
            .insert("notion_version".into(), "2022-06-28".into());
        s.options.insert("pkce".into(), "true".into());
        let config = Config::read(&s).unwrap();
        assert_eq!(config.notion_version, "2022-06-28");
        assert!(config.pkce);
        for bad in ["latest", "2022-6-28", "2022-06-28\r\nX: y", ""] {
            let mut s = settings();
            s.options.insert("notion_version".into(), bad.into());
            let err = Config::read(&s).unwrap_err();
            assert!(err.to_string().contains("`notion_version`"), "{bad}: {err}");
        }
        let mut s = settings();
        s.options.insert("pkce".into(), "yes".into());
        assert!(Config::read(&s).is_err());
    }

    #[test]
    fn unknown_names_bad_urls_and_missing_secrets_are_refused() {
        let mut s = settings();
        s.options.insert("tenant".into(), "x".into());
        assert!(
            Config::read(&s)
                .unwrap_err()
                .to_string()
                .contains("unknown option `tenant`")
        );
        let mut s = settings();
        s.endpoints.insert("revocation".into(), "/relative".into());
        assert!(
            Config::read(&s)
                .unwrap_err()
                .to_string()
                .contains("`revocation`")
        );
        let err = Config::read(&ProviderSettings::new("client", None)).unwrap_err();
        assert!(matches!(err, ProviderError::Misconfigured { .. }));
    }
}
