//! Dexcom's scope catalogue: `offline_access` is the only scope Dexcom accepts.

use tether_core::scope_catalog::ScopeCategory;
use tether_provider_common::ScopeSpec;
#[cfg(test)]
use {
    tether_core::scope_catalog::ScopeCatalogEntry,
    tether_core::{ProviderKind, ScopeSet},
    tether_provider_common::{catalogue as entries, scope_set},
};

pub(crate) const OFFLINE_ACCESS: &str = "offline_access";

pub(crate) const SCOPES: [ScopeSpec; 1] = [ScopeSpec::new(
    OFFLINE_ACCESS,
    "Read your Dexcom CGM data",
    "Ongoing read access to your continuous glucose monitoring data: glucose readings, events, calibrations, alerts, devices and data ranges.",
    ScopeCategory::Read,
)
.required()
// Health data: a consent screen should call it out even though it is read-only.
.dangerous()];

#[cfg(test)]
pub(crate) fn default_scopes() -> ScopeSet {
    scope_set(&[OFFLINE_ACCESS])
}

#[cfg(test)]
pub(crate) fn catalogue() -> Vec<ScopeCatalogEntry> {
    entries(ProviderKind::Dexcom, &SCOPES)
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
