//! The scope catalogue: what each provider scope means, for consent screens and checks.

use crate::provider::ProviderKind;
use crate::scope::Scope;

crate::closed_enum! {
    /// How much a scope lets Tether do.
    pub enum ScopeCategory ("scope category") {
        Read = "read",
        Write = "write",
        Admin = "admin",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeCatalogEntry {
    pub provider: ProviderKind,
    pub scope: Scope,
    pub display_name: String,
    pub description: String,
    pub category: ScopeCategory,
    /// Connecting fails with `insufficient_scopes` when a required scope is not granted.
    pub is_required: bool,
    /// Broad access a consent screen should call out.
    pub is_dangerous: bool,
}
