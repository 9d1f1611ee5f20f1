//! Scope tables: one row a scope, turned into the core catalogue entries and scope sets.

use tether_core::scope_catalog::{ScopeCatalogEntry, ScopeCategory};
use tether_core::{ProviderKind, Scope, ScopeSet};

/// One row of a provider's scope table.
#[derive(Debug, Clone, Copy)]
pub struct ScopeSpec {
    pub scope: &'static str,
    pub display_name: &'static str,
    pub description: &'static str,
    pub category: ScopeCategory,
    pub is_required: bool,
    pub is_dangerous: bool,
}

impl ScopeSpec {
    pub const fn new(
        scope: &'static str,
        display_name: &'static str,
        description: &'static str,
        category: ScopeCategory,
    ) -> Self {
        Self {
            scope,
            display_name,
            description,
            category,
            is_required: false,
            is_dangerous: false,
        }
    }

    pub const fn required(mut self) -> Self {
        self.is_required = true;
        self
    }

    pub const fn dangerous(mut self) -> Self {
        self.is_dangerous = true;
        self
    }
}

/// The catalogue entries of `specs` for `provider` (a row whose scope does not parse is
/// left out; a unit test per provider keeps the tables valid).
pub fn catalogue(provider: ProviderKind, specs: &[ScopeSpec]) -> Vec<ScopeCatalogEntry> {
    specs
        .iter()
        .filter_map(|spec| {
            Some(ScopeCatalogEntry {
                provider,
                scope: Scope::parse(spec.scope).ok()?,
                display_name: spec.display_name.to_owned(),
                description: spec.description.to_owned(),
                category: spec.category,
                is_required: spec.is_required,
                is_dangerous: spec.is_dangerous,
            })
        })
        .collect()
}

/// The scope set of `names` (a name that does not parse is left out).
pub fn scope_set(names: &[&str]) -> ScopeSet {
    names.iter().filter_map(|n| Scope::parse(*n).ok()).collect()
}
