//! Provider list and the start of a connect flow.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tether_core::scope_catalog::ScopeCatalogEntry;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ScopeOut {
    #[schema(example = "https://www.googleapis.com/auth/calendar.readonly")]
    pub scope: String,
    pub display_name: String,
    pub description: String,
    /// `read`, `write` or `admin`.
    pub category: String,
    /// Connecting fails (`insufficient_scopes`) without it.
    pub required: bool,
    /// Broad access a consent screen should call out.
    pub dangerous: bool,
}

impl From<ScopeCatalogEntry> for ScopeOut {
    fn from(e: ScopeCatalogEntry) -> Self {
        Self {
            scope: e.scope.to_string(),
            display_name: e.display_name,
            description: e.description,
            category: e.category.to_string(),
            required: e.is_required,
            dangerous: e.is_dangerous,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CapabilitiesOut {
    /// Disconnecting revokes the grant at the provider (otherwise only locally).
    pub revocation: bool,
    pub pkce: bool,
    pub rotates_refresh_tokens: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderOut {
    #[schema(example = "google")]
    pub provider: String,
    #[schema(example = "Google")]
    pub display_name: String,
    /// `configured` (real credentials), `sandbox` (served by the built-in sandbox: not the
    /// real provider) or `not_configured`.
    #[schema(example = "configured")]
    pub status: String,
    /// `authorization_code` (users connect) or `client_credentials` (app-level account).
    pub grant: String,
    pub capabilities: Option<CapabilitiesOut>,
    pub default_scopes: Vec<String>,
    pub scopes: Vec<ScopeOut>,
}

/// Start connecting an account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeIn {
    /// Where the browser goes when the flow ends; must match the configured allowlist.
    #[schema(example = "https://app.example.com/settings/integrations")]
    pub return_to: String,
    /// Scopes to request; the provider's defaults when absent. Required scopes are always added.
    #[schema(example = json!(["https://www.googleapis.com/auth/calendar.readonly"]))]
    pub scopes: Option<Vec<String>>,
    /// A hint for the provider's sign-in page (an e-mail address).
    pub login_hint: Option<String>,
    /// The provider configuration instance (an OpenEMR site); the default one when absent.
    pub instance: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizeOut {
    /// Open this URL in the user's browser (top-level navigation).
    #[schema(example = "https://tether.example.com/api/v1/oauth/google/start?flow=…")]
    pub start_url: String,
    pub expires_at: DateTime<Utc>,
    pub requested_scopes: Vec<String>,
}
