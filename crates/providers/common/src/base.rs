//! The configured values every provider has — kind, instance, endpoints, client
//! registration, client authentication, capabilities, default scopes, the HTTP client —
//! built from a [`ProviderDescriptor`] and the settings, and the [`provider_basics!`]
//! macro that answers the `Provider` trait's accessors from them.

use tether_core::provider::{
    ClientAuthMethod, ClientCredentials, ProviderCapabilities, ProviderEndpoints, ProviderError,
    ProviderSettings,
};
use tether_core::scope_catalog::ScopeCatalogEntry;
use tether_core::{ProviderKind, ScopeSet};
use url::Url;

use crate::descriptor::ProviderDescriptor;
use crate::scopes::scope_set;

/// One configured provider's data.
#[derive(Debug, Clone)]
pub struct ProviderBase {
    pub descriptor: &'static ProviderDescriptor,
    pub kind: ProviderKind,
    pub instance: String,
    pub endpoints: ProviderEndpoints,
    pub client: ClientCredentials,
    pub client_auth: ClientAuthMethod,
    pub capabilities: ProviderCapabilities,
    pub default_scopes: ScopeSet,
    pub http: reqwest::Client,
}

/// A provider built on a [`ProviderBase`]: what [`provider_basics!`] reads.
pub trait Described {
    fn base(&self) -> &ProviderBase;
}

fn misconfigured(message: String) -> ProviderError {
    ProviderError::Misconfigured { message }
}

