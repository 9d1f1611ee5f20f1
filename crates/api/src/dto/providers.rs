//! Provider list and the start of a connect flow.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tether_core::scope_catalog::ScopeCatalogEntry;
use utoipa::ToSchema;

use crate::openapi::enums::{GrantType, ProviderStatus, ScopeCategory, ScopeText};

#[derive(Debug, Serialize, ToSchema)]
pub struct ScopeOut {
    #[schema(example = "https://www.googleapis.com/auth/calendar.readonly")]
    pub scope: String,
    pub display_name: String,
    pub description: String,
    #[schema(value_type = ScopeCategory)]
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
    #[schema(value_type = crate::openapi::enums::Provider, example = "google")]
    pub provider: String,
    #[schema(example = "Google")]
    pub display_name: String,
    #[schema(value_type = ProviderStatus, example = "configured")]
    pub status: String,
    #[schema(value_type = GrantType)]
    pub grant: String,
    pub capabilities: Option<CapabilitiesOut>,
    pub default_scopes: Vec<String>,
    pub scopes: Vec<ScopeOut>,
}

/// Start connecting an account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeIn {
    /// Where the browser goes when the flow ends: same scheme, host and port as, and a path
    /// under, one of the configured `return_to` URLs (by default the public URL: the example
    /// is the README quick start's).
    #[schema(example = "http://127.0.0.1:8080/")]
    pub return_to: String,
    /// Scopes to request; the provider's defaults when absent. Required scopes are always added.
    #[schema(
        example = json!(["https://www.googleapis.com/auth/calendar.readonly"]),
        value_type = Option<Vec<ScopeText>>
    )]
    pub scopes: Option<Vec<String>>,
    /// A hint for the provider's sign-in page (an e-mail address).
    #[schema(max_length = 320)]
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
