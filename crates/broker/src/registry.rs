//! The configured providers, by kind and instance.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use tether_core::provider::Provider;
use tether_core::{Integration, ProviderKind};

use crate::error::{BrokerError, BrokerResult};

/// The metadata key under which an integration records its provider instance.
pub const INSTANCE_METADATA_KEY: &str = "provider_instance";

#[derive(Default, Clone)]
pub struct ProviderRegistry {
    providers: BTreeMap<(ProviderKind, String), Arc<dyn Provider>>,
    /// Concrete provider handles for provider-specific APIs (Orange SMS), by type.
    extensions: BTreeMap<(ProviderKind, String), Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for ProviderRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderRegistry")
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ProviderRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces the provider for its kind and instance.
    pub fn register(&mut self, provider: Arc<dyn Provider>) {
        let key = (provider.kind(), provider.instance().to_owned());
        if self
            .providers
            .get(&key)
            .is_some_and(|old| !Arc::ptr_eq(old, &provider))
        {
            self.extensions.remove(&key);
        }
        self.providers.insert(key, provider);
    }

    /// Registers a provider and keeps its concrete type reachable through [`Self::concrete`].
    pub fn register_concrete<P: Provider + 'static>(&mut self, provider: Arc<P>) {
        let key = (provider.kind(), provider.instance().to_owned());
        self.extensions.insert(key, provider.clone());
        self.register(provider);
    }

    /// The provider for `kind`/`instance` as its concrete type, when it was registered so.
    pub fn concrete<P: Send + Sync + 'static>(
        &self,
        kind: ProviderKind,
        instance: &str,
    ) -> Option<Arc<P>> {
        self.extensions
            .get(&(kind, instance.to_owned()))
            .cloned()
            .and_then(|any| any.downcast::<P>().ok())
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
