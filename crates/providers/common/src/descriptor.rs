//! A provider described as data: what a provider crate used to spell out in code (its kind,
//! client authentication, capabilities, endpoint names with their production defaults,
//! option names and scope tables), declared once as a `const`.

use tether_core::ProviderKind;
use tether_core::provider::{ClientAuthMethod, ProviderCapabilities, TokenErrorClassifier};
use tether_core::scope_catalog::ScopeCatalogEntry;

use crate::scopes::ScopeSpec;

/// An endpoint a configuration may override, with its production default. A default may
/// name values the crate computes (`{base}` for a region's host, `{tenant}`) and
/// `{api_base}` (the resolved API base: declare `api_base` before the endpoints using it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointSpec {
    /// `authorize`, `token`, `revocation`, `userinfo`, `api_base`, `issuer`, or a name of
    /// the crate's own.
    pub name: &'static str,
    /// `None`: no such endpoint unless configured.
    pub default: Option<&'static str>,
}

impl EndpointSpec {
    pub const fn new(name: &'static str, default: &'static str) -> Self {
        Self {
            name,
            default: Some(default),
        }
    }

    /// An endpoint the provider has only when a configuration names it.
    pub const fn optional(name: &'static str) -> Self {
        Self {
            name,
            default: None,
        }
    }
}

/// Where a provider's scope catalogue comes from.
#[derive(Debug, Clone, Copy)]
pub enum ScopeCatalogue {
    /// A table, one row a scope.
    Table(&'static [ScopeSpec]),
    /// Built by the crate (OpenEMR's resource × syntax combinations).
    Built(fn() -> Vec<ScopeCatalogEntry>),
}

/// What is data about a provider.
#[derive(Debug, Clone, Copy)]
pub struct ProviderDescriptor {
    pub kind: ProviderKind,
    /// The client authentication used unless an option or discovery says otherwise.
    pub client_auth: ClientAuthMethod,
    /// The capabilities unless an option or discovery says otherwise.
    pub capabilities: ProviderCapabilities,
    /// Endpoints a configuration may override, in resolution order.
    pub endpoints: &'static [EndpointSpec],
    /// Options a configuration may set; any other is refused, naming it.
    pub options: &'static [&'static str],
    pub scopes: ScopeCatalogue,
    /// Requested when the caller names no scope.
    pub default_scopes: &'static [&'static str],
    /// Added to every authorization request, not required back.
    pub implicit_scopes: &'static [&'static str],
    /// Why the client secret is required, for the error when it is missing (it is sent as
    /// HTTP Basic, in the form body, …); `None`: a public client, no secret needed.
    pub secret_required: Option<&'static str>,
    /// How a failed token or revocation answer is read: [`crate::error_body::classify_oauth`]
    /// for the RFC 6749 shape, a crate's own function for providers with other bodies.
    pub token_errors: TokenErrorClassifier,
}

impl ProviderDescriptor {
    /// The endpoint names a configuration may override.
    pub fn endpoint_names(&self) -> Vec<&'static str> {
        self.endpoints.iter().map(|e| e.name).collect()
    }

    /// The catalogue entries, for `kind` (the sandbox stands in for any kind).
    pub fn catalogue(&self, kind: ProviderKind) -> Vec<ScopeCatalogEntry> {
        match self.scopes {
            ScopeCatalogue::Table(table) => crate::scopes::catalogue(kind, table),
            ScopeCatalogue::Built(build) => build(),
        }
    }
}
