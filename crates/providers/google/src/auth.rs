//! The Google OAuth client every Google-based provider shares (Google itself and YouTube):
//! endpoints, client authentication, authorize parameters, the issuer check, and the
//! authenticated GET its identity and test calls go through.

use tether_core::ProviderKind;
use tether_core::provider::{
    AuthorizeContext, ClientAuthMethod, ClientCredentials, ProviderCapabilities, ProviderEndpoints,
    ProviderError, ProviderSettings,
};
use tether_provider_common::{EndpointSpec, ProviderBase, ProviderDescriptor, ScopeCatalogue};

pub const DEFAULT_AUTHORIZE_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
pub const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
pub const DEFAULT_REVOCATION_URL: &str = "https://oauth2.googleapis.com/revoke";
pub const DEFAULT_USERINFO_URL: &str = "https://openidconnect.googleapis.com/v1/userinfo";
/// The issuer Google names in the `iss` parameter of its authorization responses.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// Options every Google-based provider reads.
pub const AUTH_OPTIONS: [&str; 4] = [
    "client_auth",
    "prompt",
    "include_granted_scopes",
    "require_iss",
];

/// The endpoints of every Google-based provider; the API base is the provider's own
/// (`{default_api_base}`, from [`AuthDefaults`]).
pub const GOOGLE_ENDPOINTS: &[EndpointSpec] = &[
    EndpointSpec::new("authorize", DEFAULT_AUTHORIZE_URL),
    EndpointSpec::new("token", DEFAULT_TOKEN_URL),
    EndpointSpec::new("revocation", DEFAULT_REVOCATION_URL),
    EndpointSpec::new("userinfo", DEFAULT_USERINFO_URL),
    EndpointSpec::new("api_base", "{default_api_base}"),
    EndpointSpec::new("issuer", GOOGLE_ISSUER),
];

/// Google's OAuth as data: PKCE S256, RFC 7009 revocation, no refresh-token rotation, the
/// secret in the form body unless `client_auth` says otherwise. Google appends `iss` to its
/// callbacks without documenting it, so a callback lacking it is only refused when the
/// `require_iss` option says so; a present `iss` is always compared with the issuer.
/// Providers built on [`GoogleAuth`] replace it with their own (scopes, kind).
pub const GOOGLE_AUTH: ProviderDescriptor = ProviderDescriptor {
    kind: ProviderKind::Google,
    client_auth: ClientAuthMethod::Post,
    capabilities: ProviderCapabilities::NONE.with_pkce().with_revocation(),
    endpoints: GOOGLE_ENDPOINTS,
    options: &AUTH_OPTIONS,
    scopes: ScopeCatalogue::Table(&[]),
    default_scopes: &[],
    implicit_scopes: &[],
    secret_required: Some("Google web-application clients are confidential"),
    token_errors: crate::token::classify_token_error,
};

/// What differs between the providers built on [`GoogleAuth`].
#[derive(Debug, Clone, Copy)]
pub struct AuthDefaults {
    /// The proxy's base URL when `api_base` is not overridden.
    pub api_base: &'static str,
    /// Whether `include_granted_scopes=true` is sent when the option is not set.
    pub include_granted_scopes: bool,
}

/// The Google OAuth client of one configured provider.
#[derive(Debug, Clone)]
pub struct GoogleAuth {
    base: ProviderBase,
    prompt: Option<String>,
    include_granted_scopes: bool,
}

fn misconfigured(message: impl Into<String>) -> ProviderError {
    ProviderError::Misconfigured {
        message: message.into(),
    }
}

/// `prompt`: space-delimited `consent` / `select_account`, or `none` alone; empty = not sent.
fn prompt(settings: &ProviderSettings) -> Result<Option<String>, ProviderError> {
    let Some(value) = settings.option("prompt") else {
        return Ok(Some("consent".to_owned()));
    };
    let words: Vec<&str> = value.split_whitespace().collect();
    if words.is_empty() {
        return Ok(None);
    }
    let known = words
        .iter()
        .all(|w| matches!(*w, "consent" | "select_account" | "none"));
    if !known || (words.contains(&"none") && words.len() > 1) {
        return Err(misconfigured(format!(
            "option `prompt` must be `consent`, `select_account`, both, `none` or empty, not `{value}`"
        )));
    }
    Ok(Some(words.join(" ")))
}

