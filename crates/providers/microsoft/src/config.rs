//! Reads and checks the Microsoft settings: the tenant, the endpoints built on it, and the
//! authorize options.

use tether_core::ProviderKind;
use tether_core::provider::{
    ClientAuthMethod, ProviderCapabilities, ProviderEndpoints, ProviderError, ProviderSettings,
};
use tether_provider_common::{
    EndpointSpec, ProviderDescriptor, ScopeCatalogue, endpoints_of, resolved_url,
};
use url::Url;

use crate::{catalogue, scopes};

/// Work/school and personal accounts: the broadest audience (the app registration must allow
/// both, or Microsoft answers AADSTS50194 / AADSTS9002332 on the sign-in page).
pub const DEFAULT_TENANT: &str = "common";

const PROMPTS: &[&str] = &["select_account", "login", "consent"];

/// Microsoft as data: PKCE, the secret in the form body (Microsoft's documented default for
/// web apps), rotating refresh tokens, no revocation endpoint; Microsoft adds no `iss` to
/// its authorization responses, and with `common` the issuer depends on the account's
/// tenant, so none is compared there (the ID token's is: endpoint `id_token_issuer`).
pub const MICROSOFT: ProviderDescriptor = ProviderDescriptor {
    kind: ProviderKind::Microsoft,
    client_auth: ClientAuthMethod::Post,
    capabilities: ProviderCapabilities::NONE
        .with_pkce()
        .rotating_refresh_tokens(),
    endpoints: &[
        EndpointSpec::new(
            "authorize",
            "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
        ),
        EndpointSpec::new(
            "token",
            "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        ),
        EndpointSpec::new("api_base", "https://graph.microsoft.com/v1.0"),
        EndpointSpec::new("userinfo", "{api_base}/me"),
        EndpointSpec::new(
            "jwks",
            "https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys",
        ),
        // The issuer of v2.0 ID tokens names the signed-in account's tenant, whatever tenant
        // (or alias) the authorization went through: `{tid}` is the token's own.
        EndpointSpec::new(
            "id_token_issuer",
            "https://login.microsoftonline.com/{tid}/v2.0",
        ),
    ],
    options: &["tenant", "prompt", "domain_hint"],
    scopes: ScopeCatalogue::Built(catalogue::catalogue),
    default_scopes: scopes::DEFAULTS,
    implicit_scopes: scopes::IMPLICIT,
    secret_required: Some("Tether is a confidential web client"),
    token_errors: crate::errors::classify_token_error,
};

/// The checked Microsoft settings.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub endpoints: ProviderEndpoints,
    pub tenant: String,
    pub prompt: Option<String>,
    pub domain_hint: Option<String>,
    /// Graph's `/me`.
    pub me_url: Url,
    /// The keys ID tokens are signed with.
    pub jwks_url: Url,
    /// The `iss` of ID tokens, `{tid}` standing for the token's tenant.
    pub id_token_issuer: String,
}

fn misconfigured(message: impl Into<String>) -> ProviderError {
    ProviderError::Misconfigured {
        message: message.into(),
    }
}

impl Config {
    pub(crate) fn read(settings: &ProviderSettings) -> Result<Self, ProviderError> {
        MICROSOFT.check(settings)?;
        let tenant = settings
            .option("tenant")
            .unwrap_or(DEFAULT_TENANT)
            .to_owned();
        check_tenant(&tenant)?;
        let prompt = settings.option("prompt").map(str::to_owned);
        if let Some(p) = prompt.as_deref().filter(|p| !PROMPTS.contains(p)) {
            return Err(misconfigured(format!(
                "microsoft: option `prompt` must be one of {}, not `{p}`",
                PROMPTS.join(", ")
            )));
        }
        let domain_hint = settings.option("domain_hint").map(str::to_owned);
        if domain_hint
            .as_deref()
            .is_some_and(|d| d.is_empty() || d.contains(char::is_whitespace))
        {
            return Err(misconfigured(
                "microsoft: option `domain_hint` must be a domain or tenant id without spaces",
            ));
        }
        let urls = MICROSOFT.resolve_urls(settings, &[("tenant", tenant.clone())])?;
        let endpoints = endpoints_of(&urls);
        let url = |name: &str| {
            let text = resolved_url(&urls, name).unwrap_or_default();
            Url::parse(&text).map_err(|e| misconfigured(format!("endpoint `{name}`: {e}")))
        };
        Ok(Self {
            me_url: url("userinfo")?,
            jwks_url: url("jwks")?,
            id_token_issuer: resolved_url(&urls, "id_token_issuer").unwrap_or_default(),
            endpoints,
            tenant,
            prompt,
            domain_hint,
        })
    }
}

