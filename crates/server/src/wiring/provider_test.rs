//! Checking a provider configuration without a user (the admin "test" call): OpenEMR's
//! discovery document and FHIR server, an Orange app token and its balance call, and for
//! every other provider a credentials probe at the token endpoint.

use std::sync::Arc;

use async_trait::async_trait;
use tether_broker::ProviderHttp;
use tether_broker::oauth;
use tether_core::ProviderKind;
use tether_core::provider::{AppTokenSource, Provider, ProviderError, ProviderSettings};
use tether_core::secret::AccessToken;
use tether_provider_openemr::OpenEmrProvider;
use tether_provider_orange::OrangeProvider;

/// A refresh token no provider ever issued: answering `invalid_grant` to it proves the
/// client credentials were accepted.
const PROBE: &str = "tether-configuration-test";

/// An app token used once, for the Orange balance call.
struct OneToken(AccessToken);

#[async_trait]
impl AppTokenSource for OneToken {
    async fn token(&self) -> Result<AccessToken, ProviderError> {
        Ok(self.0.clone())
    }

    async fn token_rejected(&self, _rejected: &AccessToken) -> Result<AccessToken, ProviderError> {
        Err(ProviderError::Misconfigured {
            message: "the fresh app token was refused".into(),
        })
    }
}

pub async fn test_provider(
    kind: ProviderKind,
    settings: &ProviderSettings,
    http: &reqwest::Client,
) -> Result<String, String> {
    let protocol =
        ProviderHttp::new(std::time::Duration::from_secs(10)).map_err(|e| e.to_string())?;
    match kind {
        ProviderKind::Orange => {
            let orange = OrangeProvider::new(settings, http.clone()).map_err(|e| e.to_string())?;
            let raw = oauth::client_credentials(&orange, &protocol, &orange.default_scopes())
                .await
                .map_err(|e| format!("no app token: {e}"))?;
            let contracts = orange
                .balance(&OneToken(raw.access_token))
                .await
                .map_err(|e| format!("app token obtained, but the balance call failed: {e}"))?;
            Ok(format!(
                "app token obtained; {} SMS contract(s) found",
                contracts.len()
            ))
        }
        ProviderKind::Openemr => {
            let emr = OpenEmrProvider::discover(settings, http.clone())
                .await
                .map_err(|e| e.to_string())?;
            let discovery = if emr.smart_configuration().is_some() {
                "SMART configuration found"
            } else {
                "no SMART configuration; using the documented endpoints"
            };
            let credentials = probe_credentials(&emr, &protocol).await?;
            Ok(format!("{discovery} at {}; {credentials}", emr.fhir_base()))
        }
        _ => {
            let mut registry = tether_broker::ProviderRegistry::new();
            super::build_into(&mut registry, kind, settings, http).map_err(|e| e.to_string())?;
            let provider: Arc<dyn Provider> = registry
                .get(kind, &settings.instance)
                .map_err(|e| e.to_string())?;
            probe_credentials(provider.as_ref(), &protocol).await
        }
    }
}

async fn probe_credentials(
    provider: &dyn Provider,
    protocol: &ProviderHttp,
) -> Result<String, String> {
    match oauth::refresh(provider, protocol, PROBE).await {
        Err(ProviderError::InvalidGrant { .. }) | Err(ProviderError::Revoked { .. }) => {
            Ok("the token endpoint answered and accepted the client credentials".into())
        }
        Err(ProviderError::Misconfigured { message }) => Err(format!(
            "the token endpoint refused the configuration: {message}"
        )),
        Err(other) => Err(format!("the token endpoint could not be checked: {other}")),
        Ok(_) => Ok("the token endpoint answered".into()),
    }
}
