//! The configured providers, by kind and instance.

use std::collections::BTreeMap;
use std::sync::Arc;

use tether_core::provider::Provider;
use tether_core::sms::SmsSender;
use tether_core::{Integration, ProviderKind};

use crate::error::{BrokerError, BrokerResult};

/// The metadata key under which an integration records its provider instance.
pub const INSTANCE_METADATA_KEY: &str = "provider_instance";

#[derive(Default, Clone)]
pub struct ProviderRegistry {
    providers: BTreeMap<(ProviderKind, String), Arc<dyn Provider>>,
    /// The app-level SMS capability, when a provider offering it is configured (Orange).
    sms: Option<Arc<dyn SmsSender>>,
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

    /// Adds or replaces the provider for its kind and instance. Replacing the default
    /// instance of the SMS provider drops its SMS sender (a sandbox sends no SMS).
    pub fn register(&mut self, provider: Arc<dyn Provider>) {
        let key = (provider.kind(), provider.instance().to_owned());
        if key.1.is_empty() && self.sms.as_ref().is_some_and(|sms| sms.provider() == key.0) {
            self.sms = None;
        }
        self.providers.insert(key, provider);
    }

    /// Registers a provider that also sends SMS (the default instance).
    pub fn register_sms<P: Provider + SmsSender + 'static>(&mut self, provider: Arc<P>) {
        self.register(provider.clone());
        if provider.instance().is_empty() {
            self.sms = Some(provider);
        }
    }

    /// The SMS sender, when an SMS provider is configured.
    pub fn sms(&self) -> Option<Arc<dyn SmsSender>> {
        self.sms.clone()
    }

    pub fn get(&self, kind: ProviderKind, instance: &str) -> BrokerResult<Arc<dyn Provider>> {
        self.providers
            .get(&(kind, instance.to_owned()))
            .cloned()
            .ok_or(BrokerError::ProviderNotConfigured(kind))
    }

    /// The provider an integration was connected through.
    pub fn for_integration(&self, integration: &Integration) -> BrokerResult<Arc<dyn Provider>> {
        self.get(integration.provider, instance_of(integration))
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Provider>> {
        self.providers.values()
    }
}

/// The provider instance an integration was connected through (`""`: the usual one).
pub fn instance_of(integration: &Integration) -> &str {
    integration
        .metadata
        .get(INSTANCE_METADATA_KEY)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
}
