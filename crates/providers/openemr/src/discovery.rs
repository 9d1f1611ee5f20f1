//! SMART discovery: reading a site's `.well-known/smart-configuration`, leniently, and telling
//! "the site has no such document" (fall back to the documented paths) from "the site failed".

use serde_json::{Map, Value};
use tether_core::provider::ProviderError;

use crate::api;

/// What a site's SMART configuration says, as far as Tether uses it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SmartConfiguration {
    pub issuer: Option<String>,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub revocation_endpoint: Option<String>,
    pub registration_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    /// The keys the site signs ID tokens with.
    pub jwks_uri: Option<String>,
    /// SMART capabilities (`permission-v2`, `launch-standalone`, …).
    pub capabilities: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    /// RFC 9207: the site adds `iss` to its authorization responses.
    pub authorization_response_iss_parameter_supported: bool,
}

impl SmartConfiguration {
    /// Reads a configuration document; `None` when it lacks the authorize or token endpoint
    /// (then it is no SMART configuration Tether can use).
    pub fn from_json(value: &Value) -> Option<Self> {
        let map = value.as_object()?;
        let text = |key: &str| {
            map.get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Some(Self {
            issuer: text("issuer"),
            authorization_endpoint: text("authorization_endpoint")?,
            token_endpoint: text("token_endpoint")?,
            revocation_endpoint: text("revocation_endpoint"),
            registration_endpoint: text("registration_endpoint"),
            userinfo_endpoint: text("userinfo_endpoint"),
            jwks_uri: text("jwks_uri"),
            capabilities: list(map, "capabilities"),
            token_endpoint_auth_methods_supported: list(
                map,
                "token_endpoint_auth_methods_supported",
            ),
            code_challenge_methods_supported: list(map, "code_challenge_methods_supported"),
            scopes_supported: list(map, "scopes_supported"),
            authorization_response_iss_parameter_supported: map
                .get("authorization_response_iss_parameter_supported")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }

    pub fn has_capability(&self, name: &str) -> bool {
        self.capabilities.iter().any(|c| c == name)
    }
}

fn list(map: &Map<String, Value>, key: &str) -> Vec<String> {
    match map.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// Fetches `url` (a site's smart-configuration). `Ok(None)` when the site has no usable
/// document — a 4xx answer (other than 429), or a body that is not a SMART configuration —
/// so the caller falls back to the documented paths; an error when the site could not be
/// asked (network, 5xx, 429): falling back then would hide an outage.
pub async fn fetch(
    http: &reqwest::Client,
    url: &str,
) -> Result<Option<SmartConfiguration>, ProviderError> {
    let answer = api::get(http, url, None).await?;
    if answer.status == 429 || answer.status >= 500 {
        return Err(api::classify_api_error(
            answer.status,
            answer.retry_after,
            &answer.body,
        ));
    }
    if !(200..300).contains(&answer.status) {
        tracing::info!(
            status = answer.status,
            "OpenEMR site has no SMART configuration; using the documented paths"
        );
        return Ok(None);
    }
    let found = serde_json::from_slice::<Value>(&answer.body)
        .ok()
        .and_then(|v| SmartConfiguration::from_json(&v));
    if found.is_none() {
        tracing::info!(
            "OpenEMR site's SMART configuration is unusable (not JSON, or no authorize/token endpoint); using the documented paths"
        );
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_documented_configuration_is_read_with_lenient_types() {
        let config = SmartConfiguration::from_json(&json!({
            "issuer": "https://emr.example/oauth2/default",
            "authorization_endpoint": "https://emr.example/oauth2/default/authorize",
            "token_endpoint": "https://emr.example/oauth2/default/token",
            "revocation_endpoint": "https://emr.example/oauth2/default/revoke",
            "capabilities": ["launch-standalone", "permission-v2", 7],
            "token_endpoint_auth_methods_supported": "client_secret_post client_secret_basic",
            "authorization_response_iss_parameter_supported": "yes",
        }))
        .unwrap();
        assert!(config.has_capability("permission-v2"));
        assert_eq!(config.capabilities.len(), 2);
        assert_eq!(config.token_endpoint_auth_methods_supported.len(), 2);
        assert!(!config.authorization_response_iss_parameter_supported);
        assert!(config.registration_endpoint.is_none());
    }

    #[test]
    fn a_document_without_authorize_or_token_endpoint_is_unusable() {
        assert!(SmartConfiguration::from_json(&json!({"token_endpoint": "https://x/t"})).is_none());
        assert!(
            SmartConfiguration::from_json(
                &json!({"authorization_endpoint": "https://x/a", "token_endpoint": ""})
            )
            .is_none()
        );
        assert!(SmartConfiguration::from_json(&json!([1])).is_none());
    }
}
