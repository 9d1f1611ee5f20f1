//! The provider registry: the `provider_configs` table first (what admins enter at run
//! time), then the file and environment, then — in sandbox mode — the built-in sandbox for
//! every provider left without credentials.

use std::sync::Arc;

use async_trait::async_trait;
use tether_api::ProviderSource;
use tether_broker::ProviderRegistry;
use tether_core::ProviderKind;
use tether_core::ports::ProviderConfigRepository;
use tether_core::provider::{ClientCredentials, ProviderError, ProviderSettings};

use crate::config::ProviderEntry;

/// The sandbox's clients, one per provider kind it stands in for.
#[derive(Debug, Clone)]
pub struct SandboxClients {
    pub issuer: String,
    pub secret: String,
}

impl SandboxClients {
    pub fn client_id(kind: ProviderKind) -> String {
        format!("sandbox-{kind}")
    }
}

pub struct ServerProviders {
    pub entries: Vec<ProviderEntry>,
    pub db: Arc<dyn ProviderConfigRepository>,
    pub sandbox: Option<SandboxClients>,
    pub http: reqwest::Client,
}

impl std::fmt::Debug for ServerProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerProviders").finish_non_exhaustive()
    }
}

/// Adds the provider crate for `kind` built from `settings` to the registry.
pub fn build_into(
    registry: &mut ProviderRegistry,
    kind: ProviderKind,
    settings: &ProviderSettings,
    http: &reqwest::Client,
) -> Result<(), ProviderError> {
    let http = http.clone();
    match kind {
        ProviderKind::Google => registry.register(Arc::new(
            tether_provider_google::GoogleProvider::new(settings, http)?,
        )),
        ProviderKind::Youtube => registry.register(Arc::new(
            tether_provider_youtube::YoutubeProvider::new(settings, http)?,
        )),
        ProviderKind::Microsoft => registry.register(Arc::new(
            tether_provider_microsoft::MicrosoftProvider::new(settings, http)?,
        )),
        ProviderKind::Notion => registry.register(Arc::new(
            tether_provider_notion::NotionProvider::new(settings, http)?,
        )),
        ProviderKind::Dexcom => registry.register(Arc::new(
            tether_provider_dexcom::DexcomProvider::new(settings, http)?,
        )),
        ProviderKind::Openemr => registry.register(Arc::new(
            tether_provider_openemr::OpenEmrProvider::new(settings, http)?,
        )),
        ProviderKind::Orange => registry.register_sms(Arc::new(
            tether_provider_orange::OrangeProvider::new(settings, http)?,
        )),
    }
    Ok(())
}

pub fn settings_from_entry(entry: &ProviderEntry) -> ProviderSettings {
    ProviderSettings {
        instance: entry.instance.clone(),
        client: ClientCredentials {
            client_id: entry.client_id.clone(),
            client_secret: entry.client_secret.clone(),
        },
        endpoints: entry.endpoints.clone(),
        options: entry.options.clone(),
    }
}

#[async_trait]
impl ProviderSource for ServerProviders {
    /// Every stored configuration's identity, `updated_at` and `enabled`: an upsert moves
    /// `updated_at`, a delete removes a line. (File and environment entries do not change
    /// while the process runs.)
    async fn version(&self) -> Result<String, String> {
        let stored = self.db.list().await.map_err(|e| e.to_string())?;
        let mut lines: Vec<String> = stored
            .iter()
            .map(|c| {
                format!(
                    "{}/{}/{}/{}/{}",
                    c.provider,
                    c.instance,
                    c.id,
                    c.updated_at.timestamp_micros(),
                    c.enabled
                )
            })
            .collect();
        lines.sort();
        Ok(lines.join("\n"))
    }

    async fn registry(&self) -> Result<ProviderRegistry, String> {
        let mut registry = ProviderRegistry::new();
        let mut configured: Vec<(ProviderKind, String)> = Vec::new();
        for entry in self.entries.iter().filter(|e| e.enabled) {
            build_into(
                &mut registry,
                entry.provider,
                &settings_from_entry(entry),
                &self.http,
            )
            .map_err(|e| {
                format!(
                    "provider {} (configuration file or environment): {e}",
                    entry.provider
                )
            })?;
            configured.push((entry.provider, entry.instance.clone()));
        }
        let stored = self.db.list().await.map_err(|e| e.to_string())?;
        for config in stored.iter().filter(|c| c.enabled) {
            // A stored configuration that no longer builds is skipped, not fatal: the admin
            // API validates before saving, and one bad row must not take the others down.
            match build_into(
                &mut registry,
                config.provider,
                &config.settings(),
                &self.http,
            ) {
                Ok(()) => configured.push((config.provider, config.instance.clone())),
                Err(e) => {
                    tracing::error!(provider = %config.provider, instance = %config.instance, error = %e, "stored provider configuration is unusable; skipped")
                }
            }
        }
        #[cfg(feature = "sandbox")]
        if let Some(sandbox) = &self.sandbox {
            for kind in ProviderKind::ALL {
                if !configured.contains(&(*kind, String::new())) {
                    registry.register(Arc::new(tether_provider_sandbox::SandboxProvider::new(
                        *kind,
                        &sandbox.issuer,
                        &SandboxClients::client_id(*kind),
                        &sandbox.secret,
                        self.http.clone(),
                    )));
                }
            }
        }
        Ok(registry)
    }

    async fn validate(
        &self,
        kind: ProviderKind,
        settings: &ProviderSettings,
    ) -> Result<(), String> {
        let mut scratch = ProviderRegistry::new();
        build_into(&mut scratch, kind, settings, &self.http).map_err(|e| e.to_string())
    }

    async fn test(&self, kind: ProviderKind, instance: &str) -> Result<String, String> {
        let stored = self
            .db
            .get(kind, instance)
            .await
            .map_err(|e| e.to_string())?;
        let settings = match stored {
            Some(config) => config.settings(),
            None => match self
                .entries
                .iter()
                .find(|e| e.provider == kind && e.instance == instance)
            {
                Some(entry) => settings_from_entry(entry),
                None if self.sandbox.is_some() => {
                    return Ok(format!(
                        "{} is served by the built-in sandbox",
                        kind.display_name()
                    ));
                }
                None => return Err(format!("{} is not configured", kind.display_name())),
            },
        };
        super::provider_test::test_provider(kind, &settings, &self.http).await
    }

    async fn discover_site(
        &self,
        site_url: &str,
        site_name: Option<&str>,
    ) -> Result<tether_api::SiteDiscovery, String> {
        super::openemr_sites::discover(&self.http, site_url, site_name).await
    }

    async fn register_site(
        &self,
        request: &tether_api::SiteRegistrationRequest,
    ) -> Result<tether_api::SiteRegistration, String> {
        super::openemr_sites::register(&self.http, request).await
    }
}
