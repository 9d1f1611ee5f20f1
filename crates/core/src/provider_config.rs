//! Provider client credentials and endpoint overrides entered at run time.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::ids::ProviderConfigId;
use crate::provider::ProviderKind;
use crate::provider::{ClientCredentials, ProviderSettings};
use crate::secret::ClientSecret;

/// One provider configuration. `instance` tells apart several configurations of one provider
/// (an OpenEMR deployment serving several clinic sites); it is empty for the usual single one.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderConfig {
    pub id: ProviderConfigId,
    pub provider: ProviderKind,
    pub instance: String,
    pub client_id: String,
    pub client_secret: Option<ClientSecret>,
    /// The public base URL redirect URIs are built on (`https://tether.example.com`).
    pub redirect_base: Option<String>,
    /// Endpoint name → URL (`authorize`, `token`, `revoke`, `userinfo`, `api_base`, …).
    pub endpoint_overrides: BTreeMap<String, String>,
    /// OpenEMR: the site's base URL.
    pub site_url: Option<String>,
    /// Provider-specific options (`tenant`, `region`, …).
    pub options: BTreeMap<String, String>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// A create-or-replace of one provider configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderConfigInput {
    pub provider: ProviderKind,
    pub instance: String,
    pub client_id: String,
    /// `None` keeps the stored secret on update.
    pub client_secret: Option<ClientSecret>,
    pub redirect_base: Option<String>,
    pub endpoint_overrides: BTreeMap<String, String>,
    pub site_url: Option<String>,
    pub options: BTreeMap<String, String>,
    pub enabled: bool,
}

/// The provider-crate settings a configuration stands for. `site_url` is handed to the
/// provider as its `site_url` option (OpenEMR reads it there).
fn settings(
    instance: &str,
    client_id: &str,
    client_secret: Option<ClientSecret>,
    endpoints: &BTreeMap<String, String>,
    options: &BTreeMap<String, String>,
    site_url: Option<&str>,
) -> ProviderSettings {
    let mut options = options.clone();
    if let Some(site) = site_url {
        options.insert("site_url".to_owned(), site.to_owned());
    }
    ProviderSettings {
        instance: instance.to_owned(),
        client: ClientCredentials {
            client_id: client_id.to_owned(),
            client_secret,
        },
        endpoints: endpoints.clone(),
        options,
    }
}

impl ProviderConfig {
    /// The settings the provider crate is built from.
    pub fn settings(&self) -> ProviderSettings {
        settings(
            &self.instance,
            &self.client_id,
            self.client_secret.clone(),
            &self.endpoint_overrides,
            &self.options,
            self.site_url.as_deref(),
        )
    }
}

impl ProviderConfigInput {
    /// The settings this input would build the provider from; `stored_secret` stands in when
    /// the input keeps the stored client secret.
    pub fn settings(&self, stored_secret: Option<ClientSecret>) -> ProviderSettings {
        settings(
            &self.instance,
            &self.client_id,
            self.client_secret.clone().or(stored_secret),
            &self.endpoint_overrides,
            &self.options,
            self.site_url.as_deref(),
        )
    }
}
