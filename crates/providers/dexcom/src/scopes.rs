//! Dexcom's scope catalogue: `offline_access` is the only scope Dexcom accepts.

use tether_core::scope_catalog::{ScopeCatalogEntry, ScopeCategory};
use tether_core::{ProviderKind, Scope, ScopeSet};

pub(crate) const OFFLINE_ACCESS: &str = "offline_access";

pub(crate) fn default_scopes() -> ScopeSet {
    Scope::parse(OFFLINE_ACCESS).into_iter().collect()
}

pub(crate) fn catalogue() -> Vec<ScopeCatalogEntry> {
    Scope::parse(OFFLINE_ACCESS)
        .into_iter()
        .map(|scope| ScopeCatalogEntry {
            provider: ProviderKind::Dexcom,
            scope,
            display_name: "Read your Dexcom CGM data".to_owned(),
            description: "Ongoing read access to your continuous glucose monitoring data: \
                glucose readings, events, calibrations, alerts, devices and data ranges."
                .to_owned(),
            category: ScopeCategory::Read,
            is_required: true,
            // Health data: a consent screen should call it out even though it is read-only.
            is_dangerous: true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_only_scope_is_required_and_the_default() {
        let catalogue = catalogue();
        assert_eq!(catalogue.len(), 1);
        assert!(catalogue[0].is_required);
        assert_eq!(catalogue[0].category, ScopeCategory::Read);
        assert_eq!(default_scopes().to_delimited(), "offline_access");
    }
}
