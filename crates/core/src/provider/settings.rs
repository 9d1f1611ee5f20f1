//! What a provider crate is built from: the client registration, endpoint overrides and the
//! provider's own options, from configuration or the `provider_configs` table.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::ProviderError;
use super::contract::ClientCredentials;
use crate::secret::AccessToken;

/// The input of every provider crate's constructor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSettings {
    /// Tells apart several configurations of one provider (an OpenEMR site); `""` otherwise.
    pub instance: String,
    pub client: ClientCredentials,
    /// Endpoint name → URL, replacing production defaults (tests, sandboxes, regional or
    /// self-hosted sites). Common names: `authorize`, `token`, `revocation`, `userinfo`,
    /// `api_base`, `issuer`; a crate may define more and must refuse names it does not know.
    pub endpoints: BTreeMap<String, String>,
    /// Provider-specific options (`tenant`, `region`, `notion_version`, `prompt`, …). A crate
    /// documents the ones it reads and refuses any other, naming it.
    pub options: BTreeMap<String, String>,
}

impl ProviderSettings {
    pub fn new(
        client_id: impl Into<String>,
        client_secret: Option<crate::secret::ClientSecret>,
    ) -> Self {
        Self {
            instance: String::new(),
            client: ClientCredentials {
                client_id: client_id.into(),
                client_secret,
            },
            endpoints: BTreeMap::new(),
            options: BTreeMap::new(),
        }
    }

    /// Refuses endpoint names and option keys outside the given lists.
    pub fn check_known(&self, endpoints: &[&str], options: &[&str]) -> Result<(), ProviderError> {
        if let Some(bad) = self
            .endpoints
            .keys()
            .find(|k| !endpoints.contains(&k.as_str()))
        {
            return Err(ProviderError::Misconfigured {
                message: format!("unknown endpoint `{bad}`; known: {}", endpoints.join(", ")),
            });
        }
        if let Some(bad) = self.options.keys().find(|k| !options.contains(&k.as_str())) {
            return Err(ProviderError::Misconfigured {
                message: format!(
                    "unknown option `{bad}`; known: {}",
                    if options.is_empty() {
                        "none".to_owned()
                    } else {
                        options.join(", ")
                    }
                ),
            });
        }
        Ok(())
    }

    /// The override for `name`, or `default`.
    pub fn endpoint(&self, name: &str, default: &str) -> String {
        self.endpoints
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    }

    /// The override for endpoint `name`, or `default`, checked to be an absolute http(s) URL.
    pub fn endpoint_url(&self, name: &str, default: &str) -> Result<String, ProviderError> {
        let text = self.endpoint(name, default);
        let ok = url::Url::parse(&text)
            .is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.has_host());
        if ok {
            Ok(text)
        } else {
            Err(ProviderError::Misconfigured {
                message: format!("endpoint `{name}` must be an absolute http(s) URL, not `{text}`"),
            })
        }
    }

    pub fn option(&self, name: &str) -> Option<&str> {
        self.options.get(name).map(String::as_str)
    }

    /// A boolean option (`true`/`false`), or `default` when unset.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ProviderError> {
        match self.option(name) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(ProviderError::Misconfigured {
                message: format!("option `{name}` must be true or false, not `{other}`"),
            }),
        }
    }
}

/// Where an app-level (client-credentials) token comes from: the broker implements it with
/// its stored, shared, single-flight cache. Provider crates that call APIs with app tokens
/// (Orange SMS) take one.
#[async_trait]
pub trait AppTokenSource: Send + Sync {
    /// A token valid now.
    async fn token(&self) -> Result<AccessToken, ProviderError>;
    /// The provider rejected `rejected` as expired: a renewed token (one renewal however many
    /// callers report the same rejected token).
    async fn token_rejected(&self, rejected: &AccessToken) -> Result<AccessToken, ProviderError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_endpoint_names_and_options_are_refused_by_name() {
        let mut settings = ProviderSettings::new("id", None);
        settings.endpoints.insert("tokn".into(), "https://x".into());
        let err = settings.check_known(&["token"], &[]).unwrap_err();
        assert!(err.to_string().contains("unknown endpoint `tokn`"), "{err}");
        settings.endpoints.clear();
        settings.options.insert("tenant".into(), "common".into());
        assert!(settings.check_known(&["token"], &["tenant"]).is_ok());
        assert!(
            settings
                .check_known(&["token"], &[])
                .unwrap_err()
                .to_string()
                .contains("`tenant`")
        );
    }

    #[test]
    fn flags_parse_strictly() {
        let mut settings = ProviderSettings::new("id", None);
        assert!(settings.flag("pkce", true).unwrap());
        settings.options.insert("pkce".into(), "false".into());
        assert!(!settings.flag("pkce", true).unwrap());
        settings.options.insert("pkce".into(), "no".into());
        assert!(settings.flag("pkce", true).is_err());
    }
}
