//! The `Provider` trait: everything the broker needs to know about one configured provider.
//! Provider crates implement it; the broker drives the OAuth protocol with it.

use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use super::ProviderKind;
use super::error::ProviderError;
use super::token_response::RawTokenResponse;
use crate::scope::{Scope, ScopeSet};
use crate::scope_catalog::ScopeCatalogEntry;
use crate::secret::{AccessToken, ClientSecret};

/// The endpoints of one configured provider (production defaults, overridable per deployment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEndpoints {
    /// `None` for providers that only do client credentials.
    pub authorize_url: Option<String>,
    pub token_url: String,
    pub revocation_url: Option<String>,
    pub userinfo_url: Option<String>,
    /// The base the proxy may call: host fixed, path from the caller.
    pub api_base_url: String,
    /// The issuer the callback's `iss` must equal (RFC 9207), when the provider sends one.
    pub issuer: Option<String>,
}

/// How the client authenticates at the token (and revocation) endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// HTTP Basic with the client id and secret (`client_secret_basic`).
    Basic,
    /// Client id and secret in the form body (`client_secret_post`).
    Post,
    /// Notion: a JSON body with HTTP Basic.
    JsonBodyWithBasic,
}

/// What a provider supports; the broker and the API tell users from these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderCapabilities {
    /// Send PKCE S256 on authorize and the verifier on the code exchange.
    pub pkce: bool,
    /// The provider has a revocation endpoint; without one, disconnect only deletes locally.
    pub revocation: bool,
    /// Refresh tokens are single-use: each refresh returns a new one.
    pub rotates_refresh_tokens: bool,
    /// The provider adds `iss` to its authorization responses: a callback without it is refused.
    pub requires_issuer_parameter: bool,
}

impl ProviderCapabilities {
    /// None of them: no PKCE, no revocation, long-lived refresh tokens, no `iss`. Descriptors
    /// start here and name what their provider has (`NONE.with_pkce().with_revocation()`).
    pub const NONE: Self = Self {
        pkce: false,
        revocation: false,
        rotates_refresh_tokens: false,
        requires_issuer_parameter: false,
    };

    pub const fn with_pkce(mut self) -> Self {
        self.pkce = true;
        self
    }

    pub const fn with_revocation(mut self) -> Self {
        self.revocation = true;
        self
    }

    pub const fn rotating_refresh_tokens(mut self) -> Self {
        self.rotates_refresh_tokens = true;
        self
    }

    pub const fn requiring_issuer(mut self) -> Self {
        self.requires_issuer_parameter = true;
        self
    }
}

/// How a provider reads a failed answer of its token or revocation endpoint.
pub type TokenErrorClassifier = fn(u16, Option<Duration>, &[u8]) -> ProviderError;

/// The client registration Tether uses at a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: Option<ClientSecret>,
}

/// Per-request input to the authorize URL.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizeContext<'a> {
    pub scopes: &'a ScopeSet,
    pub login_hint: Option<&'a str>,
}

/// Who the connected account is upstream.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountIdentity {
    /// The stable upstream subject used for duplicate detection.
    pub subject: String,
    /// A human label (e-mail, workspace name).
    pub label: Option<String>,
    /// Non-secret metadata to keep on the integration.
    pub metadata: Value,
}

/// The outcome of a cheap authenticated call that proves the connection works.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionReport {
    pub detail: String,
}

/// One configured provider.
#[async_trait]
pub trait Provider: Send + Sync + Debug {
    fn kind(&self) -> ProviderKind;

    /// Tells apart several configurations of one provider (an OpenEMR site); `""` otherwise.
    fn instance(&self) -> &str {
        ""
    }

    /// Served by the built-in sandbox rather than the real provider.
    fn is_sandbox(&self) -> bool {
        false
    }

    fn endpoints(&self) -> &ProviderEndpoints;

    fn client(&self) -> &ClientCredentials;

    fn client_auth_method(&self) -> ClientAuthMethod {
        ClientAuthMethod::Basic
    }

    fn capabilities(&self) -> ProviderCapabilities;

