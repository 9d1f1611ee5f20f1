//! Sandbox configuration: registered clients, token lifetimes, issuer and listen address.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use url::Url;

use crate::error::{Result, SandboxError};
use crate::scope::is_valid_scope_token;

/// Client id of the demo client registered when no client is configured.
pub const DEMO_CLIENT_ID: &str = "tether-demo";
/// Secret of the demo client. Public on purpose: the sandbox is not a real provider.
pub const DEMO_CLIENT_SECRET: &str = "tether-demo-secret";
/// Redirect URIs of the demo client (a Tether server on its default port).
pub const DEMO_REDIRECT_URIS: [&str; 2] = [
    "http://127.0.0.1:8080/api/v1/oauth/sandbox/callback",
    "http://localhost:8080/api/v1/oauth/sandbox/callback",
];
/// Scopes the sandbox advertises; `items.read` guards `GET /api/items`.
pub const DEMO_SCOPES: [&str; 4] = ["profile", "email", "items.read", "items.write"];

/// A client secret. `Debug` never prints it; read it with [`ClientSecret::expose_secret`].
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps a secret value.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

/// One registered OAuth client.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The `client_id`.
    pub client_id: String,
    /// `None` registers a public client: it authenticates with `client_id` only and may not
    /// use the client-credentials grant.
    pub client_secret: Option<ClientSecret>,
    /// Redirect URIs compared by exact string match.
    pub redirect_uris: Vec<String>,
    /// Scopes the client may ask for; empty allows any scope.
    pub allowed_scopes: Vec<String>,
}

impl ClientConfig {
    /// A confidential client with no redirect URI and any scope allowed.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: Some(ClientSecret::new(client_secret)),
            redirect_uris: Vec::new(),
            allowed_scopes: Vec::new(),
        }
    }

    /// A public client (no secret).
    pub fn public(client_id: impl Into<String>) -> Self {
        Self {
            client_secret: None,
            ..Self::new(client_id, "")
        }
    }

    /// The demo client: [`DEMO_CLIENT_ID`] / [`DEMO_CLIENT_SECRET`], [`DEMO_REDIRECT_URIS`].
    pub fn demo() -> Self {
        Self::new(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET).with_redirect_uris(DEMO_REDIRECT_URIS)
    }

    /// Adds redirect URIs.
    pub fn with_redirect_uris<S: Into<String>>(
        mut self,
        uris: impl IntoIterator<Item = S>,
    ) -> Self {
        self.redirect_uris.extend(uris.into_iter().map(Into::into));
        self
    }

    /// Restricts the scopes the client may ask for.
    pub fn with_allowed_scopes<S: Into<String>>(
        mut self,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        self.allowed_scopes
            .extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Whether the client may ask for `scope`.
    pub(crate) fn allows_scope(&self, scope: &str) -> bool {
        self.allowed_scopes.is_empty() || self.allowed_scopes.iter().any(|s| s == scope)
    }

    fn validate(&self) -> Result<()> {
        let id = &self.client_id;
        if id.is_empty() || id.chars().any(|c| c.is_control() || c == ':') {
            return Err(config_error(format!(
                "client_id {id:?} is empty or has ':'/control characters"
            )));
        }
        for uri in &self.redirect_uris {
            let parsed = Url::parse(uri)
                .map_err(|e| config_error(format!("client {id}: redirect URI {uri:?}: {e}")))?;
            if parsed.fragment().is_some() {
                return Err(config_error(format!(
                    "client {id}: redirect URI {uri:?} has a fragment"
                )));
            }
        }
        if let Some(bad) = self
            .allowed_scopes
            .iter()
            .find(|s| !is_valid_scope_token(s))
        {
            return Err(config_error(format!(
                "client {id}: scope {bad:?} is not a valid scope token"
            )));
        }
        Ok(())
    }
}

/// Everything a sandbox needs to start.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Where [`crate::Sandbox::start`] listens; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Issuer / base URL (no trailing slash). `None`: `http://` + the bound address.
    pub issuer: Option<String>,
    /// Registered clients.
    pub clients: Vec<ClientConfig>,
    /// Lifetime of access tokens (changeable at run time through the controls).
    pub access_token_ttl: Duration,
    /// Lifetime of refresh tokens; `None`: they never expire.
    pub refresh_token_ttl: Option<Duration>,
    /// Lifetime of authorization codes.
    pub code_ttl: Duration,
    /// Whether the `/_sandbox/…` switch endpoints are served.
    pub admin_endpoints: bool,
    /// HTTP worker threads for [`crate::Sandbox::start`].
    pub workers: usize,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            issuer: None,
            clients: vec![ClientConfig::demo()],
            access_token_ttl: Duration::from_secs(3600),
            refresh_token_ttl: None,
            code_ttl: Duration::from_secs(60),
            admin_endpoints: true,
            workers: 1,
        }
    }
}

impl SandboxConfig {
    /// The defaults with `clients` instead of the demo client.
    pub fn with_clients(clients: impl IntoIterator<Item = ClientConfig>) -> Self {
        Self {
            clients: clients.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Checks every setting, naming the bad one.
    pub fn validate(&self) -> Result<()> {
        for (i, client) in self.clients.iter().enumerate() {
            client.validate()?;
            if self.clients[..i]
                .iter()
                .any(|c| c.client_id == client.client_id)
            {
                return Err(config_error(format!(
                    "client_id {:?} is registered twice",
                    client.client_id
                )));
            }
        }
        if let Some(issuer) = &self.issuer {
            validate_issuer(issuer)?;
        }
        if self.access_token_ttl.is_zero() || self.code_ttl.is_zero() {
            return Err(config_error(
                "access_token_ttl and code_ttl must be positive".into(),
            ));
        }
        if self.workers == 0 {
            return Err(config_error("workers must be at least 1".into()));
        }
        Ok(())
    }
}

/// RFC 8414 §2: an https (here also http) URL with no query or fragment.
pub(crate) fn validate_issuer(issuer: &str) -> Result<()> {
    let url = Url::parse(issuer).map_err(|e| config_error(format!("issuer {issuer:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(config_error(format!(
            "issuer {issuer:?} must be an http(s) URL without query or fragment"
        )));
    }
    Ok(())
}

fn config_error(message: String) -> SandboxError {
    SandboxError::Config(message)
}