impl GoogleAuth {
    /// Reads the shared endpoints and options; refuses any endpoint outside [`GOOGLE_AUTH`]'s,
    /// [`AUTH_OPTIONS`] and the caller's own `extra_options`.
    pub fn from_settings(
        settings: &ProviderSettings,
        http: reqwest::Client,
        defaults: AuthDefaults,
        extra_options: &[&str],
    ) -> Result<Self, ProviderError> {
        let options: Vec<&str> = AUTH_OPTIONS.iter().chain(extra_options).copied().collect();
        settings.check_known(&GOOGLE_AUTH.endpoint_names(), &options)?;
        GOOGLE_AUTH.check_client(settings)?;
        let client_auth = match settings.option("client_auth").unwrap_or("post") {
            "post" => ClientAuthMethod::Post,
            "basic" => ClientAuthMethod::Basic,
            other => {
                return Err(misconfigured(format!(
                    "option `client_auth` must be `post` or `basic`, not `{other}`"
                )));
            }
        };
        let vars = [("default_api_base", defaults.api_base.to_owned())];
        let endpoints = GOOGLE_AUTH.resolve_endpoints(settings, &vars)?;
        let mut base = ProviderBase::new(&GOOGLE_AUTH, settings, endpoints, http);
        base.client_auth = client_auth;
        base.capabilities.requires_issuer_parameter = settings.flag("require_iss", false)?;
        Ok(Self {
            base,
            prompt: prompt(settings)?,
            include_granted_scopes: settings
                .flag("include_granted_scopes", defaults.include_granted_scopes)?,
        })
    }

    /// The same client described as another Google-based provider (its kind and scopes).
    pub fn described_by(mut self, descriptor: &'static ProviderDescriptor) -> Self {
        self.base = self.base.described_by(descriptor);
        self
    }

    /// The configured values the `Provider` accessors answer from.
    pub fn base(&self) -> &ProviderBase {
        &self.base
    }

    pub fn instance(&self) -> &str {
        &self.base.instance
    }

    pub fn endpoints(&self) -> &ProviderEndpoints {
        &self.base.endpoints
    }

    pub fn client(&self) -> &ClientCredentials {
        &self.base.client
    }

    pub fn client_auth_method(&self) -> ClientAuthMethod {
        self.base.client_auth
    }

    /// See [`GOOGLE_AUTH`].
    pub fn capabilities(&self) -> ProviderCapabilities {
        self.base.capabilities
    }

    /// `access_type=offline` (a refresh token), `prompt`, `include_granted_scopes`,
    /// `login_hint`.
    pub fn authorize_params(&self, ctx: &AuthorizeContext<'_>) -> Vec<(String, String)> {
        let mut params = vec![("access_type".to_owned(), "offline".to_owned())];
        if let Some(prompt) = &self.prompt {
            params.push(("prompt".to_owned(), prompt.clone()));
        }
        if self.include_granted_scopes {
            params.push(("include_granted_scopes".to_owned(), "true".to_owned()));
        }
        if let Some(hint) = ctx.login_hint.filter(|h| !h.is_empty()) {
            params.push(("login_hint".to_owned(), hint.to_owned()));
        }
        params
    }

