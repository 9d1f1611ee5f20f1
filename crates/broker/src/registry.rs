//! The configured providers, by kind and instance.

use std::collections::BTreeMap;
use std::sync::Arc;

use tether_core::provider::Provider;
use tether_core::{Integration, ProviderKind};

use crate::error::{BrokerError, BrokerResult};

/// The metadata key under which an integration records its provider instance.
pub const INSTANCE_METADATA_KEY: &str = "provider_instance";

#[derive(Debug, Default, Clone)]
pub struct ProviderRegistry {
    providers: BTreeMap<(ProviderKind, String), Arc<dyn Provider>>,
}

impl ProviderRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces the provider for its kind and instance.
    pub fn register(&mut self, provider: Arc<dyn Provider>) {
        self.providers
            .insert((provider.kind(), provider.instance().to_owned()), provider);
    }

    pub fn get(&self, kind: ProviderKind, instance: &str) -> BrokerResult<Arc<dyn Provider>> {
        self.providers
            .get(&(kind, instance.to_owned()))
            .cloned()
            .ok_or(BrokerError::ProviderNotConfigured(kind))
    }

    /// The provider an integration was connected through.
    pub fn for_integration(&self, integration: &Integration) -> BrokerResult<Arc<dyn Provider>> {
        let instance = integration
            .metadata
            .get(INSTANCE_METADATA_KEY)
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        self.get(integration.provider, instance)
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Provider>> {
        self.providers.values()
    }
}