/// `common`, `organizations`, `consumers`, a GUID or a domain name: it goes into URL paths,
/// so anything else is refused.
fn check_tenant(tenant: &str) -> Result<(), ProviderError> {
    let alias = matches!(tenant, "common" | "organizations" | "consumers");
    if alias || is_guid(tenant) || is_domain(tenant) {
        return Ok(());
    }
    Err(misconfigured(format!(
        "microsoft: option `tenant` must be common, organizations, consumers, a tenant id \
         (GUID) or a verified domain such as contoso.onmicrosoft.com, not `{tenant}`"
    )))
}

pub(crate) fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_domain(text: &str) -> bool {
    text.len() <= 253
        && text.contains('.')
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use tether_core::secret::ClientSecret;

    use super::*;

    fn settings() -> ProviderSettings {
        ProviderSettings::new("app-id", Some(ClientSecret::new("s")))
    }

    #[test]
    fn the_default_tenant_is_common_and_shapes_the_endpoints() {
        let config = Config::read(&settings()).unwrap();
        assert_eq!(config.tenant, "common");
        assert_eq!(
            config.endpoints.token_url,
            "https://login.microsoftonline.com/common/oauth2/v2.0/token"
        );
        assert_eq!(
            config.endpoints.authorize_url.as_deref(),
            Some("https://login.microsoftonline.com/common/oauth2/v2.0/authorize")
        );
        assert_eq!(
            config.endpoints.api_base_url,
            "https://graph.microsoft.com/v1.0"
        );
        assert_eq!(
            config.me_url.as_str(),
            "https://graph.microsoft.com/v1.0/me"
        );
        assert!(config.endpoints.revocation_url.is_none());
        assert_eq!(
            config.jwks_url.as_str(),
            "https://login.microsoftonline.com/common/discovery/v2.0/keys"
        );
        assert_eq!(
            config.id_token_issuer,
            "https://login.microsoftonline.com/{tid}/v2.0"
        );
    }

    #[test]
    fn tenants_are_aliases_guids_or_domains() {
        for good in [
            "organizations",
            "consumers",
            "9188040d-6c67-4c5b-b112-36a304b66dad",
            "contoso.onmicrosoft.com",
        ] {
            let mut s = settings();
            s.options.insert("tenant".into(), good.into());
            let config = Config::read(&s).unwrap();
            assert!(config.endpoints.token_url.contains(&format!("/{good}/")));
        }
        for bad in [
            "",
            "Common/../x",
            "contoso",
            "a b.com",
            "9188040d-6c67-4c5b-b112",
        ] {
            let mut s = settings();
            s.options.insert("tenant".into(), bad.into());
            let err = Config::read(&s).unwrap_err();
            assert!(err.to_string().contains("option `tenant`"), "{bad}: {err}");
        }
    }

    #[test]
    fn bad_options_and_endpoints_are_refused_by_name() {
        let mut s = settings();
        s.options.insert("prompt".into(), "none".into());
        assert!(
            Config::read(&s)
                .unwrap_err()
                .to_string()
                .contains("`prompt`")
        );
        let mut s = settings();
        s.endpoints.insert("revocation".into(), "https://x".into());
        assert!(
            Config::read(&s)
                .unwrap_err()
                .to_string()
                .contains("unknown endpoint `revocation`")
        );
        let mut s = settings();
        s.endpoints.insert("token".into(), "not a url".into());
        assert!(
            Config::read(&s)
                .unwrap_err()
                .to_string()
                .contains("`token`")
        );
        let no_secret = ProviderSettings::new("app-id", None);
        assert!(
            Config::read(&no_secret)
                .unwrap_err()
                .to_string()
                .contains("client secret")
        );
    }

    #[test]
    fn the_me_url_follows_an_overridden_api_base() {
        let mut s = settings();
        s.endpoints
            .insert("api_base".into(), "https://graph.microsoft.us/v1.0/".into());
        let config = Config::read(&s).unwrap();
        assert_eq!(
            config.endpoints.api_base_url,
            "https://graph.microsoft.us/v1.0"
        );
        assert_eq!(config.me_url.as_str(), "https://graph.microsoft.us/v1.0/me");
    }
}