    /// Scopes requested when the caller names none.
    fn default_scopes(&self) -> ScopeSet;

    /// What each scope means; synced into the `scopes` table at start-up.
    fn scope_catalogue(&self) -> Vec<ScopeCatalogEntry>;

    /// Scopes added to every authorization request (Microsoft's `offline_access`).
    fn implicit_scopes(&self) -> ScopeSet {
        ScopeSet::new()
    }

    /// Whether the scopes the provider reported as granted cover `wanted`. Providers with
    /// two spellings of one scope (Google's `email` and `…/auth/userinfo.email`) or scopes
    /// they never report back (Microsoft's `offline_access`) say so here; the stored granted
    /// set stays exactly what the provider reported.
    fn grants(&self, granted: &ScopeSet, wanted: &Scope) -> bool {
        granted.contains(wanted)
    }

    /// The scopes of `wanted` that `granted` does not cover (see [`Provider::grants`]).
    fn missing_scopes(&self, wanted: &ScopeSet, granted: &ScopeSet) -> ScopeSet {
        wanted
            .iter()
            .filter(|scope| !self.grants(granted, scope))
            .cloned()
            .collect()
    }

    /// The catalogue's required scopes among `scopes`.
    fn required_among(&self, scopes: &ScopeSet) -> ScopeSet {
        self.scope_catalogue()
            .into_iter()
            .filter(|e| e.is_required && scopes.contains(&e.scope))
            .map(|e| e.scope)
            .collect()
    }

    /// Provider-specific authorize parameters (`access_type=offline`, `owner=user`, …).
    fn authorize_params(&self, _ctx: &AuthorizeContext<'_>) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Parses a successful token-endpoint body.
    fn parse_token_response(&self, body: &[u8]) -> Result<RawTokenResponse, ProviderError> {
        RawTokenResponse::parse(body)
    }

    /// Classifies a failed answer of the token or revocation endpoint. The default reads the
    /// RFC 6749 §5.2 JSON shape.
    fn classify_error(
        &self,
        status: u16,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> ProviderError {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let field = |name: &str| {
            parsed
                .as_ref()
                .and_then(|v| v.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        ProviderError::from_oauth_error(
            status,
            retry_after,
            field("error").as_deref(),
            field("error_description").as_deref(),
        )
    }

    /// The granted scopes when the token answer does not list them.
    fn granted_scopes_when_unreported(&self, requested: &ScopeSet) -> ScopeSet {
        requested.clone()
    }

    /// Who the account is, from the fresh token and the token answer. `nonce` is the value
    /// the sign-in sent (`None` when it sent none): a provider that reads claims from the
    /// answer's ID token verifies the token first — signature, issuer, audience, expiry and
    /// this nonce — and fails when it does not verify.
    async fn fetch_identity(
        &self,
        access_token: &AccessToken,
        response: &RawTokenResponse,
        nonce: Option<&str>,
    ) -> Result<AccountIdentity, ProviderError>;

    /// A cheap authenticated call that proves the connection works.
    async fn test_connection(
        &self,
        access_token: &AccessToken,
    ) -> Result<ConnectionReport, ProviderError>;

    /// Extra headers on token and revocation requests (Notion's `Notion-Version`).
    fn token_request_headers(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Headers the proxy adds to API calls when the caller did not send them (Notion's
    /// `Notion-Version`).
    fn api_headers(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Launch context to keep with the tokens, encrypted (OpenEMR's `patient` and `fhirUser`:
    /// health data, so never in plain metadata). Kept across refreshes that do not repeat it.
    /// `nonce` as for [`Provider::fetch_identity`] (`None` on a refresh): a value taken from
    /// an ID token is taken only from a verified one.
    async fn launch_context(
        &self,
        _response: &RawTokenResponse,
        _nonce: Option<&str>,
    ) -> Option<Value> {
        None
    }

    /// Whether an API answer means "this access token expired" (renew and retry once).
    fn is_expired_token_answer(&self, status: u16, _body: &[u8]) -> bool {
        status == 401
    }
}
