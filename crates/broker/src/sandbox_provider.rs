//! A provider served by Tether's built-in sandbox authorization server. It stands in for any
//! provider kind (the embedded mode serves providers without real credentials with it, and
//! tests use it as the fake upstream): standard RFC 6749/7009/9207 behaviour, identity from
//! the sandbox's userinfo endpoint, a test call to its small API.

use async_trait::async_trait;
use serde_json::{Value, json};
use tether_core::provider::{
    AccountIdentity, ClientCredentials, ConnectionReport, Provider, ProviderCapabilities,
    ProviderEndpoints, ProviderError, RawTokenResponse,
};
use tether_core::scope_catalog::{ScopeCatalogEntry, ScopeCategory};
use tether_core::secret::{AccessToken, ClientSecret};
use tether_core::{ProviderKind, Scope, ScopeSet};

/// The scopes the sandbox offers: `profile` is required, the rest optional.
const SCOPES: [(&str, &str, ScopeCategory, bool); 4] = [
    (
        "profile",
        "Your name and account id",
        ScopeCategory::Read,
        true,
    ),
    ("email", "Your e-mail address", ScopeCategory::Read, false),
    ("items.read", "Read your items", ScopeCategory::Read, false),
    (
        "items.write",
        "Change your items",
        ScopeCategory::Write,
        false,
    ),
];

#[derive(Debug, Clone)]
pub struct SandboxProvider {
    kind: ProviderKind,
    endpoints: ProviderEndpoints,
    client: ClientCredentials,
    http: reqwest::Client,
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
        let base = base_url.trim_end_matches('/');
        Self {
            kind,
            endpoints: ProviderEndpoints {
                authorize_url: Some(format!("{base}/oauth/authorize")),
                token_url: format!("{base}/oauth/token"),
                revocation_url: Some(format!("{base}/oauth/revoke")),
                userinfo_url: Some(format!("{base}/oauth/userinfo")),
                api_base_url: format!("{base}/api"),
                issuer: Some(base.to_owned()),
            },
            client: ClientCredentials {
                client_id: client_id.to_owned(),
                client_secret: Some(ClientSecret::new(client_secret)),
            },
            http,
        }
    }

    async fn get_json(&self, url: &str, token: &AccessToken) -> Result<Value, ProviderError> {
        let response = self
            .http
            .get(url)
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .map_err(|e| ProviderError::Network {
                message: if e.is_timeout() {
                    "timed out".into()
                } else {
                    "request failed".into()
                },
            })?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|_| ProviderError::Network {
            message: "reading the answer failed".into(),
        })?;
        if status == 401 {
            return Err(ProviderError::InvalidGrant {
                message: "the sandbox rejected the access token".into(),
            });
        }
        if !(200..300).contains(&status) {
            return Err(ProviderError::Upstream {
                status: Some(status),
                retry_after: None,
                message: format!("the sandbox answered HTTP {status}"),
            });
        }
        serde_json::from_slice(&body).map_err(|_| ProviderError::Upstream {
            status: Some(status),
            retry_after: None,
            message: "the sandbox answered with malformed JSON".into(),
        })
    }
}

#[async_trait]
impl Provider for SandboxProvider {
    fn kind(&self) -> ProviderKind {
        self.kind
    }

    fn is_sandbox(&self) -> bool {
        true
    }

    fn endpoints(&self) -> &ProviderEndpoints {
        &self.endpoints
    }

    fn client(&self) -> &ClientCredentials {
        &self.client
    }

    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities {
            pkce: true,
            revocation: true,
            rotates_refresh_tokens: true,
            requires_issuer_parameter: true,
        }
    }

    fn default_scopes(&self) -> ScopeSet {
        SCOPES
            .iter()
            .filter_map(|(s, ..)| Scope::parse(*s).ok())
            .collect()
    }

    fn scope_catalogue(&self) -> Vec<ScopeCatalogEntry> {
        SCOPES
            .iter()
            .filter_map(|(scope, description, category, required)| {
                Some(ScopeCatalogEntry {
                    provider: self.kind,
                    scope: Scope::parse(*scope).ok()?,
                    display_name: (*scope).to_owned(),
                    description: (*description).to_owned(),
                    category: *category,
                    is_required: *required,
                    is_dangerous: *category != ScopeCategory::Read,
                })
            })
            .collect()
    }

    async fn fetch_identity(
        &self,
        access_token: &AccessToken,
        _response: &RawTokenResponse,
    ) -> Result<AccountIdentity, ProviderError> {
        let url = self.endpoints.userinfo_url.as_deref().unwrap_or_default();
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
            .get_json(&format!("{}/me", self.endpoints.api_base_url), access_token)
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
