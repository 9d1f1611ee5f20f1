//! Reads and checks the Notion settings: endpoints, the pinned `Notion-Version`, PKCE.

use tether_core::provider::{ProviderEndpoints, ProviderError, ProviderSettings};
use url::Url;

/// Endpoint names the settings may override.
pub(crate) const ENDPOINT_NAMES: &[&str] =
    &["authorize", "token", "revocation", "api_base", "userinfo"];
/// Options the settings may set.
pub(crate) const OPTION_NAMES: &[&str] = &["notion_version", "pkce"];

/// The newest API version PROVIDERS.md lists (§4.10). Pin an older one (`2025-09-03`, the
/// JavaScript SDK v5 default; `2022-06-28`) with the `notion_version` option.
pub const DEFAULT_NOTION_VERSION: &str = "2026-03-11";

const API_BASE: &str = "https://api.notion.com/v1";

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
        settings.check_known(ENDPOINT_NAMES, OPTION_NAMES)?;
        if settings.client.client_id.trim().is_empty() {
            return Err(misconfigured("notion: the OAuth client id is empty"));
        }
        if settings.client.client_secret.is_none() {
            return Err(misconfigured(
                "notion: the OAuth client secret is required (HTTP Basic at the token endpoint)",
            ));
        }
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

        let api_base = checked_url(settings, "api_base", API_BASE)?;
        let api_base = api_base.as_str().trim_end_matches('/').to_owned();
        let authorize = checked_url(
            settings,
            "authorize",
            &format!("{API_BASE}/oauth/authorize"),
        )?;
        let token = checked_url(settings, "token", &format!("{API_BASE}/oauth/token"))?;
        let revocation = checked_url(settings, "revocation", &format!("{API_BASE}/oauth/revoke"))?;
        let me_url = checked_url(settings, "userinfo", &format!("{api_base}/users/me"))?;
        Ok(Self {
            endpoints: ProviderEndpoints {
                authorize_url: Some(authorize.to_string()),
                token_url: token.to_string(),
                revocation_url: Some(revocation.to_string()),
                userinfo_url: Some(me_url.to_string()),
                api_base_url: api_base,
                // Notion does not name itself in authorization responses (RFC 9207).
                issuer: None,
            },
            notion_version,
            pkce,
            me_url,
        })
    }
}

/// The endpoint's URL, checked by the core rule (absolute http(s)).
fn checked_url(
    settings: &ProviderSettings,
    name: &str,
    default: &str,
) -> Result<Url, ProviderError> {
    let text = settings.endpoint_url(name, default)?;
    Url::parse(&text).map_err(|e| misconfigured(format!("endpoint `{name}`: {e}")))
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
