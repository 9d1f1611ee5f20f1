//! `tether-provider-sandbox`: a provider served by Tether's built-in sandbox authorization server. It stands in for any
//! provider kind (the embedded mode serves providers without real credentials with it, and
//! tests use it as the fake upstream): standard RFC 6749/7009/9207 behaviour, identity from
//! the sandbox's userinfo endpoint, a test call to its small API.

use async_trait::async_trait;
use serde_json::{Value, json};
use tether_core::ProviderKind;
use tether_core::provider::{
    AccountIdentity, ClientAuthMethod, ConnectionReport, Provider, ProviderCapabilities,
    ProviderEndpoints, ProviderError, ProviderSettings, RawTokenResponse,
};
use tether_core::scope_catalog::ScopeCategory;
use tether_core::secret::{AccessToken, ClientSecret};
use tether_provider_common::{
    Described, EndpointSpec, ProviderBase, ProviderDescriptor, ScopeCatalogue, ScopeSpec, http,
    provider_basics,
};

/// The scopes the sandbox offers: `profile` is required, the rest optional.
const SCOPES: [ScopeSpec; 4] = [
    ScopeSpec::new(
        "profile",
        "profile",
        "Your name and account id",
        ScopeCategory::Read,
    )
    .required(),
    ScopeSpec::new("email", "email", "Your e-mail address", ScopeCategory::Read),
    ScopeSpec::new(
        "items.read",
        "items.read",
        "Read your items",
        ScopeCategory::Read,
    ),
    ScopeSpec::new(
        "items.write",
        "items.write",
        "Change your items",
        ScopeCategory::Write,
    )
    .dangerous(),
];

/// The sandbox as data: standard RFC 6749/7009/9207 behaviour with PKCE and rotating
/// refresh tokens, every endpoint under the sandbox's issuer. `kind` is a placeholder: a
/// [`SandboxProvider`] stands in for the kind it is built for.
pub const SANDBOX: ProviderDescriptor = ProviderDescriptor {
    kind: ProviderKind::Google,
    client_auth: ClientAuthMethod::Basic,
    capabilities: ProviderCapabilities::NONE
        .with_pkce()
        .with_revocation()
        .rotating_refresh_tokens()
        .requiring_issuer(),
    endpoints: &[
        EndpointSpec::new("authorize", "{base}/oauth/authorize"),
        EndpointSpec::new("token", "{base}/oauth/token"),
        EndpointSpec::new("revocation", "{base}/oauth/revoke"),
        EndpointSpec::new("userinfo", "{base}/oauth/userinfo"),
        EndpointSpec::new("api_base", "{base}/api"),
        EndpointSpec::new("issuer", "{base}"),
    ],
    options: &[],
    scopes: ScopeCatalogue::Table(&SCOPES),
    default_scopes: &["profile", "email", "items.read", "items.write"],
    implicit_scopes: &[],
    secret_required: None,
    token_errors: tether_provider_common::error_body::classify_oauth,
};

#[derive(Debug, Clone)]
pub struct SandboxProvider {
    base: ProviderBase,
}

impl SandboxProvider {
    /// `base_url` is the sandbox's issuer (`http://127.0.0.1:9090` or
    /// `https://tether.example.com/sandbox`).
    pub fn new(
        kind: ProviderKind,
        base_url: &str,
        client_id: &str,
        client_secret: &str,
        http: reqwest::Client,
    ) -> Self {
        let settings = ProviderSettings::new(client_id, Some(ClientSecret::new(client_secret)));
        let vars = [("base", base_url.trim_end_matches('/').to_owned())];
        // An unusable issuer leaves the endpoints empty: every call then fails, naming the URL
        // as misconfigured.
        let endpoints = SANDBOX
            .resolve_endpoints(&settings, &vars)
            .unwrap_or_else(|_| ProviderEndpoints {
                authorize_url: None,
                token_url: String::new(),
                revocation_url: None,
                userinfo_url: None,
                api_base_url: String::new(),
                issuer: None,
            });
        let mut base = ProviderBase::new(&SANDBOX, &settings, endpoints, http);
        base.kind = kind;
        Self { base }
    }

    async fn get_json(&self, url: &str, token: &AccessToken) -> Result<Value, ProviderError> {
        let request = self.base.http.get(url);
        http::get_json("the sandbox", request, token, |status, _, _| {
            if status == 401 {
                ProviderError::InvalidGrant {
                    message: "the sandbox rejected the access token".into(),
                }
            } else {
                ProviderError::Upstream {
                    status: Some(status),
                    retry_after: None,
                    message: format!("the sandbox answered HTTP {status}"),
                }
            }
        })
        .await
    }
}

impl Described for SandboxProvider {
    fn base(&self) -> &ProviderBase {
        &self.base
    }
}

#[async_trait]
impl Provider for SandboxProvider {
    provider_basics!();

    fn is_sandbox(&self) -> bool {
        true
    }

    async fn fetch_identity(
        &self,
        access_token: &AccessToken,
        _response: &RawTokenResponse,
        _nonce: Option<&str>,
    ) -> Result<AccountIdentity, ProviderError> {
        let url = self
            .base
            .endpoints
            .userinfo_url
            .as_deref()
            .unwrap_or_default();
        let info = self.get_json(url, access_token).await?;
        let subject = info
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ProviderError::Upstream {
                status: None,
                retry_after: None,
                message: "the sandbox's userinfo has no subject".into(),
            })?;
        let label = info.get("email").and_then(Value::as_str).map(str::to_owned);
        Ok(AccountIdentity {
            subject: subject.to_owned(),
            label,
            metadata: json!({ "sandbox": true }),
        })
    }

    async fn test_connection(
        &self,
        access_token: &AccessToken,
    ) -> Result<ConnectionReport, ProviderError> {
        let me = self
            .get_json(
                &format!("{}/me", self.base.endpoints.api_base_url),
                access_token,
            )
            .await?;
        Ok(ConnectionReport {
            detail: format!(
                "sandbox API answered for {}",
                me.get("sub")
                    .and_then(Value::as_str)
                    .unwrap_or("an anonymous client")
            ),
        })
    }
}