    /// The proxy base joined with `path_and_query` (which starts with `/`).
    pub fn api_url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base.endpoints.api_base_url)
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.base.http
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_core::secret::ClientSecret;

    fn settings() -> ProviderSettings {
        ProviderSettings::new(
            "id.apps.googleusercontent.com",
            Some(ClientSecret::new("s")),
        )
    }

    const DEFAULTS: AuthDefaults = AuthDefaults {
        api_base: "https://www.googleapis.com",
        include_granted_scopes: true,
    };

    fn build(settings: &ProviderSettings) -> Result<GoogleAuth, ProviderError> {
        GoogleAuth::from_settings(settings, reqwest::Client::new(), DEFAULTS, &[])
    }

    #[test]
    fn production_endpoints_are_the_defaults() {
        let auth = build(&settings()).unwrap();
        let e = auth.endpoints();
        assert_eq!(e.authorize_url.as_deref(), Some(DEFAULT_AUTHORIZE_URL));
        assert_eq!(e.token_url, DEFAULT_TOKEN_URL);
        assert_eq!(e.revocation_url.as_deref(), Some(DEFAULT_REVOCATION_URL));
        assert_eq!(e.userinfo_url.as_deref(), Some(DEFAULT_USERINFO_URL));
        assert_eq!(e.api_base_url, "https://www.googleapis.com");
        assert_eq!(e.issuer.as_deref(), Some("https://accounts.google.com"));
        assert_eq!(auth.client_auth_method(), ClientAuthMethod::Post);
        let caps = auth.capabilities();
        assert!(caps.pkce && caps.revocation);
        assert!(!caps.rotates_refresh_tokens && !caps.requires_issuer_parameter);
    }

    #[test]
    fn options_change_client_auth_prompt_and_the_issuer_requirement() {
        let mut s = settings();
        s.options.insert("client_auth".into(), "basic".into());
        s.options
            .insert("prompt".into(), "select_account  consent".into());
        s.options.insert("require_iss".into(), "true".into());
        s.options
            .insert("include_granted_scopes".into(), "false".into());
        s.endpoints
            .insert("api_base".into(), "http://127.0.0.1:9/api/".into());
        let auth = build(&s).unwrap();
        assert_eq!(auth.client_auth_method(), ClientAuthMethod::Basic);
        assert!(auth.capabilities().requires_issuer_parameter);
        assert_eq!(auth.api_url("/x?y=1"), "http://127.0.0.1:9/api/x?y=1");
        let scopes = tether_core::ScopeSet::new();
        let params = auth.authorize_params(&AuthorizeContext {
            scopes: &scopes,
            login_hint: None,
        });
        assert_eq!(
            params,
            vec![
                ("access_type".to_owned(), "offline".to_owned()),
                ("prompt".to_owned(), "select_account consent".to_owned()),
            ]
        );
        s.options.insert("prompt".into(), String::new());
        let params = build(&s).unwrap().authorize_params(&AuthorizeContext {
            scopes: &scopes,
            login_hint: Some("a@example.com"),
        });
        assert!(params.iter().all(|(k, _)| k != "prompt"));
        assert!(params.contains(&("login_hint".to_owned(), "a@example.com".to_owned())));
    }

    #[test]
    fn bad_settings_are_refused_with_the_setting_named() {
        let cases: [(&str, &str, &str); 5] = [
            ("option", "client_auth=jwt", "client_auth"),
            ("option", "prompt=login", "prompt"),
            ("option", "prompt=none consent", "prompt"),
            ("option", "require_iss=yes", "require_iss"),
            ("endpoint", "token=not a url", "token"),
        ];
        for (kind, pair, named) in cases {
            let mut s = settings();
            let (k, v) = pair.split_once('=').unwrap();
            if kind == "option" {
                s.options.insert(k.into(), v.into());
            } else {
                s.endpoints.insert(k.into(), v.into());
            }
            let err = build(&s).unwrap_err();
            assert!(matches!(err, ProviderError::Misconfigured { .. }), "{err}");
            assert!(err.to_string().contains(named), "{pair}: {err}");
        }
        let mut s = settings();
        s.options.insert("tenant".into(), "x".into());
        assert!(build(&s).unwrap_err().to_string().contains("`tenant`"));
        let no_secret = ProviderSettings::new("id", None);
        assert!(
            build(&no_secret)
                .unwrap_err()
                .to_string()
                .contains("secret")
        );
    }
}