/// `template` with each `{name}` replaced by its value.
fn fill(template: &str, vars: &[(&str, String)]) -> String {
    vars.iter()
        .fold(template.to_owned(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
}

impl ProviderDescriptor {
    /// Refuses endpoint names and options the descriptor does not list, an empty client id
    /// and, when the descriptor requires one, a missing or empty client secret.
    pub fn check(&self, settings: &ProviderSettings) -> Result<(), ProviderError> {
        settings.check_known(&self.endpoint_names(), self.options)?;
        self.check_client(settings)
    }

    /// Refuses an empty client id and, when the descriptor requires one, a missing or empty
    /// client secret.
    pub fn check_client(&self, settings: &ProviderSettings) -> Result<(), ProviderError> {
        let name = self.kind.display_name();
        if settings.client.client_id.trim().is_empty() {
            return Err(misconfigured(format!("{name} needs a client id")));
        }
        if let Some(why) = self.secret_required
            && settings
                .client
                .client_secret
                .as_ref()
                .is_none_or(|s| s.expose_secret().is_empty())
        {
            return Err(misconfigured(format!(
                "{name} needs a client secret ({why})"
            )));
        }
        Ok(())
    }

    /// Every endpoint: the override, else the default with `vars` (and `{api_base}`) filled
    /// in. Each but `issuer` (a string compared with the callback's `iss`) must be an
    /// absolute http(s) URL; the API base loses a trailing `/`.
    pub fn resolve_endpoints(
        &self,
        settings: &ProviderSettings,
        vars: &[(&str, String)],
    ) -> Result<ProviderEndpoints, ProviderError> {
        Ok(endpoints_of(&self.resolve_urls(settings, vars)?))
    }

    /// Every endpoint as [`ProviderDescriptor::resolve_endpoints`] resolves it, by name,
    /// including the crate's own names (Microsoft's `jwks`).
    pub fn resolve_urls(
        &self,
        settings: &ProviderSettings,
        vars: &[(&str, String)],
    ) -> Result<Vec<(&'static str, String)>, ProviderError> {
        let mut vars = vars.to_vec();
        let mut resolved: Vec<(&str, String)> = Vec::new();
        for spec in self.endpoints {
            let default = spec.default.map(|d| fill(d, &vars));
            let value = match (settings.endpoints.get(spec.name), default) {
                (None, None) => continue,
                (configured, default) if spec.name == "issuer" => {
                    configured.cloned().or(default).unwrap_or_default()
                }
                (_, default) => {
                    settings.endpoint_url(spec.name, default.as_deref().unwrap_or_default())?
                }
            };
            let value = if spec.name == "api_base" {
                let trimmed = value.trim_end_matches('/').to_owned();
                vars.push(("api_base", trimmed.clone()));
                trimmed
            } else {
                value
            };
            resolved.push((spec.name, value));
        }
        Ok(resolved)
    }
}

/// The value of endpoint `name` among resolved ones.
pub fn resolved_url(resolved: &[(&str, String)], name: &str) -> Option<String> {
    resolved
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.clone())
}

/// The `Provider` endpoints among resolved ones.
pub fn endpoints_of(resolved: &[(&str, String)]) -> ProviderEndpoints {
    let get = |name: &str| resolved_url(resolved, name);
    ProviderEndpoints {
        authorize_url: get("authorize"),
        token_url: get("token").unwrap_or_default(),
        revocation_url: get("revocation"),
        userinfo_url: get("userinfo"),
        api_base_url: get("api_base").unwrap_or_default(),
        issuer: get("issuer"),
    }
}

impl ProviderBase {
    /// [`ProviderDescriptor::check`], [`ProviderDescriptor::resolve_endpoints`] with `vars`
    /// (values the crate computed, such as `{base}` for a region's host), then
    /// [`ProviderBase::new`].
    pub fn configure(
        descriptor: &'static ProviderDescriptor,
        settings: &ProviderSettings,
        http: reqwest::Client,
        vars: &[(&str, String)],
    ) -> Result<Self, ProviderError> {
        descriptor.check(settings)?;
        let endpoints = descriptor.resolve_endpoints(settings, vars)?;
        Ok(Self::new(descriptor, settings, endpoints, http))
    }

    /// The base with endpoints the crate resolved (and settings it checked) itself; the rest
    /// as the descriptor says.
    pub fn new(
        descriptor: &'static ProviderDescriptor,
        settings: &ProviderSettings,
        endpoints: ProviderEndpoints,
        http: reqwest::Client,
    ) -> Self {
        Self {
            descriptor,
            kind: descriptor.kind,
            instance: settings.instance.clone(),
            endpoints,
            client: settings.client.clone(),
            client_auth: descriptor.client_auth,
            capabilities: descriptor.capabilities,
            default_scopes: scope_set(descriptor.default_scopes),
            http,
        }
    }

    /// Another descriptor for the same configured values (YouTube on Google's OAuth client).
    pub fn described_by(mut self, descriptor: &'static ProviderDescriptor) -> Self {
        self.descriptor = descriptor;
        self.kind = descriptor.kind;
        self.default_scopes = scope_set(descriptor.default_scopes);
        self
    }

    pub fn scope_catalogue(&self) -> Vec<ScopeCatalogEntry> {
        self.descriptor.catalogue(self.kind)
    }

    pub fn implicit_scopes(&self) -> ScopeSet {
        scope_set(self.descriptor.implicit_scopes)
    }

    /// `{api_base}{path}` (path starting with `/`) as a URL.
    pub fn api_url(&self, path: &str) -> Result<Url, ProviderError> {
        Url::parse(&format!("{}{path}", self.endpoints.api_base_url))
            .map_err(|e| misconfigured(format!("endpoint `api_base` cannot take a path: {e}")))
    }
}

/// The `Provider` accessors answered from the provider's [`ProviderBase`] (through its
/// [`Described`] impl): `kind`, `instance`, `endpoints`, `client`, `client_auth_method`,
/// `capabilities`, `default_scopes`, `scope_catalogue`, `implicit_scopes`. Write it first
/// in the `impl Provider` block; what follows is the provider's own behaviour.
#[macro_export]
macro_rules! provider_basics {
    () => {
        fn kind(&self) -> ::tether_core::ProviderKind {
            $crate::Described::base(self).kind
        }

        fn instance(&self) -> &str {
            &$crate::Described::base(self).instance
        }

        fn endpoints(&self) -> &::tether_core::provider::ProviderEndpoints {
            &$crate::Described::base(self).endpoints
        }

        fn client(&self) -> &::tether_core::provider::ClientCredentials {
            &$crate::Described::base(self).client
        }

        fn client_auth_method(&self) -> ::tether_core::provider::ClientAuthMethod {
            $crate::Described::base(self).client_auth
        }

        fn capabilities(&self) -> ::tether_core::provider::ProviderCapabilities {
            $crate::Described::base(self).capabilities
        }

        fn default_scopes(&self) -> ::tether_core::ScopeSet {
            $crate::Described::base(self).default_scopes.clone()
        }

        fn scope_catalogue(&self) -> Vec<::tether_core::scope_catalog::ScopeCatalogEntry> {
            $crate::Described::base(self).scope_catalogue()
        }

        fn implicit_scopes(&self) -> ::tether_core::ScopeSet {
            $crate::Described::base(self).implicit_scopes()
        }

        fn classify_error(
            &self,
            status: u16,
            retry_after: ::std::option::Option<::std::time::Duration>,
            body: &[u8],
        ) -> ::tether_core::provider::ProviderError {
            ($crate::Described::base(self).descriptor.token_errors)(status, retry_after, body)
        }
    };
}

#[cfg(test)]
mod tests {
    use tether_core::provider::ClientAuthMethod;
    use tether_core::secret::ClientSecret;

    use super::*;
    use crate::descriptor::{EndpointSpec, ScopeCatalogue};

    const EXAMPLE: ProviderDescriptor = ProviderDescriptor {
        kind: ProviderKind::Dexcom,
        client_auth: ClientAuthMethod::Post,
        capabilities: ProviderCapabilities::NONE
            .with_pkce()
            .rotating_refresh_tokens(),
        endpoints: &[
            EndpointSpec::new("api_base", "{base}/api/"),
            EndpointSpec::new("token", "{base}/token"),
            EndpointSpec::new("userinfo", "{api_base}/me"),
            EndpointSpec::optional("revocation"),
            EndpointSpec::new("issuer", "{base}"),
        ],
        options: &["region"],
        scopes: ScopeCatalogue::Table(&[]),
        default_scopes: &["offline_access"],
        implicit_scopes: &[],
        secret_required: Some("it is sent in the form body"),
        token_errors: crate::error_body::classify_oauth,
    };

    fn settings() -> ProviderSettings {
        ProviderSettings::new("id", Some(ClientSecret::new("s")))
    }

    fn build(s: &ProviderSettings) -> Result<ProviderBase, ProviderError> {
        let vars = [("base", "https://api.example".to_owned())];
        ProviderBase::configure(&EXAMPLE, s, reqwest::Client::new(), &vars)
    }

    #[test]
    fn defaults_are_filled_in_and_overrides_win() {
        let base = build(&settings()).unwrap();
        assert_eq!(base.endpoints.api_base_url, "https://api.example/api");
        assert_eq!(base.endpoints.token_url, "https://api.example/token");
        assert_eq!(
            base.endpoints.userinfo_url.as_deref(),
            Some("https://api.example/api/me")
        );
        assert_eq!(base.endpoints.revocation_url, None);
        assert_eq!(
            base.endpoints.issuer.as_deref(),
            Some("https://api.example")
        );
        assert_eq!(base.default_scopes.to_delimited(), "offline_access");
        let mut s = settings();
        s.endpoints
            .insert("api_base".into(), "http://127.0.0.1:9/".into());
        s.endpoints
            .insert("revocation".into(), "http://127.0.0.1:9/r".into());
        let base = build(&s).unwrap();
        assert_eq!(
            base.endpoints.userinfo_url.as_deref(),
            Some("http://127.0.0.1:9/me")
        );
        assert_eq!(
            base.endpoints.revocation_url.as_deref(),
            Some("http://127.0.0.1:9/r")
        );
    }

    #[test]
    fn bad_settings_are_refused_by_name() {
        let mut s = settings();
        s.options.insert("tenant".into(), "x".into());
        assert!(build(&s).unwrap_err().to_string().contains("`tenant`"));
        let mut s = settings();
        s.endpoints.insert("token".into(), "not a url".into());
        assert!(build(&s).unwrap_err().to_string().contains("`token`"));
        let err = build(&ProviderSettings::new("id", None)).unwrap_err();
        assert!(
            err.to_string().contains("Dexcom needs a client secret"),
            "{err}"
        );
        let err = build(&ProviderSettings::new(" ", Some(ClientSecret::new("s")))).unwrap_err();
        assert!(err.to_string().contains("client id"), "{err}");
    }
}
